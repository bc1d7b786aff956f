"""ci/seed-values.yaml renders the seed document's five manifests, field for field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support import helm
from tests.support.seed import extract_manifests, seed_document

FIXTURE = Path(__file__).parent / "fixtures" / "seed-manifests.yaml"


def _identity(doc: dict[str, Any]) -> tuple[str, str, str, str]:
    meta = doc["metadata"]
    return doc["apiVersion"], doc["kind"], meta.get("namespace", ""), meta["name"]


def test_fixture_is_the_document(shared_dir: Path | None) -> None:
    if shared_dir is None:
        pytest.skip("shared/ is not beside the repository; the committed fixture stands in for it")
    from_document = extract_manifests(seed_document(shared_dir).read_text(encoding="utf-8"))
    assert from_document == list(yaml.safe_load_all(FIXTURE.read_text()))


def test_seed_site_renders_exactly_the_seed_manifests(helm_version: str) -> None:
    expected = list(yaml.safe_load_all(FIXTURE.read_text()))
    result = helm.template(helm_version, [helm.CHART / "ci" / "seed-values.yaml"], namespace="test")
    assert result.returncode == 0, result.stderr
    # The preflight's hook objects come on top of the seed's; the release's own objects must
    # be the seed's five, exactly.
    rendered = {_identity(doc): doc for doc in result.documents
                if "helm.sh/hook" not in doc["metadata"].get("annotations", {})}
    assert sorted(rendered) == sorted(_identity(doc) for doc in expected)
    for doc in expected:
        got = rendered[_identity(doc)]
        spec = dict(got["spec"])
        if doc["kind"] == "IPAddressPool":
            # The one field the chart adds to the documentation's objects, on purpose: a pool
            # serves only Services with its label (issue 20; metallb internal/allocator
            # allocator.go v0.16.1, isPoolCompatibleWithService), so no other tenant draws from it.
            assert spec.pop("serviceAllocation") == {"serviceSelectors": [
                {"matchLabels": {"symmetric-routing/address-pool": doc["metadata"]["name"]}}]}
        assert spec == doc["spec"], f"{doc['kind']}/{doc['metadata']['name']}"
        assert set(got) == set(doc), f"{doc['kind']}: top-level fields differ"
        assert set(got["metadata"]) - set(doc["metadata"]) <= {"labels", "annotations"}
