"""A fault-injecting TLS proxy in front of any HTTPS Kubernetes API: the stand-in
(tests/support/apiserver.py) or a real kube-apiserver.

It terminates TLS with a test certificate, forwards each request to the upstream over HTTPS
(headers such as Authorization and Accept as sent, the body as read), and answers with the
upstream's status, headers that matter to a client (Content-Type, Retry-After, Warning) and
body. A fault, chosen by method and path, changes what the client sees:

- `reset`: the request reaches the upstream and is applied; the client's connection is then
  reset before any byte of the answer (a load balancer or node that drops the connection);
- `late`: the request is applied; the answer is sent only after `delay` seconds, past the
  client's timeout;
- `truncate`: the answer's headers announce the whole body, half of it is sent, then the
  connection is closed;
- `refuse`: the request never reaches the upstream; the proxy answers `status` with a
  Status body and the given headers (a 503 with Retry-After, say);
- `drop`: the request never reaches the upstream, and the connection is reset.

`wire` records every request that reached the upstream, with the status it answered: a test
counts there the updates that were applied, whatever the client saw. Streaming answers
(watch) are read whole before they are forwarded, so a watch is not proxied.
"""

from __future__ import annotations

import http.client
import json
import socket
import ssl
import struct
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from tests.support.apiserver import TlsServer, Tls

KINDS = ("reset", "late", "truncate", "refuse", "drop")
# Request headers passed on; hop-by-hop ones (Connection, Transfer-Encoding, Host) are not.
FORWARDED = ("Authorization", "Accept", "Content-Type", "User-Agent", "Impersonate-User", "Impersonate-Group")
ANSWERED = ("Content-Type", "Retry-After", "Warning", "Audit-Id")


@dataclass
class Fault:
    kind: str
    method: str | None = None  # None: any method
    path: str | None = None  # the path without its query; None: any path
    times: int = 1
    after: int = 0  # let this many matching requests through first
    delay: float = 0.0  # for late
    status: int = 503  # for refuse
    headers: dict[str, str] = field(default_factory=dict)  # for refuse

    def matches(self, method: str, path: str) -> bool:
        return self.method in (None, method) and self.path in (None, path)


@dataclass(frozen=True)
class Exchange:
    """A request the upstream answered."""

    method: str
    path: str
    status: int


class FaultProxy:
    """Serves on 127.0.0.1 with `tls`'s certificate, forwarding to `upstream` (https://host:port)
    trusted through `upstream_ca`; a client certificate for the upstream if given."""

    def __init__(self, upstream: str, upstream_ca: Path, tls: Tls,
                 client_cert: tuple[Path, Path] | None = None) -> None:
        self.upstream = urllib.parse.urlsplit(upstream).netloc
        self.context = ssl.create_default_context(cafile=str(upstream_ca))
        if client_cert is not None:
            self.context.load_cert_chain(*client_cert)
        self.faults: list[Fault] = []
        self.wire: list[Exchange] = []
        self.seen: list[tuple[str, str, str]] = []  # (method, path, fault kind or "") of every request
        self.lock = threading.Lock()
        self._server = TlsServer(self, tls, _Handler)
        self.url = f"https://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def inject(self, kind: str, method: str | None = None, path: str | None = None, **options: Any) -> Fault:
        if kind not in KINDS:
            raise ValueError(f"fault kind {kind!r}: one of {', '.join(KINDS)}")
        fault = Fault(kind, method, path, **options)
        with self.lock:
            self.faults.append(fault)
        return fault

    def applied(self, method: str, path: str) -> list[Exchange]:
        """The requests of this method and path (without query) that the upstream answered 2xx."""
        return [e for e in self.wire if e.method == method and e.path.split("?", 1)[0] == path
                and 200 <= e.status < 300]

    def take(self, method: str, path: str) -> Fault | None:
        """The fault that applies to this request, counted off."""
        with self.lock:
            for fault in self.faults:
                if not fault.matches(method, path):
                    continue
                if fault.after > 0:
                    fault.after -= 1
                    return None
                fault.times -= 1
                if fault.times <= 0:
                    self.faults.remove(fault)
                return fault
        return None

    def forward(self, method: str, raw_path: str, headers: dict[str, str],
                body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
        connection = http.client.HTTPSConnection(self.upstream, context=self.context, timeout=30)
        try:
            connection.request(method, raw_path, body=body or None, headers=headers)
            response = connection.getresponse()
            answer = response.read()
            kept = [(k, v) for k, v in response.getheaders() if k.title() in ANSWERED]
            with self.lock:
                self.wire.append(Exchange(method, raw_path, response.status))
            return response.status, kept, answer
        finally:
            connection.close()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def status_body(code: int, reason: str, message: str) -> bytes:
    return json.dumps({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": reason,
                       "message": message, "code": code}).encode()


class _Handler(BaseHTTPRequestHandler):
    server: Any
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() != "chunked":
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""
        body = b""
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip(), 16)
            if size == 0:
                while self.rfile.readline().strip():
                    pass
                return body
            body += self.rfile.read(size)
            self.rfile.readline()

    def _reset(self) -> None:
        """Closes the connection with a TCP RST (SO_LINGER 0), as a dropped connection looks."""
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        self.connection.close()

    def _serve(self, method: str) -> None:
        proxy: FaultProxy = self.server.api
        body = self._body()
        path = self.path.split("?", 1)[0]
        fault = proxy.take(method, path)
        with proxy.lock:
            proxy.seen.append((method, self.path, fault.kind if fault else ""))
        if fault is not None and fault.kind == "drop":
            return self._reset()
        if fault is not None and fault.kind == "refuse":
            reason = http.client.responses.get(fault.status, "Error").replace(" ", "")
            return self._send(fault.status, [("Content-Type", "application/json"), *fault.headers.items()],
                              status_body(fault.status, reason, f"the proxy refused {method} {path}"))
        headers = {k: v for k, v in self.headers.items() if k.title() in FORWARDED}
        try:
            status, kept, answer = proxy.forward(method, self.path, headers, body)
        except (OSError, http.client.HTTPException) as error:
            return self._send(502, [("Content-Type", "application/json")],
                              status_body(502, "BadGateway", f"upstream: {error}"))
        if fault is not None and fault.kind == "reset":
            return self._reset()
        if fault is not None and fault.kind == "late":
            time.sleep(fault.delay)
        if fault is not None and fault.kind == "truncate":
            self._send(status, kept, answer, cut=len(answer) // 2)
            self.close_connection = True
            return None
        return self._send(status, kept, answer)

    def _send(self, status: int, headers: list[tuple[str, str]], body: bytes, cut: int | None = None) -> None:
        try:
            self.send_response(status)
            for key, value in headers:
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body if cut is None else body[:cut])
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            self.close_connection = True

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self._serve("GET")

    def do_PUT(self) -> None:  # noqa: N802
        self._serve("PUT")

    def do_POST(self) -> None:  # noqa: N802
        self._serve("POST")

    def do_PATCH(self) -> None:  # noqa: N802
        self._serve("PATCH")

    def do_DELETE(self) -> None:  # noqa: N802
        self._serve("DELETE")

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        return
