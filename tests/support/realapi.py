"""The real API server, behind the recording and fault-injecting proxy, for the hook tests.

One control plane per pytest process (tests/hooks/conftest.py, session scope). A test writes
the cluster it needs with `load` (the objects of a tests/support/clusters.py builder), runs the
hooks through `url` with a real bound token of a cluster-admin ServiceAccount, and reads what
went over the wire in `requests` (the proxy's record). `reset` between tests deletes what the
test and the hooks wrote, so tests share the server, never a model of it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.support import realcluster
from tests.support.kubeclient import Client, Obj
from tests.support.proxy import Fault, Proxy, Recorded

ADMIN = "hooks-admin"
# Collections the hooks or a test may write to and `reset` empties besides what `load` wrote.
WRITTEN = (
    "/apis/coordination.k8s.io/v1/namespaces/{ns}/leases",
    "/apis/nmstate.io/v1/nodenetworkconfigurationpolicies",
    "/apis/metallb.io/v1beta2/namespaces/{ns}/bgppeers",
    "/apis/metallb.io/v1beta1/namespaces/{ns}/ipaddresspools",
    "/apis/metallb.io/v1beta1/namespaces/{ns}/bfdprofiles",
    # what nmstate's handler writes (tests/support/nmstatehandler.py); owned by the Nodes,
    # but the garbage collector takes them away only later
    "/apis/nmstate.io/v1beta1/nodenetworkconfigurationenactments",
    "/apis/nmstate.io/v1beta1/nodenetworkstates",
)
# Namespaces the builders and the chart's sites name.
NAMESPACES = ("metallb-system", "ovn-kubernetes", "openshift-frr-k8s", "test")


# What the server serves of its own: discovery, and the CRDs applied at its start.
SERVED = ("APIResourceList", "APIGroupList", "APIVersions", "CustomResourceDefinition")


def _plain(obj: Obj) -> Obj:
    """An object as a client sends it for a create: without what the server assigns."""
    sent = json.loads(json.dumps(obj))
    meta = sent.setdefault("metadata", {})
    for key in ("uid", "resourceVersion", "creationTimestamp", "generation", "managedFields"):
        meta.pop(key, None)
    return dict(sent)


def request_attributes(method: str, path: str) -> tuple[str, str, str, str, str] | None:
    """(verb, API group, namespace, resource, name) of a request, as the API server's
    RequestInfoFactory reads a path (k8s.io/apiserver pkg/endpoints/request/requestinfo.go):
    /api/v1/... is the core group "", /apis/<group>/<version>/... a named one; an optional
    namespaces/<ns>/ prefix; a GET of a collection is "list", of a named object "get", a PUT
    "update". None for a path with no resource (discovery: a non-resource request)."""
    parts = path.split("?", 1)[0].strip("/").split("/")
    if parts[:1] == ["api"]:
        group, rest = "", parts[2:]
    elif parts[:1] == ["apis"]:
        group, rest = (parts[1] if len(parts) > 1 else ""), parts[3:]
    else:
        return None
    if not rest:
        return None
    namespace = ""
    if rest[0] == "namespaces" and len(rest) > 2:
        namespace, rest = rest[1], rest[2:]
    resource, name = rest[0], (rest[1] if len(rest) > 1 else "")
    verb = {"PUT": "update", "DELETE": "delete", "POST": "create"}.get(method, "get" if name else "list")
    return verb, group, namespace, resource, name


class RealApi:
    """One real kube-apiserver per pytest worker for the hook tests, behind the recording and
    fault-injecting proxy, with an admin token and the namespaces the hooks use."""

    def __init__(self, cluster: realcluster.RealCluster, folder: Path) -> None:
        self.cluster = cluster
        self.client: Client = cluster.client()
        self.token = cluster.admin_token(ADMIN)
        for namespace in NAMESPACES:
            self.client.call("POST", "/api/v1/namespaces",
                             {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
        pki = cluster.pki
        self.ca_file = pki.ca_file
        self.proxy = Proxy(cluster.url, pki.ca_file, pki.server_cert, pki.server_key)
        self.url = self.proxy.url
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.loaded: list[str] = []

    @property
    def requests(self) -> list[Recorded]:
        return self.proxy.requests

    def kubeconfig(self, path: Path, token: str | None = None, server: str | None = None) -> Path:
        """A kubeconfig reaching the server through the proxy (or `server`) with a bearer token."""
        path.write_text(json.dumps({
            "apiVersion": "v1", "kind": "Config", "current-context": "rig",
            "clusters": [{"name": "rig", "cluster": {"server": server or self.url,
                                                     "certificate-authority": str(self.ca_file)}}],
            "users": [{"name": "user", "user": {"token": token or self.token}}],
            "contexts": [{"name": "rig", "context": {"cluster": "rig", "user": "user"}}]}))
        return path

    def fail(self, path: str, status: int, times: int = 1, method: str = "", reason: str = "",
             message: str = "", headers: dict[str, str] | None = None, body: bytes = b"", after: int = 0,
             when: Callable[[str, str, Any], bool] | None = None) -> Fault:
        """The next `times` requests to exactly `path` (any query), after `after` let through,
        answered `status` by the proxy (with a Status, or `body`), never reaching the server.
        With `when`, only requests it holds for (method, path, decoded JSON body) count."""
        return self.proxy.fault(Fault(method, _exactly(path), times, status, reason or _REASONS.get(status, "Error"),
                                      message or f"{_REASONS.get(status, 'Error')} {path}", dict(headers or {}),
                                      body=body, after=after, when=when))

    def lose(self, method: str, path: str, *, drop: bool = False, late: float = 0.0,
             then: Callable[[], None] | None = None) -> Fault:
        """The next request of `method` to `path` loses its answer: the server applies it and
        the connection is reset mid-answer (or the answer comes `late`, then `then` runs before
        the client hears), or with `drop` the request never reaches the server."""
        return self.proxy.fault(Fault(method, _exactly(path), reset=not (drop or late), drop=drop, late=late,
                                      then=then))

    def slow(self, path: str, delay: float, times: int = 1) -> Fault:
        """The next `times` requests to `path` answered by the real server `delay` seconds late."""
        return self.proxy.fault(Fault("", _exactly(path), times, delay=delay))

    def account_token(self, name: str, namespace: str = "test") -> str:
        """A real bound token of a ServiceAccount (made if missing) that no binding grants."""
        if self.client.get(f"/api/v1/namespaces/{namespace}/serviceaccounts/{name}") is None:
            self.client.call("POST", f"/api/v1/namespaces/{namespace}/serviceaccounts",
                             {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name}})
        return self.cluster.token(namespace, name)

    def load(self, routes: dict[str, Any]) -> None:
        """Writes the objects of a clusters.* builder into the real server (`to_load`)."""
        for collection, item in to_load(routes):
            self.create(collection, item)

    def create(self, collection: str, obj: Obj) -> Obj:
        """POSTs an object, then its status where the kind keeps status in a subresource."""
        collection = collection.split("?", 1)[0]
        stored = dict(self.client.call("POST", collection, _plain(obj)))
        path = f"{collection}/{stored['metadata']['name']}"
        self.loaded.append(path)
        if obj.get("status") and stored.get("status") != obj["status"]:
            stored["status"] = obj["status"]
            stored = dict(self.client.call("PUT", f"{path}/status", stored))
        return stored

    def reset(self) -> None:
        """Deletes what `load` wrote and what the hooks wrote; clears the proxy."""
        self.proxy.clear()
        for path in reversed(self.loaded):
            self.client.request("DELETE", f"{path}?gracePeriodSeconds=0")
        self.loaded.clear()
        for namespace in NAMESPACES:
            for collection in WRITTEN:
                self.client.request("DELETE", collection.format(ns=namespace))

    def stop(self) -> None:
        self.proxy.stop()


def start(folder: Path) -> RealApi:
    """A control plane of its own in `folder`, behind the proxy; nothing left running if it
    fails to start."""
    cluster = realcluster.start(folder / "cluster")
    try:
        return RealApi(cluster, folder / "proxy")
    except BaseException:
        cluster.stop()
        raise


def to_load(routes: dict[str, Any]) -> list[tuple[str, Obj]]:
    """The objects of a clusters.* builder, each once, with the collection to create it in:
    each object at its path, each item of a collection into it (a namespaced item of a
    cluster-wide list into its own namespace). Discovery and CRDs are the server's own (the
    pinned CRDs are applied at start), so those routes are not written."""
    targets: dict[str, tuple[str, Obj]] = {}
    for path, value in routes.items():
        items = value if isinstance(value, list) else [value]
        collection = path if isinstance(value, list) else path.rsplit("/", 1)[0]
        for item in items:
            if not isinstance(item, dict) or "metadata" not in item or item.get("kind") in SERVED:
                continue
            target = _in_namespace(collection.split("?", 1)[0], item["metadata"].get("namespace"))
            targets.setdefault(f"{target}/{item['metadata']['name']}", (target, item))
    return list(targets.values())


def _in_namespace(collection: str, namespace: str | None) -> str:
    """A namespaced object's collection: a cluster-wide list's path with the object's namespace."""
    if not namespace or "/namespaces/" in collection:
        return collection
    head, resource = collection.rsplit("/", 1)
    return f"{head}/namespaces/{namespace}/{resource}"


def _exactly(path: str) -> str:
    """A proxy fault's pattern for exactly this path, whatever its query."""
    return "^" + re.escape(path) + r"(\?|$)"


_REASONS = {401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 409: "Conflict", 410: "Expired",
            422: "Invalid", 429: "TooManyRequests", 500: "InternalError", 503: "ServiceUnavailable"}
