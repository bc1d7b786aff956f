"""Where the pinned upstream files (CRDs, chart-testing's schema) are on this machine.

Looked up in this order: SYMMETRIC_ROUTING_CRDS (a folder of CRDs the user names, laid out
like shared/crds/) for CRDs; the workplace's shared/ folder beside the repository; the cache
that scripts/fetch_upstream.py fills. Nothing of them is committed.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import yaml

from tests.support.helm import CHART

PINS_FILE = CHART / "ci" / "upstream-files.yaml"
CACHE = CHART / ".cache" / "upstream"


def pins() -> list[dict[str, str]]:
    return list(yaml.safe_load(PINS_FILE.read_text())["files"])


def shared_root() -> Path:
    return Path(os.environ.get("SYMMETRIC_ROUTING_SHARED", CHART.parent / "shared"))


def candidates(local: str) -> list[Path]:
    found = []
    named = os.environ.get("SYMMETRIC_ROUTING_CRDS")
    if named and local.startswith("crds/"):
        found.append(Path(named) / local.removeprefix("crds/"))
    return found + [shared_root() / local, CACHE / local]


def locate(local: str) -> Path:
    for candidate in candidates(local):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(
        f"{local} is in none of {', '.join(map(str, candidates(local)))}; "
        "run scripts/fetch_upstream.py (or set SYMMETRIC_ROUTING_CRDS)"
    )


def git_blob_id(path: Path) -> str:
    data = path.read_bytes()
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def crds() -> list[dict[str, Any]]:
    # libyaml's loader where PyYAML has it (as tests/support/helm.py): the same documents,
    # several times faster on 2.5 MB of CRDs than the pure-Python one
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return [yaml.load(locate(pin["local"]).read_text(), Loader=loader)
            for pin in pins() if pin["local"].startswith("crds/")]
