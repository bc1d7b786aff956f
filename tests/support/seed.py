"""The manifests of the seed document (OpenShift docs 34.10.3), read from its text.

The document is plain text copied from the rendered page: each manifest is indented by six
spaces and its callouts appear as a trailing " N" on a line, followed after the block by
lines that hold only the callout number and its explanation.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

_CALLOUT = re.compile(r"^(?P<head>.*\S) \d+$")
_INDENT = "      "


def _strip_callout(line: str, next_line: str) -> str:
    """Drop a trailing callout number, telling it from a value that is a number.

    "name: vrfpolicy 1" and "- ens4 5" end in a callout; "maxUnavailable: 3" does not;
    "routes: 8" does, since the next line opens the mapping that "routes:" heads.
    """
    match = _CALLOUT.match(line)
    if not match:
        return line
    if re.fullmatch(r"\s*(- )?[\w./-]+: \d+", line):
        deeper = len(next_line) - len(next_line.lstrip()) > len(line) - len(line.lstrip())
        return match.group("head") if deeper else line
    return match.group("head")


def extract_manifests(text: str) -> list[dict[str, Any]]:
    """Every `apiVersion:` block of the document, parsed, callout numbers removed."""
    manifests = []
    lines = text.splitlines()
    for start, line in enumerate(lines):
        if line != _INDENT + line.strip() or not line.strip().startswith("apiVersion:"):
            continue
        block = []
        for body in lines[start:]:
            if not body.startswith(_INDENT) or body.strip().isdigit():
                break
            block.append(body[len(_INDENT):])
        cleaned = [
            _strip_callout(line, block[i + 1] if i + 1 < len(block) else "")
            for i, line in enumerate(block)
        ]
        manifests.append(yaml.safe_load("\n".join(cleaned)))
    return manifests


def seed_document(shared: Path) -> Path:
    return shared / "seed" / "openshift-metallb-symmetric-routing.ja.txt"
