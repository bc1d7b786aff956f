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


DUAL_PORT = ('ports: {ens4: {ipv4: [192.168.130.130/24], ipv6: ["2001:db8:130::130/64"]}}, '
             'addressPools: {first-pool: {addresses: [192.169.10.0/32, "2001:db8:169::/128"]}}, ')
DUAL_ROUTES = ('routes: [{destination: 0.0.0.0/0, nextHopAddress: 192.168.130.1}, '
               '{destination: "::/0", nextHopAddress: "2001:db8:130::1"}], ')


@pytest.mark.parametrize("override", [
    # a numbered peer with dualStackAddressFamily carries both families (MetalLB v0.16.1
    # internal/bgp/frr/frr.go), so its IPv6 prefixes go out
    pytest.param("vrfs: {ens4vrf: {" + DUAL_PORT + DUAL_ROUTES
                 + "bgpPeers: {frrviavrf: {dualStackAddressFamily: true}}}}", id="dual-stack-peer"),
    # an unnumbered peer (interface) carries both too
    pytest.param("vrfs: {ens4vrf: {" + DUAL_PORT + DUAL_ROUTES + "bgpPeers: {frrviavrf: null, unnumbered: {myASN: 100, "
                 "peerASN: 200, interface: ens4, nodeSelectors: []}}}}", id="unnumbered-peer"),
    # a second, IPv6 peer carries the IPv6 prefixes
    pytest.param("vrfs: {ens4vrf: {" + DUAL_PORT + DUAL_ROUTES + "bgpPeers: {v6: {myASN: 100, peerASN: 200, "
                 'peerAddress: "2001:db8:130::1", nodeSelectors: []}}}}', id="ipv6-peer-beside"),
])
def test_a_pool_family_a_peer_carries_renders(tmp_path: Path, override: str) -> None:
    render("helm3", tmp_path, override)


def test_a_pool_family_no_peer_carries_is_refused(tmp_path: Path) -> None:
    """MetalLB skips the other family's prefixes for a single-family peer: the IPv6 half of
    the pool would never be announced (internal/bgp/frr/frr.go, frrk8s/frrk8s.go, v0.16.1)."""
    stderr = refusal(tmp_path, "vrfs: {ens4vrf: {" + DUAL_PORT + DUAL_ROUTES + "}}")
    assert "pool first-pool has IPv6 addresses, and none of the peers it goes to (frrviavrf) carries IPv6" in stderr
    assert "IPv4 addresses" not in stderr


@pytest.mark.parametrize("override", [
    # iBGP: the seed's peer with its own AS
    pytest.param("vrfs: {ens4vrf: {bgpPeers: {frrviavrf: {peerASN: 100}}, "
                 "bgpAdvertisements: {first-adv: {localPref: 200}}}}", id="ibgp"),
    pytest.param("vrfs: {ens4vrf: {bgpPeers: {frrviavrf: null, dyn: {myASN: 100, dynamicASN: internal, "
                 "peerAddress: 192.168.130.1, nodeSelectors: []}}, "
                 "bgpAdvertisements: {first-adv: {localPref: 200}}}}", id="dynamic-internal"),
    # one iBGP peer beside the eBGP one is enough for LOCAL_PREF to reach someone
    pytest.param("vrfs: {ens4vrf: {bgpPeers: {rr: {myASN: 100, peerASN: 100, peerAddress: 192.168.130.2, "
                 "nodeSelectors: []}}, bgpAdvertisements: {first-adv: {localPref: 200}}}}", id="mixed"),
])
def test_local_pref_to_an_ibgp_peer_renders(tmp_path: Path, override: str) -> None:
    documents = render("helm3", tmp_path, override)
    assert {doc["spec"].get("localPref") for doc in documents if doc["kind"] == "BGPAdvertisement"} == {200}


def test_local_pref_to_external_dynamic_asn_is_refused(tmp_path: Path) -> None:
    """FRR sends LOCAL_PREF to iBGP peers only (FRR 10.4.3 bgpd/bgp_attr.c)."""
    stderr = refusal(tmp_path, "vrfs: {ens4vrf: {bgpPeers: {frrviavrf: null, dyn: {myASN: 100, "
                               "dynamicASN: external, peerAddress: 192.168.130.1, nodeSelectors: []}}, "
                               "bgpAdvertisements: {first-adv: {localPref: 200}}}}")
    assert "first-adv.localPref: 200, but every peer it goes to (dyn) is eBGP" in stderr


def communities(count: int, alias_twice: bool = False) -> str:
    values = [f'"64512:{i}"' for i in range(1, count + 1)]
    aliases = ""
    if alias_twice:
        # an alias of a value already listed counts once (the speaker gets distinct values)
        aliases = 'communities: {aliases: {again: "64512:1"}}\n'
        values.append("again")
    return aliases + "vrfs: {ens4vrf: {bgpAdvertisements: {first-adv: {communities: [" + ", ".join(values) + "]}}}}"


