"""Golden files: one readable YAML file per rendered object, under tests/golden/<case>/."""

from __future__ import annotations

import base64
import json
import re
import shutil
from pathlib import Path

import yaml

GOLDEN = Path(__file__).resolve().parents[1] / "golden"


def split_objects(stdout: str) -> dict[str, str]:
    """Helm's output cut into objects, keyed by "<kind>_<namespace>_<name>.yaml"."""
    objects: dict[str, str] = {}
    for chunk in re.split(r"^---\n", stdout, flags=re.MULTILINE):
        if not chunk.strip():
            continue
        doc = yaml.safe_load(chunk)
        meta = doc["metadata"]
        key = "_".join(
            part for part in (doc["kind"].lower(), meta.get("namespace", ""), meta["name"]) if part
        )
        if key + ".yaml" in objects:
            raise AssertionError(f"two objects render as {key}")
        objects[key + ".yaml"] = "---\n" + chunk
    return objects


def summarize_hook_code(text: str, hooks_zip: Path) -> str:
    """The hooks ConfigMap made readable: its symrouting.zip replaced by a line naming the
    file, after checking that it is hooks/symrouting.zip byte for byte, and plan.json
    (compact in the chart, to stay far below a ConfigMap's 1 MiB) indented, after checking
    that it is one line of JSON. The golden file then shows what the hooks are handed."""
    doc = yaml.safe_load(text)
    if doc.get("kind") != "ConfigMap" or "symrouting.zip" not in (doc.get("binaryData") or {}):
        return text
    if base64.b64decode(doc["binaryData"]["symrouting.zip"]) != hooks_zip.read_bytes():
        raise AssertionError("the ConfigMap's symrouting.zip is not hooks/symrouting.zip")
    out, skipping = [], False
    for line in text.splitlines(keepends=True):
        if line.startswith("  plan.json: "):
            plan = doc["data"]["plan.json"]
            assert plan.count("\n") <= 1, "plan.json is rendered compact"
            pretty = json.dumps(json.loads(plan), indent=2, sort_keys=True)
            out.append("  plan.json: |  # compact in the chart; indented here for reading\n")
            out += [f"    {row}\n" for row in pretty.splitlines()]
            skipping = True
            continue
        if line.startswith("  symrouting.zip: "):
            out.append("  symrouting.zip: <hooks/symrouting.zip, checked equal>\n")
            continue
        if skipping and (line.startswith("    ") or not line.strip()):
            continue
        skipping = False
        out.append(line)
    return "".join(out)


def read_case(case: str) -> dict[str, str]:
    folder = GOLDEN / case
    return {path.name: path.read_text() for path in sorted(folder.iterdir())} if folder.is_dir() else {}


def write_case(case: str, files: dict[str, str]) -> None:
    folder = GOLDEN / case
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for name, text in files.items():
        (folder / name).write_text(text)
