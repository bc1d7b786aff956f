"""The block YAML that `helm template` prints, read and written on the standard library.

`symrouting adopt` reads the chart's rendered objects and writes a values file; the package
has no YAML library (it runs in a stock Python image). Helm prints what the templates write
and toYaml marshals (sigs.k8s.io/yaml over go-yaml): block mappings and sequences, plain,
single- and double-quoted scalars, `|`/`|-` block scalars, `{}` and `[]`, and short flow
lists. Scalars resolve as go-yaml v2 (YAML 1.1) resolves them, yes/no/on/off included.
Anything else raises YamlError naming the line, instead of being read wrong.
"""

from __future__ import annotations

import json
import re
from typing import Any


class YamlError(ValueError):
    """Text outside the subset this module reads."""


_INT = re.compile(r"[-+]?(0|[1-9][0-9_]*)$")
_FLOAT = re.compile(r"[-+]?([0-9][0-9_]*)?\.[0-9]+([eE][-+]?[0-9]+)?$")
_TRUE = {"true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON", "y", "Y"}
_FALSE = {"false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF", "n", "N"}
_NULL = {"", "~", "null", "Null", "NULL"}


def _plain(text: str) -> Any:
    if text in _NULL:
        return None
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    if _INT.match(text):
        return int(text.replace("_", ""))
    if _FLOAT.match(text):
        return float(text.replace("_", ""))
    return text


def _quoted(text: str, line: int) -> tuple[str, str]:
    """A quoted scalar at the start of text, and what follows it."""
    if text[0] == "'":
        end = 1
        while True:
            end = text.find("'", end)
            if end < 0:
                raise YamlError(f"line {line}: unterminated single-quoted string")
            if text[end + 1:end + 2] == "'":
                end += 2
                continue
            return text[1:end].replace("''", "'"), text[end + 1:]
    end = 1
    while True:
        end = text.find('"', end)
        if end < 0:
            raise YamlError(f"line {line}: unterminated double-quoted string")
        slashes = len(text[:end]) - len(text[:end].rstrip("\\"))
        if slashes % 2 == 0:
            break
        end += 1
    body = re.sub(r"\\x([0-9a-fA-F]{2})", r"\\u00\1", text[1:end])
    try:
        return json.loads(f'"{body}"'), text[end + 1:]
    except ValueError:
        raise YamlError(f"line {line}: an escape in a double-quoted string that this reader does not know") from None


def _flow_items(inner: str, line: int) -> list[str]:
    """The items of a flow sequence's inside, split at the commas outside quotes."""
    items, start, quote = [], 0, ""
    for index, char in enumerate(inner):
        if quote:
            if char == quote and (quote == "'" or inner[index - 1] != "\\"):
                quote = ""
        elif char in "'\"":
            quote = char
        elif char == ",":
            items.append(inner[start:index])
            start = index + 1
    if quote:
        raise YamlError(f"line {line}: unterminated string in a flow sequence")
    return items + [inner[start:]]


def _scalar(text: str, line: int) -> Any:
    text = text.strip()
    if text[:1] in ("'", '"'):
        value, rest = _quoted(text, line)
        if rest.strip() and not rest.strip().startswith("#"):
            raise YamlError(f"line {line}: text after a quoted string")
        return value
    text = re.split(r"\s#", text, maxsplit=1)[0].strip()
    if text == "{}":
        return {}
    if text.startswith("[") and text.endswith("]"):
        inner = text[1:-1].strip()
        if any(c in inner for c in "[]{}"):
            raise YamlError(f"line {line}: a nested flow collection")
        return [_scalar(item, line) for item in _flow_items(inner, line)] if inner else []
    if text[:1] in ("{", "[", "&", "*", "!", "|", ">", "%", "@", "`"):
        raise YamlError(f"line {line}: {text[:20]!r} is YAML this reader does not know")
    return _plain(text)


def _split_key(text: str, line: int) -> tuple[str, str] | None:
    """(key, rest) of a mapping line, or None when the text is not `key:` or `key: value`."""
    if text[:1] in ("'", '"'):
        key, rest = _quoted(text, line)
        if rest == ":" or rest.startswith(": "):
            return key, rest[1:].strip()
        return None
    found = re.match(r"([^#'\"{\[][^#]*?):(?:\s+|$)", text)
    if not found:
        return None
    return found.group(1).strip(), text[found.end():]


