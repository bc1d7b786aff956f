"""Deletes the release's BGPPeers that name a BFDProfile before Helm deletes the profiles.

MetalLB's webhook refuses to delete a BFDProfile that a BGPPeer still names (metallb
internal/k8s/webhooks/webhookv1beta1/bfdprofile_webhook.go, validateBFDDelete). Helm deletes
the profiles first: neither kind is in its UninstallOrder or InstallOrder, and unknown kinds
sort last, alphabetically, so BFDProfile before BGPPeer (helm pkg/release/v1/util/
kind_sorter.go, lessByKind). An uninstall deletes kind after kind in that order (helm
pkg/kube/client.go, Delete and batchPerform); an upgrade or rollback deletes what the new
manifest drops in the order of the old one, stored in InstallOrder (client.go, Update). So
on uninstall every peer of the release that names a profile goes first, and before an
upgrade or rollback every such peer the new values drop; Helm's own delete of the peer then
finds it gone, which it ignores (client.go: IsNotFound).
"""

from __future__ import annotations

import urllib.parse
from typing import Any

from symrouting.api import ApiError, Transport, Unreachable
from symrouting.gather import INSTANCE_LABEL, RELEASE_NAMESPACE_LABEL, collect, owner_of
from symrouting.plan import Plan

PEERS = "/apis/metallb.io/v1beta2/namespaces/{namespace}/bgppeers"


def doomed(plan: Plan, peers: list[dict[str, Any]], uninstall: bool) -> list[tuple[str, str]]:
    """(peer, its BFD profile) of each peer of the release to delete now: every one that names
    a profile on uninstall, else those the new values drop."""
    kept = set() if uninstall else {peer.name for vrf in plan.vrfs for peer in vrf.peers}
    found = []
    for peer in peers:
        meta, spec = peer.get("metadata") or {}, peer.get("spec") or {}
        if plan.owns(owner_of(meta)) and spec.get("bfdProfile") and meta.get("name") not in kept:
            found.append((str(meta["name"]), str(spec["bfdProfile"])))
    return sorted(found)


def delete_before_profiles(transport: Transport, plan: Plan, uninstall: bool) -> list[str]:
    """Deletes them; returns a report line for each (a refusal is a warning that says what
    Helm will then fail to do and the way out, since the nodes are clean by now)."""
    collection = PEERS.format(namespace=plan.metallb_namespace)
    selector = urllib.parse.quote(f"{INSTANCE_LABEL}={plan.release},{RELEASE_NAMESPACE_LABEL}={plan.namespace}")
    malformed: list[str] = []
    peers = collect(transport, f"{collection}?labelSelector={selector}", lambda item: item, malformed) or []
    lines = []
    for name, profile in doomed(plan, peers, uninstall):
        try:
            transport.delete(f"{collection}/{name}")
            lines.append(f"DONE  BGPPeer {name} deleted before BFDProfile {profile}, "
                         "which MetalLB keeps while a peer names it")
        except (ApiError, Unreachable) as error:
            lines.append(f"WARN  BGPPeer {name} not deleted ({error}): MetalLB will refuse Helm's delete of BFDProfile "
                         f"{profile}; delete the peer, then the profile (kubectl -n {plan.metallb_namespace} delete "
                         f"bgppeer {name}; kubectl -n {plan.metallb_namespace} delete bfdprofile {profile})")
    return lines
