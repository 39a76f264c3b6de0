"""The stack config reference, generated from `StackConfig` (runtime settings included) into `docs/config.md`.

Regenerate with `.venv/bin/python -m infra.reference`; `--check` exits non-zero when the file is stale.
"""

from __future__ import annotations

import json
import sys
import types
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import annotated_types
from pydantic import BaseModel, SecretStr
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined, to_jsonable_python

from infra.config import PROJECT, StackConfig

REFERENCE_PATH = Path(__file__).resolve().parents[1] / "docs" / "config.md"
REGENERATE = ".venv/bin/python -m infra.reference"
REQUIRED = "required"

_BOUNDS: tuple[tuple[type, str, str], ...] = (
    (annotated_types.Ge, "ge", "≥"),
    (annotated_types.Gt, "gt", ">"),
    (annotated_types.Le, "le", "≤"),
    (annotated_types.Lt, "lt", "<"),
    (annotated_types.MinLen, "min_length", "length ≥"),
    (annotated_types.MaxLen, "max_length", "length ≤"),
)


@dataclass(frozen=True)
class Entry:
    """One documented key: its dotted path, type, default (JSON) and description."""

    path: str
    type: str
    default: str
    description: str


def _constraints(metadata: list[Any]) -> list[str]:
    found: list[str] = []
    for item in metadata:
        for kind, attribute, symbol in _BOUNDS:
            if isinstance(item, kind):
                found.append(f"{symbol} {getattr(item, attribute)}")
        pattern = getattr(item, "pattern", None)
        if isinstance(pattern, str):
            found.append(f"matches `{pattern}`")
    return found


def _optional(annotation: Any) -> tuple[Any, bool]:
    """The annotation without `None`, and whether `None` was allowed."""
    if get_origin(annotation) in (Union, types.UnionType):
        members = [a for a in get_args(annotation) if a is not type(None)]
        if len(members) < len(get_args(annotation)):
            return (members[0] if len(members) == 1 else Union[tuple(members)]), True  # noqa: UP007
    return annotation, False


def _model(annotation: Any) -> type[BaseModel] | None:
    return annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None


def type_name(annotation: Any) -> str:
    """A reader's name for a type: `int (≥ 1)`, `list of string`, `edge | regional | cloud`."""
    annotation, optional = _optional(annotation)
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Annotated:
        inner = type_name(args[0])
        constraints = [c for meta in args[1:] for c in _constraints(getattr(meta, "metadata", [meta]))]
        name = f"{inner} ({', '.join(constraints)})" if constraints else inner
    elif origin in (list, tuple, set, frozenset):
        name = f"list of {type_name(args[0])}" if args else "list"
    elif origin is dict:
        name = f"map of {type_name(args[0])} to {type_name(args[1])}" if args else "map"
    elif origin is Literal:
        name = " | ".join(str(a) for a in args)
    elif origin in (Union, types.UnionType):
        name = " or ".join(type_name(a) for a in args)
    elif isinstance(annotation, type) and issubclass(annotation, Enum):
        name = " | ".join(str(member.value) for member in annotation)
    elif _model(annotation) is not None:
        name = "object"
    else:
        name = {str: "string", int: "int", float: "number", bool: "bool", SecretStr: "secret string"}.get(
            annotation, getattr(annotation, "__name__", str(annotation))
        )
    return f"{name}, optional" if optional else name


def _default(field: FieldInfo, instance: BaseModel | None, name: str) -> tuple[str, Any]:
    """The default as shown (JSON), and the value itself (None when the key is required)."""
    if instance is not None:
        value = getattr(instance, name)
    elif field.default is not PydanticUndefined:
        value = field.default
    elif field.default_factory is not None:
        value = field.default_factory()  # type: ignore[call-arg]
    else:
        return REQUIRED, None
    if isinstance(value, SecretStr):
        return "(secret)", value
    return json.dumps(to_jsonable_python(value), ensure_ascii=False), value


