"""`symrouting adopt`, then a real `helm install` of what it wrote (issue 15): a cluster set up
by hand with `kubectl apply` (the documentation's manifests, and a multi-node, several-VRF
site), adopted, handed to Helm 3 and Helm 4 with exactly the commands adopt prints. Nothing
is deleted or recreated, no policy's desiredState changes, no node changes, and a following
no-change upgrade (its prune runs) changes nothing on the nodes either.

What Helm does with an object that exists (helm pkg/action/install.go, Run: the rendered
resources go through existingResourceConflict of pkg/action/validate.go; one that exists
and passes checkOwnership is kept in toBeAdopted, and the install updates it with
KubeClient.Update instead of creating it): a patch, never a delete and a create.

Slow (30-60 s each): a hand-built site applied with kubectl, adopted, then a real install
with its hook Jobs and a no-change upgrade.
"""

from __future__ import annotations

import copy
import json
import os
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import handbuilt, helm
from tests.support.lifecycle import HELM_TIMEOUT, Cluster
from tests.support.rig import Rig

HOOKS = helm.CHART / "hooks"
KUBECTL = helm.TOOLS / "kubectl"
CASES = {
    "documentation": handbuilt.documentation_cluster,
    "multi-node": lambda: handbuilt.site_cluster(helm.CHART / "ci" / "multi-node-values.yaml"),
}
Key = tuple[str, str, str]  # kind, namespace, name


@pytest.fixture
def cluster(tmp_path: Path, rig: Rig) -> Iterator[Cluster]:
    for tool in [helm.helm_binary(v) for v in helm.HELM_VERSIONS] + [KUBECTL]:
        if not tool.exists():
            pytest.fail(f"{tool} is missing: run scripts/bootstrap.sh")
    running = Cluster(tmp_path, rig)
    yield running
    running.stop()


def kubectl(cluster: Cluster, *args: str) -> str:
    result = subprocess.run([str(KUBECTL), "--kubeconfig", str(cluster.kubeconfig), *args], capture_output=True,
                            text=True, timeout=60, check=False, env={"PATH": "/usr/bin:/bin", "HOME": str(cluster.folder)})
    assert result.returncode == 0, f"kubectl {' '.join(args)}:\n{result.stdout}{result.stderr}"
    return result.stdout


