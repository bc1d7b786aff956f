#!/usr/bin/env python3
"""The values reference (docs/values.md), generated from the comments in values.yaml.

A key is documented by a `# -- text` comment block right above it (helm-docs style;
`# @default -- text` replaces the shown default). Keys of map items that have no default
in values.yaml are documented in place as `# <path> -- (type) text`, e.g.
`# vrfs.<vrf>.tableId -- (int) ...`; following `# ` lines continue the text.

The same texts are the `description`s of values.schema.json, which editors show (the YAML
language server); a key without a row there (a group, a list item) keeps the description
written in the schema.

Usage: values_table.py [--write | --check]   (default: print the table)
  --write  replace the table between the markers in docs/values.md, and the schema's descriptions
  --check  exit 1 when docs/values.md's table or the schema differs from values.yaml's comments
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
START, END = "<!-- values-table:start -->", "<!-- values-table:end -->"

_KEY = re.compile(r"^(?P<indent> *)(?P<key>[A-Za-z0-9_.-]+):(?P<value>.*)$")
_RAW_DOC = re.compile(r"^# (?P<path>[A-Za-z0-9_.<>\[\]-]+) -- \((?P<type>[^)]+)\) (?P<text>.*)$")


@dataclass(frozen=True)
class Row:
    path: str
    type: str
    default: str
    description: str


def _type_of(value: object) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "object"
    return "string"


def _parse_scalar(text: str) -> object:
    text = text.strip()
    if text in ("{}", "[]"):
        return json.loads(text)
    if text in ("true", "false"):
        return text == "true"
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return text[1:-1]
    return text


def parse(values_text: str) -> tuple[list[Row], list[str]]:
    """The documented rows, and the keys with a value but no `# --` comment."""
    rows: list[Row] = []
    undocumented: list[str] = []
    stack: list[tuple[int, str]] = []
    pending: list[str] | None = None
    pending_default: str | None = None
    raw: dict[str, str] | None = None

    def flush_raw() -> None:
        nonlocal raw
        if raw:
            rows.append(Row(raw["path"], raw["type"], "", raw["text"].strip()))
        raw = None

    for line in values_text.splitlines():
        stripped = line.strip()
        if stripped.startswith("#"):
            body = stripped[1:].strip()
            raw_match = _RAW_DOC.match(stripped)
            if raw_match:
                flush_raw()
                raw = raw_match.groupdict()
            elif body.startswith("-- "):
                flush_raw()
                pending, pending_default = [body[3:]], None
            elif body.startswith("@default -- "):
                pending_default = body.removeprefix("@default -- ")
            elif raw is not None:
                raw["text"] += " " + body
            elif pending is not None:
                pending.append(body)
            continue
        flush_raw()
        match = _KEY.match(line)
        if not stripped or not match:
            continue
        indent = len(match["indent"])
        while stack and stack[-1][0] >= indent:
            stack.pop()
        path = ".".join([key for _, key in stack] + [match["key"]])
        stack.append((indent, match["key"]))
        value_text = match["value"].strip()
        if pending is not None:
            value = _parse_scalar(value_text) if value_text else {}
            default = pending_default or f"`{json.dumps(value)}`"
            rows.append(Row(path, _type_of(value), default, " ".join(pending)))
        elif value_text:
            undocumented.append(path)
        pending, pending_default = None, None
    flush_raw()
    return rows, undocumented


def render_table(rows: list[Row]) -> str:
    lines = ["| Key | Type | Default | Description |", "| --- | --- | --- | --- |"]
    for row in rows:
        description = row.description.replace("|", "\\|")
        lines.append(f"| `{row.path}` | {row.type} | {row.default or '—'} | {description} |")
    return "\n".join(lines) + "\n"


def readme_with_table(readme: str, table: str) -> str:
    before, rest = readme.split(START, 1)
    _, after = rest.split(END, 1)
    return f"{before}{START}\n{table}{END}{after}"


def schema_nodes(node: dict[str, Any], prefix: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every key of the schema with its subschema: map items as <*>, list items as [], and
    the keys of definitions as #<name>.<key>."""
    for key, child in node.get("properties", {}).items():
        yield prefix + key, child
        yield from schema_nodes(child, f"{prefix}{key}.")
    extra = node.get("additionalProperties")
    if isinstance(extra, dict) and "properties" in extra:
        yield prefix + "<*>", extra
        yield from schema_nodes(extra, prefix + "<*>.")
    items = node.get("items")
    if isinstance(items, dict) and "properties" in items:
        yield prefix.removesuffix(".") + "[]", items
        yield from schema_nodes(items, prefix.removesuffix(".") + "[].")
    for name, definition in node.get("definitions", {}).items():
        yield from schema_nodes(definition, f"#{name}.")


def schema_path(row_path: str) -> str:
    return re.sub(r"<[^>]+>", "<*>", row_path)


def schema_with_descriptions(schema: dict[str, Any], rows: list[Row]) -> dict[str, Any]:
    """The schema with each documented key's description set to its values.yaml text; a
    description it did not have goes right after `type`, where an editor's reader looks."""
    texts = {schema_path(row.path): row.description for row in rows}
    for path, node in schema_nodes(schema):
        if path not in texts or node.get("description") == texts[path]:
            continue
        if "description" in node:
            node["description"] = texts[path]
            continue
        items = list(node.items())
        at = next((i + 1 for i, (key, _) in enumerate(items) if key == "type"), 0)
        items.insert(at, ("description", texts[path]))
        node.clear()
        node.update(items)
    return schema


def schema_text(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    rows, undocumented = parse((ROOT / "values.yaml").read_text())
    if undocumented:
        print("values.yaml keys without a `# --` comment: " + ", ".join(undocumented), file=sys.stderr)
        return 1
    table = render_table(rows)
    readme_path = ROOT / "docs" / "values.md"
    schema_path_ = ROOT / "values.schema.json"
    schema = schema_text(schema_with_descriptions(json.loads(schema_path_.read_text()), rows))
    if argv[1:] == ["--write"]:
        readme_path.write_text(readme_with_table(readme_path.read_text(), table))
        schema_path_.write_text(schema)
    elif argv[1:] == ["--check"]:
        if readme_with_table(readme_path.read_text(), table) != readme_path.read_text():
            print("docs/values.md's table is stale: run scripts/values_table.py --write", file=sys.stderr)
            return 1
        if schema != schema_path_.read_text():
            print("values.schema.json's descriptions are stale: run scripts/values_table.py --write", file=sys.stderr)
            return 1
    else:
        sys.stdout.write(table)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
