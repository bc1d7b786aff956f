"""The PrometheusRule (alerts.enabled): off by default; valid against prometheus-operator's own
CRD, of the version rig/go/prometheus-operator/go.mod pins, read from the Go module cache;
accepted by the real `promtool check rules`; and each alert shown by `promtool test rules`
(promtool built from rig/go/prometheus) firing on series that break symmetry, and silent on
healthy series and on other releases', VRFs', peers' and namespaces' series.

The series carry the exporters' own names and labels (see templates/prometheusrule.yaml):
MetalLB v0.16.1 frr-tools/metrics/collector/bgp.go and internal/bgp/metrics/metrics.go,
speaker/main.go (announcing), internal/k8s/controllers/stats.go; frr-k8s v0.0.25
cmd/metrics/collector/bgp.go and metrics.go.
"""

from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft7Validator

from tests.support import helm

SEED = helm.CHART / "ci" / "seed-values.yaml"
PROMTOOL = helm.TOOLS / "promtool"
OPERATOR = helm.CHART / "rig" / "go" / "prometheus-operator"
CRD = "example/prometheus-operator-crd/monitoring.coreos.com_prometheusrules.yaml"
RELEASE = "test/tenant-a"


def render(tmp_path: Path, *overrides: str) -> list[dict[str, Any]]:
    files = [SEED]
    for index, text in enumerate(overrides):
        files.append(tmp_path / f"override-{index}.yaml")
        files[-1].write_text(text)
    result = helm.template("helm3", files)
    assert result.returncode == 0, result.stderr
    return [d for d in result.documents if d["kind"] == "PrometheusRule"]


@pytest.fixture
def rule(tmp_path: Path) -> dict[str, Any]:
    [found] = render(tmp_path, "alerts: {enabled: true, labels: {release: kube-prometheus-stack}}\n")
    return found


@cache
def crd() -> dict[str, Any]:
    """The PrometheusRule CRD from the pinned prometheus-operator module (go mod download)."""
    go = shutil.which("go")
    if go is None:
        pytest.fail("go is not on PATH: the PrometheusRule CRD is read from the Go module cache")
    pinned = re.search(r"^require github.com/prometheus-operator/prometheus-operator (v\S+)$",
                       (OPERATOR / "go.mod").read_text(), re.MULTILINE)
    assert pinned, "rig/go/prometheus-operator/go.mod pins no prometheus-operator"
    found = subprocess.run([go, "mod", "download", "-json", "github.com/prometheus-operator/prometheus-operator"],
                           cwd=OPERATOR, capture_output=True, text=True, check=False)
    assert found.returncode == 0, found.stdout + found.stderr
    module = json.loads(found.stdout)
    assert module["Version"] == pinned.group(1)
    return dict(yaml.safe_load((Path(module["Dir"]) / CRD).read_text()))