def build_by_hand(cluster: Cluster, case: str) -> list[dict[str, Any]]:
    """The case's cluster (its nodes and networks), then its objects as the person wrote them
    (each one's last-applied-configuration: what `kubectl apply` was given), applied with the
    real `kubectl apply`. Client-side apply creates a missing object with a POST whose
    fieldManager is kubectl-client-side-apply and whose annotation
    kubectl.kubernetes.io/last-applied-configuration holds what was applied (kubectl
    pkg/cmd/apply/apply.go, applyOneObject and FieldManagerClientSideApply;
    pkg/util/apply.go, CreateApplyAnnotation)."""
    objects, routes = CASES[case]()
    mine = {id(o) for o in objects}
    cluster.api.load({path: value for path, value in routes.items()
                      if id(value) not in mine and not (isinstance(value, list) and value and id(value[0]) in mine)})
    for namespace in sorted({o["metadata"].get("namespace") for o in objects} - {None}):
        cluster.api.put_object(cluster.api.kind_of("", "namespaces"),
                               {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
    manifests = [json.loads(o["metadata"]["annotations"][handbuilt.LAST_APPLIED]) for o in objects]
    path = cluster.folder / "by-hand.yaml"
    path.write_text("".join(f"---\n{json.dumps(m)}\n" for m in manifests))
    kubectl(cluster, "apply", "-f", str(path))
    cluster.nmstate.settle()
    return manifests


def snapshot(cluster: Cluster, manifests: list[dict[str, Any]]) -> dict[Key, dict[str, Any]]:
    found = {}
    for manifest in manifests:
        meta = manifest["metadata"]
        plural = handbuilt.crd_name(manifest).partition(".")[0] or {"Service": "services", "Secret": "secrets"}[manifest["kind"]]
        group = manifest["apiVersion"].rpartition("/")[0]
        live = cluster.api.get(group, plural, meta.get("namespace", ""), meta["name"])
        assert live is not None, f"{manifest['kind']} {meta['name']} is gone"
        found[(manifest["kind"], meta.get("namespace", ""), meta["name"])] = live
    return found


def adopt(cluster: Cluster, version: str, output: Path) -> subprocess.CompletedProcess[str]:
    """The real CLI, as from a laptop: --server, --token-file and --ca-file for the real
    server (through the rig's proxy), as a cluster admin."""
    token = cluster.folder / "token"
    token.write_text(cluster.api.token + "\n")
    return subprocess.run(
        [sys.executable, "-S", "-m", "symrouting", "adopt", "--release", helm.RELEASE, "--namespace", helm.NAMESPACE,
         "--output", str(output), "--helm", str(helm.helm_binary(version)), f"--server={cluster.server_url}",
         f"--token-file={token}", f"--ca-file={cluster.ca_file}"],
        capture_output=True, text=True, timeout=120, check=False,
        env={"PATH": os.environ["PATH"], "PYTHONPATH": str(HOOKS)})


def unchanged(cluster: Cluster, label: str, before: dict[Key, dict[str, Any]], manifests: list[dict[str, Any]],
              nodes: dict[str, Any], applied: int) -> None:
    """Every hand-built object is the one created by kubectl (uid, creationTimestamp: a
    deleted and created again object has a new uid), none was deleted, every policy has its
    desiredState, every node its state, and nmstate applied nothing."""
    after = snapshot(cluster, manifests)
    for key, live in before.items():
        for field in ("uid", "creationTimestamp"):
            assert after[key]["metadata"][field] == live["metadata"][field], f"{label}: {key} was recreated"
        if key[0] == "NodeNetworkConfigurationPolicy":
            assert after[key]["spec"] == live["spec"], f"{label}: the spec of {key} changed\n{cluster.log()}"
            assert after[key]["metadata"]["generation"] == live["metadata"]["generation"], label
    names = {name for _, _, name in before}
    deletes = [r.path for r in cluster.api.requests if r.method == "DELETE" and r.path.split("?")[0].rsplit("/", 1)[-1] in names]
    assert not deletes, f"{label}: DELETE {deletes}"
    assert cluster.actual_nodes() == nodes, f"{label}: a node changed\n{cluster.log()}"
    assert cluster.nmstate.applied[applied:] == [], f"{label}: nmstate applied {cluster.nmstate.applied[applied:]}"
    assert not cluster.nmstate.errors, cluster.nmstate.errors


def labelled(cluster: Cluster, version: str, output: Path, manifests: list[dict[str, Any]]) -> None:
    """Every adopted object carries the labels the chart renders for it, which the hooks and
    `symrouting status` select a release's objects by (app.kubernetes.io/instance and
    symmetric-routing/release-namespace). Helm 3 does not put them there itself: its install
    hands the rendered objects to KubeClient.Update as the "original" of the adopted ones
    (helm v3 pkg/action/validate.go existingResourceConflict appends the rendered info;
    pkg/kube/client.go createPatch diffs original and target, an empty merge patch for a
    custom resource, "Looks like there are no changes"), so `kubectl label` must."""
    rendered = helm.template(version, [output])
    assert rendered.returncode == 0, rendered.stderr
    wanted = {(d["kind"], d["metadata"].get("namespace", ""), d["metadata"]["name"]): d["metadata"].get("labels")
              for d in rendered.documents}
    for key, live in snapshot(cluster, manifests).items():
        if key[0] == "Service":  # the application's: read for its pool, not adopted
            continue
        assert live["metadata"].get("labels") == wanted[key], f"{key}: {live['metadata'].get('labels')}"


def job_passed(cluster: Cluster, role: str) -> None:
    name = f"{helm.RELEASE}-symmetric-routing-{role}"
    attempts = cluster.jobs.attempts.get((helm.NAMESPACE, name))
    assert attempts, f"the {role} Job did not run\n{cluster.log()}"
    assert attempts[-1].returncode == 0, attempts[-1].output


@pytest.mark.parametrize("version", helm.HELM_VERSIONS)
@pytest.mark.parametrize("case", sorted(CASES))
def test_adopt_then_install(cluster: Cluster, case: str, version: str) -> None:
    manifests = build_by_hand(cluster, case)
    before = snapshot(cluster, manifests)
    for live in before.values():
        # what client-side apply leaves (see build_by_hand); nmstate's status writes are
        # recorded beside it, as the status subresource's
        assert handbuilt.LAST_APPLIED in live["metadata"]["annotations"]
        assert [(e["manager"], e["operation"]) for e in live["metadata"]["managedFields"]
                if e.get("subresource") != "status"] == [("kubectl-client-side-apply", "Update")]
    nodes, applied = cluster.actual_nodes(), len(cluster.nmstate.applied)
    assert any(nodes.values()), "nmstate applied no policy to any node"

    output = cluster.folder / "site.yaml"
    result = adopt(cluster, version, output)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "clean: the chart renders the" in result.stdout, result.stdout
    printed = [line.strip() for line in result.stdout.splitlines() if line.startswith("  kubectl ")
               or line.startswith("  helm install ")]
    assert printed and printed[-1].startswith("helm install "), result.stdout

    # exactly what adopt printed: kubectl, then the helm install (with its default apply: Helm 4 server-side)
    for line in printed[:-1]:
        kubectl(cluster, *shlex.split(line)[1:])
    step = cluster.helm(version, *shlex.split(printed[-1])[1:], "--timeout", HELM_TIMEOUT)
    assert step.returncode == 0, f"{printed[-1]}:\n{step.output}"
    job_passed(cluster, "preflight")
    # Helm 4 applies server-side (application/apply-patch+yaml); Helm 3 sends a merge patch
    patches = {r.content_type for r in cluster.api.requests if r.method == "PATCH"
               and r.path.split("?")[0].rsplit("/", 1)[-1] in {n for _, _, n in before}}
    assert ("application/apply-patch+yaml" in patches) == (version == "helm4"), patches
    status = json.loads(cluster.helm(version, "status", helm.RELEASE, "-n", helm.NAMESPACE, "-o", "json").output)
    assert status["info"]["status"] == "deployed"
    unchanged(cluster, "install", before, manifests, nodes, applied)
    labelled(cluster, version, output, manifests)

    # a no-change upgrade: its pre-upgrade prune runs and finds nothing to take off a node
    step = cluster.helm(version, "upgrade", helm.RELEASE, str(helm.CHART), "-n", helm.NAMESPACE, "-f", str(output),
                        "--timeout", HELM_TIMEOUT)
    assert step.returncode == 0, step.output
    job_passed(cluster, "prune")
    unchanged(cluster, "upgrade", before, manifests, nodes, applied)
    labelled(cluster, version, output, manifests)
