"""The thin shell around the Kubernetes API: GET a path, get JSON back.

Two transports: in the cluster, HTTPS with the service account's token and CA; from a
laptop, `kubectl get --raw`, so that any kubeconfig works. Both retry what may pass
(connection failures, timeouts, 429, 5xx) with backoff inside a deadline, return None for
404, and raise ApiError, naming the missing permission, for 401 and 403. Outside a pod a
refused connection is final at once. The token never appears in a message.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import ssl
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

SERVICE_ACCOUNT = Path("/var/run/secrets/kubernetes.io/serviceaccount")
# The name the hooks' updates carry in metadata.managedFields, and so in a conflict message.
FIELD_MANAGER = "symrouting"


class ApiError(Exception):
    """The API answered, and the answer was a refusal the preflight cannot work around."""


class Unreachable(Exception):
    """The API did not answer within the deadline."""


class Conflict(ApiError):
    """409: the object changed since it was read; read it again and retry."""

    def __init__(self, path: str) -> None:
        super().__init__(f"409 Conflict: {describe_request(path)} changed while the hook updated it; run it again")


# Asks the API server for metadata only (labels, annotations): a fraction of a Node's bytes.
METADATA_ONLY = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json"


class Transport(Protocol):
    def get(self, path: str, *, metadata_only: bool = False) -> Any | None:
        """The decoded JSON at path, or None when the API says 404. metadata_only is a hint
        that the caller reads nothing but metadata; a transport may ignore it."""

    def put(self, path: str, body: dict[str, Any]) -> Any:
        """Replaces the object at path with body (which carries its resourceVersion)."""

    def post(self, path: str, body: dict[str, Any]) -> Any:
        """Creates body in the collection at path; Conflict when the name is taken."""

    def delete(self, path: str) -> bool:
        """Deletes the object at path; False when it was already gone (404)."""


def describe_request(path: str) -> str:
    """'list nodes', 'get networks.config.openshift.io "cluster"', ... for messages."""
    bare = path.split("?", 1)[0].strip("/").split("/")
    if bare[:1] == ["api"]:
        group, rest = "", bare[2:]
    elif bare[:1] == ["apis"]:
        group, rest = bare[1], bare[3:]
    else:
        return f"GET {path}"
    namespace = ""
    if len(rest) >= 2 and rest[0] == "namespaces" and len(rest) > 2:
        namespace, rest = rest[1], rest[2:]
    if not rest:
        return f"discover {group or 'core'}"
    resource = f"{rest[0]}.{group}" if group else rest[0]
    where = f" in namespace {namespace}" if namespace else ""
    if len(rest) >= 2:
        return f'get {resource} "{rest[1]}"{where}'
    return f"list {resource}{where}"


# Who is refused, and the way out, by the command that runs (see cli.py).
_GRANT = {
    "preflight": "Grant it in the preflight's (Cluster)Role, or skip the check that needs it with preflight.skipChecks",
    "cleanup": "Grant it in the cleanup ClusterRole, or set cleanup.failOnError=false and take the leftovers off by hand",
    "verify": "Grant it in the verify ClusterRole",
    "user": "Ask for it, or use a kubeconfig context that has it",
}


def refusal(status: int, path: str, method: str = "GET", role: str = "preflight") -> ApiError:
    what = describe_request(path)
    if method == "PUT":
        what = "update" + what.removeprefix("get")
    if method == "POST":
        what = "create" + what.removeprefix("list")
    if method == "DELETE":
        what = "delete" + what.removeprefix("get")
    if status == 401:
        return ApiError(f"401 Unauthorized for {what}: the credentials were rejected (expired or revoked token?)")
    who = "you" if role == "user" else f"the {role}"
    return ApiError(f"403 Forbidden: {who} may not {what}. {_GRANT[role]}")


class Backoff:
    """Waits between attempts: 0.2 s doubling to at most 5 s, never past the deadline."""

    def __init__(self, deadline: float, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.deadline, self.clock, self.sleep = deadline, clock, sleep
        self.delay = 0.2

    def wait(self) -> bool:
        remaining = self.deadline - self.clock()
        if remaining <= 0:
            return False
        self.sleep(min(self.delay, remaining))
        self.delay = min(self.delay * 2, 5.0)
        return self.clock() < self.deadline


class HttpsTransport:
    """HTTPS with a bearer token and a CA bundle: the service account, in the cluster.

    One connection per thread is kept open and reused (the API server keeps connections
    alive), so a run costs a TLS handshake per thread, not one per request.
    """

    def __init__(self, server: str, token: str, ca_file: Path, *, timeout: float = 10.0,
                 deadline_seconds: float = 60.0, role: str = "preflight", refused_is_final: bool = False) -> None:
        self.role = role
        # From a laptop a refused connection is a wrong address or a cluster that is down:
        # say so at once. In a pod it may be an API server that restarts: retry.
        self.refused_is_final = refused_is_final
        self.server = server.rstrip("/")
        self._token = token
        self.context = ssl.create_default_context(cafile=str(ca_file))
        self.timeout = timeout
        self.deadline_seconds = deadline_seconds
        self._local = threading.local()

    @classmethod
    def in_cluster(cls, env: dict[str, str], **kwargs: Any) -> "HttpsTransport":
        host, port = env.get("KUBERNETES_SERVICE_HOST"), env.get("KUBERNETES_SERVICE_PORT", "443")
        if not host:
            raise ApiError("not in a cluster: KUBERNETES_SERVICE_HOST is unset (use --kubectl from a laptop)")
        host = f"[{host}]" if ":" in host else host
        token = (SERVICE_ACCOUNT / "token").read_text().strip()
        return cls(f"https://{host}:{port}", token, SERVICE_ACCOUNT / "ca.crt", **kwargs)

    def _connect(self) -> http.client.HTTPSConnection:
        connection: http.client.HTTPSConnection | None = getattr(self._local, "connection", None)
        if connection is None:
            host = self.server.removeprefix("https://")
            connection = self._local.connection = http.client.HTTPSConnection(host, timeout=self.timeout,
                                                                              context=self.context)
        return connection

    def _drop(self) -> None:
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
            self._local.connection = None

    def get(self, path: str, *, metadata_only: bool = False) -> Any | None:
        return self._request("GET", path, None, METADATA_ONLY if metadata_only else "application/json")

    def put(self, path: str, body: dict[str, Any]) -> Any:
        answer = self._request("PUT", f"{path}?fieldManager={FIELD_MANAGER}", json.dumps(body).encode(), "application/json")
        if answer is None:
            raise ApiError(f"{describe_request(path)} is gone: it cannot be updated")
        return answer

    def post(self, path: str, body: dict[str, Any]) -> Any:
        # 201 Created, or 409 (AlreadyExists) when another client created the name first.
        return self._request("POST", f"{path}?fieldManager={FIELD_MANAGER}", json.dumps(body).encode(),
                             "application/json")

    def delete(self, path: str) -> bool:
        return self._request("DELETE", path, None, "application/json") is not None

    def _request(self, method: str, path: str, body: bytes | None, accept: str) -> Any | None:
        headers = {"Authorization": f"Bearer {self._token}", "Accept": accept}
        if body is not None:
            headers["Content-Type"] = "application/json"
        backoff = Backoff(time.monotonic() + self.deadline_seconds)
        while True:
            try:
                connection = self._connect()
                connection.request(method, path, body=body, headers=headers)
                response = connection.getresponse()
                body = response.read()
                status = response.status
                if response.will_close:
                    self._drop()
            except ssl.SSLCertVerificationError as error:
                self._drop()
                raise ApiError(f"TLS verification of {self.server} failed: {error.verify_message}") from None
            except ConnectionRefusedError:
                self._drop()
                if self.refused_is_final:
                    raise Unreachable(f"the API at {self.server} refused the connection: "
                                      "is the address right and the cluster up?") from None
                problem = "connection refused"
            except (OSError, http.client.HTTPException) as error:
                self._drop()
                problem = str(error) or type(error).__name__
            else:
                if status in (200, 201):
                    return _decode(body, path)
                if status == 404:
                    return None
                if status in (401, 403):
                    raise refusal(status, path, method, self.role)
                if status == 409:
                    raise Conflict(path)
                if status != 429 and status < 500:
                    raise ApiError(f"{status} for {describe_request(path)}")
                problem = f"{status} {http.client.responses.get(status, '')}".strip()
            if not backoff.wait():
                raise Unreachable(
                    f"the API at {self.server} did not answer {describe_request(path)} within "
                    f"{self.deadline_seconds:g}s (last problem: {problem})"
                )


_REFUSED = "was refused - did you specify the right host or port?"


def kubeconfig_paths(env: dict[str, str], home: Path) -> list[Path]:
    """Where kubectl reads its kubeconfig: the files of KUBECONFIG (a path list), else
    ~/.kube/config (client-go tools/clientcmd/loader.go: RecommendedConfigPathEnvVar,
    RecommendedHomeFile). Only the files that exist."""
    listed = [Path(p) for p in env.get("KUBECONFIG", "").split(os.pathsep) if p]
    return [p for p in (listed or [home / ".kube" / "config"]) if p.is_file()]


class KubectlTransport:
    """`kubectl get --raw PATH`, with the user's kubeconfig and context."""

    _STATUS = re.compile(r"\((NotFound|Forbidden|Unauthorized|Conflict|TooManyRequests|InternalError|ServiceUnavailable)\)")

    def __init__(self, kubectl: str = "kubectl", context: str | None = None, *,
                 deadline_seconds: float = 60.0) -> None:
        import shutil

        found = shutil.which(kubectl)
        if not found:
            raise ApiError(f"{kubectl} not found on PATH: outside a pod symrouting reads the kubeconfig through it; "
                           "install it, or give --server, --token-file and --ca-file")
        self.command = [found] + (["--context", context] if context else [])
        self.context = context
        self.deadline_seconds = deadline_seconds
        self.role = "user"

    def get(self, path: str, *, metadata_only: bool = False) -> Any | None:
        import subprocess

        backoff = Backoff(time.monotonic() + self.deadline_seconds)
        while True:
            proc = subprocess.run([*self.command, "get", "--raw", path], capture_output=True, text=True, check=False)
            if proc.returncode == 0:
                return _decode(proc.stdout.encode(), path)
            match = self._STATUS.search(proc.stderr)
            status = match.group(1) if match else ""
            if status == "NotFound":
                return None
            if status in ("Forbidden", "Unauthorized"):
                raise refusal(403 if status == "Forbidden" else 401, path, role=self.role)
            if _REFUSED in proc.stderr:
                # kubectl's words for a refused connection (kubectl pkg/cmd/util/helpers.go,
                # StandardErrorMessage): the context names no running API server, and waiting
                # for the deadline would not change that.
                raise Unreachable(f"{proc.stderr.strip()[:300]} (kubeconfig context: {self.context or 'current'})")
            if not backoff.wait():
                raise Unreachable(f"kubectl get --raw {path} kept failing: {proc.stderr.strip()[:300]}")

    def put(self, path: str, body: dict[str, Any]) -> Any:
        import subprocess

        proc = subprocess.run([*self.command, "replace", f"--field-manager={FIELD_MANAGER}", "-o", "json", "-f", "-"],
                              input=json.dumps(body),
                              capture_output=True, text=True, check=False)
        if proc.returncode == 0:
            return _decode(proc.stdout.encode(), path)
        status = self._STATUS.search(proc.stderr)
        if status and status.group(1) in ("Forbidden", "Unauthorized"):
            raise refusal(403 if status.group(1) == "Forbidden" else 401, path, "PUT", self.role)
        if status and status.group(1) == "Conflict":
            raise Conflict(path)
        raise ApiError(f"kubectl replace of {describe_request(path)} failed: {proc.stderr.strip()[:300]}")

    def post(self, path: str, body: dict[str, Any]) -> Any:
        import subprocess

        # --raw: the path as the HTTPS transport sends it, with no discovery or schema download.
        proc = subprocess.run([*self.command, "create", "--raw", f"{path}?fieldManager={FIELD_MANAGER}", "-f", "-"],
                              input=json.dumps(body), capture_output=True, text=True, check=False)
        if proc.returncode == 0:
            return _decode(proc.stdout.encode(), path)
        status = re.search(r"\((Forbidden|Unauthorized|AlreadyExists)\)", proc.stderr)
        if status and status.group(1) in ("Forbidden", "Unauthorized"):
            raise refusal(403 if status.group(1) == "Forbidden" else 401, path, "POST", self.role)
        if status:
            raise Conflict(path)
        raise ApiError(f"kubectl create --raw of {describe_request(path).removeprefix('list ')} failed: "
                       f"{proc.stderr.strip()[:300]}")

    def delete(self, path: str) -> bool:
        import subprocess

        proc = subprocess.run([*self.command, "delete", "--raw", path], capture_output=True, text=True, check=False)
        if proc.returncode == 0:
            return True
        status = self._STATUS.search(proc.stderr)
        if status and status.group(1) == "NotFound":
            return False
        if status and status.group(1) in ("Forbidden", "Unauthorized"):
            raise refusal(403 if status.group(1) == "Forbidden" else 401, path, "DELETE", self.role)
        raise ApiError(f"kubectl delete --raw {path} failed: {proc.stderr.strip()[:300]}")


def _decode(body: bytes, path: str) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        raise ApiError(f"the answer to {describe_request(path)} is not JSON") from None
