"""Generated sites (tests/support/sitegen.py: random but valid, each from a numbered seed, so
a failure names a case that can be rendered again) render under both Helm majors with the
same bytes, every object passes strict validation, the hooks' plan agrees with the objects,
and the hooks' own reader takes the plan."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from symrouting.plan import parse_plan
from tests.support import helm, kubeschema
from tests.support.agreement import plan_disagreements
from tests.support.sitegen import SEEDS, generate_site, values_file


def render_all(seed: int, tmp_path: Path) -> tuple[str, str]:
    values = values_file(generate_site(seed), tmp_path / f"generated-{seed}.yaml")
    outputs = []
    for version in helm.HELM_VERSIONS:
        result = helm.template(version, [values])
        assert result.returncode == 0, f"seed {seed} ({values}):\n{result.stderr}"
        outputs.append(result.stdout)
    return outputs[0], outputs[1]


@pytest.mark.parametrize("seed", SEEDS)
def test_generated_site_renders_valid_objects_and_a_plan_that_agrees(seed: int, tmp_path: Path) -> None:
    helm3_output, helm4_output = render_all(seed, tmp_path)
    assert helm3_output == helm4_output, f"seed {seed}: Helm 3 and Helm 4 differ"
    docs = [doc for doc in yaml.safe_load_all(helm3_output) if doc]
    for doc, problems in zip(docs, kubeschema.validate_all(docs, kubeschema.NEWEST_KUBERNETES)):
        assert problems == [], f"seed {seed}: {doc['kind']}/{doc['metadata']['name']}: {problems}"
    assert plan_disagreements(docs) == [], f"seed {seed}"
    plan_text = next(doc for doc in docs if doc["kind"] == "ConfigMap")["data"]["plan.json"]
    plan = parse_plan(json.loads(plan_text))
    assert [vrf.name for vrf in plan.vrfs] == sorted(generate_site(seed)["vrfs"])


def test_the_generator_reaches_every_shape() -> None:
    """The cases above are only worth something if the seeds reach each shape."""
    reached: set[str] = set()
    for seed in SEEDS:
        site = generate_site(seed)
        reached.add("dual stack" if "fd01::/48" in site["cluster"]["clusterNetwork"] else "single stack")
        for vrf in site["vrfs"].values():
            reached.update(f"port {port.get('type', 'ethernet')}" for port in vrf["ports"].values())
            reached.add(f"{len(vrf['ports'])} ports")
            reached.update("unnumbered peer" for peer in vrf["bgpPeers"].values() if "interface" in peer)
            reached.update("dynamic ASN" for peer in vrf["bgpPeers"].values() if "dynamicASN" in peer)
            reached.update("secret password" for peer in vrf["bgpPeers"].values() if "password" in peer)
            reached.update("pool range" for pool in vrf["addressPools"].values() if "-" in pool["addresses"][0])
            reached.update(f"{len(vrf['addressPools'])} pools" for _ in [0])
            reached.update("explicit advertisement" for key in vrf["bgpAdvertisements"] if key == "explicit")
            reached.update(f"egress {svc['sourceIPBy']}" for svc in vrf["egressServices"].values())
            reached.update("created service" for svc in vrf["egressServices"].values() if "service" in svc)
    assert reached >= {"dual stack", "single stack", "port ethernet", "port vlan", "port bond", "1 ports", "2 ports",
                       "unnumbered peer", "dynamic ASN", "secret password", "pool range", "1 pools", "2 pools",
                       "3 pools", "explicit advertisement", "egress LoadBalancerIP", "egress Network",
                       "created service"}, reached
