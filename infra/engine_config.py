"""The Pulumi engine config of a stack: flat `isf:key` -> string, decoded once into the `StackConfig` input.

Under the engine (`pulumi up`) it comes from the engine itself (`engine_config`). Where there is no Pulumi
CLI (`isf render`, the tests) `read_stack_file` turns `Pulumi.<stack>.yaml` plus `--set` overrides into the
same map. Encrypted values (`secure: v1:...`) cannot be read offline, and secrets that are set with
`pulumi config set --secret` are absent from the file; both get deterministic placeholders, which
`isf render` redacts from its output.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import yaml
from pulumi.runtime.config import CONFIG, get_config_env

from infra.config import PROJECT, StackConfig, StackConfigError

_INDEX = re.compile(r"\[(\d+)\]")


@dataclass(frozen=True)
class EngineConfig:
    """What the engine hands the program: flat `isf:key` -> string, the secret keys, and the placeholders used."""

    source: str
    values: dict[str, str]
    secret_keys: list[str]
    placeholders: frozenset[str] = field(default_factory=frozenset)

    def decoded(self) -> dict[str, Any]:
        """Every `isf:<key>` without the prefix, decoded, including keys the schema does not know (to report them)."""
        prefix = f"{PROJECT}:"
        return {
            key.removeprefix(prefix): _decode(raw)
            for key, raw in sorted(self.values.items())
            if key.startswith(prefix) and isinstance(raw, str)
        }

    def validate(self) -> StackConfig:
        """The stack config, or `StackConfigError` naming this stack file and every bad key."""
        return StackConfig.from_mapping(self.decoded(), source=self.source)


def _decode(raw: str) -> Any:
    # Structured values (`pulumi config set --path`) reach the program as JSON; scalars stay strings and
    # pydantic's lax mode converts "3" / "true" where the schema wants numbers or booleans.
    if raw[:1] in "{[":
        try:
            return json.loads(raw)
        except json.JSONDecodeError:
            return raw
    return raw


def engine_config() -> EngineConfig:
    """The config the engine hands the running program (`$PULUMI_CONFIG`; tests and `isf render` set it in-process)."""
    values: dict[str, Any] = {**(get_config_env() or {}), **CONFIG.get()}
    return EngineConfig(f"Pulumi.{pulumi.get_stack()}.yaml", dict(sorted(values.items())), [])


def placeholder_secret(path: str) -> str:
    """A deterministic stand-in for a secret that only the real stack can decrypt."""
    return f"https://placeholder.invalid/secret/{hashlib.sha256(path.encode()).hexdigest()[:12]}"


def _parse_path(path: str) -> list[str | int]:
    parts: list[str | int] = []
    for piece in _INDEX.sub(r".\1", path).split("."):
        if not piece:
            raise StackConfigError("--set", [(path, "empty segment in dotted path")])
        parts.append(int(piece) if piece.isdigit() else piece)
    return parts


def _parse_value(raw: str) -> Any:
    # Flow collections are YAML; scalars stay strings ("1.30" must not become the float 1.3) and the schema
    # converts them where it wants numbers or booleans.
    if raw[:1] in "[{":
        return yaml.safe_load(raw)
    return raw


def _assign(tree: dict[str, Any], path: list[str | int], value: Any, spelled: str) -> None:
    node: Any = tree
    for here, after in itertools.pairwise(path):
        if isinstance(node, list):
            if not isinstance(here, int) or here > len(node):
                raise StackConfigError("--set", [(spelled, f"index {here} is past the end of a list of {len(node)}")])
            if here == len(node):
                node.append([] if isinstance(after, int) else {})
            node = node[here]
        elif isinstance(node, dict):
            if not isinstance(node.get(here), dict | list):
                node[here] = [] if isinstance(after, int) else {}
            node = node[here]
        else:
            raise StackConfigError("--set", [(spelled, "goes through a value that is not a mapping or list")])
    last = path[-1]
    if isinstance(node, list) and isinstance(last, int) and last <= len(node):
        node[last : last + 1] = [value]
    elif isinstance(node, dict):
        node[last] = value
    else:
        raise StackConfigError("--set", [(spelled, "cannot set this position")])


def apply_overrides(tree: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Apply `key.path=value` overrides (dotted, `[i]` or `.i` for list items) to a stack config tree."""
    problems: list[tuple[str, str]] = []
    for override in overrides:
        key, sep, raw = override.partition("=")
        if not sep or not key.strip():
            problems.append((override, "expected --set key.path=value"))
            continue
        try:
            _assign(tree, _parse_path(key.strip()), _parse_value(raw), key.strip())
        except StackConfigError as error:
            problems += error.problems
    if problems:
        raise StackConfigError("--set", problems)
    return tree


