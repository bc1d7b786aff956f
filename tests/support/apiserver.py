"""A local HTTPS stand-in for the Kubernetes API, on 127.0.0.1, for the hook's tests.

It serves objects shaped like real API responses from a dict of paths, pages lists with
`limit` and `continue` as the API server does, answers metadata-only lists
(PartialObjectMetadataList) when asked, keeps connections alive, checks the bearer token,
and can be told to
misbehave: fail a path N times with a status, answer slowly, or answer garbage. It records
every request, and accepts PUT of NNCPs so that the uninstall hook can be watched.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import ssl
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


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
class Fault:
    status: int = 503
    times: int = 1
    delay: float = 0.0
    body: bytes | None = None
    method: str | None = None  # only requests of this method (default: any)
    after: int = 0  # let this many of them pass first


@dataclass
class Request:
    method: str
    path: str
    authorization: str
    body: Any = None


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

    def fail(self, path: str, status: int = 503, times: int = 1, delay: float = 0.0, body: bytes | None = None,
             method: str | None = None, after: int = 0) -> None:
        self.faults.setdefault(path, []).append(Fault(status, times, delay, body, method, after))

    def answer(self, method: str, raw_path: str, authorization: str, body: bytes,
               accept: str = "application/json") -> tuple[int, bytes]:
        parsed = urllib.parse.urlsplit(raw_path)
        path, query = parsed.path, urllib.parse.parse_qs(parsed.query)
        decoded = json.loads(body) if body else None
        with self.lock:
            self.requests.append(Request(method, raw_path, authorization, decoded))
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
            time.sleep(fault.delay)
            if fault.body is not None:
                return fault.status, fault.body
            if fault.status != 200:
                return fault.status, _status(fault.status, path)
        if authorization != f"Bearer {self.token}":
            return 401, _status(401, path)
        metadata_only = "as=PartialObjectMetadataList" in accept
        with self.lock:
            target = self.routes.get(path)
            if method == "PUT":
                if not isinstance(target, dict):
                    return 404, _status(404, path)
                if decoded["metadata"].get("resourceVersion") != target["metadata"].get("resourceVersion"):
                    return 409, _status(409, path)
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
        if method == "PUT":
            for callback in callbacks:
                callback(path, stored)
            return 200, json.dumps(stored).encode()
        if cached is not None:
            return 200, cached
        if target is None:
            return 404, _status(404, path)
        if isinstance(target, list):
            if "labelSelector" in query:
                wanted = dict(part.split("=", 1) for part in query["labelSelector"][0].split(","))
                target = [item for item in target
                          if all((item["metadata"].get("labels") or {}).get(k) == v for k, v in wanted.items())]
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


def _content(obj: dict[str, Any]) -> dict[str, Any]:
    """What an update can change besides metadata; a change to it bumps the generation."""
    return {key: value for key, value in obj.items() if key not in ("metadata", "status")}


def _ownership_after_update(stored: dict[str, Any], sent: dict[str, Any], manager: str, spec_changed: bool) -> list[Any]:
    """metadata.managedFields after an update, as the API server keeps them, with the spec
    taken as one field: managedFields that the update sends and that differ from the stored
    ones replace them first ("Clearing managedFields" in Kubernetes' server-side apply
    documentation); then, if the spec changed, it belongs to the manager that changed it."""
    before = stored["metadata"].get("managedFields") or []
    requested = sent["metadata"].get("managedFields")
    entries = json.loads(json.dumps(requested if requested is not None and requested != before else before))
    if spec_changed:
        entries = [entry for entry in entries if "f:spec" not in (entry.get("fieldsV1") or {})]
        entries.append({"manager": manager, "operation": "Update", "apiVersion": sent.get("apiVersion", ""),
                        "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {}}})
    return list(entries)


def _status(code: int, path: str) -> bytes:
    reason = {401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 409: "Conflict", 429: "TooManyRequests",
              500: "InternalError", 503: "ServiceUnavailable"}.get(code, "Error")
    return json.dumps({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": reason,
                       "message": f"{reason} {path}", "code": code}).encode()


class _Handler(BaseHTTPRequestHandler):
    server: "_Server"
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def _serve(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        status, body = self.server.api.answer(method, self.path, self.headers.get("Authorization", ""),
                                              self.rfile.read(length) if length else b"",
                                              self.headers.get("Accept", "application/json"))
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

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        return


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, api: FakeApi, tls: Tls) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.api = api
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(tls.cert_file, tls.key_file)
        self.socket = context.wrap_socket(self.socket, server_side=True)


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
