"""The Kubernetes API semantics the simulated cluster's facade serves (and the tests' fake API reuses).

Objects are keyed by their API path (e.g. `/apis/serving.knative.dev/v1/namespaces/fn/routes/hello`).
Lists select by collection and equality-based label selectors; writes are JSON merge patches (RFC
7386, what the `kubernetes` client sends for custom objects); a list asked for as
`PartialObjectMetadataList` (`runtime.contract.kubernetes.METADATA_LIST_ACCEPT`) carries each
object's metadata only.
"""

from __future__ import annotations

import copy
from typing import Any

from runtime.contract.kubernetes import METADATA_LIST_KIND

METADATA_API_VERSION = "meta.k8s.io/v1"
METADATA_ITEM_KIND = "PartialObjectMetadata"


def status(code: int, reason: str, message: str) -> dict[str, Any]:
    """A failure `Status`, the body the API server answers an error with."""
    return {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": code, "reason": reason,
            "message": message}


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def in_collection(object_path: str, collection: str) -> bool:
    """Whether an object belongs to a list: its parent path, or `/apis/G/V/PLURAL` across all namespaces."""
    parent = object_path.rsplit("/", 1)[0]
    if parent == collection:
        return True
    parts = collection.strip("/").split("/")
    if len(parts) != 4 or parts[0] != "apis":
        return False
    segments = parent.strip("/").split("/")
    return len(segments) == 6 and segments[:3] == parts[:3] and segments[3] == "namespaces" and segments[5] == parts[3]


def matches(obj: dict[str, Any], selector: str) -> bool:
    """Equality-based label selectors: `key`, `key=value`, comma-separated."""
    labels = obj.get("metadata", {}).get("labels") or {}
    for term in filter(None, selector.split(",")):
        key, equals, value = term.partition("=")
        if key not in labels or (equals and labels[key] != value):
            return False
    return True


def wants_metadata_only(accept: str) -> bool:
    """Whether the Accept header asks for a list as `PartialObjectMetadataList` (its first choice)."""
    first = accept.split(",", 1)[0]
    return f"as={METADATA_LIST_KIND}" in first.replace(" ", "")


def metadata_only(obj: dict[str, Any]) -> dict[str, Any]:
    """One object of a `PartialObjectMetadataList`: its metadata, nothing of spec or status."""
    return {"apiVersion": METADATA_API_VERSION, "kind": METADATA_ITEM_KIND, "metadata": obj.get("metadata", {})}


def list_kind(collection: str, metadata: bool) -> tuple[str, str]:
    """(kind, apiVersion) of a list of `collection`."""
    if metadata:
        return METADATA_LIST_KIND, METADATA_API_VERSION
    return ("NodeList" if collection.endswith("/nodes") else "List"), "v1"
