"""A local HTTPS stand-in for the Kubernetes API, on 127.0.0.1, for the hook's tests.

It serves objects shaped like real API responses from a dict of paths, pages lists with
`limit` and `continue` as the API server does, answers metadata-only lists
(PartialObjectMetadataList) when asked, keeps connections alive, checks the bearer token,
and can be told to
misbehave: fail a path N times with a status, answer slowly, or answer garbage. It records
every request, accepts PUT of NNCPs so that the uninstall hook can be watched, and POST
(create) and PUT of any object with the API server's 409s (the cleanup's Lease), and DELETE
through a model of validating admission (MetalLB's BFDProfile webhook). With an
Rbac, requests made with a service account's token are authorized against the chart's
rendered Roles, ClusterRoles and bindings as Kubernetes' RBAC authorizer does.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import re
import ssl
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from collections.abc import Callable
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.support.realapi import request_attributes


@dataclass(frozen=True)
class Tls:
    ca_file: Path
    cert_file: Path
    key_file: Path


def make_tls(folder: Path) -> Tls:
    """A throwaway CA and a server certificate for 127.0.0.1 signed by it."""
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "symrouting test CA")])
    ca = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
                                     key_encipherment=False, data_encipherment=False, key_agreement=False,
                                     encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kubernetes")]))
        .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    tls = Tls(folder / "ca.crt", folder / "server.crt", folder / "server.key")
    tls.ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    tls.cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    tls.key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
    return tls


def write_kubeconfig(path: Path, server: str, tls: Tls, token: str) -> Path:
    """A kubeconfig whose only context reaches the stand-in with a bearer token."""
    path.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "stand-in",
        "clusters": [{"name": "stand-in", "cluster": {"server": server, "certificate-authority": str(tls.ca_file)}}],
        "users": [{"name": "admin", "user": {"token": token}}],
        "contexts": [{"name": "stand-in", "context": {"cluster": "stand-in", "user": "admin"}}],
    }))
    return path


@dataclass
class Rbac:
    """Kubernetes RBAC for the service accounts whose tokens it holds, from rendered objects.

    Modelled on plugin/pkg/auth/authorizer/rbac/rbac.go (RuleAllows: verb, API group,
    resource and resource name must all match one rule) with the matchers of
    pkg/apis/rbac/v1/evaluation_helpers.go ("*" matches all; an empty resourceNames matches
    every name, a non-empty one only requests that name an object, so never a list), and
    pkg/registry/rbac/validation/rule.go (VisitRulesFor: a ClusterRoleBinding grants its
    ClusterRole everywhere, a RoleBinding its Role or ClusterRole in the binding's namespace
    only; a ServiceAccount subject matches "system:serviceaccount:<namespace>:<name>").
    Discovery paths are non-resource requests that the bootstrap ClusterRole
    system:discovery grants to every authenticated user
    (plugin/pkg/auth/authorizer/rbac/bootstrappolicy/policy.go), so they pass.
    """

    documents: list[dict[str, Any]]
    tokens: dict[str, str]  # bearer token -> service account user name

    def rules_for(self, user: str, namespace: str) -> list[dict[str, Any]]:
        roles = {(d["kind"], d["metadata"].get("namespace", ""), d["metadata"]["name"]): d.get("rules") or []
                 for d in self.documents if d["kind"] in ("Role", "ClusterRole")}
        rules: list[dict[str, Any]] = []
        for binding in self.documents:
            if binding["kind"] not in ("RoleBinding", "ClusterRoleBinding"):
                continue
            where = binding["metadata"].get("namespace", "")
            if binding["kind"] == "RoleBinding" and where != namespace:
                continue
            if not any(_subject_is(subject, user) for subject in binding.get("subjects") or []):
                continue
            ref = binding["roleRef"]
            rules += roles.get((ref["kind"], where if ref["kind"] == "Role" else "", ref["name"]), [])
        return rules

    def allows(self, user: str, verb: str, group: str, namespace: str, resource: str, name: str) -> bool:
        return any(
            _matches(rule.get("verbs"), verb) and _matches(rule.get("apiGroups"), group)
            and _matches(rule.get("resources"), resource)
            and (not rule.get("resourceNames") or name in rule["resourceNames"])
            for rule in self.rules_for(user, namespace)
        )


def _matches(allowed: list[str] | None, wanted: str) -> bool:
    return "*" in (allowed or []) or wanted in (allowed or [])


def _subject_is(subject: dict[str, Any], user: str) -> bool:
    if subject.get("kind") == "ServiceAccount":
        return user == f"system:serviceaccount:{subject.get('namespace', '')}:{subject['name']}"
    return subject.get("kind") == "User" and subject.get("name") == user


def forbidden(user: str, verb: str, group: str, namespace: str, resource: str, name: str) -> bytes:
    """The API server's 403 Status: the object, then who may not do what, where
    (k8s.io/apiserver pkg/endpoints/handlers/responsewriters, forbiddenMessage)."""
    qualified = f"{resource}.{group}" if group else resource
    scope = f'in the namespace "{namespace}"' if namespace else "at the cluster scope"
    message = (f'{qualified}{f" {json.dumps(name)}" if name else ""} is forbidden: User "{user}" cannot {verb} '
               f'resource "{resource}" in API group "{group}" {scope}')
    return json.dumps({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "Forbidden",
                       "message": message, "code": 403}).encode()


@dataclass
class Fault:
    status: int = 503
    times: int = 1
    delay: float = 0.0
    body: bytes | None = None
    method: str | None = None  # only requests of this method (default: any)
    after: int = 0  # let this many of them pass first
    before: Callable[[], None] | None = None  # runs first: another client's write, say


@dataclass
class Request:
    method: str
    path: str
    authorization: str
    body: Any = None
    accept: str = "application/json"
    status: int = 0  # the status answered, once answered


@dataclass
class FakeApi:
    """Paths to objects (dict) or collections (list of items)."""

    routes: dict[str, Any]
    token: str
    faults: dict[str, list[Fault]] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    # Serialized answers, so that a benchmark measures the client, not this server's json.dumps.
    cache: dict[tuple[str, bool], bytes] = field(default_factory=dict)
    # Called with (path, stored object) after each PUT: lets a test play nmstate.
    on_put: list[Any] = field(default_factory=list)
    # Called with (path, stored object) after each create (POST): a controller seeing a new object.
    on_create: list[Any] = field(default_factory=list)
    reacting: Any = field(default_factory=threading.Lock)
    # Service accounts' tokens and the RBAC their requests are held to.
    rbac: Rbac | None = None
    # (user, verb, group, namespace, resource, name) of each request RBAC refused.
    refused: list[tuple[str, ...]] = field(default_factory=list)
    # Collections whose next continue tokens have been compacted away: path -> how many.
    expired: dict[str, int] = field(default_factory=dict)
    # The resourceVersion the last create gave (objects it did not create count their own).
    revision: int = 1000
    # Validating admission for DELETE: called with (path, stored object); an answer
    # (status, body) refuses the request, as a webhook's denial does (tests/support/metallb.py).
    admission: list[Callable[[str, dict[str, Any]], tuple[int, bytes] | None]] = field(default_factory=list)

    def fail(self, path: str, status: int = 503, times: int = 1, delay: float = 0.0, body: bytes | None = None,
             method: str | None = None, after: int = 0, before: Callable[[], None] | None = None) -> None:
        self.faults.setdefault(path, []).append(Fault(status, times, delay, body, method, after, before))

    def touch(self, path: str, spec: dict[str, Any] | None = None) -> None:
        """Another client's write: a new resourceVersion, and with a new spec a new generation
        (a status write, as nmstate's, leaves the generation: apiextensions-apiserver
        pkg/registry/customresource/strategy.go, PrepareForUpdate)."""
        with self.lock:
            stored = json.loads(json.dumps(self.routes[path]))
            meta = stored["metadata"]
            meta["resourceVersion"] = str(int(meta.get("resourceVersion", "1")) + 1)
            if spec is not None:
                stored["spec"] = spec
                meta["generation"] = int(meta.get("generation", 1)) + 1
            self.routes[path] = stored
            self._mirror(path, stored)
            self.cache.clear()

    def answer(self, method: str, raw_path: str, authorization: str, body: bytes,
               accept: str = "application/json") -> tuple[int, bytes]:
        request = Request(method, raw_path, authorization, json.loads(body) if body else None, accept)
        with self.lock:
            self.requests.append(request)
        status, answer = self._answer(request, accept)
        request.status = status
        return status, answer

    def _answer(self, request: Request, accept: str) -> tuple[int, bytes]:
        method, raw_path, authorization, decoded = request.method, request.path, request.authorization, request.body
        parsed = urllib.parse.urlsplit(raw_path)
        path, query = parsed.path, urllib.parse.parse_qs(parsed.query)
        with self.lock:
            queue = self.faults.get(path, [])
            fault = next((f for f in queue if f.method in (None, method)), None)
            if fault and fault.after > 0:
                fault.after -= 1
                fault = None
            elif fault:
                fault.times -= 1
                if fault.times <= 0:
                    queue.remove(fault)
        if fault:
            if fault.before is not None:
                fault.before()
            time.sleep(fault.delay)
            if fault.body is not None:
                return fault.status, fault.body
            if fault.status != 200:
                return fault.status, _status(fault.status, path)
        bearer = authorization.removeprefix("Bearer ")
        if self.rbac is not None and bearer in self.rbac.tokens:
            user, attributes = self.rbac.tokens[bearer], request_attributes(method, raw_path)
            if attributes is not None and not self.rbac.allows(user, *attributes):
                with self.lock:
                    self.refused.append((user, *attributes))
                return 403, forbidden(user, *attributes)
        elif authorization != f"Bearer {self.token}":
            return 401, _status(401, path)
        metadata_only = "as=PartialObjectMetadataList" in accept
        with self.lock:
            if method == "POST":
                created = self._create(path, decoded)
                reactions = list(self.on_create) if created[0] == 201 else []
            target = self.routes.get(path)
            if method == "DELETE":
                return self._delete(path, target)
            if method == "PUT":
                if not isinstance(target, dict):
                    return 404, _status(404, path)
                # k8s.io/apiserver pkg/registry/generic/registry/store.go (Store.Update): an
                # update whose resourceVersion is not the stored one is a 409 Conflict; one
                # without any is refused, since neither leases nor custom resources allow an
                # unconditional update (registry/rest/update.go, AllowUnconditionalUpdate;
                # kubernetes pkg/registry/coordination/lease/strategy.go returns false).
                sent_version = decoded["metadata"].get("resourceVersion")
                if not sent_version:
                    return 422, _status(422, path)
                if sent_version != target["metadata"].get("resourceVersion"):
                    return 409, _conflict(path, decoded["metadata"].get("name", ""))
                stored = json.loads(json.dumps(decoded))
                spec_changed = _content(decoded) != _content(target)
                generation = int(target["metadata"].get("generation", 1))
                stored["metadata"]["generation"] = generation + 1 if spec_changed else generation
                stored["metadata"]["resourceVersion"] = str(int(target["metadata"].get("resourceVersion", "1")) + 1)
                stored["metadata"]["managedFields"] = _ownership_after_update(
                    target, decoded, query.get("fieldManager", ["unknown"])[0], spec_changed)
                stored["status"] = target.get("status", {})
                self.routes[path] = stored
                self._mirror(path, stored)
                self.cache.clear()
                callbacks = list(self.on_put)
            else:
                callbacks = []
                cached = self.cache.get((raw_path, metadata_only))
        if method == "POST":
            with self.reacting:
                stored = json.loads(created[1])
                for callback in reactions:
                    callback(f"{path}/{stored['metadata']['name']}", stored)
            return created
        if method == "PUT":
            # One reaction at a time, as a controller's work queue hands out its items: the
            # callbacks (the nmstate stand-in) read and rewrite shared lists.
            with self.reacting:
                for callback in callbacks:
                    callback(path, stored)
            return 200, json.dumps(stored).encode()
        if isinstance(target, list) and "continue" in query and self._expire(path):
            return 410, _expired(query)
        if cached is not None:
            return 200, cached
        if target is None:
            return 404, _status(404, path)
        if isinstance(target, list):
            if "labelSelector" in query:
                matches = label_selector(query["labelSelector"][0])
                target = [item for item in target if matches(item["metadata"].get("labels") or {})]
            limit = int(query.get("limit", ["0"])[0]) or len(target) or 1
            start = int(query.get("continue", ["0"])[0])
            page = target[start:start + limit]
            next_start = start + limit
            meta = {"continue": str(next_start)} if next_start < len(target) else {}
            if metadata_only:
                page = [{"apiVersion": "meta.k8s.io/v1", "kind": "PartialObjectMetadata", "metadata": item["metadata"]}
                        for item in page]
            kind = "PartialObjectMetadataList" if metadata_only else "List"
            answer = json.dumps({"kind": kind, "apiVersion": "v1", "metadata": meta, "items": page}).encode()
        else:
            answer = json.dumps(target).encode()
        with self.lock:
            self.cache[(raw_path, metadata_only)] = answer
        return 200, answer


    def expire(self, collection_path: str, times: int = 1) -> None:
        """The next `times` continue tokens of a collection outlive etcd's compaction."""
        with self.lock:
            self.expired[collection_path] = self.expired.get(collection_path, 0) + times

    def _expire(self, path: str) -> bool:
        with self.lock:
            if self.expired.get(path, 0) <= 0:
                return False
            self.expired[path] -= 1
            return True
    def _create(self, collection: str, sent: dict[str, Any]) -> tuple[int, bytes]:
        """A POST to a collection, as k8s.io/apiserver pkg/registry/generic/registry/store.go
        (Store.Create) answers it: 409 AlreadyExists when the name is taken (the storage
        refuses a second create of a key), else 201 with the object stored at resourceVersion
        and generation 1. The caller holds the lock."""
        name = sent["metadata"]["name"]
        path = f"{collection}/{name}"
        if path in self.routes:
            group = collection.split("/")[2] if collection.startswith("/apis/") else ""
            resource = collection.rsplit("/", 1)[1] + (f".{group}" if group else "")
            return 409, json.dumps({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "AlreadyExists",
                                    "message": f'{resource} "{name}" already exists', "code": 409}).encode()
        self.revision += 1
        stored = json.loads(json.dumps(sent))
        stored["metadata"].update({"resourceVersion": str(self.revision), "generation": 1,
                                   "uid": f"uid-{self.revision}"})
        self.routes[path] = stored
        self.routes.setdefault(collection, []).append(stored)
        self.cache.clear()
        return 201, json.dumps(stored).encode()

    def _delete(self, path: str, target: Any) -> tuple[int, bytes]:
        """A DELETE of an object without finalizers: 404 when absent; validating admission
        first (k8s.io/apiserver pkg/registry/generic/registry/store.go, Store.Delete runs
        deleteValidation before removing it); then gone from its path and its collection.
        The caller holds the lock."""
        if not isinstance(target, dict):
            return 404, _status(404, path)
        for admit in self.admission:
            refusal = admit(path, target)
            if refusal is not None:
                return refusal
        del self.routes[path]
        collection = self.routes.get(path.rsplit("/", 1)[0])
        if isinstance(collection, list):
            collection[:] = [item for item in collection if item["metadata"]["name"] != target["metadata"]["name"]]
        self.cache.clear()
        return 200, json.dumps(target).encode()

    def _mirror(self, path: str, stored: dict[str, Any]) -> None:
        """Keeps a collection's copy of an object in step with the object's own path."""
        collection = self.routes.get(path.rsplit("/", 1)[0])
        if isinstance(collection, list):
            for index, item in enumerate(collection):
                if item["metadata"]["name"] == stored["metadata"]["name"]:
                    collection[index] = stored

    def publish(self, collection_path: str, items: list[dict[str, Any]]) -> None:
        """Adds objects to a collection and at their own paths, as the API server holds them."""
        with self.lock:
            self.routes.setdefault(collection_path, []).extend(items)
            for item in items:
                self.routes[f"{collection_path}/{item['metadata']['name']}"] = item
            self.cache.clear()

    def replace_items(self, collection_path: str, items: list[dict[str, Any]]) -> None:
        with self.lock:
            self.routes[collection_path] = items
            self.cache.clear()