class _Reader:
    def __init__(self, lines: list[tuple[int, int, str]]) -> None:
        # (line number, indent, text without the indent)
        self.lines = lines
        self.at = 0

    def block(self, indent: int) -> Any:
        number, column, text = self.lines[self.at]
        if column != indent:
            raise YamlError(f"line {number}: indented {column}, expected {indent}")
        if text == "-" or text.startswith("- "):
            return self.sequence(indent)
        return self.mapping(indent)

    def sequence(self, indent: int) -> list[Any]:
        items = []
        while self.at < len(self.lines):
            number, column, text = self.lines[self.at]
            if column != indent or not (text == "-" or text.startswith("- ")):
                if column > indent:
                    raise YamlError(f"line {number}: unexpected indentation")
                break
            rest = text[1:].lstrip()
            if not rest:
                self.at += 1
                items.append(self.nested(indent, number))
                continue
            # "- key: value" or "- - x": the rest is a block that starts further in
            self.lines[self.at] = (number, column + len(text) - len(rest), rest)
            if rest.startswith("- ") or rest == "-" or _split_key(rest, number) is not None:
                items.append(self.block(column + len(text) - len(rest)))
            else:
                self.at += 1
                items.append(self.value(rest, indent, number))
        return items

    def mapping(self, indent: int) -> dict[str, Any]:
        result: dict[str, Any] = {}
        while self.at < len(self.lines):
            number, column, text = self.lines[self.at]
            if column < indent:
                break
            if column > indent:
                raise YamlError(f"line {number}: unexpected indentation")
            if text == "-" or text.startswith("- "):
                break
            pair = _split_key(text, number)
            if pair is None:
                raise YamlError(f"line {number}: expected `key: value`, found {text[:40]!r}")
            key, rest = pair
            if key in result:
                raise YamlError(f"line {number}: key {key!r} twice")
            self.at += 1
            result[key] = self.value(rest, indent, number) if rest.split("#")[0].strip() else self.nested(indent, number,
                                                                                                         mapping_value=True)
        return result

    def value(self, rest: str, indent: int, number: int) -> Any:
        if rest.split(" #")[0].strip() in ("|", "|-", "|+"):
            return self.literal(rest.strip()[:2], indent)
        return _scalar(rest, number)

    def nested(self, indent: int, number: int, mapping_value: bool = False) -> Any:
        """The block under a key or a bare `-`: further in, or a sequence at the key's column."""
        if self.at >= len(self.lines):
            return None
        _, column, text = self.lines[self.at]
        if column > indent or (mapping_value and column == indent and (text == "-" or text.startswith("- "))):
            return self.block(column)
        return None

    def literal(self, style: str, indent: int) -> str:
        body: list[str] = []
        inner = None
        while self.at < len(self.lines) and (self.lines[self.at][1] > indent or self.lines[self.at][2] == ""):
            number, column, text = self.lines[self.at]
            inner = column if inner is None else inner
            body.append(" " * (column - inner) + text)
            self.at += 1
        text = "\n".join(body)
        return text if style == "|-" else text + "\n"


def load_documents(text: str, kinds: frozenset[str] | None = None) -> list[Any]:
    """The documents of a YAML stream, empty ones left out; with kinds, only the documents
    whose top-level `kind:` line names one of them (the rest is not read at all)."""
    documents: list[Any] = []
    current: list[tuple[int, int, str]] = []

    def finish() -> None:
        while current and current[-1][2] == "":
            current.pop()
        wanted = kinds is None or any(column == current[0][1] and text.startswith("kind:")
                                      and str(_scalar(text[5:], number)) in kinds for number, column, text in current)
        if current and wanted:
            reader = _Reader(current)
            value = reader.block(current[0][1])
            if reader.at != len(current):
                raise YamlError(f"line {current[reader.at][0]}: text after the document's end")
            documents.append(value)
        current.clear()

    for number, raw in enumerate(text.splitlines(), 1):
        if raw.startswith("---"):
            finish()
            continue
        stripped = raw.lstrip(" ")
        if "\t" in raw[:len(raw) - len(stripped)]:
            raise YamlError(f"line {number}: a tab in the indentation")
        if not stripped or stripped.startswith("#"):
            # kept only inside a block scalar, where an empty line belongs to the text
            if current and not stripped:
                current.append((number, len(raw), ""))
            continue
        current.append((number, len(raw) - len(stripped), stripped.rstrip()))
    finish()
    return documents


_SAFE = re.compile(r"[A-Za-z_/][A-Za-z0-9_./@-]*$")


def _text(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return json.dumps(value)
    text = str(value)
    # plain only where go-yaml and PyYAML both read the same string back
    if _SAFE.match(text) and _plain(text) == text and not text.endswith(":"):
        return text
    return json.dumps(text)


def dump(value: Any, indent: int = 0) -> str:
    """value as block YAML that Helm reads back the same (strings quoted where a plain
    scalar would read as another type)."""
    pad = " " * indent
    if isinstance(value, dict):
        if not value:
            return f"{pad}{{}}\n"
        out = []
        for key, item in value.items():
            head = f"{pad}{_text(str(key))}:"
            if isinstance(item, (dict, list)) and item:
                out.append(f"{head}\n{dump(item, indent + 2)}")
            else:
                out.append(f"{head} {_inline(item)}\n")
        return "".join(out)
    if isinstance(value, list):
        if not value:
            return f"{pad}[]\n"
        out = []
        for item in value:
            if isinstance(item, (dict, list)) and item:
                inner = dump(item, indent + 2)
                out.append(f"{pad}- {inner[indent + 2:]}")
            else:
                out.append(f"{pad}- {_inline(item)}\n")
        return "".join(out)
    return f"{pad}{_text(value)}\n"


def _inline(value: Any) -> str:
    if isinstance(value, dict):
        return "{}"
    if isinstance(value, list):
        return "[]"
    return _text(value)
