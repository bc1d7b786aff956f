"""A small JSON client of the real API server for the rig's own controllers (pod runner,
nmstate handler) and the tests' reads: HTTPS with a bearer token and the CA, one
connection per thread, watches read line by line (k8s.io/apiserver
pkg/endpoints/handlers/watch.go: one JSON event per line)."""

from __future__ import annotations

import http.client
import json
import socket
import ssl
import threading
import urllib.parse
from collections.abc import Iterator
from typing import Any

Obj = dict[str, Any]


class ApiError(Exception):
    def __init__(self, code: int, method: str, path: str, status: Any) -> None:
        message = status.get("message") if isinstance(status, dict) else str(status)
        super().__init__(f"{method} {path} -> {code}: {message}")
        self.code, self.status = code, status


class Client:
    """As the admin's client certificate (in `context`) or as a bearer token."""

    def __init__(self, server: str, context: ssl.SSLContext, token: str | None = None) -> None:
        parsed = urllib.parse.urlsplit(server)
        self.host, self.port = parsed.hostname or "127.0.0.1", parsed.port or 443
        self.context, self.token = context, token
        self._local = threading.local()

    def _headers(self) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        return headers

    def _connection(self, timeout: float | None = 30) -> http.client.HTTPSConnection:
        connection = http.client.HTTPSConnection(self.host, self.port, context=self.context, timeout=timeout)
        connection.connect()
        # Headers and body are separate writes: without this, Nagle adds a delayed ACK's 40 ms.
        connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return connection

    def request(self, method: str, path: str, body: Any = None, *,
                content_type: str = "application/json") -> tuple[int, Any]:
        """(status code, decoded JSON) of one request; retried once on a dropped keep-alive."""
        data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        headers = self._headers()
        if data is not None:
            headers["Content-Type"] = content_type
        for attempt in (0, 1):
            connection = getattr(self._local, "connection", None) or self._connection()
            self._local.connection = connection
            try:
                connection.request(method, path, body=data, headers=headers)
                response = connection.getresponse()
                raw = response.read()
                break
            except (http.client.HTTPException, OSError):
                connection.close()
                self._local.connection = None
                if attempt:
                    raise
        try:
            decoded = json.loads(raw) if raw else None
        except ValueError:
            decoded = raw.decode(errors="replace")
        return response.status, decoded

    def call(self, method: str, path: str, body: Any = None, *, content_type: str = "application/json",
             missing_ok: bool = False) -> Any:
        code, answer = self.request(method, path, body, content_type=content_type)
        if code == 404 and missing_ok:
            return None
        if code >= 400:
            raise ApiError(code, method, path, answer)
        return answer

    def get(self, path: str) -> Obj | None:
        found = self.call("GET", path, missing_ok=True)
        return found if isinstance(found, dict) else None

    def items(self, path: str) -> list[Obj]:
        answer = self.call("GET", path)
        return list(answer.get("items") or [])

    def watch(self, path: str, resource_version: str = "", timeout: int = 3600) -> Iterator[Obj]:
        """The events of a watch on a collection from resource_version until the server
        closes it (timeoutSeconds) or the caller stops reading."""
        query = {"watch": "true", "timeoutSeconds": str(timeout), "allowWatchBookmarks": "false"}
        if resource_version:
            query["resourceVersion"] = resource_version
        connection = self._connection(timeout=None)
        try:
            connection.request("GET", f"{path}?{urllib.parse.urlencode(query)}", headers=self._headers())
            response = connection.getresponse()
            if response.status != 200:
                raise ApiError(response.status, "WATCH", path, response.read().decode(errors="replace"))
            while True:
                line = response.readline()
                if not line:
                    return
                if line.strip():
                    yield json.loads(line)
        finally:
            connection.close()