def label_selector(text: str) -> Callable[[dict[str, str]], bool]:
    """A labelSelector query as the API server reads it (apimachinery pkg/labels/selector.go,
    Parse): requirements joined by commas, each `k=v`, `k==v`, `k!=v`, `k in (a,b)`,
    `k notin (a,b)`, `k` or `!k`; an object matches when it meets all of them."""
    requirements = re.findall(r"(?:[^,(]|\([^)]*\))+", text)
    checks: list[Callable[[dict[str, str]], bool]] = []
    for requirement in (r.strip() for r in requirements if r.strip()):
        if found := re.fullmatch(r"(\S+)\s+(in|notin)\s+\(([^)]*)\)", requirement):
            key, operator, values = found[1], found[2], {v.strip() for v in found[3].split(",")}
            checks.append((lambda k, vs: lambda labels: labels.get(k) in vs)(key, values) if operator == "in" else
                          (lambda k, vs: lambda labels: labels.get(k) not in vs)(key, values))
        elif "!=" in requirement:
            key, value = requirement.split("!=", 1)
            checks.append((lambda k, v: lambda labels: labels.get(k) != v)(key, value))
        elif "=" in requirement:
            key, value = requirement.replace("==", "=").split("=", 1)
            checks.append((lambda k, v: lambda labels: labels.get(k) == v)(key, value))
        elif requirement.startswith("!"):
            checks.append((lambda k: lambda labels: k not in labels)(requirement[1:]))
        else:
            checks.append((lambda k: lambda labels: k in labels)(requirement))
    return lambda labels: all(check(labels) for check in checks)