def _first_line(text: str | None) -> str:
    return (text or "").strip().splitlines()[0] if (text or "").strip() else ""


def walk(model: type[BaseModel], prefix: str = "", instance: BaseModel | None = None) -> Iterator[Entry]:
    """Every key of `model`, depth first; nested objects take their defaults from the parent's default."""
    for name, field in model.model_fields.items():
        path = f"{prefix}{name}"
        shown_default, value = _default(field, instance, name)
        annotation, _ = _optional(field.annotation)
        origin, args = get_origin(annotation), get_args(annotation)
        description = field.description or ""
        nested = _model(annotation)
        if nested is not None:
            default = shown_default if value is None or field.is_required() else ""
            yield Entry(path, type_name(field.annotation), default, description or _first_line(nested.__doc__))
            yield from walk(nested, f"{path}.", value if isinstance(value, BaseModel) else None)
            continue
        yield Entry(path, type_name(field.rebuild_annotation()), shown_default, description)
        item = _model(args[0]) if origin is list and args else None
        if item is not None:
            yield from walk(item, f"{path}[].")
        values = _model(args[1]) if origin is dict and len(args) == 2 else None
        if values is not None:
            yield from walk(values, f"{path}.<{type_name(args[0]).replace(' | ', '|')}>.")


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _top_key(path: str) -> str:
    return path.split(".")[0].split("[")[0]


def _table(entries: list[Entry]) -> list[str]:
    rows = ["| key | type | default | description |", "|---|---|---|---|"]
    for e in entries:
        default = "*required*" if e.default == REQUIRED else (f"`{e.default}`" if e.default else "")
        rows.append(f"| `{_cell(e.path)}` | {_cell(e.type)} | {_cell(default)} | {_cell(e.description)} |")
    return rows


def reference_markdown() -> str:
    """`docs/config.md`: the scalar top-level keys, then one table per structured key, rows in schema order."""
    lines = [
        "# Stack configuration reference",
        "",
        f"<!-- Generated from infra/config.py and runtime/settings.py by `{REGENERATE}`; do not edit. -->",
        "",
        f"Every key is a Pulumi config key of project `{PROJECT}`; stack files (`Pulumi.<stack>.yaml`) hold only",
        "overrides of these defaults. Set nested keys with `--path` and secrets with `--secret`:",
        "",
        "```sh",
        f"pulumi config set --path '{PROJECT}:postgres.storage_gb' 100",
        f"pulumi config set --secret --path '{PROJECT}:runtime.alerts.channels[0].webhook' https://hooks.slack.com/...",
        "```",
        "",
        "`[]` in a path stands for any list item (`functions[0].tier`), `<a|b>` for a map key.",
        "Cross-key rules (zones in the region, unique names, GPU requests the GPU pool can serve, ...) are",
        "checked too; `isf render --stack NAME` reports every problem by its path.",
    ]
    entries = list(walk(StackConfig))
    sections: dict[str, list[Entry]] = {top: [] for top in StackConfig.model_fields}
    for entry in entries:
        sections[_top_key(entry.path)].append(entry)
    scalars = [rows[0] for rows in sections.values() if len(rows) == 1]
    lines += ["", "## Top-level keys", "", *_table(scalars)]
    for top, rows in sections.items():
        if len(rows) > 1:
            lines += ["", f"## `{top}`", "", rows[0].description, "", *_table(rows)]
    return "\n".join(lines) + "\n"


def main(argv: list[str], path: Path = REFERENCE_PATH) -> int:
    """Write the reference to `path`, or with `--check` report whether the one there is current."""
    text = reference_markdown()
    if "--check" in argv:
        if not path.is_file() or path.read_text() != text:
            print(f"{path} is stale; regenerate it with: {REGENERATE}", file=sys.stderr)
            return 1
        return 0
    path.write_text(text)
    print(f"wrote {path} ({text.count(chr(10) + '| `')} rows)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
