"""Every site the suite knows, as one list for the tests that hand them to the real
components: the ci/ sites (the test release), each tenant of sites/ (the release and
namespace its Argo CD Application uses) and the generated sites (tests/support/sitegen.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support import helm, sitegen


@dataclass(frozen=True)
class Site:
    name: str
    release: str
    namespace: str
    files: tuple[Path, ...] = ()
    seed: int | None = None  # a generated site, written on demand

    def values(self, folder: Path) -> list[Path]:
        if self.seed is None:
            return list(self.files)
        return [sitegen.values_file(sitegen.generate_site(self.seed), folder / f"{self.name}.yaml")]

    def template(self, version: str, folder: Path) -> helm.Result:
        return helm.template(version, self.values(folder), release=self.release, namespace=self.namespace)


def _argo_applications() -> list[dict[str, Any]]:
    from tests.test_sites import applications  # the ApplicationSet's reading lives there

    return applications()


def all_sites() -> list[Site]:
    found = [Site(f"ci-{helm.site_name(path)}", helm.RELEASE, helm.NAMESPACE, (path,)) for path in helm.site_files()]
    found += [Site(f"sites-{app['name']}", app["release"], app["namespace"], tuple(app["values"]))
              for app in _argo_applications()]
    found += [Site(f"generated-{seed}", helm.RELEASE, helm.NAMESPACE, seed=seed) for seed in sitegen.SEEDS]
    return found


def desired_states(documents: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Each NodeNetworkConfigurationPolicy's desiredState, by the policy's name."""
    return {doc["metadata"]["name"]: doc["spec"]["desiredState"] for doc in documents
            if doc["kind"] == "NodeNetworkConfigurationPolicy"}
