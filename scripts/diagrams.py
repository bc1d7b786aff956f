#!/usr/bin/env python3
"""The README's topology diagrams, drawn by `symrouting diagram` from rendered sites.

Usage: diagrams.py [--write | --check] [--helm PATH]
  --write  replace each diagram between its markers in README.md
  --check  exit 1 when a diagram in README.md differs from what the sites render
Markers: <!-- diagram:<site>:start --> ... <!-- diagram:<site>:end -->, <site> a ci/ site.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MARKER = re.compile(r"<!-- diagram:(?P<site>[a-z0-9-]+):start -->\n.*?<!-- diagram:(?P=site):end -->", re.DOTALL)


def render(site: str, helm: str) -> str:
    manifest = subprocess.run([helm, "template", "tenant-a", str(ROOT), "--namespace", "test", "--values",
                               str(ROOT / "ci" / f"{site}-values.yaml")], capture_output=True, text=True, check=True).stdout
    env = {**os.environ, "PYTHONPATH": str(ROOT / "hooks")}
    return subprocess.run([sys.executable, "-m", "symrouting", "diagram", "--plan-from-manifest", "-"], input=manifest,
                          capture_output=True, text=True, check=True, env=env).stdout


def updated(readme: str, helm: str) -> str:
    def block(match: re.Match[str]) -> str:
        site = match.group("site")
        return f"<!-- diagram:{site}:start -->\n```mermaid\n{render(site, helm)}```\n<!-- diagram:{site}:end -->"

    return MARKER.sub(block, readme)


def main(argv: list[str]) -> int:
    helm = argv[argv.index("--helm") + 1] if "--helm" in argv else (shutil.which("helm") or str(ROOT / ".tools" / "bin" / "helm3"))
    readme_path = ROOT / "README.md"
    readme = readme_path.read_text()
    fresh = updated(readme, helm)
    if "--write" in argv:
        readme_path.write_text(fresh)
    elif "--check" in argv and fresh != readme:
        print("README.md's diagrams are stale: run scripts/diagrams.py --write", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
