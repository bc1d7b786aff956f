"""A pool's own serviceAllocation admits the Service the chart renders for it.

MetalLB gives a Service an address of a pool only when the pool's serviceAllocation admits
it: its namespace among `namespaces`, its labels matched by one of `serviceSelectors`
(metallb v0.16.1 internal/allocator/allocator.go isPoolCompatibleWithService). The refusals
are tests/bad_values/pool-allocation-misses-*.yaml; these are the other side: selectors
that do match, by each operator, render, and the matching is the rendered Service's labels.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import helm

SEED = helm.CHART / "ci" / "seed-values.yaml"

SERVICE = """
    egressServices:
      server1:
        service:
          create: true
          labels: {team: payments, tier: web}
          ports: [{port: 80}]
"""


def render(tmp_path: Path, allocation: str) -> helm.Result:
    override = tmp_path / "allocation.yaml"
    override.write_text("vrfs:\n  ens4vrf:\n    addressPools:\n      first-pool:\n        serviceAllocation:\n"
                        + allocation + SERVICE)
    return helm.template("helm3", [SEED, override])


ADMITTING = {
    "namespace": "          namespaces: [test]\n",
    "matchLabels": "          serviceSelectors: [{matchLabels: {team: payments}}]\n",
    "In": "          serviceSelectors: [{matchExpressions: [{key: tier, operator: In, values: [db, web]}]}]\n",
    "NotIn": "          serviceSelectors: [{matchExpressions: [{key: tier, operator: NotIn, values: [db]}]}]\n",
    "Exists": "          serviceSelectors: [{matchExpressions: [{key: team, operator: Exists}]}]\n",
    "DoesNotExist": "          serviceSelectors: [{matchExpressions: [{key: owner, operator: DoesNotExist}]}]\n",
    "chart's own label": "          serviceSelectors: [{matchLabels: {symmetric-routing/address-pool: first-pool}}]\n",
    "second selector": "          serviceSelectors: [{matchLabels: {team: media}}, {matchLabels: {tier: web}}]\n",
}
REFUSING = {
    "matchLabels": "          serviceSelectors: [{matchLabels: {team: media}}]\n",
    "In": "          serviceSelectors: [{matchExpressions: [{key: tier, operator: In, values: [db]}]}]\n",
    "NotIn": "          serviceSelectors: [{matchExpressions: [{key: tier, operator: NotIn, values: [web]}]}]\n",
    "Exists": "          serviceSelectors: [{matchExpressions: [{key: owner, operator: Exists}]}]\n",
    "DoesNotExist": "          serviceSelectors: [{matchExpressions: [{key: team, operator: DoesNotExist}]}]\n",
    "both must hold": "          serviceSelectors: [{matchLabels: {team: payments, tier: db}}]\n",
}


@pytest.mark.parametrize("case", ADMITTING)
def test_an_admitting_allocation_renders(case: str, tmp_path: Path) -> None:
    result = render(tmp_path, ADMITTING[case])
    assert result.returncode == 0, result.stderr
    assert any(d["kind"] == "Service" for d in result.documents)


@pytest.mark.parametrize("case", REFUSING)
def test_a_refusing_selector_is_named(case: str, tmp_path: Path) -> None:
    result = render(tmp_path, REFUSING[case])
    assert result.returncode != 0 and result.stdout == ""
    assert "vrfs.ens4vrf.egressServices.server1.service.labels: no serviceSelector of" in result.stderr, result.stderr
