"""A proxy in front of the real API server, on 127.0.0.1: what the real server cannot do for
a test. It records every request (method, path, content type, user, answer), holds a request
at a gate (to force an interleaving) and injects faults: an answer of a given status (5xx,
429 with Retry-After, 410 on a continue token, 409, 401, a webhook's 403), a connection reset
mid-body, a truncated JSON body, a slow answer, an answer lost after the server applied the
request (reset, late) or a request dropped before it reached the server (drop). A fault is
aimed by method and path, and where their count varies by a predicate over the JSON body
too (`when`: say, the one update that changes only managedFields). Everything
else goes to the real server unchanged, credentials included (the bearer token is passed through; the proxy holds none).

It serves TLS with the real server's certificate (127.0.0.1 in its names), so the CA that
pods and kubeconfigs trust for the server is valid for the proxy too. Watches stream through
chunk by chunk.
"""

from __future__ import annotations

import base64
import http.client
import json
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

# Headers that belong to one connection, not to the request (RFC 9110 section 7.6.1).
HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-connection", "host"}


@dataclass
class Recorded:
    method: str
    path: str
    content_type: str
    user: str
    code: int = 0
    at: float = field(default_factory=time.monotonic)
    body: Any = None  # the request's JSON body, decoded (None when it has none)
    fault: str = ""  # what a fault did to it: refuse, drop, reset, truncate, delay, late
    accept: str = ""  # the Accept header (a benchmark's bare client sends the same)


@dataclass
class Fault:
    """Answers the next `times` requests matching method ("": any), path (a regex searched in the
    path with its query) and `when`, if given, with `status`, or breaks them (`reset`: the body cut mid-way and the
    connection closed; `truncate`: a JSON body cut short; `delay`: seconds before the real
    answer)."""

    method: str
    path: str
    times: int = 1
    status: int = 0
    reason: str = ""
    message: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    reset: bool = False
    truncate: bool = False
    delay: float = 0.0
    body: bytes = b""  # answered with `status` instead of a Status (garbage from a middlebox)
    drop: bool = False  # the connection reset before the request reaches the server
    late: float = 0.0  # seconds between the server's answer and the client's (it past its timeout)
    after: int = 0  # let this many matching requests through first
    then: Callable[[], None] | None = None  # runs once the server answered, before the client hears
    # A predicate over (method, path, the request's JSON body decoded or None): aims at one
    # request where their count varies, say the update that changes only managedFields.
    when: Callable[[str, str, Any], bool] | None = None

    def matches(self, method: str, path: str, body: Any = None) -> bool:
        return (self.times > 0 and self.method in ("", method) and re.search(self.path, path) is not None
                and (self.when is None or self.when(method, path, body)))

    @property
    def kind(self) -> str:
        return ("refuse" if self.status else "drop" if self.drop else "reset" if self.reset
                else "truncate" if self.truncate else "late" if self.late else "delay" if self.delay else "")


def user_of(authorization: str) -> str:
    """The subject of a service-account JWT (not verified: the real server does that)."""
    token = authorization.removeprefix("Bearer ").strip()
    parts = token.split(".")
    if len(parts) != 3:
        return "client-certificate" if not token else "opaque-token"
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
        return str(claims.get("sub", "?"))
    except ValueError:
        return "?"


def _decoded(body: bytes) -> Any:
    try:
        return json.loads(body) if body else None
    except ValueError:
        return None


def status_body(code: int, reason: str, message: str) -> bytes:
    return json.dumps({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                       "message": message, "reason": reason, "code": code}).encode()


class Proxy:
    def __init__(self, upstream: str, ca_file: Path, cert_file: Path, key_file: Path) -> None:
        host, port = upstream.removeprefix("https://").rsplit(":", 1)
        self.upstream_host, self.upstream_port = host, int(port)
        self.upstream_context = ssl.create_default_context(cafile=str(ca_file))
        self.requests: list[Recorded] = []
        self.gates: list[Callable[[str, str, str], None]] = []
        self.faults: list[Fault] = []
        self.upstream_connections = 0  # opened to the server, over the proxy's life
        self._lock = threading.Lock()
        proxy = self

        class Handler(_Handler):
            owner = proxy

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(cert_file), str(key_file))
        context.set_alpn_protocols(["http/1.1"])
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.port = int(self.server.server_address[1])
        self.url = f"https://127.0.0.1:{self.port}"
        threading.Thread(target=self.server.serve_forever, daemon=True, name="proxy").start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def fault(self, fault: Fault) -> Fault:
        with self._lock:
            self.faults.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self.requests.clear()
            self.gates.clear()
            self.faults.clear()

    def _take_fault(self, method: str, path: str, body: Any = None) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.matches(method, path, body):
                    if fault.after > 0:
                        fault.after -= 1
                        return None
                    fault.times -= 1
                    return fault
        return None