def _replace_secure(value: Any, path: str, found: set[str]) -> Any:
    """Swap every `{secure: ...}` for a placeholder, recording the placeholders used."""
    if isinstance(value, dict):
        if set(value) == {"secure"}:
            found.add(placeholder_secret(path))
            return placeholder_secret(path)
        return {k: _replace_secure(v, f"{path}.{k}", found) for k, v in value.items()}
    if isinstance(value, list):
        return [_replace_secure(v, f"{path}[{i}]", found) for i, v in enumerate(value)]
    return value


def _fill_missing_secrets(tree: dict[str, Any], found: set[str]) -> set[str]:
    """Give secrets that real stacks set with `--secret` a placeholder; return the keys that now hold one."""
    touched: set[str] = set()
    channels = tree.get("runtime", {}).get("alerts", {}).get("channels", []) if isinstance(tree.get("runtime"), dict) else []
    for i, channel in enumerate(channels if isinstance(channels, list) else []):
        if isinstance(channel, dict) and channel.get("type") == "slack" and channel.get("webhook") is None:
            channel["webhook"] = placeholder_secret(f"runtime.alerts.channels[{i}].webhook")
            found.add(channel["webhook"])
            touched.add("runtime")
    return touched


def _engine_string(value: Any) -> str:
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def read_stack_file(path: Path, overrides: list[str] | None = None) -> EngineConfig:
    """Read a stack file into engine config, with `--set` overrides and secret placeholders applied."""
    source = path.name + (f" (with --set {', '.join(overrides)})" if overrides else "")
    if not path.is_file():
        missing = (f"stack file {path.resolve()} does not exist "
                   "(run from the folder holding Pulumi.yaml, or pass --project-dir)")
        raise StackConfigError(source, [("", missing)])
    try:
        document = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as error:
        raise StackConfigError(source, [("", f"not valid YAML: {error}")]) from None
    config = document.get("config") or {} if isinstance(document, dict) else None
    if not isinstance(config, dict):
        raise StackConfigError(source, [("config", "must be a mapping of keys to values")])

    prefix = f"{PROJECT}:"
    tree: dict[str, Any] = {}
    others: dict[str, Any] = {}
    for key, value in config.items():
        if str(key).startswith(prefix):
            tree[str(key).removeprefix(prefix)] = value
        else:
            others[str(key)] = value  # provider config such as aws:region, kept as the engine would
    try:
        apply_overrides(tree, overrides or [])
    except StackConfigError as error:
        raise StackConfigError(source, error.problems) from None

    placeholders: set[str] = set()
    secret_keys: set[str] = set()
    for key in list(tree):
        before = len(placeholders)
        tree[key] = _replace_secure(tree[key], key, placeholders)
        if len(placeholders) > before:
            secret_keys.add(f"{prefix}{key}")
    secret_keys |= {f"{prefix}{key}" for key in _fill_missing_secrets(tree, placeholders)}
    for key in list(others):
        before = len(placeholders)
        others[key] = _replace_secure(others[key], key, placeholders)
        if len(placeholders) > before:
            secret_keys.add(key)

    values = {f"{prefix}{k}": _engine_string(v) for k, v in tree.items()}
    values |= {k: _engine_string(v) for k, v in others.items()}
    return EngineConfig(source, dict(sorted(values.items())), sorted(secret_keys), frozenset(placeholders))
