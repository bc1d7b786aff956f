"""A tenant's pools serve only the tenant's Services.

MetalLB gives a LoadBalancer Service an address from any pool with autoAssign when the
Service names none, and from any pool it names by address or annotation, unless the pool's
serviceAllocation leaves the Service out (metallb controller/service.go allocateIPs,
internal/allocator/allocator.go Allocate, Assign and isPoolCompatibleWithService, v0.15.3
and v0.16.1; modelled in tests/support/metallb.py). The chart gives every pool that sets no
serviceAllocation one that admits only the Services with the pool's label.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.support import helm
from tests.support.metallb import open_to_any_service, pool_admits
from tests.test_announcements import render, site

CI = helm.CHART / "ci"
SITES = [CI / "seed-values.yaml", CI / "multi-vrf-values.yaml", CI / "multi-node-values.yaml",
         CI / "network-mode-values.yaml", CI / "dualstack-values.yaml", CI / "vlan-bond-values.yaml"]


@pytest.mark.parametrize("values", SITES, ids=lambda p: p.stem)
def test_another_tenants_service_gets_no_address_of_the_pools(values: Path) -> None:
    result = helm.template("helm3", [values])
    assert result.returncode == 0, result.stderr
    pools = [d for d in result.documents if d["kind"] == "IPAddressPool"]
    assert pools
    for pool in pools:
        name = pool["metadata"]["name"]
        assert not open_to_any_service(pool), f"{name} gives its addresses to any Service that names no pool"
        assert not pool_admits(pool, "intruder", {"app": "web"}), f"{name} admits another tenant's Service"


def test_the_services_the_chart_creates_are_admitted_by_their_pool(tmp_path: Path) -> None:
    result = render(site(2, version="0.15", shared_pool=False, network=1), tmp_path)
    assert result.returncode == 0, result.stderr
    pools = {d["metadata"]["name"]: d for d in result.documents if d["kind"] == "IPAddressPool"}
    services = [d for d in result.documents if d["kind"] == "Service"]
    assert len(services) == 3
    for service in services:
        meta = service["metadata"]
        mine = meta["annotations"]["metallb.io/address-pool"]
        for name, pool in pools.items():
            assert pool_admits(pool, meta["namespace"], meta["labels"]) == (name == mine), (meta["name"], name)


def test_a_service_the_chart_does_not_create_is_attached_by_the_pool_label(tmp_path: Path) -> None:
    """What the README's "Attaching a Service the chart does not create" tells the user to write."""
    result = helm.template("helm3", [CI / "seed-values.yaml"])
    [pool] = [d for d in result.documents if d["kind"] == "IPAddressPool"]
    assert not pool_admits(pool, "test", {"app": "server1"})
    assert pool_admits(pool, "test", {"app": "server1", "symmetric-routing/address-pool": "first-pool"})


def test_a_pool_name_over_63_characters_gets_a_label_value_cut_with_its_hash(tmp_path: Path) -> None:
    values = site(1, version="0.15", shared_pool=False)
    values["vrfs"]["shop"]["addressPools"]["p0"]["name"] = "pool-" + "x" * 70
    result = render(values, tmp_path)
    assert result.returncode == 0, result.stderr
    [pool] = [d for d in result.documents if d["kind"] == "IPAddressPool"]
    [service] = [d for d in result.documents if d["kind"] == "Service"]
    value = service["metadata"]["labels"]["symmetric-routing/address-pool"]
    assert len(value) == 63 and value.startswith("pool-xxx")
    assert pool_admits(pool, service["metadata"]["namespace"], service["metadata"]["labels"])


def test_a_serviceallocation_of_the_values_replaces_the_default(tmp_path: Path) -> None:
    values = site(1, version="0.15", shared_pool=False)
    values["vrfs"]["shop"]["addressPools"]["p0"]["serviceAllocation"] = {"namespaces": ["shop"]}
    path = tmp_path / "v.yaml"
    path.write_text(yaml.safe_dump(values))
    result = helm.template("helm3", [path])
    assert result.returncode == 0, result.stderr
    [pool] = [d for d in result.documents if d["kind"] == "IPAddressPool"]
    assert pool["spec"]["serviceAllocation"] == {"namespaces": ["shop"]}
