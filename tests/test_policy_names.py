"""NodeNetworkConfigurationPolicy names fit the label nmstate makes of them and never collide.

kubernetes-nmstate labels each enactment nmstate.io/policy=<policy name> (v0.86.0
api/shared/nodenetworkconfigurationenactment_types.go), a label value of at most 63
characters (apimachinery pkg/util/validation/validation.go IsValidLabelValue), so a policy
of 64 renders and its enactments fail. Per-node policies are "<policy>-<node>" cut to 54 and
a hash of the pair (templates/_names.tpl symmetric-routing.nodePolicyName), so VRF "a" with
node "b-c" and VRF "a-b" with node "c" get two names.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

import yaml

from tests.support import helm

LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


def vrf(table: int, nodes: list[str]) -> dict[str, Any]:
    return {"tableId": table, "policy": {"nodeSelector": {"node-role.kubernetes.io/worker": ""}},
            "ports": {f"ens{table}": {}},
            "nodes": {node: {f"ens{table}": f"10.{table}.0.{10 + i}/24"} for i, node in enumerate(nodes)}}


def policies(values: dict[str, Any], tmp_path: Path) -> list[str]:
    path = tmp_path / "v.yaml"
    path.write_text(yaml.safe_dump({"cluster": {"serviceNetwork": ["172.30.0.0/16"], "clusterNetwork": ["10.128.0.0/14"],
                                                "noMasqueradeSubnet": True}, **values}))
    result = helm.template("helm3", [path])
    assert result.returncode == 0, result.stderr
    return [d["metadata"]["name"] for d in result.documents if d["kind"] == "NodeNetworkConfigurationPolicy"]


def test_vrf_and_node_names_that_join_alike_give_two_policies(tmp_path: Path) -> None:
    names = policies({"vrfs": {"a": vrf(5, ["b-c"]), "a-b": vrf(6, ["c"])}}, tmp_path)
    assert len(names) == 2 and len(set(names)) == 2, names


def test_per_node_names_keep_the_pair_readable_and_hash_it(tmp_path: Path) -> None:
    [name] = policies({"vrfs": {"a": vrf(5, ["b-c"])}}, tmp_path)
    pair = "tenant-a-symmetric-routing-a/b-c"
    assert name == f"tenant-a-symmetric-routing-a-b-c-{hashlib.sha256(pair.encode()).hexdigest()[:8]}"


def test_every_policy_name_fits_the_enactment_label(tmp_path: Path) -> None:
    long_node = "worker-" + "0" * 40 + ".example.com"
    names = policies({"fullnameOverride": "f" * 63, "vrfs": {"vrf-long-name": vrf(5, [long_node, "w1"]),
                                                             "other": {**vrf(6, []), "nodes": {}}}}, tmp_path)
    assert len(names) == 3
    for name in names:
        assert len(name) <= 63 and LABEL_VALUE.match(name), name


def test_adopt_names_and_reads_node_policies_as_the_chart_does(tmp_path: Path) -> None:
    """hooks/symrouting/adopt.py node_policy_name is the template's helper in Python."""
    import sys
    sys.path.insert(0, str(helm.CHART / "hooks"))
    from symrouting import adopt

    long_node = "worker-" + "0" * 40 + ".example.com"
    names = policies({"vrfs": {"a": vrf(5, ["b-c", long_node])}}, tmp_path)
    prefix = "tenant-a-symmetric-routing-a"
    assert sorted(names) == sorted(adopt.node_policy_name(prefix, node) for node in ("b-c", long_node))
    assert adopt.node_policy_prefix(adopt.node_policy_name(prefix, "b-c"), "b-c") == prefix
    assert adopt.node_policy_prefix(f"{prefix}-b-c", "b-c") == prefix