def test_63_communities_render(tmp_path: Path) -> None:
    """MetalLB's speaker takes up to 63 (internal/bgp/frr/frr.go, v0.16.1)."""
    documents = render("helm3", tmp_path, communities(63, alias_twice=True))
    assert len(one(documents, "BGPAdvertisement")["spec"]["communities"]) == 64


def test_64_communities_are_refused(tmp_path: Path) -> None:
    assert "first-adv.communities: 64 communities" in refusal(tmp_path, communities(64))


RANGE_POOL = ("vrfs: {ens4vrf: {addressPools: {extra: {addresses: [%s]}, "
              "neighbours: {addresses: [192.169.20.0/31, 192.169.20.14/31]}}, "
              "bgpAdvertisements: {extra-adv: {ipAddressPools: [extra], aggregationLength: 30}}, "
              "egressServices: {server1: {addressPool: first-pool}}}}")


@pytest.mark.parametrize(("addresses", "refused"), [
    # the /30 blocks of .4-.11 are .4-.7 and .8-.11, inside the range
    ("192.169.20.4-192.169.20.11", False),
    ("192.169.20.4-192.169.20.7", False),
    # .3's block is .0-.3, which holds the neighbours' .0-.1
    ("192.169.20.3-192.169.20.7", True),
    # .4's block is fine, .13's is .12-.15, which holds the neighbours' .14-.15
    ("192.169.20.4-192.169.20.13", True),
    # .9's block ends at .11, which no pool holds: MetalLB accepts it and nothing breaks
    ("192.169.20.4-192.169.20.9", False),
])
def test_aggregation_on_a_range_covers_no_other_pool(tmp_path: Path, addresses: str, refused: bool) -> None:
    """The speaker announces each address masked to the length (MetalLB v0.16.1
    speaker/bgp_controller.go): a block beyond the range must hold no other pool."""
    override = RANGE_POOL % addresses
    if refused:
        stderr = refusal(tmp_path, override)
        assert f"aggregationLength: 30 on the range {addresses} of pool extra" in stderr
        assert stderr.count("\n  vrfs.") == 1, stderr
    else:
        render("helm3", tmp_path, override)


@pytest.mark.parametrize("override", [
    pytest.param(PEER % "{sourceAddress: 192.168.130.130}", id="port-address"),
    # the same IPv6 address written another way
    pytest.param("vrfs: {ens4vrf: {ports: {ens4: {ipv6: [\"2001:db8:130::130/64\"]}}, "
                 "bgpPeers: {frrviavrf: {sourceAddress: \"2001:db8:130:0:0::130\"}}}}", id="ipv6-spelled-out"),
    # a loopback among extraInterfaces may hold it
    pytest.param("vrfs: {ens4vrf: {policy: {extraInterfaces: [{name: lo-bgp, type: dummy, state: up, "
                 "ipv4: {enabled: true, address: [{ip: 10.255.0.1, prefix-length: 32}]}}]}, "
                 "bgpPeers: {frrviavrf: {sourceAddress: 10.255.0.1, ebgpMultiHop: true}}}}", id="extra-interface"),
])
def test_a_source_address_of_the_vrf_renders(tmp_path: Path, override: str) -> None:
    render("helm3", tmp_path, override)


def test_local_asn_other_than_my_asn_renders(tmp_path: Path) -> None:
    documents = render("helm3", tmp_path, 'metallb: {version: "0.16.1"}\n' + PEER % "{localASN: 300}")
    assert one(documents, "BGPPeer")["spec"]["localASN"] == 300


@pytest.mark.parametrize("override", [
    # a SingleStack Service the chart renders on an IPv4 cluster uses IPv4 only, whatever its pool
    pytest.param("vrfs: {ens4vrf: {" + DUAL_PORT + "bgpPeers: {frrviavrf: {dualStackAddressFamily: true}}, "
                 "egressServices: {server1: {service: {create: true, ports: [{port: 80}]}}}}}", id="single-stack"),
    # autoconf learns the IPv6 default route into the VRF table (nmstate auto-route-table-id)
    pytest.param("vrfs: {ens4vrf: {ports: {ens4: {ipv4: [192.168.130.130/24], ipv6: autoconf}}, "
                 'addressPools: {first-pool: {addresses: [192.169.10.0/32, "2001:db8:169::/128"]}}, '
                 "bgpPeers: {frrviavrf: {dualStackAddressFamily: true}}}}", id="autoconf"),
    # policy.extraRoutes count as the VRF's routes
    pytest.param("vrfs: {ens4vrf: {" + DUAL_PORT + "bgpPeers: {frrviavrf: {dualStackAddressFamily: true}}, "
                 'policy: {extraRoutes: [{destination: "::/0", next-hop-address: "2001:db8:130::1", '
                 "next-hop-interface: ens4, table-id: 2}]}}}", id="extra-route"),
])
def test_an_egress_family_with_a_way_out_renders(tmp_path: Path, override: str) -> None:
    render("helm3", tmp_path, override)
