"""Every rendered site passes the real kubeconform -strict (scripts/kubeconform.py, the
command .github/workflows/ci.yaml runs): core kinds against Kubernetes' own OpenAPI for the
oldest and newest supported version, custom kinds against the pinned upstream CRDs; and the
CRDs' CEL rules, which kubeconform does not evaluate (tests/support/kubecel.py). Together the
ci/ sites reach every top-level spec field of the custom kinds the chart renders."""

from __future__ import annotations

import copy
import re
import subprocess
from collections import defaultdict
from typing import Any

import pytest

from tests.support import helm, kubecel, kubeschema, upstream

KUBERNETES_VERSIONS = (kubeschema.OLDEST_KUBERNETES, kubeschema.NEWEST_KUBERNETES)
OLDEST = kubeschema.OLDEST_KUBERNETES


def _rendered() -> list[tuple[str, dict[str, Any]]]:
    objects = []
    for site in helm.site_files():
        result = helm.render_site(site)
        assert result.returncode == 0, result.stderr
        objects += [(f"{helm.site_name(site)}/{d['kind']}/{d['metadata']['name']}", d) for d in result.documents]
    return objects


RENDERED = _rendered()


@pytest.mark.parametrize("kubernetes_version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("site", helm.site_files(), ids=helm.site_name)
def test_site_passes_kubeconform_strict(site: Any, kubernetes_version: str) -> None:
    """As the workflow does it: helm template | kubeconform -strict -summary -."""
    rendered = helm.render_site(site)
    assert rendered.returncode == 0, rendered.stderr
    result = subprocess.run([*kubeschema.kubeconform.command(kubernetes_version), "-summary", "-"],
                            input=rendered.stdout, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"Valid: {len(rendered.documents)}, Invalid: 0, Errors: 0, Skipped: 0" in result.stdout


@pytest.mark.parametrize(("name", "obj"), [(n, o) for n, o in RENDERED if not kubeschema.is_core(o["apiVersion"])],
                         ids=[n for n, o in RENDERED if not kubeschema.is_core(o["apiVersion"])])
def test_object_keeps_its_crd_cel_rules(name: str, obj: dict[str, Any]) -> None:
    assert kubecel.validate(kubeschema.crd_schema(obj["apiVersion"], obj["kind"]), obj) == []


def test_chart_states_the_supported_kubernetes_range() -> None:
    import yaml

    chart = yaml.safe_load((helm.CHART / "Chart.yaml").read_text())
    oldest_minor = ".".join(kubeschema.OLDEST_KUBERNETES.split(".")[:2])
    assert chart["kubeVersion"] == f">={oldest_minor}.0-0"
    newest_minor = ".".join(kubeschema.NEWEST_KUBERNETES.split(".")[:2])
    assert f"Kubernetes {oldest_minor} to {newest_minor}" in (helm.CHART / "README.md").read_text()


def test_strict_validation_rejects_a_misspelt_field() -> None:
    """The check that guards against `localpref` for `localPref` must actually bite."""
    advertisement = copy.deepcopy(next(obj for _, obj in RENDERED if obj["kind"] == "BGPAdvertisement"))
    advertisement["spec"]["localpref"] = 100
    assert any("localpref" in problem for problem in kubeschema.validate(advertisement, kubeschema.NEWEST_KUBERNETES))
    service = copy.deepcopy(next(obj for _, obj in RENDERED if obj["kind"] == "Service"))
    service["spec"]["externalTraficPolicy"] = "Local"
    assert kubeschema.validate(service, kubeschema.OLDEST_KUBERNETES) != []


def test_int_or_string_and_preserved_fields_are_honoured() -> None:
    policy = copy.deepcopy(next(obj for _, obj in RENDERED if obj["kind"] == "NodeNetworkConfigurationPolicy"))
    for max_unavailable in (3, "50%"):
        policy["spec"]["maxUnavailable"] = max_unavailable
        assert kubeschema.validate(policy, kubeschema.NEWEST_KUBERNETES) == []
    policy["spec"]["desiredState"]["anything-nmstate-knows"] = {"x": 1}
    assert kubeschema.validate(policy, kubeschema.NEWEST_KUBERNETES) == []
    policy["spec"]["maxUnavailable"] = 1.5
    assert kubeschema.validate(policy, kubeschema.NEWEST_KUBERNETES) != []


@pytest.mark.parametrize(("kind", "change", "message"), [
    # nmstate.io_nodenetworkconfigurationpolicies CEL: format.qualifiedName() (kubernetes
    # apiserver pkg/cel/library/format.go, apimachinery pkg/util/validation IsQualifiedName)
    ("NodeNetworkConfigurationPolicy", lambda o: o["spec"].update(nodeSelector={"ä": "x"}),
     "nodeSelector keys must be valid qualified names"),
    ("NodeNetworkConfigurationPolicy", lambda o: o["spec"].update(nodeSelector={"Example.com/x": "y"}),
     "nodeSelector keys must be valid qualified names"),
    # metallb.io_bgppeers CEL on connectTime: whole seconds, 1 to 65535 (standard CEL duration)
    ("BGPPeer", lambda o: o["spec"].update(connectTime="1500ms"), "connect time should contain a whole number of seconds"),
    ("BGPPeer", lambda o: o["spec"].update(connectTime="500ms"), "connect time should be between 1 seconds to 65535"),
    ("BGPPeer", lambda o: o["spec"].update(connectTime="18h12m16s"), "connect time should be between 1 seconds to 65535"),
    # metallb.io_bgpadvertisements CEL: serviceSelectors only with the default aggregation lengths
    ("BGPAdvertisement", lambda o: o["spec"].update(serviceSelectors=[{"matchLabels": {"a": "b"}}], aggregationLength=24),
     "serviceSelectors and aggregationLength are mutually exclusive"),
])
def test_cel_rules_of_the_crds_bite(kind: str, change: Any, message: str) -> None:
    obj = copy.deepcopy(next(o for _, o in RENDERED if o["kind"] == kind))
    change(obj)
    problems = kubeschema.validate(obj, kubeschema.NEWEST_KUBERNETES)
    assert any(problem.startswith(message) for problem in problems), problems


@pytest.mark.parametrize(("kind", "change"), [
    ("NodeNetworkConfigurationPolicy", lambda o: o["spec"].update(nodeSelector={"example.com/x_y.z": "", "a": "b"})),
    ("BGPPeer", lambda o: o["spec"].update(connectTime="1m")),
    ("BGPPeer", lambda o: o["spec"].update(connectTime="65535s")),
    # a transition rule (self == oldSelf) is not evaluated on create
    ("BGPPeer", lambda o: o["spec"].update(enableGracefulRestart=True)),
    ("BGPAdvertisement", lambda o: o["spec"].update(serviceSelectors=[{"matchLabels": {"a": "b"}}], aggregationLength=32,
                                                   aggregationLengthV6=128)),
])
def test_cel_rules_pass_what_the_api_server_accepts(kind: str, change: Any) -> None:
    obj = copy.deepcopy(next(o for _, o in RENDERED if o["kind"] == kind))
    change(obj)
    assert kubeschema.validate(obj, kubeschema.NEWEST_KUBERNETES) == []


def test_a_kind_without_schema_fails() -> None:
    """kubeconform runs without -ignore-missing-schemas: no schema is an error, not a skip."""
    widget = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}
    assert kubeschema.validate(widget, OLDEST) == ["could not find schema for Widget"]
    peer = {"apiVersion": "metallb.io/v9", "kind": "BGPPeer", "metadata": {"name": "p"}}
    assert kubeschema.validate(peer, OLDEST) == ["could not find schema for BGPPeer"]


# The kinds whose every top-level spec field the ci/ sites must set, with the version rendered.
COVERED_KINDS = {
    "BGPPeer": "v1beta2",
    "BGPAdvertisement": "v1beta1",
    "IPAddressPool": "v1beta1",
    "BFDProfile": "v1beta1",
    "Community": "v1beta1",
    "EgressService": "v1",
    "NodeNetworkConfigurationPolicy": "v1",
}
# Fields the chart never writes, on purpose. BGPPeer spec.password: the chart stores a
# `password` value in a Secret and sets passwordSecret, since every reader of BGPPeers in
# MetalLB's namespace (other tenants' preflights among them) would read it in clear.
NEVER_WRITTEN = {"BGPPeer": {"password"}}


def test_ci_sites_reach_every_spec_field() -> None:
    crds = {crd["spec"]["names"]["kind"]: crd for crd in upstream.crds()}
    upstream_fields = {}
    for kind, version in COVERED_KINDS.items():
        served = next(v for v in crds[kind]["spec"]["versions"] if v["name"] == version)
        fields = set(served["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"])
        upstream_fields[kind] = fields - NEVER_WRITTEN.get(kind, set())
    used: dict[str, set[str]] = defaultdict(set)
    for _, obj in RENDERED:
        if obj["kind"] in COVERED_KINDS:
            assert obj["apiVersion"].endswith("/" + COVERED_KINDS[obj["kind"]])
            used[obj["kind"]] |= set(obj.get("spec", {}))
    missing = {kind: sorted(fields - used[kind]) for kind, fields in upstream_fields.items() if fields - used[kind]}
    assert missing == {}
    written = {kind: sorted(fields & used[kind]) for kind, fields in NEVER_WRITTEN.items() if fields & used[kind]}
    assert written == {}, "a field the chart must never write was rendered"
    assert sum(len(fields) for fields in upstream_fields.values()) == 48


def test_pins_match_the_shared_files(shared_dir: Any) -> None:
    if shared_dir is None:
        pytest.skip("no shared/ folder; scripts/fetch_upstream.py checks blob ids when it downloads")
    for pin in upstream.pins():
        assert upstream.git_blob_id(shared_dir / pin["local"]) == pin["blob"], pin["local"]


_LABEL_NAME = re.compile(r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


@pytest.mark.parametrize(("name", "obj"), RENDERED, ids=[name for name, _ in RENDERED])
def test_metadata_is_valid(name: str, obj: dict[str, Any]) -> None:
    """The CRD schemas leave metadata unchecked; the API server does not."""
    meta = obj["metadata"]
    assert re.fullmatch(r"[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?", meta["name"])
    for key, value in meta.get("labels", {}).items():
        assert _LABEL_NAME.match(key) and len(key.rpartition("/")[2]) <= 63, key
        assert isinstance(value, str) and len(value) <= 63 and _LABEL_VALUE.match(value), (key, value)
    for label in ("app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/managed-by",
                  "helm.sh/chart", "symmetric-routing/tenant"):
        assert label in meta["labels"], label
