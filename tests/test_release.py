"""The release: Chart.yaml's Artifact Hub metadata passes what `ah lint` checks, its
`artifacthub.io/changes` is CHANGELOG.md's section, the workflows pass actionlint, and the
chart-testing configurations name real files, values and checks."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlparse

import pytest
import yaml

from symrouting.checks import CHECKS
from tests.support import helm, scripts

changes = scripts.load("changes")
CHART_YAML = yaml.safe_load((helm.CHART / "Chart.yaml").read_text())
ANNOTATIONS = CHART_YAML["annotations"]

# artifacthub/hub@0d8b1c0b internal/hub/pkg.go PackageCategoryFromName (skip-prediction aside).
AH_CATEGORIES = {"ai-machine-learning", "database", "integration-delivery", "monitoring-logging",
                 "networking", "security", "storage", "streaming-messaging"}
# artifacthub/hub@0d8b1c0b internal/pkg/metadata.go validChangeKinds.
AH_CHANGE_KINDS = {"added", "changed", "deprecated", "removed", "fixed", "security"}


def test_changes_annotation_is_the_changelogs_section() -> None:
    entries = changes.changes((helm.CHART / "CHANGELOG.md").read_text(), CHART_YAML["version"])
    assert yaml.safe_load(ANNOTATIONS["artifacthub.io/changes"]) == entries
    assert changes.main(["changes.py", "--check"]) == 0


def test_changes_join_wrapped_lines_and_map_the_kinds() -> None:
    text = ("## [1.1.0]\n\n### Fixed\n\n- one: a\n  wrapped line\n### Security\n- two\n\n"
            "## [1.0.0]\n### Added\n- older\n")
    assert changes.changes(text, "1.1.0") == [{"kind": "fixed", "description": "one: a wrapped line"},
                                               {"kind": "security", "description": "two"}]
    parsed = yaml.safe_load(changes.annotation(changes.changes(text, "1.1.0")))
    assert parsed[0]["description"] == "one: a wrapped line"


@pytest.mark.parametrize("text, message", [
    ("## [1.0.0]\n### Improved\n- x\n", "'### Improved' is no Keep a Changelog kind"),
    ("## [1.0.0]\n- x\n", "before any '### <Kind>' heading"),
    ("## [0.9.0]\n### Added\n- x\n", "no changes under '## [1.0.0]'"),
])
def test_changes_refuse_what_artifact_hub_cannot_show(text: str, message: str) -> None:
    with pytest.raises(changes.ChangelogError, match=re.escape(message)):
        changes.changes(text, "1.0.0")


def test_chart_yaml_passes_artifact_hub_lint() -> None:
    """What `ah lint` checks of a Helm chart's annotations (artifacthub/hub@0d8b1c0b
    cmd/ah/lint.go lintHelm -> internal/tracker/source/helm/helm.go
    EnrichPackageFromAnnotations): category, changes, images, links, prerelease."""
    assert ANNOTATIONS["artifacthub.io/category"] in AH_CATEGORIES
    for change in yaml.safe_load(ANNOTATIONS["artifacthub.io/changes"]):
        assert change["kind"] in AH_CHANGE_KINDS and change["description"], change
    for image in yaml.safe_load(ANNOTATIONS["artifacthub.io/images"]):
        assert re.fullmatch(r"[a-z0-9.-]+(/[a-z0-9._-]+)+:[\w][\w.-]*", image["image"]), image
    for link in yaml.safe_load(ANNOTATIONS["artifacthub.io/links"]):
        assert link["name"] and urlparse(link["url"]).scheme == "https", link
    assert ANNOTATIONS["artifacthub.io/prerelease"] in ("true", "false")


def test_icon_is_the_repositorys_svg() -> None:
    """The icon URL is docs/icon.svg of the repository `home` names, on its main branch."""
    home = urlparse(CHART_YAML["home"]).path.strip("/")
    prefix = f"https://raw.githubusercontent.com/{home}/main/"
    assert CHART_YAML["icon"].startswith(prefix)
    icon = helm.CHART / CHART_YAML["icon"].removeprefix(prefix)
    svg = icon.read_text()
    # Artifact Hub stores an SVG as it is when go-is-svg recognises it (internal/img/pg/pg.go).
    assert svg.lstrip().startswith("<svg") and 'xmlns="http://www.w3.org/2000/svg"' in svg
    assert len(svg) < 2048


def test_workflows_pass_actionlint() -> None:
    actionlint = Path(sys.executable).parent / "actionlint"
    workflows = sorted(str(p) for p in (helm.CHART / ".github" / "workflows").glob("*.yaml"))
    assert len(workflows) >= 2
    result = subprocess.run([str(actionlint), "-no-color", *workflows], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_release_checks_the_changes_and_signs_the_pushed_digest() -> None:
    workflow = yaml.safe_load((helm.CHART / ".github" / "workflows" / "release.yaml").read_text())
    job = workflow["jobs"]["publish"]
    runs = "\n".join(step.get("run", "") for step in job["steps"])
    assert "scripts/changes.py --check" in runs
    assert job["permissions"]["id-token"] == "write"
    sign = next(step for step in job["steps"] if "cosign sign" in step.get("run", ""))
    assert sign["env"]["IMAGE"].endswith("/symmetric-routing@${{ steps.push.outputs.digest }}")


def test_release_publishes_the_command_to_pypi_by_trusted_publishing() -> None:
    """PyPI's trusted publishing: the job's OIDC token (id-token: write), no password, the
    files the build names by Chart.yaml's appVersion (setup.py), after the chart is pushed."""
    workflow = yaml.safe_load((helm.CHART / ".github" / "workflows" / "release.yaml").read_text())
    job = workflow["jobs"]["pypi"]
    assert job["needs"] == "publish" and job["permissions"]["id-token"] == "write"
    assert job["environment"]["name"] == "pypi"
    [publish] = [step for step in job["steps"] if step.get("uses", "").startswith("pypa/gh-action-pypi-publish@")]
    assert "password" not in publish.get("with", {})
    runs = "\n".join(step.get("run", "") for step in job["steps"])
    assert "python -m build" in runs and '["appVersion"]' in runs


