"""Values that MetalLB, nmstate and OVN-Kubernetes accept render: the chart refuses no more
than upstream does. Each case is an override of ci/seed-values.yaml and names the upstream
code that accepts it; the rendered objects must carry the values as given."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.support import helm, kubeschema

SEED = helm.CHART / "ci" / "seed-values.yaml"


def render(version: str, tmp_path: Path, override: str) -> list[dict[str, Any]]:
    """The documents of the seed site with the override, each valid for the API server
    (kubeconform -strict and the CEL rules, tests/support/kubeschema.py)."""
    later = tmp_path / "override.yaml"
    later.write_text(override)
    result = helm.template(version, [SEED, later])
    assert result.returncode == 0, result.stderr
    documents = list(result.documents)
    for doc, problems in zip(documents, kubeschema.validate_all(documents, kubeschema.NEWEST_KUBERNETES)):
        assert problems == [], f"{doc['kind']}/{doc['metadata']['name']}"
    return documents


def one(documents: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    [document] = [doc for doc in documents if doc["kind"] == kind]
    return document


def refusal(tmp_path: Path, override: str) -> str:
    later = tmp_path / "override.yaml"
    later.write_text(override)
    result = helm.template("helm3", [SEED, later])
    assert result.returncode != 0, "rendered"
    return result.stderr


PEER = "vrfs: {ens4vrf: {bgpPeers: {frrviavrf: %s}}}\n"


@pytest.mark.parametrize(("timers", "spec"), [
    # metallb internal/config/config.go parseTimers: keepalive alone, the hold time is 3 of it
    pytest.param("{keepaliveTime: 2m}", {"keepaliveTime": "2m"}, id="keepalive-alone"),
    pytest.param("{keepaliveTime: 1s}", {"keepaliveTime": "1s"}, id="keepalive-alone-3s-hold"),
    # parseTimers refuses keepalive > hold only, so equal is fine
    pytest.param("{holdTime: 30s, keepaliveTime: 30s}", {"holdTime": "30s", "keepaliveTime": "30s"},
                 id="keepalive-equals-hold"),
    # parseTimers: the hold time in whole seconds is 0 or >= 3, so 0 and 3s pass
    pytest.param("{holdTime: 0s}", {"holdTime": "0s"}, id="hold-zero"),
    pytest.param("{holdTime: 3s}", {"holdTime": "3s"}, id="hold-3s"),
    # the BGPPeer CRD's CEL rules on connectTime: whole seconds from 1 to 65535
    pytest.param("{connectTime: 1s}", {"connectTime": "1s"}, id="connect-1s"),
    pytest.param("{connectTime: 65535s}", {"connectTime": "65535s"}, id="connect-65535s"),
    pytest.param("{connectTime: 1m}", {"connectTime": "1m"}, id="connect-1m"),
    pytest.param("{connectTime: 1h}", {"connectTime": "1h"}, id="connect-1h"),
    pytest.param("{connectTime: 2000ms}", {"connectTime": "2000ms"}, id="connect-2000ms"),
])
def test_bgp_timers_upstream_accepts_render(tmp_path: Path, timers: str, spec: dict[str, str]) -> None:
    peer = one(render("helm3", tmp_path, PEER % timers), "BGPPeer")
    assert {key: peer["spec"][key] for key in spec} == spec


@pytest.mark.parametrize(("timers", "field"), [
    pytest.param("{connectTime: 999ms}", "connectTime", id="connect-999ms"),
    pytest.param("{connectTime: 18h12m16s}", "connectTime", id="connect-65536s"),
    pytest.param("{holdTime: 2999ms}", "holdTime", id="hold-2999ms"),
    pytest.param("{keepaliveTime: 999ms}", "keepaliveTime", id="keepalive-alone-2997ms-hold"),
])
def test_bgp_timers_just_past_the_bound_are_refused(tmp_path: Path, timers: str, field: str) -> None:
    assert f"vrfs.ens4vrf.bgpPeers.frrviavrf.{field}: " in refusal(tmp_path, PEER % timers)


def test_service_selectors_with_the_default_aggregation_lengths_render(tmp_path: Path) -> None:
    """The BGPAdvertisement CRD's CEL rule and metallb internal/config/config.go
    bgpAdvertisementFromCR allow serviceSelectors beside aggregationLength 32 and
    aggregationLengthV6 128, the defaults (serviceSelectors: MetalLB 0.16 and later)."""
    documents = render("helm3", tmp_path, """
