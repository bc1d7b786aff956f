"""examples/argocd/: every object validates strictly against Argo CD's own CRDs (pinned in
ci/upstream-files.yaml; unknown fields refused, as kubeconform -strict does) with their CEL
rules evaluated; the AppProject grants exactly the kinds the chart renders; the chart is
pinned by the version of Chart.yaml from the registry the release workflow pushes to."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import celpy
import pytest
import yaml

from tests.support import helm, kubeschema, upstream

EXAMPLES = sorted((helm.CHART / "examples" / "argocd").glob("*.yaml"))
OBJECTS = [(path, doc) for path in EXAMPLES for doc in yaml.safe_load_all(path.read_text()) if doc]
CHART_YAML = yaml.safe_load((helm.CHART / "Chart.yaml").read_text())


def _id(item: tuple[Path, dict[str, Any]]) -> str:
    return f"{item[0].name}:{item[1]['kind']}"


def cel_rules(schema: dict[str, Any], value: Any, path: str = "") -> Iterator[tuple[str, str, Any]]:
    """(path, rule, self) for every x-kubernetes-validations rule whose node the value has
    (apiextensions-apiserver evaluates a rule with `self` bound to the value at its node)."""
    for rule in schema.get("x-kubernetes-validations", []):
        yield path or "/", rule["rule"], value
    if isinstance(value, dict):
        for key, child in value.items():
            sub = schema.get("properties", {}).get(key)
            if sub is None and isinstance(schema.get("additionalProperties"), dict):
                sub = schema["additionalProperties"]
            if sub is not None:
                yield from cel_rules(sub, child, f"{path}/{key}")
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        for index, child in enumerate(value):
            yield from cel_rules(schema["items"], child, f"{path}/{index}")


def cel_failures(schema: dict[str, Any], obj: dict[str, Any]) -> list[str]:
    env = celpy.Environment()
    failures = []
    for path, rule, value in cel_rules(schema, obj):
        if "oldSelf" in rule:
            continue  # a transition rule: it compares with a stored object, and there is none
        result = env.program(env.compile(rule)).evaluate({"self": celpy.json_to_cel(value)})
        # A rule holds only when it evaluates to true; an evaluation error is a failure too.
        if not (isinstance(result, celpy.celtypes.BoolType) and bool(result)):
            failures.append(f"{path}: {rule}")
    return failures


def _crd_schema(obj: dict[str, Any]) -> dict[str, Any]:
    group, _, version = obj["apiVersion"].rpartition("/")
    [crd] = [c for c in upstream.crds() if (c["spec"]["group"], c["spec"]["names"]["kind"]) == (group, obj["kind"])]
    [served] = [v for v in crd["spec"]["versions"] if v["name"] == version and v.get("served")]
    return dict(served["schema"]["openAPIV3Schema"])


def test_examples_hold_each_kind() -> None:
    assert sorted(doc["kind"] for _, doc in OBJECTS) == ["AppProject", "Application", "ApplicationSet"]


@pytest.mark.parametrize("item", OBJECTS, ids=_id)
def test_valid_against_argo_cds_crds(item: tuple[Path, dict[str, Any]]) -> None:
    _, obj = item
    assert kubeschema.validate(obj, kubeschema.NEWEST_KUBERNETES) == []
    assert cel_failures(_crd_schema(obj), obj) == []


def test_strict_validation_refuses_an_unknown_field() -> None:
    [appset] = [doc for _, doc in OBJECTS if doc["kind"] == "ApplicationSet"]
    typo = {**appset, "spec": {**appset["spec"], "syncPolicy": {"preserveResourcesOnDeletions": True}}}
    assert kubeschema.validate(typo, kubeschema.NEWEST_KUBERNETES) != []


def test_cel_rules_are_evaluated() -> None:
    """The evaluator on a rule of the shape Kubernetes CRDs carry (the pinned Argo CD CRDs
    carry none today, so this is what shows a rule would be checked)."""
    schema = {"type": "object", "properties": {"spec": {"type": "object", "x-kubernetes-validations": [
        {"rule": "!has(self.name) || self.name.size() <= 5"}]}}}
    assert cel_failures(schema, {"spec": {"name": "short"}}) == []
    assert cel_failures(schema, {"spec": {"name": "far too long"}}) == ["/spec: !has(self.name) || self.name.size() <= 5"]


def rendered_kinds() -> dict[str, set[tuple[str, str]]]:
    """(group, kind) of everything `helm template` renders for every ci/ site (objects,
    hooks, the test pod), split by scope: a namespaced object has metadata.namespace. Also
    as Argo CD renders for a cluster that serves ValidatingAdmissionPolicy (it passes the
    cluster's API versions: argo-cd util/argo/argo.go, APIResourcesToStrings), which adds
    the hooks' admission policy and its binding."""
    kinds: dict[str, set[tuple[str, str]]] = {"cluster": set(), "namespaced": set()}
    for site in helm.site_files():
        with_policy = helm.template("helm3", [site], extra=helm.ADMISSION_POLICY_APIS)
        assert with_policy.returncode == 0, with_policy.stderr
        for doc in helm.render_site(site).documents + with_policy.documents:
            scope = "namespaced" if doc["metadata"].get("namespace") else "cluster"
            kinds[scope].add((doc["apiVersion"].rpartition("/")[0], doc["kind"]))
    return kinds


def test_project_grants_exactly_the_rendered_kinds() -> None:
    [project] = [doc for _, doc in OBJECTS if doc["kind"] == "AppProject"]
    granted = {scope: {(entry["group"], entry["kind"]) for entry in project["spec"][key]}
               for scope, key in (("cluster", "clusterResourceWhitelist"),
                                  ("namespaced", "namespaceResourceWhitelist"))}
    kinds = rendered_kinds()
    assert granted == kinds
    # The scope read from the renders is the CRDs' own where a kind has one.
    for crd in upstream.crds():
        key = (crd["spec"]["group"], crd["spec"]["names"]["kind"])
        for scope, found in kinds.items():
            if key in found:
                assert crd["spec"]["scope"] == ("Cluster" if scope == "cluster" else "Namespaced"), key


@pytest.mark.parametrize("item", [o for o in OBJECTS if o[1]["kind"] in ("Application", "ApplicationSet")], ids=_id)
def test_chart_pinned_by_version_from_the_release_registry(item: tuple[Path, dict[str, Any]]) -> None:
    """The registry .github/workflows/release.yaml pushes to (ghcr.io/<owner>/charts, the
    owner of Chart.yaml's home), in the form Argo CD documents for an OCI source
    (docs/user-guide/oci.md: `oci://` repoURL with the chart's name, `path: .`)."""
    _, obj = item
    spec = obj["spec"]["template"]["spec"] if obj["kind"] == "ApplicationSet" else obj["spec"]
    [chart] = [source for source in spec["sources"] if "helm" in source]
    owner = CHART_YAML["home"].removeprefix("https://github.com/").split("/")[0]
    assert (chart["repoURL"], chart["path"], chart["targetRevision"]) == (
        f"oci://ghcr.io/{owner}/charts/{CHART_YAML['name']}", ".", CHART_YAML["version"])
    assert "chart" not in chart, "`chart` belongs to the Helm-repository form, without oci://"
    assert all(value.startswith("$values/") for value in chart["helm"]["valueFiles"])
    [project] = [doc for _, doc in OBJECTS if doc["kind"] == "AppProject"]
    assert spec["project"] == project["metadata"]["name"]
    assert {source["repoURL"] for source in spec["sources"]} == set(project["spec"]["sourceRepos"])
    assert "automated" not in spec.get("syncPolicy", {}), "node network changes are synced by RollingSync or a person"


SITES = sorted(p.name for p in (helm.CHART / "sites").iterdir() if p.is_dir())


def test_applicationset_rolls_out_stage_by_stage_and_deletes_nothing() -> None:
    """RollingSync steps by the stage label of the sites' clusters, never by a site's name,
    so that adding a site changes no step."""
    [appset] = [doc for _, doc in OBJECTS if doc["kind"] == "ApplicationSet"]
    spec = appset["spec"]
    assert spec["syncPolicy"] == {"applicationsSync": "create-update", "preserveResourcesOnDeletion": True}
    assert spec["strategy"]["type"] == "RollingSync"
    label = "symmetric-routing/stage"
    assert spec["template"]["metadata"]["labels"][label] == '{{ index .metadata.labels "symmetric-routing/stage" }}'
    steps = spec["strategy"]["rollingSync"]["steps"]
    assert all(e["key"] == label for step in steps for e in step["matchExpressions"])
    assert steps[-1]["maxUpdate"] == 1
    staged = [v for step in steps for e in step["matchExpressions"] for v in e["values"]]
    [clusters] = [g["clusters"] for g in spec["generators"][0]["matrix"]["generators"] if "clusters" in g]
    [selected] = clusters["selector"]["matchExpressions"]
    assert (selected["key"], selected["operator"], sorted(selected["values"])) == (label, "In", sorted(staged))
    text = yaml.safe_dump(spec)
    assert SITES and not [site for site in SITES if site in text], "a site is named in the ApplicationSet"


def test_project_destinations_are_the_sites_clusters_and_namespaces() -> None:
    """Exactly the (cluster, namespace) pairs the Applications of sites/ deploy to: each
    Application's destination and every namespace its render writes to (MetalLB's)."""
    from tests.test_sites import APPS, argo_render

    wanted = set()
    for app in APPS:
        wanted.add((app["cluster"], app["namespace"]))
        for doc in argo_render("helm3", app, kubeschema.NEWEST_KUBERNETES).documents:
            if doc["metadata"].get("namespace"):
                wanted.add((app["cluster"], doc["metadata"]["namespace"]))
    [project] = [doc for _, doc in OBJECTS if doc["kind"] == "AppProject"]
    destinations = project["spec"]["destinations"]
    assert all(set(d) == {"name", "namespace"} and "*" not in d["name"] + d["namespace"] for d in destinations)
    assert {(d["name"], d["namespace"]) for d in destinations} == wanted
