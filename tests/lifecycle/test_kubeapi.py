"""The API stand-in's write semantics and its controllers, each against the upstream rule it
models (named beside each test), so that the lifecycle tests stand on them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import clusters
from tests.support.apiserver import Tls, make_tls
from tests.support.controllers import JobRunner, Nmstate
from tests.support.lifecycle import wait_for
from tests.support.kubeapi import (KubeApi, ServedApi, apply, decode_protobuf, merge_patch, ownership_after_update,
                                   strategic_merge)

TOKEN = "kubeapi-test-token"


@pytest.fixture(scope="module")
def api() -> KubeApi:
    return KubeApi(token=TOKEN)


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Tls:
    return make_tls(tmp_path_factory.mktemp("tls"))


def call(api: KubeApi, method: str, path: str, body: Any = None, content_type: str = "application/json") -> tuple[int, Any]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode() if body is not None else b""
    return api.handle(method, path, {"Authorization": f"Bearer {TOKEN}", "Content-Type": content_type}, data)


def config_map(name: str, **data: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data}


@pytest.mark.parametrize(("target", "patch", "result"), [
    # RFC 7386, Appendix A (a selection).
    ({"a": "b"}, {"a": "c"}, {"a": "c"}),
    ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
    ({"a": "b"}, {"a": None}, {}),
    ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
    ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
    ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
    ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
])
def test_merge_patch_is_rfc_7386(target: Any, patch: Any, result: Any) -> None:
    assert merge_patch(target, patch) == result


def test_strategic_merge_patch_merges_service_ports_by_port(api: KubeApi) -> None:
    """k8s.io/api core/v1 ServiceSpec.Ports: patchStrategy merge, patchMergeKey port; the
    $setElementOrder and $patch: delete directives (apimachinery strategicpatch/patch.go)."""
    services = api.kind_of("", "services")
    live = {"spec": {"ports": [{"port": 80, "name": "http"}, {"port": 443, "name": "https"}], "type": "ClusterIP"},
            "metadata": {"finalizers": ["a"]}}
    patch = {"spec": {"$setElementOrder/ports": [{"port": 8080}, {"port": 443}],
                      "ports": [{"port": 8080, "name": "alt"}, {"port": 80, "$patch": "delete"}], "type": None},
             "metadata": {"finalizers": ["b"]}}
    assert strategic_merge(live, patch, services) == {
        "spec": {"ports": [{"port": 8080, "name": "alt"}, {"port": 443, "name": "https"}]},
        "metadata": {"finalizers": ["a", "b"]}}


def test_strategic_merge_patch_is_refused_for_custom_resources(api: KubeApi) -> None:
    """handlers/patch.go: a custom resource takes no strategic merge patch (415)."""
    code, _ = call(api, "POST", "/apis/metallb.io/v1beta1/namespaces/metallb-system/ipaddresspools",
                   {"apiVersion": "metallb.io/v1beta1", "kind": "IPAddressPool", "metadata": {"name": "p415"},
                    "spec": {"addresses": ["192.0.2.0/32"]}})
    assert code == 201
    code, answer = call(api, "PATCH", "/apis/metallb.io/v1beta1/namespaces/metallb-system/ipaddresspools/p415",
                        {"spec": {"autoAssign": False}}, "application/strategic-merge-patch+json")
    assert (code, answer["reason"]) == (415, "UnsupportedMediaType")


def test_create_twice_is_already_exists_and_a_missing_namespace_not_found(api: KubeApi) -> None:
    """registry/store.go Create (AlreadyExists); NamespaceLifecycle admission (NotFound)."""
    assert call(api, "POST", "/api/v1/namespaces/default/configmaps", config_map("twice"))[0] == 201
    code, answer = call(api, "POST", "/api/v1/namespaces/default/configmaps", config_map("twice"))
    assert (code, answer["reason"], answer["message"]) == (409, "AlreadyExists", 'configmaps "twice" already exists')
    code, answer = call(api, "POST", "/api/v1/namespaces/nowhere/configmaps", config_map("lost"))
    assert (code, answer["message"]) == (404, 'namespaces "nowhere" not found')


def test_update_with_a_stale_resource_version_conflicts(api: KubeApi) -> None:
    """registry/store.go Update: the resourceVersion sent must be the stored one."""
    _, created = call(api, "POST", "/api/v1/namespaces/default/configmaps", config_map("stale", a="1"))
    fresh = {**created, "data": {"a": "2"}}
    code, updated = call(api, "PUT", "/api/v1/namespaces/default/configmaps/stale", fresh)
    assert code == 200 and int(updated["metadata"]["resourceVersion"]) > int(created["metadata"]["resourceVersion"])
    code, answer = call(api, "PUT", "/api/v1/namespaces/default/configmaps/stale", {**created, "data": {"a": "3"}})
    assert (code, answer["reason"]) == (409, "Conflict")


def test_generation_moves_with_the_spec_only(api: KubeApi) -> None:
    """apiextensions-apiserver customresource/strategy.go PrepareForUpdate: a change of
    anything but metadata and status bumps metadata.generation."""
    base = "/apis/nmstate.io/v1/nodenetworkconfigurationpolicies"
    _, created = call(api, "POST", base, {"apiVersion": "nmstate.io/v1", "kind": "NodeNetworkConfigurationPolicy",
                                          "metadata": {"name": "gen"}, "spec": {"desiredState": {"interfaces": []}}})
    _, labelled = call(api, "PATCH", f"{base}/gen", {"metadata": {"labels": {"a": "b"}}}, "application/merge-patch+json")
    _, changed = call(api, "PATCH", f"{base}/gen", {"spec": {"maxUnavailable": 1}}, "application/merge-patch+json")
    assert [o["metadata"]["generation"] for o in (created, labelled, changed)] == [1, 1, 2]


def _policy(routes: list[str]) -> dict[str, Any]:
    return {"apiVersion": "nmstate.io/v1", "kind": "NodeNetworkConfigurationPolicy", "metadata": {"name": "ssa"},
            "spec": {"nodeSelector": {"vrf": "true"}, "desiredState": {"routes": {"config": routes}}}}


def test_server_side_apply_conflicts_takes_by_force_and_drops_what_is_no_longer_applied(api: KubeApi) -> None:
    """structured-merge-diff merge/update.go Apply: a changed field another manager owns is a
    conflict (409) unless forced; a field this manager stops applying goes, unless another
    manager owns it; an unknown-fields list is atomic (one field)."""
    kind = api.kind_of("nmstate.io", "nodenetworkconfigurationpolicies")
    merged, entries = apply(None, _policy(["a"]), kind, "helm", False)
    live = {**merged, "metadata": {**merged["metadata"], "managedFields": entries}}
    owned = entries[0]["fieldsV1"]["f:spec"]
    assert owned == {"f:nodeSelector": {"f:vrf": {}}, "f:desiredState": {"f:routes": {"f:config": {}}}}
    # Another manager updates the list: it now owns it.
    edited = json.loads(json.dumps(live))
    edited["spec"]["desiredState"]["routes"]["config"] = ["a", "b"]
    edited["metadata"]["managedFields"] = ownership_after_update(live, {"metadata": {}}, edited, kind, "kubectl-edit")
    with pytest.raises(Exception) as refused:
        apply(edited, _policy(["a"]), kind, "helm", False)
    assert 'conflict with "kubectl-edit" using nmstate.io/v1: .spec.desiredState.routes.config' in str(refused.value)
    # The same value applied again is no conflict: both own it.
    apply(edited, _policy(["a", "b"]), kind, "helm", False)
    forced, forced_entries = apply(edited, _policy(["a"]), kind, "helm", True)
    assert forced["spec"]["desiredState"]["routes"]["config"] == ["a"]
    assert [e["manager"] for e in forced_entries if "f:spec" in json.dumps(e["fieldsV1"])] == ["helm"]
    # Helm stops applying the node selector: it goes.
    smaller = _policy(["a"])
    del smaller["spec"]["nodeSelector"]
    live_forced = {**forced, "metadata": {**forced["metadata"], "managedFields": forced_entries}}
    assert "vrf" not in apply(live_forced, smaller, kind, "helm", False)[0]["spec"].get("nodeSelector", {})


def test_an_update_that_sends_managed_fields_replaces_them(api: KubeApi) -> None:
    """apiserver managedfields: managedFields sent that differ from the stored ones replace
    them ("Clearing managedFields" in the server-side apply documentation)."""
    base = "/apis/nmstate.io/v1/nodenetworkconfigurationpolicies"
    code, applied = call(api, "PATCH", f"{base}/handback?fieldManager=helm", json.dumps({**_policy(["a"]), "metadata": {"name": "handback"}}).encode(),
                         "application/apply-patch+yaml")
    assert code == 200
    before = applied["metadata"]["managedFields"]
    changed = json.loads(json.dumps(applied))
    changed["spec"]["desiredState"]["routes"]["config"] = ["gone"]
    _, updated = call(api, "PUT", f"{base}/handback?fieldManager=symrouting", changed)
    assert {e["manager"] for e in updated["metadata"]["managedFields"]} == {"helm", "symrouting"}
    updated["metadata"]["managedFields"] = before
    _, handed_back = call(api, "PUT", f"{base}/handback?fieldManager=symrouting", updated)
    assert handed_back["metadata"]["managedFields"] == before


def test_list_selects_by_label_and_field(api: KubeApi) -> None:
    """apimachinery labels/selector.go and fields/selector.go (metadata.name)."""
    call(api, "POST", "/api/v1/namespaces/default/configmaps",
         {**config_map("sel-a"), "metadata": {"name": "sel-a", "labels": {"owner": "helm", "name": "x"}}})
    call(api, "POST", "/api/v1/namespaces/default/configmaps",
         {**config_map("sel-b"), "metadata": {"name": "sel-b", "labels": {"owner": "helm", "name": "y"}}})
    _, by_label = call(api, "GET", "/api/v1/namespaces/default/configmaps?labelSelector=owner%3Dhelm%2Cname%3Dy")
    _, by_field = call(api, "GET", "/api/v1/namespaces/default/configmaps?fieldSelector=metadata.name%3Dsel-a")
    assert [i["metadata"]["name"] for i in by_label["items"]] == ["sel-b"]
    assert [i["metadata"]["name"] for i in by_field["items"]] == ["sel-a"]


def test_watch_starts_after_the_resource_version_or_with_the_current_objects(api: KubeApi) -> None:
    """handlers/watch.go and the watch cache: from resourceVersion N only later changes; from
    none or "0" the current objects first, as ADDED."""
    _, created = call(api, "POST", "/api/v1/namespaces/default/configmaps", config_map("watched"))
    revision = created["metadata"]["resourceVersion"]
    call(api, "DELETE", "/api/v1/namespaces/default/configmaps/watched")
    selector = "fieldSelector=metadata.name%3Dwatched&timeoutSeconds=1"
    _, later = call(api, "GET", f"/api/v1/namespaces/default/configmaps?watch=true&resourceVersion={revision}&{selector}")
    assert [event["type"] for event in later] == ["DELETED"]
    call(api, "POST", "/api/v1/namespaces/default/configmaps", config_map("watched"))
    _, current = call(api, "GET", f"/api/v1/namespaces/default/configmaps?watch=true&{selector}")
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in current] == [("ADDED", "watched")]


def test_a_bfd_profile_a_peer_names_is_not_deleted(api: KubeApi) -> None:
    """metallb webhookv1beta1/bfdprofile_webhook.go, validateBFDDelete."""
    base = "/apis/metallb.io/v1beta1/namespaces/metallb-system"
    call(api, "POST", f"{base}/bfdprofiles", {"apiVersion": "metallb.io/v1beta1", "kind": "BFDProfile",
                                              "metadata": {"name": "fast"}, "spec": {}})
    call(api, "POST", "/apis/metallb.io/v1beta2/namespaces/metallb-system/bgppeers",
         {"apiVersion": "metallb.io/v1beta2", "kind": "BGPPeer", "metadata": {"name": "tor"},
          "spec": {"bfdProfile": "fast", "myASN": 1, "peerASN": 2, "peerAddress": "192.0.2.1"}})
    code, answer = call(api, "DELETE", f"{base}/bfdprofiles/fast")
    assert code == 403 and "failed to delete BFDProfile fast, used by BGPPeer tor" in answer["message"]
    call(api, "DELETE", "/apis/metallb.io/v1beta2/namespaces/metallb-system/bgppeers/tor")
    assert call(api, "DELETE", f"{base}/bfdprofiles/fast")[0] == 200


def _field(number: int, payload: bytes) -> bytes:
    return bytes([number << 3 | 2, len(payload)]) + payload


def test_a_protobuf_secret_is_read() -> None:
    """runtime/serializer/protobuf/protobuf.go envelope; core/v1 generated.proto Secret (bytes
    hand-built here, short enough for one-byte lengths)."""
    labels = _field(11, _field(1, b"owner") + _field(2, b"helm"))
    meta = _field(1, b"sh.helm.release.v1.a.v1") + _field(3, b"test") + labels
    secret = _field(1, meta) + _field(2, _field(1, b"release") + _field(2, b"\x00\x01")) + _field(3, b"helm.sh/release.v1")
    body = b"k8s\x00" + _field(1, _field(1, b"v1") + _field(2, b"Secret")) + _field(2, secret)
    assert decode_protobuf(body) == {
        "apiVersion": "v1", "kind": "Secret", "type": "helm.sh/release.v1", "data": {"release": "AAE="},
        "metadata": {"name": "sh.helm.release.v1.a.v1", "namespace": "test", "labels": {"owner": "helm"}}}


@pytest.fixture
def served(tls: Tls) -> Iterator[ServedApi]:
    running = ServedApi(KubeApi(token=TOKEN), tls)
    yield running
    running.stop()


def _job(name: str, script: str, backoff: int = 0) -> dict[str, Any]:
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name},
            "spec": {"backoffLimit": backoff, "template": {"spec": {
                "restartPolicy": "Never", "containers": [{
                    "name": "c", "command": ["python3", "-c", script], "env": [{"name": "GREETING", "value": "hi"}],
                    "volumeMounts": [{"name": "code", "mountPath": "/opt/symrouting", "readOnly": True}]}],
                "volumes": [{"name": "code", "configMap": {"name": "code", "items": [{"key": "k", "path": "dir/f"}]}}]}}}}


def _finished(api: KubeApi, name: str) -> dict[str, Any]:
    wait_for(lambda: any(c["type"] in ("Complete", "Failed") for c in
                         ((api.get("batch", "jobs", "default", name) or {}).get("status") or {}).get("conditions") or []), 30)
    job = api.get("batch", "jobs", "default", name)
    assert job is not None
    return job


def test_a_job_runs_its_pod_with_the_mounts_and_completes(served: ServedApi, tmp_path: Path) -> None:
    """The pod sees the ConfigMap item at its path, read-only, the service-account files and
    the in-cluster env; exit 0 completes the Job (job_controller.go)."""
    api = served.api
    runner = JobRunner(api, served, tmp_path)
    call(api, "POST", "/api/v1/namespaces/default/configmaps", config_map("code", k="mounted"))
    script = ("import os, pathlib; d = pathlib.Path('/var/run/secrets/kubernetes.io/serviceaccount');"
              "print(open('/opt/symrouting/dir/f').read(), os.environ['GREETING'], os.environ['KUBERNETES_SERVICE_HOST'],"
              " (d / 'namespace').read_text(), bool((d / 'token').read_text()), (d / 'ca.crt').exists(),"
              " os.access('/opt/symrouting/dir/f', os.W_OK))")
    call(api, "POST", "/apis/batch/v1/namespaces/default/jobs", _job("ok", script))
    job = _finished(api, "ok")
    assert [c["type"] for c in job["status"]["conditions"]] == ["SuccessCriteriaMet", "Complete"]
    assert job["status"]["succeeded"] == 1
    [attempt] = runner.attempts[("default", "ok")]
    assert attempt.output.split() == ["mounted", "hi", "127.0.0.1", "default", "True", "True", "False"]


def test_a_failing_job_is_retried_up_to_its_backoff_limit(served: ServedApi, tmp_path: Path) -> None:
    """job_controller.go: more than backoffLimit failed pods fail the Job, BackoffLimitExceeded."""
    api = served.api
    runner = JobRunner(api, served, tmp_path)
    call(api, "POST", "/api/v1/namespaces/default/configmaps", config_map("code", k="x"))
    call(api, "POST", "/apis/batch/v1/namespaces/default/jobs", _job("bad", "raise SystemExit(3)", backoff=1))
    job = _finished(api, "bad")
    failed = next(c for c in job["status"]["conditions"] if c["type"] == "Failed")
    assert (failed["reason"], job["status"]["failed"]) == ("BackoffLimitExceeded", 2)
    assert [a.returncode for a in runner.attempts[("default", "bad")]] == [3, 3]


def test_nmstate_applies_a_policy_on_its_nodes_and_reports_enactments(api: KubeApi) -> None:
    """nodenetworkconfigurationpolicy_controller.go Reconcile: enactment per selected node with
    the policy's generation; a deleted policy's enactments go, the node keeps its state."""
    fresh = KubeApi(token=TOKEN)
    fresh.load({"/api/v1/nodes": [clusters.node("n0", {"vrf": "true"}), clusters.node("n1", {})]})
    nmstate = Nmstate(fresh)
    state = {"interfaces": [{"name": "v", "type": "vrf", "state": "up", "vrf": {"port": ["e"], "route-table-id": 5}}]}
    path = "/apis/nmstate.io/v1/nodenetworkconfigurationpolicies"
    call(fresh, "POST", path, {"apiVersion": "nmstate.io/v1", "kind": "NodeNetworkConfigurationPolicy",
                               "metadata": {"name": "p"}, "spec": {"nodeSelector": {"vrf": "true"}, "desiredState": state}})
    nmstate.settle()
    [record] = fresh.list("nmstate.io", "nodenetworkconfigurationenactments")
    assert (record["metadata"]["name"], record["status"]["policyGeneration"]) == ("n0.p", 1)
    assert set(nmstate.nodes) == {"n0"}
    call(fresh, "DELETE", f"{path}/p")
    nmstate.settle()
    assert fresh.list("nmstate.io", "nodenetworkconfigurationenactments") == []
    assert nmstate.nodes["n0"].managed()["virtual"] == {"v": ("vrf", 5)}


def test_nmstate_fails_a_state_nmstate_refuses_with_its_message(api: KubeApi) -> None:
    """The node model applies only what nmstate (rig/rust/nmstate-check) takes: a VRF without
    a route table (nmstate 2.2.62 ifaces/vrf.rs) fails the enactment with nmstate's message,
    as kubernetes-nmstate's handler reports nmstatectl's error, and the node keeps its state."""
    fresh = KubeApi(token=TOKEN)
    fresh.load({"/api/v1/nodes": [clusters.node("n0", {"vrf": "true"})]})
    nmstate = Nmstate(fresh)
    state = {"interfaces": [{"name": "v", "type": "vrf", "state": "up", "vrf": {"port": ["e"]}}]}
    call(fresh, "POST", "/apis/nmstate.io/v1/nodenetworkconfigurationpolicies", {
        "apiVersion": "nmstate.io/v1", "kind": "NodeNetworkConfigurationPolicy",
        "metadata": {"name": "p"}, "spec": {"nodeSelector": {"vrf": "true"}, "desiredState": state}})
    nmstate.settle()
    [record] = fresh.list("nmstate.io", "nodenetworkconfigurationenactments")
    [failing] = [c for c in record["status"]["conditions"] if c["type"] == "Failing"]
    assert (failing["status"], failing["reason"]) == ("True", "FailedToConfigure")
    assert failing["message"].endswith(
        "InvalidArgument: Route table ID undefined or 0 is not allowed for new VRF interface v")
    assert "n0" not in nmstate.nodes and nmstate.errors == []


def test_server_side_apply_merges_an_associative_list_by_its_keys(api: KubeApi) -> None:
    """k8s.io/api core/v1 ServiceSpec.Ports: +listType=map, keys port and protocol; an item the
    manager stops applying goes whole (structured-merge-diff merge/update.go, Apply)."""
    services = api.kind_of("", "services")

    def service(*ports: int) -> dict[str, Any]:
        return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
                "spec": {"ports": [{"name": f"p{p}", "port": p} for p in ports]}}

    first, entries = apply(None, service(80, 443), services, "helm", False)
    live = {**first, "metadata": {**first["metadata"], "managedFields": entries}}
    assert '"k:{\\"port\\":80}"' in json.dumps(entries)
    second, _ = apply(live, service(443, 8443), services, "helm", False)
    assert second["spec"]["ports"] == [{"name": "p443", "port": 443}, {"name": "p8443", "port": 8443}]