def _content(obj: dict[str, Any]) -> dict[str, Any]:
    """What an update can change besides metadata; a change to it bumps the generation."""
    return {key: value for key, value in obj.items() if key not in ("metadata", "status")}


def _ownership_after_update(stored: dict[str, Any], sent: dict[str, Any], manager: str, spec_changed: bool) -> list[Any]:
    """metadata.managedFields after an update, as the API server keeps them, with the spec
    taken as one field: managedFields that the update sends and that differ from the stored
    ones replace them first ("Clearing managedFields" in Kubernetes' server-side apply
    documentation; apimachinery pkg/util/managedfields/internal/fieldmanager.go,
    decodeLiveOrNew: one empty entry, [{}], strips them all, an empty list keeps the live
    ones); then, if the spec changed, it belongs to the manager that changed it."""
    before = stored["metadata"].get("managedFields") or []
    requested = sent["metadata"].get("managedFields") or None
    if requested == [{}]:
        requested = []
    entries = json.loads(json.dumps(requested if requested is not None and requested != before else before))
    if spec_changed:
        entries = [entry for entry in entries if "f:spec" not in (entry.get("fieldsV1") or {})]
        entries.append({"manager": manager, "operation": "Update", "apiVersion": sent.get("apiVersion", ""),
                        "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {}}})
    return list(entries)


def _expired(query: dict[str, list[str]]) -> bytes:
    """The 410 of a list whose continue token was compacted away, as k8s.io/apiserver
    pkg/storage/etcd3/errors.go handleCompactedErrorForPaging makes it: apimachinery's
    NewResourceExpired (reason Expired) with its inconsistentContinue message, and a token
    that resumes the list at the newest revision in metadata.continue."""
    message = ("The provided continue parameter is too old to display a consistent list result. You can start a "
               "new list without the continue parameter, or use the continue token in this response to retrieve "
               "the remainder of the results. Continuing with the provided token results in an inconsistent list - "
               "objects that were created, modified, or deleted between the time the first chunk was returned and "
               "now may show up in the list.")
    return json.dumps({"kind": "Status", "apiVersion": "v1", "metadata": {"continue": query["continue"][0]},
                       "status": "Failure", "message": message, "reason": "Expired", "code": 410}).encode()


def _conflict(path: str, name: str) -> bytes:
    """The API server's 409 for a stale update (apierrors.NewConflict with store.go's
    OptimisticLockErrorMsg)."""
    parts = path.strip("/").split("/")
    resource = parts[-2] + (f".{parts[1]}" if parts[0] == "apis" else "")
    message = (f'Operation cannot be fulfilled on {resource} "{name}": the object has been modified; '
               "please apply your changes to the latest version and try again")
    return json.dumps({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "Conflict",
                       "message": message, "code": 409}).encode()


def _status(code: int, path: str) -> bytes:
    reason = {401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 409: "Conflict", 410: "Expired", 422: "Invalid",
              429: "TooManyRequests",
              500: "InternalError", 503: "ServiceUnavailable"}.get(code, "Error")
    return json.dumps({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": reason,
                       "message": f"{reason} {path}", "code": code}).encode()


class _Handler(BaseHTTPRequestHandler):
    server: "_Server"
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def _body(self) -> bytes:
        """The request body: by Content-Length, or chunked (HTTP/1.1, RFC 9112 section 7.1),
        as kubectl sends what it streams from standard input (`kubectl create --raw -f -`)."""
        if self.headers.get("Transfer-Encoding", "").lower() != "chunked":
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""
        body = b""
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip(), 16)
            if size == 0:
                while self.rfile.readline().strip():  # trailer fields, up to the empty line
                    pass
                return body
            body += self.rfile.read(size)
            self.rfile.readline()

    def _serve(self, method: str) -> None:
        status, body = self.server.api.answer(method, self.path, self.headers.get("Authorization", ""),
                                              self._body(), self.headers.get("Accept", "application/json"))
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self._serve("GET")

    def do_PUT(self) -> None:  # noqa: N802
        self._serve("PUT")

    def do_POST(self) -> None:  # noqa: N802
        self._serve("POST")

    def do_DELETE(self) -> None:  # noqa: N802
        self._serve("DELETE")

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        return


class TlsServer(ThreadingHTTPServer):
    """HTTPS on 127.0.0.1, a free port, a thread per connection; the handler reaches the
    stand-in as self.server.api."""

    daemon_threads = True

    def __init__(self, api: Any, tls: Tls, handler: type[BaseHTTPRequestHandler]) -> None:
        super().__init__(("127.0.0.1", 0), handler)
        self.api = api
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(tls.cert_file, tls.key_file)
        self.socket = context.wrap_socket(self.socket, server_side=True)


class _Server(TlsServer):
    api: FakeApi

    def __init__(self, api: FakeApi, tls: Tls) -> None:
        super().__init__(api, tls, _Handler)


class RunningApi:
    """A FakeApi served over HTTPS until stop()."""

    def __init__(self, api: FakeApi, tls: Tls) -> None:
        self.api, self.tls = api, tls
        self._server = _Server(api, tls)
        self.url = f"https://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
