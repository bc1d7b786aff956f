"""symrouting.labels against the real kube-apiserver: the server lists the nodes a label
selector picks (apimachinery pkg/labels/selector.go, the Requirement.Matches that
metav1.LabelSelectorAsSelector builds for MetalLB and OVN-Kubernetes too), and the hooks
must pick the same ones. The selector goes to the server as selector_text writes it (as
metav1.FormatLabelSelector does, and the server parses it back into the same requirements):
a wrong text picks other nodes than the matcher does."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest

from symrouting.labels import label_selector_matches, selector_text
from tests.support import clusters
from tests.support.realapi import RealApi

NODES = {
    "a1": {"zone": "a", "vrf": "true"},
    "a2": {"zone": "a", "vrf": "false", "infra": ""},
    "b1": {"zone": "b", "vrf": "true", "node.kubernetes.io/exclude-from-external-load-balancers": "true"},
    "c1": {"zone": "c"},
    "bare": {},
}

SELECTORS: list[dict[str, Any]] = [
    {},
    {"matchLabels": {"zone": "a"}},
    {"matchLabels": {"zone": "a", "vrf": "true"}},
    {"matchLabels": {"infra": ""}},
    {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a", "b"]}]},
    {"matchExpressions": [{"key": "zone", "operator": "NotIn", "values": ["a"]}]},
    {"matchExpressions": [{"key": "infra", "operator": "Exists"}]},
    {"matchExpressions": [{"key": "infra", "operator": "DoesNotExist"}]},
    {"matchExpressions": [{"key": "vrf", "operator": "NotIn", "values": ["false"]},
                          {"key": "zone", "operator": "Exists"}]},
    {"matchLabels": {"vrf": "true"}, "matchExpressions": [{"key": "zone", "operator": "In", "values": ["b", "c"]}]},
    {"matchLabels": {"zone": "a"}, "matchExpressions": [{"key": "zone", "operator": "NotIn", "values": ["a"]}]},
    {"matchExpressions": [{"key": "kubernetes.io/hostname", "operator": "In", "values": ["a1", "c1", "gone"]}]},
]


@pytest.fixture
def labelled(serve: Any) -> RealApi:
    api: RealApi = serve({"/api/v1/nodes": [clusters.node(name, labels) for name, labels in NODES.items()]})
    assert len(api.client.items("/api/v1/nodes")) == len(NODES)
    return api


@pytest.mark.parametrize("selector", SELECTORS, ids=selector_text)
def test_a_selector_picks_the_nodes_the_api_server_picks(labelled: RealApi, selector: dict[str, Any]) -> None:
    listed = labelled.client.items(f"/api/v1/nodes?labelSelector={quote(selector_text(selector))}")
    served = sorted(node["metadata"]["name"] for node in listed)
    ours = sorted(node["metadata"]["name"] for node in (clusters.node(n, labels) for n, labels in NODES.items())
                  if label_selector_matches(selector, node["metadata"]["labels"]))
    assert ours == served


def test_an_operator_metav1_refuses_selects_no_node() -> None:
    """LabelSelectorAsSelector refuses Gt, Lt and unknown operators; MetalLB's config then
    fails for that object, so nothing is selected (never every node)."""
    assert not label_selector_matches({"matchExpressions": [{"key": "zone", "operator": "Gt", "values": ["1"]}]},
                                      {"zone": "2"})
