"""`vrfs.<vrf>.waves`: a waved site renders each per-node policy with the Argo CD sync wave
that stages it (the canary first, then batches in name order, named nodes where named), and
nothing else of the release gets a wave; the waves Argo CD would run, in order, are the ones
the wait Job waits for (the plan's `wave`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from tests.support import helm

SEED = helm.CHART / "ci" / "seed-values.yaml"
WAVE = "argocd.argoproj.io/sync-wave"


def site(tmp_path: Path, waves: str, count: int = 7) -> list[dict[str, Any]]:
    nodes = "".join(f"      worker-{i}: {{ens4: 192.168.130.{130 + i}/24}}\n" for i in range(count))
    override = tmp_path / "waves.yaml"
    override.write_text("vrfs:\n  ens4vrf:\n    policy: {nodeSelector: {node-role.kubernetes.io/worker: \"\"}}\n"
                        f"    ports: {{ens4: {{ipv4: null}}}}\n    nodes:\n{nodes}    waves: {waves}\n")
    result = helm.template("helm3", [SEED, override])
    assert result.returncode == 0, result.stderr
    return result.documents


def argo_waves(documents: list[dict[str, Any]]) -> dict[str, list[str]]:
    """The policies per sync wave, in the order Argo CD applies the waves (lowest first)."""
    waves: dict[str, list[str]] = {}
    for doc in documents:
        if doc["kind"] == "NodeNetworkConfigurationPolicy":
            waves.setdefault(doc["metadata"]["annotations"][WAVE], []).append(doc["spec"]["nodeSelector"]["kubernetes.io/hostname"])
    return dict(sorted(waves.items(), key=lambda item: int(item[0])))


def test_a_canary_then_batches_of_three(tmp_path: Path) -> None:
    documents = site(tmp_path, "{canary: 1, batchSize: 3}")
    assert argo_waves(documents) == {"1": ["worker-0"], "2": ["worker-1", "worker-2", "worker-3"],
                                     "3": ["worker-4", "worker-5", "worker-6"]}


def test_a_larger_canary_and_the_rest_in_one_wave(tmp_path: Path) -> None:
    assert argo_waves(site(tmp_path, "{canary: 2}")) == {
        "1": ["worker-0", "worker-1"], "2": ["worker-2", "worker-3", "worker-4", "worker-5", "worker-6"]}


def test_waves_named_per_node(tmp_path: Path) -> None:
    """Named nodes take their wave and are not counted in the canary and batches."""
    documents = site(tmp_path, "{batchSize: 2, nodes: {worker-6: 1, worker-0: 4}}")
    assert argo_waves(documents) == {"1": ["worker-1", "worker-6"], "2": ["worker-2", "worker-3"],
                                     "3": ["worker-4", "worker-5"], "4": ["worker-0"]}


def test_only_the_policies_get_a_wave(tmp_path: Path) -> None:
    """Everything else stays in wave 0, before the first policy: peers, pools and services
    exist before any node gets the VRF, as without waves."""
    for doc in site(tmp_path, "{canary: 1, batchSize: 3}"):
        if doc["kind"] != "NodeNetworkConfigurationPolicy":
            assert WAVE not in (doc["metadata"].get("annotations") or {}), doc["metadata"]["name"]


def test_the_wait_waits_for_the_same_waves(tmp_path: Path) -> None:
    documents = site(tmp_path, "{canary: 1, batchSize: 3}")
    [config_map] = [d for d in documents if d["kind"] == "ConfigMap" and "plan.json" in d.get("data", {})]
    plan = json.loads(config_map["data"]["plan.json"])
    planned: dict[str, list[str]] = {}
    for policy in plan["vrfs"][0]["policies"]:
        planned.setdefault(str(policy["wave"]), []).append(policy["node"])
    assert planned == argo_waves(documents)


def test_no_waves_no_annotation(tmp_path: Path) -> None:
    override = tmp_path / "plain.yaml"
    override.write_text(yaml.safe_dump({"vrfs": {"ens4vrf": {"nodes": {"worker-0": {"ens4": "192.168.130.130/24"}},
                                                              "ports": {"ens4": {"ipv4": None}}}}}))
    result = helm.template("helm3", [SEED, override])
    assert result.returncode == 0, result.stderr
    [policy] = [d for d in result.documents if d["kind"] == "NodeNetworkConfigurationPolicy"]
    assert WAVE not in (policy["metadata"].get("annotations") or {})
