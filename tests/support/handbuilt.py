"""Clusters set up by hand, without the chart: their live objects as the API server returns
them, and the routes (tests/support/clusters.py) that RealApi.load writes into the real API
server. For `symrouting adopt`'s tests, and for an end-to-end install of adopted values that
Helm drives.

documentation_objects(): the documentation's five manifests (tests/fixtures/seed-manifests.yaml).
site_objects(site): what a ci/ site renders, stripped of everything the chart and Helm add, as
if someone had applied the same objects with `oc apply`: a multi-node, several-VRF cluster.

Each object is stored as `kubectl apply` leaves it: the CRD's defaults filled in, server-set
metadata, and the last-applied-configuration annotation kubectl writes.
"""

from __future__ import annotations

import copy
import functools
import json
from pathlib import Path
from typing import Any

import yaml

from tests.support import clusters, helm, kubeschema, upstream

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
# The chart's own labels (templates/_names.tpl symmetric-routing.labels, .objectLabels),
# written out here rather than imported from the code under test.
CHART_LABELS = ("helm.sh/chart", "app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/version",
                "app.kubernetes.io/managed-by", "app.kubernetes.io/component", "symmetric-routing/tenant",
                "symmetric-routing/release-namespace", "symmetric-routing/vrf")
ADOPTED_KINDS = ("NodeNetworkConfigurationPolicy", "BGPPeer", "IPAddressPool", "BGPAdvertisement", "BFDProfile",
                 "Community", "EgressService", "Secret")
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"

# Where the API serves each kind's list (MetalLB's objects in its namespace).
COLLECTIONS = {
    "NodeNetworkConfigurationPolicy": "/apis/nmstate.io/v1/nodenetworkconfigurationpolicies",
    "BGPPeer": "/apis/metallb.io/v1beta2/namespaces/{ns}/bgppeers",
    "IPAddressPool": "/apis/metallb.io/v1beta1/namespaces/{ns}/ipaddresspools",
    "BGPAdvertisement": "/apis/metallb.io/v1beta1/namespaces/{ns}/bgpadvertisements",
    "BFDProfile": "/apis/metallb.io/v1beta1/namespaces/{ns}/bfdprofiles",
    "Community": "/apis/metallb.io/v1beta1/namespaces/{ns}/communities",
    "EgressService": "/apis/k8s.ovn.org/v1/egressservices",
}


def apply_defaults(value: Any, schema: dict[str, Any] | None) -> None:
    """Fills in the defaults of a CRD's structural schema, in place, as the API server does on
    create (apiextensions-apiserver pkg/apiserver/schema/defaulting/algorithm.go, Default):
    a property that has a default and is missing gets it; objects and list items recurse."""
    if not schema:
        return
    if isinstance(value, dict):
        properties = schema.get("properties") or {}
        for key, prop in properties.items():
            if "default" in prop and key not in value:
                value[key] = copy.deepcopy(prop["default"])
        for key, item in value.items():
            if key in properties:
                apply_defaults(item, properties[key])
            elif isinstance(schema.get("additionalProperties"), dict):
                apply_defaults(item, schema["additionalProperties"])
    elif isinstance(value, list):
        for item in value:
            apply_defaults(item, schema.get("items"))


