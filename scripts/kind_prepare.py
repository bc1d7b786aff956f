#!/usr/bin/env python3
"""Prepares a kind cluster for `ct install` of the ci/ sites (the ct-install job of
.github/workflows/ci.yaml): labels every node with each label a site's VRF policy selects
nodes by, but kubernetes.io/hostname, which kubelet owns (the install skips the preflight's
node-selectors check, which per-node policies could not pass on kind), and makes the namespaces the
sites' egress services name, except those the chart renders itself (a Namespace that exists
already could not be installed), plus the MetalLB namespace.

Usage: kind_prepare.py [--dry-run] [VALUES_FILE...]   (default: ci/*-values.yaml)
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
HOSTNAME = "kubernetes.io/hostname"


def plan(values_files: list[Path]) -> tuple[list[str], list[str]]:
    """(node labels as key=value, namespaces to make)."""
    labels: set[str] = set()
    namespaces: set[str] = set()
    rendered: set[str] = set()
    for path in values_files:
        values = yaml.safe_load(path.read_text()) or {}
        metallb = values.get("metallb") or {}
        namespaces.add(metallb.get("namespace") or "metallb-system")
        # Where the test pod's Role reads FRR-K8s's sessions (templates/_hooks.tpl,
        # symmetric-routing.frrK8sNamespace): the chart's default is OpenShift's, as the platform's.
        openshift = values.get("platform", "openshift") == "openshift"
        namespaces.add(metallb.get("frrK8sNamespace") or ("openshift-frr-k8s" if openshift else
                                                          metallb.get("namespace") or "metallb-system"))
        for vrf in (values.get("vrfs") or {}).values():
            selector = ((vrf or {}).get("policy") or {}).get("nodeSelector") or {}
            labels |= {f"{key}={value}" for key, value in selector.items() if key != HOSTNAME}
            for egress in ((vrf or {}).get("egressServices") or {}).values():
                if egress and egress.get("namespace"):
                    namespaces.add(egress["namespace"])
                    if (egress.get("service") or {}).get("createNamespace"):
                        rendered.add(egress["namespace"])
    return sorted(labels), sorted(namespaces - rendered)


def main(argv: list[str]) -> int:
    dry = "--dry-run" in argv
    files = [Path(a) for a in argv[1:] if a != "--dry-run"] or sorted((ROOT / "ci").glob("*-values.yaml"))
    labels, namespaces = plan(files)
    commands = [["kubectl", "label", "nodes", "--all", "--overwrite", *labels]]
    commands += [["kubectl", "create", "namespace", namespace] for namespace in namespaces]
    for command in commands:
        print(" ".join(command))
        if not dry:
            subprocess.run(command, check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
