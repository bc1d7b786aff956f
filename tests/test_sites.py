"""sites/ rendered the way Argo CD renders them: the ApplicationSet's value files, `helm
template` with --kube-version and --api-versions and no cluster (so no lookup), twice and
under both Helm majors, with byte-identical output (Argo CD would show drift otherwise), and
every object valid like any other render."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support import helm, kubeschema

APPLICATIONSET = helm.CHART / "examples" / "argocd" / "applicationset.yaml"
API_VERSIONS = ("nmstate.io/v1", "metallb.io/v1beta1", "metallb.io/v1beta2", "k8s.ovn.org/v1",
                "config.openshift.io/v1", "operator.openshift.io/v1")


def _applicationset() -> dict[str, Any]:
    return dict(yaml.safe_load(APPLICATIONSET.read_text()))


# The stage each site's cluster is registered with (`argocd cluster add ... --label
# symmetric-routing/stage=<stage>`, README: Argo CD); any stage RollingSync knows will do here.
STAGE = "main"


def _expand(template: str, site: str, path: Path) -> str:
    """The Go template expressions the ApplicationSet uses, for one cluster (named like its
    site) and one generated tenant file."""
    values = {
        ".name": site,
        'index .metadata.labels "symmetric-routing/stage"': STAGE,
        'trimSuffix ".yaml" .path.filename': path.name.removesuffix(".yaml"),
        ".path.filename": path.name,
    }
    expanded = re.sub(r"\{\{\s*(.*?)\s*\}\}", lambda m: values[m.group(1)], template)
    assert "{{" not in expanded
    return expanded


def applications() -> list[dict[str, Any]]:
    """The Applications the ApplicationSet makes of this repository's sites/ (the layout of a
    sites' config repository, which the `$values` source names), one cluster per site."""
    appset = _applicationset()
    [generator] = appset["spec"]["generators"]
    clusters, files = generator["matrix"]["generators"]
    assert set(clusters) == {"clusters"} and set(files) == {"git"}
    template = appset["spec"]["template"]
    [chart] = [source for source in template["spec"]["sources"] if "helm" in source]
    [config] = [source for source in template["spec"]["sources"] if "ref" in source]
    assert config["repoURL"] == files["git"]["repoURL"]
    found = []
    for site in sorted(p.name for p in (helm.CHART / "sites").iterdir() if p.is_dir()):
        for pattern in (f["path"] for f in files["git"]["files"]):
            for path in sorted(helm.CHART.glob(_expand(pattern, site, Path("unused")))):
                values = [_expand(v, site, path) for v in chart["helm"]["valueFiles"]]
                assert all(v.startswith(f"${config['ref']}/") for v in values), values
                found.append({
                    "name": _expand(template["metadata"]["name"], site, path),
                    "site": site,
                    "cluster": _expand(template["spec"]["destination"]["name"], site, path),
                    "release": _expand(chart["helm"]["releaseName"], site, path),
                    "namespace": _expand(template["spec"]["destination"]["namespace"], site, path),
                    "values": [helm.CHART / v.split("/", 1)[1] for v in values],
                })
    return found


APPS = applications()


def argo_render(version: str, app: dict[str, Any], kube_version: str) -> helm.Result:
    extra = ["--kube-version", kube_version, "--include-crds"]
    for api in API_VERSIONS:
        extra += ["--api-versions", api]
    return helm.template(version, app["values"], release=app["release"], namespace=app["namespace"], extra=extra)


def test_every_site_has_tenants_and_a_site_file() -> None:
    sites = {app["values"][0].parent.name for app in APPS}
    assert len(APPS) >= 3 and len(sites) >= 2
    for app in APPS:
        assert all(path.is_file() for path in app["values"]), app
        # The CLI's release: `helm install <tenant> ... -n <tenant>` (README, Install).
        assert app["release"] == app["namespace"] == app["values"][1].stem, app
        assert app["name"] == f"{app['values'][0].parent.name}-{app['release']}"
        for path in app["values"]:
            first = path.read_text().splitlines()[1]
            assert first.startswith("# ") and len(first) > 20, f"{path} must open with a line saying what it is"


@pytest.mark.parametrize("app", APPS, ids=[a["name"] for a in APPS])
def test_argo_renders_are_stable_across_runs_and_helm_majors(app: dict[str, Any]) -> None:
    outputs = []
    for version in helm.HELM_VERSIONS:
        for _ in range(2):
            result = argo_render(version, app, kubeschema.OLDEST_KUBERNETES)
            assert result.returncode == 0, result.stderr
            outputs.append(result.stdout)
    assert len(set(outputs)) == 1


@pytest.mark.parametrize("kube_version", (kubeschema.OLDEST_KUBERNETES, kubeschema.NEWEST_KUBERNETES))
@pytest.mark.parametrize("app", APPS, ids=[a["name"] for a in APPS])
def test_argo_renders_are_valid(app: dict[str, Any], kube_version: str) -> None:
    result = argo_render("helm3", app, kube_version)
    assert result.returncode == 0, result.stderr
    documents = result.documents
    for doc, problems in zip(documents, kubeschema.validate_all(documents, kube_version)):
        assert problems == [], f"{doc['kind']}/{doc['metadata']['name']}"
        labels = doc["metadata"]["labels"]
        assert (labels["app.kubernetes.io/instance"], labels["symmetric-routing/release-namespace"]) == (
            app["release"], app["namespace"])


def test_tenants_of_one_site_do_not_collide() -> None:
    by_site: dict[str, list[set[tuple[str, str, str]]]] = {}
    for app in APPS:
        docs = argo_render("helm3", app, kubeschema.OLDEST_KUBERNETES).documents
        names = {(d["kind"], d["metadata"].get("namespace", ""), d["metadata"]["name"]) for d in docs}
        by_site.setdefault(app["values"][0].parent.name, []).append(names)
    for site, releases in by_site.items():
        for i, first in enumerate(releases):
            for second in releases[i + 1:]:
                assert not first & second, site