def strict(schema: Any) -> Any:
    """The CRD's schema refusing fields it does not name, as the API server prunes them
    (apiextensions structural pruning), unless it keeps unknown fields."""
    if isinstance(schema, list):
        return [strict(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {key: strict(value) for key, value in schema.items()}
    if "properties" in out and not out.get("x-kubernetes-preserve-unknown-fields"):
        out.setdefault("additionalProperties", False)
    return out


def crd_errors(obj: dict[str, Any]) -> list[str]:
    [served] = [v for v in crd()["spec"]["versions"] if v["name"] == "v1" and v.get("served")]
    validator = Draft7Validator(strict(served["schema"]["openAPIV3Schema"]))
    return [f"{'/'.join(map(str, e.path))}: {e.message}" for e in validator.iter_errors(obj)]


def promtool(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    if not PROMTOOL.exists():
        pytest.fail(f"{PROMTOOL} is missing: run scripts/bootstrap.sh rig (builds rig/go/prometheus)")
    return subprocess.run([str(PROMTOOL), *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False)


def test_off_by_default(tmp_path: Path) -> None:
    assert render(tmp_path) == []


def test_the_rule_matches_the_pinned_crd(rule: dict[str, Any]) -> None:
    assert crd_errors(rule) == []
    assert rule["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    # the validation is real: a field the CRD does not know is refused
    broken = copy.deepcopy(rule)
    broken["spec"]["groups"][0]["rules"][0]["severity"] = "page"
    assert any("severity" in error for error in crd_errors(broken))


def test_promtool_checks_the_rules(rule: dict[str, Any], tmp_path: Path) -> None:
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump(rule["spec"]))
    result = promtool("check", "rules", "rules.yaml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 4 rules found" in result.stdout, result.stdout


# -- promtool test rules: each alert fires on a series that breaks symmetry -------------------

DOWN = ("The BGP session to 192.168.130.1 in VRF ens4vrf (release test/tenant-a) is down on {instance}: the node "
        "announces none of the tenant's addresses through it, and their return traffic leaves through another path "
        "or none.")
COMMON = {"release": RELEASE, "severity": "warning"}
SERVICE = {**COMMON, "vrf": "ens4vrf", "service": "test/server1", "pool": "first-pool"}

SESSION_DOWN = {
    "interval": "1m",
    "input_series": [
        # ours, FRR mode (MetalLB's frr-metrics): down from minute 5
        {"series": 'metallb_bgp_session_up{instance="worker-0:7473",peer="192.168.130.1",vrf="ens4vrf"}',
         "values": "1x4 0x15"},
        # ours, FRR-K8s mode, on another node: up
        {"series": 'frrk8s_bgp_session_up{instance="worker-1:7573",peer="192.168.130.1",vrf="ens4vrf"}',
         "values": "1x20"},
        # another peer (the dots are literal, the match anchored), another VRF: down, not ours
        {"series": 'metallb_bgp_session_up{instance="worker-0:7473",peer="192.168.130.10",vrf="ens4vrf"}',
         "values": "0x20"},
        {"series": 'metallb_bgp_session_up{instance="worker-0:7473",peer="192x168x130x1",vrf="ens4vrf"}',
         "values": "0x20"},
        {"series": 'frrk8s_bgp_session_up{instance="worker-2:7573",peer="192.168.130.1",vrf="ens5vrf"}',
         "values": "0x20"},
    ],
    "alert_rule_test": [
        {"eval_time": "4m", "alertname": "SymmetricRoutingBGPSessionDown", "exp_alerts": []},
        # down since 5m, `for: 5m`: pending at 9m, firing from 10m
        {"eval_time": "9m", "alertname": "SymmetricRoutingBGPSessionDown", "exp_alerts": []},
        {"eval_time": "11m", "alertname": "SymmetricRoutingBGPSessionDown", "exp_alerts": [{
            "exp_labels": {**COMMON, "vrf": "ens4vrf", "peer": "192.168.130.1", "instance": "worker-0:7473"},
            "exp_annotations": {"summary": "BGP session of VRF ens4vrf down",
                                "description": DOWN.format(instance="worker-0:7473")}}]},
    ],
}

NOT_ANNOUNCED = {
    "interval": "1m",
    "input_series": [
        # the speaker stops announcing server1 at minute 5 (announcing.Delete: the series goes)
        {"series": 'metallb_speaker_announced{ip="192.169.10.0",node="worker-0",protocol="bgp",service="test/server1"}',
         "values": "1x4 _x20"},
        # a layer 2 announcement of it, and another service's BGP one, do not count
        {"series": 'metallb_speaker_announced{ip="192.169.10.0",node="worker-0",protocol="layer2",service="test/server1"}',
         "values": "1x25"},
        {"series": 'metallb_speaker_announced{ip="192.169.20.0",node="worker-0",protocol="bgp",service="prod/server2"}',
         "values": "1x25"},
    ],
    "alert_rule_test": [
        {"eval_time": "4m", "alertname": "SymmetricRoutingServiceNotAnnounced", "exp_alerts": []},
        # gone after the 5 m lookback (minute 9), then `for: 5m`
        {"eval_time": "20m", "alertname": "SymmetricRoutingServiceNotAnnounced", "exp_alerts": [{
            "exp_labels": SERVICE,
            "exp_annotations": {
                "summary": "test/server1 is announced from no node",
                "description": "No MetalLB speaker announces the address of test/server1 (pool first-pool, VRF ens4vrf) "
                               "over BGP: clients cannot reach it."}}]},
    ],
}

SEVERAL_NODES = {
    "interval": "1m",
    "input_series": [
        {"series": 'metallb_speaker_announced{ip="192.169.10.0",node="worker-0",protocol="bgp",service="test/server1"}',
         "values": "1x20"},
        # a second node starts announcing it at minute 5: not the egress host
        {"series": 'metallb_speaker_announced{ip="192.169.10.0",node="worker-1",protocol="bgp",service="test/server1"}',
         "values": "0x4 1x15"},
        # another release's service announced from two nodes is not ours
        {"series": 'metallb_speaker_announced{ip="192.169.20.0",node="worker-0",protocol="bgp",service="prod/server2"}',
         "values": "1x20"},
        {"series": 'metallb_speaker_announced{ip="192.169.20.0",node="worker-1",protocol="bgp",service="prod/server2"}',
         "values": "1x20"},
    ],
    "alert_rule_test": [
        {"eval_time": "4m", "alertname": "SymmetricRoutingServiceAnnouncedFromSeveralNodes", "exp_alerts": []},
        {"eval_time": "11m", "alertname": "SymmetricRoutingServiceAnnouncedFromSeveralNodes", "exp_alerts": [{
            "exp_labels": {**SERVICE, "ip": "192.169.10.0"},
            "exp_annotations": {
                "summary": "test/server1 is announced from 2 nodes",
                "description": "The address 192.169.10.0 of test/server1 (pool first-pool, VRF ens4vrf) is announced from "
                               "2 nodes, but only the node OVN-Kubernetes picked for its EgressService sends its replies: "
                               "traffic that enters anywhere else returns asymmetrically."}}]},
    ],
}

CONFIG = {
    "interval": "1m",
    "input_series": [
        {"series": 'metallb_k8s_client_config_loaded_bool{container="speaker",instance="worker-0:7472",'
                   'namespace="metallb-system",pod="speaker-x7k2p"}', "values": "1x20"},
        # the latest configuration fails to load from minute 5: the speaker runs on a stale one
        {"series": 'metallb_k8s_client_config_stale_bool{container="speaker",instance="worker-0:7472",'
                   'namespace="metallb-system",pod="speaker-x7k2p"}', "values": "0x4 1x15"},
        # another MetalLB installation's namespace is not ours
        {"series": 'metallb_k8s_client_config_loaded_bool{container="controller",instance="10.0.0.9:7472",'
                   'namespace="other-metallb",pod="controller-1"}', "values": "0x20"},
    ],
    "alert_rule_test": [
        {"eval_time": "4m", "alertname": "SymmetricRoutingMetalLBConfigNotLoaded", "exp_alerts": []},
        {"eval_time": "11m", "alertname": "SymmetricRoutingMetalLBConfigNotLoaded", "exp_alerts": [{
            "exp_labels": {**COMMON, "container": "speaker", "instance": "worker-0:7472", "namespace": "metallb-system",
                           "pod": "speaker-x7k2p"},
            "exp_annotations": {
                "summary": "MetalLB runs without its latest configuration",
                "description": "MetalLB's speaker in metallb-system on worker-0:7472 has not loaded its configuration, or "
                               "the latest failed to load: changes of release test/tenant-a (peers, pools, "
                               "advertisements) are not in effect."}}]},
    ],
}

CASES = {"session-down": SESSION_DOWN, "not-announced": NOT_ANNOUNCED, "several-nodes": SEVERAL_NODES,
         "config-not-loaded": CONFIG}


def run_tests(rule: dict[str, Any], folder: Path, case: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    (folder / "rules.yaml").write_text(yaml.safe_dump(rule["spec"]))
    (folder / "tests.yaml").write_text(yaml.safe_dump(
        {"rule_files": ["rules.yaml"], "evaluation_interval": "1m", "tests": [case]}, sort_keys=False))
    return promtool("test", "rules", "tests.yaml", cwd=folder)


@pytest.mark.parametrize("name", CASES)
def test_each_alert_fires_on_lost_symmetry_and_only_then(rule: dict[str, Any], tmp_path: Path, name: str) -> None:
    result = run_tests(rule, tmp_path, CASES[name])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout, result.stdout


def test_a_wrong_expectation_fails_promtool(rule: dict[str, Any], tmp_path: Path) -> None:
    """promtool really compares: the session-down case expecting no alert at 11m fails."""
    case = copy.deepcopy(SESSION_DOWN)
    case["alert_rule_test"][-1]["exp_alerts"] = []
    result = run_tests(rule, tmp_path, case)
    assert result.returncode != 0 and "SymmetricRoutingBGPSessionDown" in result.stdout + result.stderr
