"""Input problems of a component, collected with their property paths and raised once.

Like pulumi-eks (`nodejs/eks/nodes/nodegroup.ts`): every bad input is reported in one
`pulumi.errors.InputPropertiesError`, so a user fixes them all in one round instead of one per run.
"""

from __future__ import annotations

from pulumi.errors import InputPropertiesError, InputPropertyErrorDetails


class InputProblems:
    """Collects `(property path, reason)` pairs for one component; `raise_if_any` raises them together."""

    def __init__(self, component: str) -> None:
        self.component = component
        self.errors: list[InputPropertyErrorDetails] = []

    def add(self, property_path: str, reason: str) -> None:
        self.errors.append(InputPropertyErrorDetails(property_path=property_path, reason=reason))

    def require(self, condition: bool, property_path: str, reason: str) -> None:
        """Add the problem unless `condition` holds."""
        if not condition:
            self.add(property_path, reason)

    def raise_if_any(self) -> None:
        """Raise one InputPropertiesError listing every problem (its message names each path)."""
        if not self.errors:
            return
        lines = "\n".join(f"  {e['property_path']}: {e['reason']}" for e in self.errors)
        raise InputPropertiesError(f"{self.component} has {len(self.errors)} invalid input(s):\n{lines}", self.errors)