class _Handler(BaseHTTPRequestHandler):
    owner: Proxy
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (http.server's name)
        pass

    def setup(self) -> None:
        # Headers and body go out in separate writes: without TCP_NODELAY, Nagle's algorithm
        # and the peer's delayed ACK add 40 ms to each answer.
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().setup()

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return data
                data += self.rfile.read(size)
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _serve(self) -> None:
        proxy = self.owner
        body = self._body()
        record = Recorded(self.command, self.path, self.headers.get("Content-Type", ""),
                          user_of(self.headers.get("Authorization", "")), body=_decoded(body),
                          accept=self.headers.get("Accept", ""))
        with proxy._lock:
            proxy.requests.append(record)
        for gate in list(proxy.gates):
            gate(self.command, self.path, record.user)
        fault = proxy._take_fault(self.command, self.path, record.body)
        record.fault = fault.kind if fault is not None else ""
        if fault is not None and fault.drop:
            self._reset()
            return
        if fault is not None and fault.status:
            record.code = fault.status
            self._answer(fault.status, fault.body or status_body(fault.status, fault.reason, fault.message),
                         fault.headers)
            return
        if fault is not None and fault.delay:
            time.sleep(fault.delay)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP}
        # One upstream connection per client connection, kept alive while answers have a
        # length; a kept one the server has closed since is replaced once (below).
        kept: http.client.HTTPSConnection | None = getattr(self, "upstream", None)
        self.upstream = None
        upstream = None
        try:
            for connection in ([kept] if kept else []) + [None]:
                upstream = connection or http.client.HTTPSConnection(
                    proxy.upstream_host, proxy.upstream_port, context=proxy.upstream_context, timeout=None)
                try:
                    if upstream.sock is None:
                        with proxy._lock:
                            proxy.upstream_connections += 1
                        upstream.connect()
                        upstream.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    upstream.request(self.command, self.path, body=body or None, headers=headers)
                    response = upstream.getresponse()
                    break
                except (OSError, http.client.HTTPException) as error:
                    upstream.close()
                    # Only a kept connection the server closed is tried again (the request did
                    # not reach it). Any other error may come after the server took the request,
                    # ResponseNotReady from the proxy's own misuse of http.client among them:
                    # sent again, it would reach the server twice.
                    if connection is None or not isinstance(error, (ConnectionError, ssl.SSLEOFError)):
                        raise
            record.code = response.status
            if fault is not None and fault.then is not None:
                fault.then()
            if fault is not None and fault.late:
                time.sleep(fault.late)
            # No body at all (RFC 9110 section 6.4.1): a 304 to a conditional GET, a 204, a HEAD.
            bodiless = response.status in (204, 304) or 100 <= response.status < 200 or self.command == "HEAD"
            # A broken answer is made from the whole real one, however the server sent it.
            breaking = fault is not None and (fault.reset or fault.truncate)
            streaming = response.getheader("Content-Length") is None and not bodiless and not breaking
            self.send_response(response.status)
            for key, value in response.getheaders():
                if key.lower() not in HOP and key.lower() != "content-length":
                    self.send_header(key, value)
            if not streaming:
                # read() also for no body: it marks the answer done, so the connection can be kept
                # (http.client refuses the next answer on it, ResponseNotReady, until then)
                data = response.read()
                if breaking:
                    assert fault is not None
                    self._broken(data, fault)
                    return
                if not bodiless:
                    self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                self.upstream, upstream = upstream, None
                return
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            while True:
                chunk = response.read1(65536)
                if not chunk:
                    break
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
        except (OSError, http.client.HTTPException):
            self.close_connection = True
        finally:
            if upstream is not None:
                upstream.close()

    def _broken(self, data: bytes, fault: Fault) -> None:
        """The headers promise the whole body; half of it comes. Reset: the connection is
        closed with an RST. Truncated: the body's length is what was sent, and it ends early."""
        half = data[: max(1, len(data) // 2)]
        self.send_header("Content-Length", str(len(data) if fault.reset else len(half)))
        self.end_headers()
        self.wfile.write(half)
        self.wfile.flush()
        if fault.reset:
            self._reset()

    def _reset(self) -> None:
        """Closes the connection with a TCP RST (SO_LINGER 0), as a dropped connection looks."""
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        self.close_connection = True
        self.connection.close()

    def _answer(self, code: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve  # noqa: N815 (http.server's names)