def stored(obj: dict[str, Any], serial: int) -> dict[str, Any]:
    """obj as the API server returns it after `kubectl apply` (client-side) created it: the
    last-applied-configuration annotation (k8s.io/api core/v1 annotation_key_constants.go,
    LastAppliedConfigAnnotation) and a managedFields entry of the field manager
    "kubectl-client-side-apply" (kubectl pkg/cmd/apply/apply.go, FieldManagerClientSideApply)."""
    applied = copy.deepcopy(obj)
    live = copy.deepcopy(obj)
    if not kubeschema.is_core(live["apiVersion"]):
        apply_defaults(live, kubeschema.crd_schema(live["apiVersion"], live["kind"]))
    meta = live["metadata"]
    meta.setdefault("annotations", {})[LAST_APPLIED] = json.dumps(applied, separators=(",", ":"), sort_keys=True)
    meta.update({"uid": f"00000000-0000-4000-8000-{serial:012d}", "resourceVersion": str(1000 + serial),
                 "creationTimestamp": "2026-01-05T10:00:00Z",
                 "managedFields": [{"manager": "kubectl-client-side-apply", "operation": "Update",
                                    "apiVersion": live["apiVersion"], "time": "2026-01-05T10:00:00Z",
                                    "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {}}}]})
    if not kubeschema.is_core(live["apiVersion"]):
        meta["generation"] = 1
    if live["kind"] == "NodeNetworkConfigurationPolicy":
        live["status"] = {"conditions": [{"type": "Available", "status": "True", "reason": "SuccessfullyConfigured"}]}
    return live


def documentation_objects() -> list[dict[str, Any]]:
    """The live objects of the documentation's example, applied by hand as it says."""
    manifests = [m for m in yaml.safe_load_all((FIXTURES / "seed-manifests.yaml").read_text()) if m]
    return [stored(m, i) for i, m in enumerate(manifests, 1)]


def _hand_built(obj: dict[str, Any]) -> dict[str, Any]:
    """A rendered object as someone would have written it: no chart labels, no Helm metadata."""
    obj = copy.deepcopy(obj)
    meta = obj["metadata"]
    labels = {k: v for k, v in (meta.pop("labels", None) or {}).items() if k not in CHART_LABELS}
    if labels:
        meta["labels"] = labels
    annotations = {k: v for k, v in (meta.pop("annotations", None) or {}).items() if not k.startswith("meta.helm.sh/")}
    if annotations:
        meta["annotations"] = annotations
    return obj


def site_objects(site: Path, *, release: str = helm.RELEASE, namespace: str = helm.NAMESPACE) -> list[dict[str, Any]]:
    """The live objects of a cluster built by hand to what a ci/ site renders: the procedure's
    objects, each egress service's LoadBalancer Service (the application's), which names its
    pool in MetalLB's metallb.io/address-pool annotation, and the Secrets peers name."""
    result = helm.template("helm3", [site], release=release, namespace=namespace)
    assert result.returncode == 0, result.stderr
    docs = result.documents
    objects = [_hand_built(d) for d in docs if d["kind"] in ADOPTED_KINDS
               and "helm.sh/hook" not in (d["metadata"].get("annotations") or {})]
    services = {(d["metadata"]["namespace"], d["metadata"]["name"]): _hand_built(d) for d in docs if d["kind"] == "Service"}
    plan = json.loads(next(d for d in docs if d["kind"] == "ConfigMap" and "plan.json" in d.get("data", {}))["data"]["plan.json"])
    for vrf in plan["vrfs"]:
        for egress in vrf["egressServices"]:
            where = (egress["namespace"], egress["name"])
            # the label its own advertisement selects, where the site has one per service
            labels = {"labels": egress["serviceLabels"]} if egress.get("serviceLabels") else {}
            services.setdefault(where, {
                "apiVersion": "v1", "kind": "Service",
                "metadata": {"name": egress["name"], "namespace": egress["namespace"], **labels,
                             "annotations": {"metallb.io/address-pool": egress["addressPool"]}},
                "spec": {"type": "LoadBalancer", "ports": [{"port": 443, "protocol": "TCP"}]}})
    # the existing Secrets that peers name in passwordSecret (the site's, not the chart's)
    for peer in [o for o in objects if o["kind"] == "BGPPeer" and o["spec"].get("passwordSecret")]:
        ref = peer["spec"]["passwordSecret"]
        if not any(o["kind"] == "Secret" and o["metadata"]["name"] == ref["name"] for o in objects):
            services[(ref["namespace"], ref["name"])] = {
                "apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/basic-auth",
                "metadata": {"name": ref["name"], "namespace": ref["namespace"]}, "data": {"password": "bWQ1LXNlY3JldA=="}}
    return [stored(o, i) for i, o in enumerate(objects + list(services.values()), 1)]


@functools.cache
def _pinned_crds() -> tuple[dict[str, Any], ...]:
    return tuple(upstream.crds())


def crd_name(obj: dict[str, Any]) -> str:
    """The name of the CRD that serves obj's kind (<plural>.<group>), "" for a built-in kind."""
    group = obj["apiVersion"].rpartition("/")[0]
    return next((c["metadata"]["name"] for c in _pinned_crds()
                 if c["spec"]["group"] == group and c["spec"]["names"]["kind"] == obj["kind"]), "")


def api_routes(objects: list[dict[str, Any]], routes: dict[str, Any], metallb_namespace: str = "metallb-system") -> dict[str, Any]:
    """The routes of a cluster (clusters.openshift and the like) with the objects
    added: in their kind's list and at their own path, as the API server serves them; and the
    pinned CRDs of their kinds where the cluster does not serve its own already."""
    for crd in _pinned_crds():
        path = f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{crd['metadata']['name']}"
        if crd["spec"]["names"]["kind"] in COLLECTIONS:
            routes.setdefault(path, crd)
    for obj in objects:
        meta = obj["metadata"]
        if obj["kind"] in COLLECTIONS:
            collection = COLLECTIONS[obj["kind"]].format(ns=meta.get("namespace", metallb_namespace))
            own = collection if obj["kind"] != "EgressService" else (
                f"/apis/k8s.ovn.org/v1/namespaces/{meta['namespace']}/egressservices")
            routes.setdefault(collection, []).append(obj)
            routes[f"{own}/{meta['name']}"] = obj
        else:
            plural = {"Service": "services", "Secret": "secrets"}[obj["kind"]]
            routes[f"/api/v1/namespaces/{meta['namespace']}/{plural}/{meta['name']}"] = obj
    return routes


def owned(objects: list[dict[str, Any]], release: str, namespace: str) -> list[dict[str, Any]]:
    """The objects after `kubectl label` and `kubectl annotate` gave them Helm's ownership
    metadata (helm pkg/action/validate.go, checkOwnership: app.kubernetes.io/managed-by=Helm,
    meta.helm.sh/release-name, meta.helm.sh/release-namespace)."""
    out = copy.deepcopy(objects)
    for obj in out:
        if obj["kind"] == "Service":
            continue
        meta = obj["metadata"]
        meta.setdefault("labels", {})["app.kubernetes.io/managed-by"] = "Helm"
        meta.setdefault("annotations", {}).update({"meta.helm.sh/release-name": release,
                                                  "meta.helm.sh/release-namespace": namespace})
    return out


Owner = tuple[str, str]


def documentation_cluster(owner: Owner | None = None) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The documentation's example built by hand: its live objects, and the routes of
    the cluster holding them on OpenShift with the CIDRs its route rules name, an older
    OVN-Kubernetes without a masquerade subnet (the procedure has no rule for one), and
    worker-0 labelled vrf=true. With owner (release, namespace), the objects carry Helm's
    ownership metadata (owned)."""
    objects = documentation_objects()
    if owner:
        objects = owned(objects, *owner)
    return objects, api_routes(objects, clusters.openshift(service=["172.30.0.0/16"], cluster=["10.132.0.0/14"]))


def site_cluster(site: Path, owner: Owner | None = None) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """A ci/ site built by hand: its live objects (site_objects), and the routes of the
    cluster holding them on an OpenShift cluster the site is written for: its CIDRs, a node with the
    labels of each VRF's policy (every node of a VRF's `nodes` table), routing via the host,
    and the site's MetalLB version. owner as for documentation_cluster."""
    values = yaml.safe_load(site.read_text())
    cidrs = values["cluster"]
    masquerade = {("ipv6" if ":" in c else "ipv4"): c for c in cidrs.get("masqueradeSubnet") or []}
    nodes: dict[str, dict[str, str]] = {}
    for vrf in values["vrfs"].values():
        for name in vrf.get("nodes") or ["worker-0"]:
            nodes.setdefault(name, {}).update(vrf["policy"].get("nodeSelector") or {})
    objects = site_objects(site)
    if owner:
        objects = owned(objects, *owner)
    routes = clusters.openshift(service=cidrs["serviceNetwork"], cluster=cidrs["clusterNetwork"],
                                nodes=[clusters.node(n, labels, masquerade=masquerade) for n, labels in sorted(nodes.items())],
                                routing_via_host=True, metallb_version=str((values.get("metallb") or {}).get("version", "0.15")))
    return objects, api_routes(objects, routes)
