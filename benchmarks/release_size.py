#!/usr/bin/env python3
"""Benchmark (not a test): how much of Helm's release Secret a site takes, on the real API server.

Helm keeps each revision in a Secret `sh.helm.release.v1.<release>.v<N>` whose `release` key is
base64(gzip(JSON of the release)): the rendered manifest, the hooks, and the whole chart (its
templates, values, schema and every other file, so hooks/ and the README too) (helm v3.19.0 and
v4.1.4 pkg/storage/driver/secrets.go, util.go encodeRelease). Kubernetes refuses a Secret whose
data exceeds 1 MiB (k8s.io/api core/v1 MaxSecretSize; pkg/apis/core/validation ValidateSecret).
Target: under half of that, so a site can grow and an upgrade's two revisions never fail on size.

For the seed site, 250 nodes x 4 VRFs and 500 VRFs, it installs the release with the real
`helm` 3 and 4 (`--no-hooks`: the hooks are stored all the same) into the real kube-apiserver
of tests/support/realcluster.py, reads the Secret back, and prints its size beside the limit
with what each part of the release costs gzipped on its own.

Run: .tools/venv/bin/python benchmarks/release_size.py [SITE ...]   (e.g. seed)
"""

from __future__ import annotations

import base64
import gzip
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.render import generated_site, multi_node_site  # noqa: E402
from tests.support import realcluster  # noqa: E402

LIMIT = 1024 * 1024
TARGET = LIMIT // 2
HELMS = {"helm3": ROOT / ".tools" / "bin" / "helm3", "helm4": ROOT / ".tools" / "bin" / "helm4"}


def gz(value: object) -> int:
    data = value if isinstance(value, bytes) else json.dumps(value).encode()
    return len(gzip.compress(data))


def parts(release: dict[str, object]) -> dict[str, int]:
    """Each part of the release JSON, gzipped on its own (they share one gzip stream in the
    Secret, so the sum is a little more than the whole)."""
    chart = release["chart"]
    assert isinstance(chart, dict)
    files = {f["name"]: base64.b64decode(f["data"]) for f in chart.get("files") or []}
    return {
        "manifest": gz(str(release.get("manifest", "")).encode()),
        "hooks (rendered)": gz(release.get("hooks") or []),
        "templates": gz(chart.get("templates") or []),
        "values + schema": gz({"values": chart.get("values"), "schema": chart.get("schema")}),
        "chart files: hooks/": gz(b"".join(v for k, v in files.items() if k.startswith("hooks/"))),
        "chart files: README.md": gz(files.get("README.md", b"")),
        "chart files: others": gz(b"".join(v for k, v in files.items()
                                           if not k.startswith("hooks/") and k != "README.md")),
    }


def install(cluster: realcluster.RealCluster, helm: Path, name: str, values: Path, folder: Path) -> dict[str, object]:
    cluster.kubectl("create", "namespace", name)
    subprocess.run([str(helm), "install", name, str(ROOT), "-n", name, "-f", str(values), "--no-hooks",
                    "--kubeconfig", str(cluster.kubeconfig), "--timeout", "300s"],
                   check=True, capture_output=True, text=True, timeout=600)
    secret = cluster.request("GET", f"/api/v1/namespaces/{name}/secrets/sh.helm.release.v1.{name}.v1")
    stored = base64.b64decode(secret["data"]["release"])
    release = json.loads(gzip.decompress(base64.b64decode(stored)))
    subprocess.run([str(helm), "uninstall", name, "-n", name, "--no-hooks", "--kubeconfig", str(cluster.kubeconfig)],
                   check=True, capture_output=True, text=True, timeout=600)
    return {"secret": sum(len(base64.b64decode(v)) for v in secret["data"].values()), "parts": parts(release),
            "objects": str(release.get("manifest", "")).count("\nkind: ")}


def main() -> int:
    only = sys.argv[1:]  # site labels to measure (all when none)
    sites = {
        "seed": yaml.safe_load((ROOT / "ci" / "seed-values.yaml").read_text()),
        "250 nodes x 4 VRFs": multi_node_site(250),
        "500 VRFs": generated_site(500),
    }
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        cluster = realcluster.start(folder / "cluster")
        try:
            for namespace in ("apps", "test", "metallb-system", "openshift-nmstate"):
                cluster.kubectl("create", "namespace", namespace, check=False)
            print(f"{'site':<20} {'helm':<6} {'objects':>7} {'Secret':>10} {'of 1 MiB':>8} {'target':>8}")
            detail = {}
            for index, (label, site) in enumerate(sites.items()):
                if only and label not in only:
                    continue
                values = folder / f"site{index}.yaml"
                values.write_text(yaml.safe_dump(site))
                for helm_name, helm in HELMS.items():
                    got = install(cluster, helm, f"size{index}{helm_name[-1]}", values, folder)
                    size = int(got["secret"])  # type: ignore[call-overload]
                    verdict = "ok" if size <= TARGET else "OVER"
                    print(f"{label:<20} {helm_name:<6} {got['objects']:>7} {size / 1024:>8.1f} KiB "
                          f"{size / LIMIT:>7.1%} {verdict:>8}")
                    detail[label] = got["parts"]
            print("\nwhat each part costs, gzipped on its own (Helm 4's release):")
            for label, sizes in detail.items():
                print(f"  {label}: " + ", ".join(f"{k} {v / 1024:.1f} KiB" for k, v in sizes.items()))  # type: ignore[attr-defined]
        finally:
            cluster.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
