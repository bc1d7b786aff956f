"""`helm test`: what the procedure verifies by hand, checked from inside the cluster.

For each egress service: its LoadBalancer Service has an ingress address from its pool (and
the label its own advertisement selects, where the chart narrowed one to it), its
EgressService reports a host, and (with sourceIPBy LoadBalancerIP) that node carries the
egress-service label. For each VRF: its policies are Available on their nodes; for one that
is not, each node whose enactment failed the policy's generation, with nmstate's message, as
the wait after an upgrade (wait.py) names them.
"""

from __future__ import annotations

import urllib.parse

from symrouting import cidr
from symrouting.api import Transport
from symrouting.checks import FAIL, PASS, Result
from symrouting.facts import condition_true
from symrouting.gather import ENACTMENTS, collect
from symrouting.nodeconfig import enactment_progress
from symrouting.plan import EgressService, Plan

EGRESS_LABEL = "egress-service.k8s.ovn.org/{namespace}-{name}"


def failed_nodes(transport: Transport, name: str, generation: int) -> list[str]:
    """Each node whose enactment reports this generation of the policy failed, with nmstate's
    message (none when the cluster serves no enactments)."""
    selector = urllib.parse.quote(f"nmstate.io/policy={name}")
    enactments = collect(transport, f"{ENACTMENTS}?labelSelector={selector}", lambda item: item, []) or []
    return [f"{name}: {node}: failed: {message}" for node, message in enactment_progress(enactments, generation, []).failed]


def check_policies(transport: Transport, plan: Plan) -> Result:
    problems, fine = [], []
    for name in (policy.name for policy in plan.policies):
        policy = transport.get(f"/apis/nmstate.io/v1/nodenetworkconfigurationpolicies/{name}")
        if policy is None:
            problems.append(f"{name}: not found")
        elif condition_true(policy, "Available"):
            fine.append(f"{name}: Available")
        else:
            degraded = condition_true(policy, "Degraded") or {}
            problems.append(f"{name}: not Available ({degraded.get('reason', 'in progress')}: "
                            f"{degraded.get('message', 'see kubectl get nnce')})")
            problems += failed_nodes(transport, name, int((policy.get("metadata") or {}).get("generation") or 0))
    if problems:
        return Result("policies-applied", FAIL, "a VRF policy is not applied on its nodes", tuple(problems),
                      "kubectl get nnce -l 'nmstate.io/policy in (" + ",".join(p.name for p in plan.policies) + ")'")
    return Result("policies-applied", PASS, f"{len(fine)} VRF policies Available", tuple(fine))


def _pool_addresses(plan: Plan, pool_name: str) -> tuple[str, ...]:
    for vrf in plan.vrfs:
        for pool in vrf.pools:
            if pool.name == pool_name:
                return pool.addresses
    return ()


def check_service(transport: Transport, plan: Plan, egress: EgressService) -> Result:
    name = f"{egress.namespace}/{egress.name}"
    details: list[str] = []
    service = transport.get(f"/api/v1/namespaces/{egress.namespace}/services/{egress.name}")
    if service is None:
        return Result(name, FAIL, "the LoadBalancer Service does not exist",
                      fix="create it, or let the chart render it with service.create: true")
    ingress = [i.get("ip") for i in ((service.get("status") or {}).get("loadBalancer") or {}).get("ingress") or [] if i.get("ip")]
    pool = [net for entry in _pool_addresses(plan, egress.address_pool) for net in cidr.pool_networks(entry)]
    inside = [ip for ip in ingress if cidr.contains(pool, ip)]
    if not ingress:
        return Result(name, FAIL, "the Service has no load balancer address yet",
                      fix=f"kubectl describe service -n {egress.namespace} {egress.name} (MetalLB's events say why)")
    if pool and not inside:
        return Result(name, FAIL, f"its address {', '.join(ingress)} is not from pool {egress.address_pool}",
                      fix="set the Service's metallb.io/address-pool annotation to the pool")
    details.append(f"address {', '.join(ingress)} from pool {egress.address_pool or '(any)'}")
    labels = (service.get("metadata") or {}).get("labels") or {}
    missing = {k: v for k, v in egress.service_labels.items() if labels.get(k) != v}
    if missing:
        wanted = " ".join(f"{k}={v}" for k, v in sorted(missing.items()))
        return Result(name, FAIL, f"the Service lacks {wanted}, which its own advertisement selects: its address is "
                      "announced nowhere", tuple(details), f"kubectl label service -n {egress.namespace} {egress.name} {wanted}")
    resource = transport.get(f"/apis/k8s.ovn.org/v1/namespaces/{egress.namespace}/egressservices/{egress.name}")
    host = ((resource or {}).get("status") or {}).get("host", "")
    if not host:
        return Result(name, FAIL, "the EgressService has no host", tuple(details),
                      "check that OVN-Kubernetes runs with EgressService support and that its nodeSelector matches a node")
    details.append(f"EgressService host {host}")
    if egress.source_ip_by == "LoadBalancerIP":
        label = EGRESS_LABEL.format(namespace=egress.namespace, name=egress.name)
        node = transport.get(f"/api/v1/nodes/{host}")
        if node is None or label not in ((node.get("metadata") or {}).get("labels") or {}):
            return Result(name, FAIL, f"node {host} does not carry {label}", tuple(details),
                          "OVN-Kubernetes sets it on the host it picks; its logs say why it did not")
        details.append(f"node {host} carries {label}")
    return Result(name, PASS, "address, egress host and node label in place", tuple(details))


def verify(transport: Transport, plan: Plan) -> list[Result]:
    results = [check_policies(transport, plan)]
    results += [check_service(transport, plan, egress) for vrf in plan.vrfs for egress in vrf.egress_services]
    return results
