"""Every ci/*-values.yaml site renders to the committed golden files, byte for byte.

`pytest --update-golden` rewrites them; read the diff before committing it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import golden, helm
from tests.support.notes import render_notes

SITES = helm.site_files()


@pytest.mark.parametrize("site", SITES, ids=helm.site_name)
def test_site_matches_golden(site: Path, update_golden: bool, tmp_path: Path) -> None:
    result = helm.render_site(site)
    assert result.returncode == 0, result.stderr
    rendered = {name: golden.summarize_hook_code(text, helm.CHART / "hooks" / "symrouting.zip")
                for name, text in golden.split_objects(result.stdout).items()}
    rendered["NOTES.txt"] = render_notes("helm3", site, tmp_path)
    case = helm.site_name(site)
    if update_golden:
        golden.write_case(case, rendered)
    expected = golden.read_case(case)
    assert sorted(rendered) == sorted(expected), f"objects differ from tests/golden/{case}"
    for name, text in rendered.items():
        assert text == expected[name], f"tests/golden/{case}/{name} differs; rerun with --update-golden and read the diff"


@pytest.mark.parametrize("site", SITES, ids=helm.site_name)
def test_helm3_and_helm4_render_identically(site: Path) -> None:
    outputs = {version: helm.template(version, [site]) for version in helm.HELM_VERSIONS}
    for version, result in outputs.items():
        assert result.returncode == 0, f"{version}: {result.stderr}"
    assert outputs["helm3"].stdout == outputs["helm4"].stdout


@pytest.mark.parametrize("site", SITES, ids=helm.site_name)
def test_render_is_deterministic(site: Path, helm_version: str) -> None:
    first, second = (helm.template(helm_version, [site]).stdout for _ in range(2))
    assert first == second
    assert first.strip(), "the site rendered nothing"


def test_two_releases_of_one_site_share_no_object_name() -> None:
    """Tenants install the chart once each: derived names must not collide."""
    site = helm.CHART / "ci" / "dualstack-values.yaml"
    names = []
    for release in ("tenant-a", "tenant-b"):
        result = helm.template("helm3", [site], release=release)
        assert result.returncode == 0, result.stderr
        names.append({(d["kind"], d["metadata"]["name"]) for d in result.documents if d["kind"] not in ("Service", "EgressService", "Namespace")})
    assert names[0] and not names[0] & names[1]
