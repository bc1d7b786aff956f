#!/usr/bin/env python3
"""Downloads the pinned upstream files of ci/upstream-files.yaml into .cache/upstream/.

For machines without the workplace's shared/ folder (a laptop, a hosted CI runner). Each file
is fetched at its pinned commit and kept only when its git blob id matches the pin. Files
already cached with the right blob id are not fetched again.

Usage: fetch_upstream.py [DEST]   (default: .cache/upstream)
"""

from __future__ import annotations

import hashlib
import sys
import urllib.request
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def git_blob_id(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def main(argv: list[str]) -> int:
    dest = Path(argv[1]) if len(argv) > 1 else ROOT / ".cache" / "upstream"
    pins = yaml.safe_load((ROOT / "ci" / "upstream-files.yaml").read_text())["files"]
    for pin in pins:
        target = dest / pin["local"]
        if target.exists() and git_blob_id(target.read_bytes()) == pin["blob"]:
            continue
        url = f"https://raw.githubusercontent.com/{pin['repository']}/{pin['commit']}/{pin['path']}"
        try:
            with urllib.request.urlopen(url, timeout=60) as response:
                data = response.read()
        except OSError as error:
            print(f"{url}: {error}. Without a network, put the pinned files where the suite looks: a shared/ "
                  "folder beside the repository (or SYMMETRIC_ROUTING_SHARED), or SYMMETRIC_ROUTING_CRDS",
                  file=sys.stderr)
            return 1
        if git_blob_id(data) != pin["blob"]:
            print(f"{url}: blob {git_blob_id(data)} is not the pinned {pin['blob']}", file=sys.stderr)
            return 1
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        print(f"fetched {pin['local']}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
