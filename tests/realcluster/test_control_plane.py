"""The rig itself: the real kube-apiserver of rig/go/kube/go.mod answers, enforces the pinned
CRDs' schemas and authorizes service-account tokens with RBAC."""

from __future__ import annotations

import re

import pytest

from tests.support import helm, realcluster


def test_reports_the_pinned_kubernetes_version(real_cluster: realcluster.RealCluster) -> None:
    """Helm's kubeVersion checks read /version: it must be the release go.mod pins, set by
    bootstrap's ldflags (k8s.io/component-base/version), not v0.0.0-master."""
    gomod = (helm.CHART / "rig" / "go" / "kube" / "go.mod").read_text()
    pinned = re.search(r"k8s\.io/kubernetes (v\S+)", gomod)
    assert pinned
    version = real_cluster.version()
    assert version["gitVersion"] == pinned.group(1)
    assert version["major"] == "1" and version["minor"] == pinned.group(1).split(".")[1]


def test_crd_schema_is_enforced(real_cluster: realcluster.RealCluster) -> None:
    """A BGPPeer without the required myASN is refused by the server from the pinned CRD
    (metallb.io_bgppeers.yaml v0.16.1: spec.required)."""
    real_cluster.request("POST", "/api/v1/namespaces", {
        "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "schema-check"}})
    with pytest.raises(realcluster.ApiError) as refused:
        real_cluster.request("POST", "/apis/metallb.io/v1beta2/namespaces/schema-check/bgppeers", {
            "apiVersion": "metallb.io/v1beta2", "kind": "BGPPeer", "metadata": {"name": "p"},
            "spec": {"peerASN": 200, "peerAddress": "192.0.2.1"}})
    assert refused.value.code == 422
    assert "spec.myASN: Required value" in refused.value.status["message"]


def test_service_account_token_is_authorized_by_rbac(real_cluster: realcluster.RealCluster) -> None:
    """A TokenRequest token authenticates as its ServiceAccount; RBAC grants nothing by default."""
    real_cluster.request("POST", "/api/v1/namespaces", {
        "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "rbac-check"}})
    real_cluster.request("POST", "/api/v1/namespaces/rbac-check/serviceaccounts", {
        "apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "hook"}})
    token = real_cluster.token("rbac-check", "hook")
    with pytest.raises(realcluster.ApiError) as refused:
        real_cluster.request("GET", "/api/v1/namespaces/rbac-check/pods", token=token)
    assert refused.value.code == 403
    assert 'User "system:serviceaccount:rbac-check:hook" cannot list resource "pods"' in refused.value.status["message"]
