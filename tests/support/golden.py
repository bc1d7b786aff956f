"""Golden files: one readable YAML file per rendered object, under tests/golden/<case>/."""

from __future__ import annotations

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


def read_case(case: str) -> dict[str, str]:
    folder = GOLDEN / case
    return {path.name: path.read_text() for path in sorted(folder.iterdir())} if folder.is_dir() else {}


def write_case(case: str, files: dict[str, str]) -> None:
    folder = GOLDEN / case
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for name, text in files.items():
        (folder / name).write_text(text)