metallb:
  version: "0.16.1"
vrfs:
  ens4vrf:
    bgpAdvertisements:
      first-adv:
        serviceSelectors: [{matchLabels: {app: web}}]
        aggregationLength: 32
        aggregationLengthV6: 128
""")
    spec = one(documents, "BGPAdvertisement")["spec"]
    assert (spec["aggregationLength"], spec["aggregationLengthV6"]) == (32, 128)
    assert spec["serviceSelectors"] == [{"matchLabels": {"app": "web"}}]


def test_service_selectors_with_another_aggregation_length_are_refused(tmp_path: Path) -> None:
    stderr = refusal(tmp_path, """
vrfs: {ens4vrf: {bgpAdvertisements: {first-adv: {serviceSelectors: [{matchLabels: {app: web}}], aggregationLength: 31}}}}
""")
    assert "vrfs.ens4vrf.bgpAdvertisements.first-adv: serviceSelectors" in stderr


DISJOINT = """
vrfs:
  ens4vrf:
    bgpPeers:
      frrviavrf: {nodeSelectors: [{matchLabels: {rack: a}}]}
      second:
        myASN: 101
        peerASN: 200
        peerAddress: 192.168.130.2
        nodeSelectors: [{matchLabels: {rack: b}}]
"""


def test_my_asn_on_disjoint_nodes_is_refused_before_metallb_0_16(tmp_path: Path) -> None:
    """metallb v0.15.3 internal/config/validation.go DiscardNativeOnly: one myASN per VRF,
    whatever the nodes. metallb.version defaults to 0.15."""
    assert "MetalLB before 0.16 applies this on every node" in refusal(tmp_path, DISJOINT)


def test_my_asn_on_disjoint_nodes_renders_from_metallb_0_16(tmp_path: Path) -> None:
    """metallb v0.16.0 internal/config/validation.go checkFRRPeersCompatible: peers whose
    nodeSelectors share no node may differ in myASN."""
    documents = render("helm3", tmp_path, DISJOINT + "metallb: {version: \"0.16.1\"}\n")
    assert sorted(doc["spec"]["myASN"] for doc in documents if doc["kind"] == "BGPPeer") == [100, 101]


@pytest.mark.parametrize(("table", "refused"), [
    (1, False), (6, False), (7, True), (8, False), (251, False), (252, True), (255, True), (256, False), (999, False),
    (1000, True),
])
def test_table_id_boundaries(tmp_path: Path, table: int, refused: bool) -> None:
    """252-255: the kernel's tables (linux include/uapi/linux/rtnetlink.h); 7 and 1000 and up:
    OVN-Kubernetes' (v1.3.0 pkg/node/managementport/port_linux.go ovnkubeSvcViaMgmPortRT,
    go-controller/pkg/util/net.go routingTableIDStart)."""
    override = f"vrfs: {{ens4vrf: {{tableId: {table}}}}}\n"
    if refused:
        assert f"vrfs.ens4vrf.tableId: {table} " in refusal(tmp_path, override)
    else:
        policy = one(render("helm3", tmp_path, override), "NodeNetworkConfigurationPolicy")
        assert policy["spec"]["desiredState"]["interfaces"][0]["vrf"]["route-table-id"] == table


@pytest.mark.parametrize(("override", "refused_at"), [
    ("mainTableRulePriority: 999\n", None),
    ("mainTableRulePriority: 31\n", None),
    ("mainTableRulePriority: 1000\n", "mainTableRulePriority: 1000 does not come before the kernel's VRF rule"),
    ("mainTableRulePriority: 5000\n", "mainTableRulePriority: 5000 "),
    ("mainTableRulePriority: 2000\n", "mainTableRulePriority: 2000 "),
    ("mainTableRulePriority: 30\n", "mainTableRulePriority: 30 comes before OVN-Kubernetes' rule at 30"),
    ("vrfs: {ens4vrf: {mainTableRulePriority: 500}}\n", None),
    ("vrfs: {ens4vrf: {mainTableRulePriority: 6000}}\n", "vrfs.ens4vrf.mainTableRulePriority: 6000 "),
    ("vrfs: {ens4vrf: {mainTableRulePriority: 1}}\n", "vrfs.ens4vrf.mainTableRulePriority: 1 "),
    # a VRF's own priority replaces the top-level one, also when that one is refused
    ("mainTableRulePriority: 5000\nvrfs: {ens4vrf: {mainTableRulePriority: 900}}\n", None),
])
def test_main_table_rule_priority_boundaries(tmp_path: Path, override: str, refused_at: str | None) -> None:
    """From 31 to 999: before the kernel's VRF rule at 1000 (linux drivers/net/vrf.c
    FIB_RULE_PREF, lookup [l3mdev-table]), so before OVN-Kubernetes' egress-service rules at
    5000 and its owned 2000 and 6000 too; after OVN-Kubernetes v1.3.0's rule at 30
    (pkg/node/managementport/port_linux.go, fwmark 0x1745ec lookup 7)."""
    if refused_at:
        assert refused_at in refusal(tmp_path, override)
        return
    rules = one(render("helm3", tmp_path, override), "NodeNetworkConfigurationPolicy")["spec"]["desiredState"]["route-rules"]["config"]
    expected = int(override.split("mainTableRulePriority: ")[-1].split("}")[0])
    assert {rule["priority"] for rule in rules} == {expected}


@pytest.mark.parametrize("override", [
    # metallb config.go parseCIDR: a range low-high, spaces allowed
    "vrfs: {ens4vrf: {addressPools: {first-pool: {addresses: [192.169.10.10 - 192.169.10.20]}}}}\n",
    # validateBGPAdvPerPool: an aggregation length equal to the pool's prefix
    "vrfs: {ens4vrf: {addressPools: {first-pool: {addresses: [192.169.10.0/28]}}, bgpAdvertisements: {first-adv: {aggregationLength: 28}}}}\n",
    # allocator.go: an address of the Service's own pool
    "vrfs: {ens4vrf: {egressServices: {server1: {service: {loadBalancerIPs: [192.169.10.0]}}}}}\n",
    # the EgressService network equal to the VRF's table, as a string
    "vrfs: {ens4vrf: {egressServices: {server1: {network: \"2\"}}}}\n",
    # a peer behind a route of the VRF (the seed's default route holds every IPv4 address);
    # eBGP there needs multihop (FRR's TTL 1: tests/bad_values/peer-ebgp-behind-a-route.yaml)
    "vrfs: {ens4vrf: {bgpPeers: {frrviavrf: {peerAddress: 10.99.0.1, ebgpMultiHop: true}}}}\n",
    # a next hop on the port's subnet, at its last address
    "vrfs: {ens4vrf: {routes: [{destination: 0.0.0.0/0, nextHopAddress: 192.168.130.254}]}}\n",
])
def test_address_cases_upstream_accepts_render(tmp_path: Path, override: str) -> None:
    assert render("helm3", tmp_path, override)


@pytest.mark.parametrize("override", [
    # 15 characters, the kernel's IFNAMSIZ - 1 (linux net/core/dev.c dev_valid_name)
    "vrfs: {ens4vrf: {ports: {ens4: null, eno_1.2-3abcdef: {ipv4: [192.168.130.130/24]}}}}\n",
    "vrfs: {ens4vrf: null, abcdefghij.k-5: {tableId: 5, myASN: 100, policy: {nodeSelector: {vrf: 'true'}},\n"
    "  ports: {ens5: {ipv4: [192.168.5.10/24]}}}}\n",
    # 63 characters, a DNS label (apimachinery pkg/util/validation IsDNS1123Label)
    "vrfs: {ens4vrf: {addressPools: {first-pool: null, " + "p" * 63 + ": {addresses: [192.169.10.0/32]}}}}\n",
])
def test_keys_at_their_longest_render(tmp_path: Path, override: str) -> None:
    assert render("helm3", tmp_path, override)


def test_large_integers_render_as_integers(tmp_path: Path) -> None:
    """Helm reads numbers as floats, which print as 1e+09; the hook pods' integers go through
    int64 (runAsUser is an int32 user id: apimachinery pkg/util/validation IsValidUserID)."""
    documents = render("helm3", tmp_path, "platform: kubernetes\nhooks: {runAsUser: 2147483647, "
                       "activeDeadlineSeconds: 1000000, requestTimeoutSeconds: 1000000, retryDeadlineSeconds: 2000000}\n")
    [job] = [doc for doc in documents if doc["kind"] == "Job" and doc["metadata"]["name"].endswith("-preflight")]
    assert job["spec"]["activeDeadlineSeconds"] == 1000000
    pod = job["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsUser"] == 2147483647
    assert {"--request-timeout=1000000", "--deadline=2000000"} <= set(pod["containers"][0]["command"])


@pytest.mark.parametrize(("override", "path"), [
    ("platform: kubernetes\nhooks: {runAsUser: 2147483648}\n", "/hooks/runAsUser"),
    ("hooks: {activeDeadlineSeconds: 2147483648}\n", "/hooks/activeDeadlineSeconds"),
    # NNCP maxUnavailable is an IntOrString, an int32 (apimachinery pkg/util/intstr)
    ("vrfs: {ens4vrf: {policy: {maxUnavailable: 2147483648}}}\n", "/vrfs/ens4vrf/policy/maxUnavailable"),
])
def test_integers_beyond_int32_are_refused_at_their_path(tmp_path: Path, override: str, path: str) -> None:
    assert f"at '{path}'" in refusal(tmp_path, override)


@pytest.mark.parametrize("override", [
    # apimachinery pkg/util/validation/validation.go: qualified names, label values (empty too)
    "commonLabels: {example.com/team: payments, team_2: '', a.b-c: A.b_c-9}\n",
    # kubernetes pkg/apis/core/validation/validation.go ValidateTolerations
    "hooks: {tolerations: [{operator: Exists}, {key: node-role.kubernetes.io/infra, operator: Equal, value: 'true', "
    "effect: NoSchedule}, {key: k, operator: Exists, effect: NoExecute, tolerationSeconds: 30}]}\n",
    # apimachinery pkg/api/resource/quantity.go
    "hooks: {resources: {requests: {cpu: 50m, memory: 64Mi}, limits: {cpu: 0.5, memory: 1e9}}}\n",
    # ValidateResourceRequirements: a request equal to its limit, written another way
    "hooks: {resources: {requests: {cpu: 500m, memory: 128Mi}, limits: {cpu: 0.5, memory: 134217728}}}\n",
    # ValidateService: several named ports, one port number on two protocols, a named targetPort
    "vrfs: {ens4vrf: {egressServices: {server1: {service: {create: true, ports: [{port: 53, name: dns, protocol: UDP}, "
    "{port: 53, name: dns-tcp}, {port: 80, name: http, targetPort: web-8080}]}}}}}\n",
])
def test_kubernetes_field_forms_the_api_accepts_render(tmp_path: Path, override: str) -> None:
    assert render("helm3", tmp_path, override)


def test_a_cpu_request_just_above_its_limit_is_refused(tmp_path: Path) -> None:
    """kubernetes pkg/apis/core/validation/validation.go ValidateResourceRequirements."""
    stderr = refusal(tmp_path, "hooks: {resources: {requests: {cpu: 501m}, limits: {cpu: 0.5}}}\n")
    assert "hooks.resources.requests.cpu: 501m is above the limit 0.5" in stderr
