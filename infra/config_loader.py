"""Read the stack config from Pulumi (structured config and secrets) into a validated `StackConfig`."""

from __future__ import annotations

import json
from typing import Any

import pulumi
from pulumi.runtime.config import CONFIG, get_config_env

from infra.config import PROJECT, StackConfig


def _decode(raw: str) -> Any:
    # Structured values (`pulumi config set --path`) reach the program as JSON; scalars stay strings and
    # pydantic's lax mode converts "3" / "true" where the schema wants numbers or booleans.
    if raw[:1] in "{[":
        try:
            return json.loads(raw)
        except json.JSONDecodeError:
            return raw
    return raw


def raw_stack_config() -> dict[str, Any]:
    """Every `isf:<key>` the stack sets, decoded, including keys the schema does not know (to report them)."""
    # The engine hands config over in $PULUMI_CONFIG; tests and `isf render` set it in-process.
    engine_config: dict[str, Any] = {**(get_config_env() or {}), **CONFIG.get()}
    prefix = f"{PROJECT}:"
    values: dict[str, Any] = {}
    for full_key, raw in sorted(engine_config.items()):
        if full_key.startswith(prefix) and isinstance(raw, str):
            values[full_key.removeprefix(prefix)] = _decode(raw)
    return values


def load_stack_config() -> StackConfig:
    """The current stack's config; raises `StackConfigError` naming `Pulumi.<stack>.yaml` and every bad key."""
    return StackConfig.from_mapping(raw_stack_config(), source=f"Pulumi.{pulumi.get_stack()}.yaml")
