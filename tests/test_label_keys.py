"""Label and annotation keys: values.schema.json refuses every key that Kubernetes refuses,
and names the key's own value path in the error.

The oracle is IsQualifiedName as apimachinery v0.36.3 pkg/util/validation/validation.go writes
it: an optional prefix (a DNS-1123 subdomain of at most 253 characters, IsDNS1123Subdomain)
and '/', then a name of 1-63 characters of [-A-Za-z0-9_.], alphanumeric at both ends. The
schema's `propertyNames` reports a bad key at '' (no path), so its `patternProperties` must
refuse each bad key by itself: the test checks the definitions with `propertyNames` removed.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from tests.support import helm

SCHEMA = json.loads((helm.CHART / "values.schema.json").read_text())
SEED = helm.CHART / "ci" / "seed-values.yaml"

NAME = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")


def is_qualified_name(key: str) -> bool:
    """apimachinery v0.36.3 pkg/util/validation/validation.go IsQualifiedName."""
    parts = key.split("/")
    if len(parts) == 1:
        name = parts[0]
    elif len(parts) == 2:
        prefix, name = parts
        if not prefix or len(prefix) > 253 or not SUBDOMAIN.fullmatch(prefix):
            return False
    else:
        return False
    return 0 < len(name) <= 63 and NAME.fullmatch(name) is not None


KEYS = [
    "team", "a" * 63, "a" * 64, "example.com/" + "a" * 63, "example.com/" + "a" * 64,
    ".".join(["b" * 63] * 3) + "." + "c" * 61 + "/x", ".".join(["b" * 63] * 4) + "/x",
    "Example.com/x", "ex_ample.com/x", "a..b/x", "a.-b/x", "a-.b/x", "-a/x", "a-/x", "a./x",
    "/x", "a/", "a/-x", "a/x-", "a/b/c", "a b", "x.", "_x", "a.b-c/D_e.f", "kubernetes.io/hostname",
    "1.2.3/x", "é", "a/é",
]


def definition(name: str) -> dict[str, Any]:
    schema = copy.deepcopy(SCHEMA["definitions"][name])
    schema.pop("propertyNames")
    return {"definitions": SCHEMA["definitions"], **schema}


@pytest.mark.parametrize("kind", ["labels", "annotations"])
@pytest.mark.parametrize("key", KEYS, ids=lambda k: k if len(k) < 30 else f"{k[:12]}..{len(k)}")
def test_the_key_pattern_refuses_what_kubernetes_refuses(kind: str, key: str) -> None:
    valid = jsonschema.Draft7Validator(definition(kind)).is_valid({key: "v"})
    assert valid == is_qualified_name(key), f"{key!r}: schema says {valid}, IsQualifiedName {not valid}"


def test_the_corpus_has_both_sides() -> None:
    assert sum(map(is_qualified_name, KEYS)) >= 6 and sum(not is_qualified_name(k) for k in KEYS) >= 15


@pytest.mark.parametrize("key", ["a" * 64, ".".join(["b" * 63] * 4) + "/x", "Example.com/x"])
def test_a_bad_key_is_refused_at_its_value_path(key: str, helm_version: str, tmp_path: Path) -> None:
    override = tmp_path / "labels.yaml"
    override.write_text(f'hooks:\n  podLabels:\n    "{key}": v\n')
    result = helm.template(helm_version, [SEED, override])
    assert result.returncode != 0 and result.stdout == ""
    assert f"at '/hooks/podLabels/{key.replace('/', '~1')}': false schema" in result.stderr, result.stderr


def test_a_selector_key_with_a_long_prefix_is_refused(helm_version: str, tmp_path: Path) -> None:
    """matchExpressions keys are values, not property names: definitions/labelKey's `not`."""
    key = ".".join(["b" * 63] * 4) + "/x"
    override = tmp_path / "selector.yaml"
    override.write_text("vrfs:\n  ens4vrf:\n    bgpPeers:\n      first-peer:\n        nodeSelectors:\n"
                        f"          - matchExpressions: [{{key: \"{key}\", operator: Exists}}]\n")
    result = helm.template(helm_version, [SEED, override])
    assert result.returncode != 0, result.stdout[:300]
    assert "/vrfs/ens4vrf/bgpPeers/first-peer/nodeSelectors/0/matchExpressions/0/key" in result.stderr, result.stderr