USES = re.compile(r"^\s*(?:-\s+)?uses:\s+(?P<action>\S+)(?P<rest>.*)$")
PINNED = re.compile(r"^[\w.-]+/[\w.-]+@[0-9a-f]{40}$")
VERSION_COMMENT = re.compile(r"^\s+#\s+v\d+\.\d+\.\d+$")


def test_every_action_is_pinned_by_commit_with_its_tag_beside_it() -> None:
    """A tag can be moved; a commit cannot (GitHub's security hardening guide for Actions)."""
    files = [*(helm.CHART / ".github" / "workflows").glob("*.yaml"), *(helm.CHART / ".github" / "actions").glob("*/action.yml")]
    uses = [(path.name, match) for path in files for line in path.read_text().splitlines() if (match := USES.match(line))]
    remote = [(name, m) for name, m in uses if not m["action"].startswith("./")]
    assert len(remote) >= 6
    unpinned = [f"{name}: {m['action']}{m['rest']}" for name, m in remote
                if not (PINNED.match(m["action"]) and VERSION_COMMENT.match(m["rest"]))]
    assert unpinned == []


def test_ct_install_sets_only_real_values_and_checks(tmp_path: Path) -> None:
    """ci/ct-install.yaml's --set arguments name keys the schema knows and checks the
    preflight has; Helm itself renders a site with them."""
    config = yaml.safe_load((helm.CHART / "ci" / "ct-install.yaml").read_text())
    sets = config["helm-extra-set-args"].split()
    skipped = next(arg for arg in sets if "skipChecks" in arg).split("=", 2)[2].strip("{}").split(",")
    assert set(skipped) <= set(CHECKS)
    result = helm.run("helm3", "template", "t", str(helm.CHART), "--namespace", "ct",
                      "--values", str(helm.CHART / "ci" / "seed-values.yaml"), *sets)
    assert result.returncode == 0, result.stderr
    assert "helm.sh/hook\": test" not in result.stdout and "kind: Pod" not in result.stdout


def test_kind_is_prepared_for_what_the_ci_sites_render() -> None:
    """scripts/kind_prepare.py labels the nodes with every label a rendered policy selects,
    and makes every namespace a rendered object needs that neither ct (the release's) nor the
    chart (a rendered Namespace) makes."""
    kind_prepare = scripts.load("kind_prepare")
    labels, namespaces = kind_prepare.plan(helm.site_files())
    needed_labels: set[str] = set()
    needed_namespaces: set[str] = set()
    for site in helm.site_files():
        docs = helm.render_site(site).documents
        made_by_chart = {d["metadata"]["name"] for d in docs if d["kind"] == "Namespace"}
        for doc in docs:
            if doc["kind"] == "NodeNetworkConfigurationPolicy":
                # kubelet owns the hostname label: per-node policies are for real nodes only
                needed_labels |= {f"{k}={v}" for k, v in doc["spec"]["nodeSelector"].items() if k != "kubernetes.io/hostname"}
            namespace = doc["metadata"].get("namespace")
            if namespace and namespace != helm.NAMESPACE and namespace not in made_by_chart:
                needed_namespaces.add(namespace)
    assert needed_labels <= set(labels)
    assert needed_namespaces <= set(namespaces)
    assert "media" not in namespaces  # network-mode renders it
