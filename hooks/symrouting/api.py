"""The thin shell around the Kubernetes API: GET a path, get JSON back.

Two transports: in the cluster, HTTPS with the service account's token and CA; from a
laptop, `kubectl get --raw`, so that any kubeconfig works. Both retry what may pass
(connection failures, timeouts, 429, 5xx) with backoff inside a deadline, and say so in one
line per retried request when given a notice function; return None for 404, and raise
ApiError, naming the missing permission, for 401 and 403. Every error names the request
(list, get, update) and carries the reason and message of the server's Status. Outside a
pod a refused connection is final at once. The token never appears in a message.
"""

from __future__ import annotations

import http.client
import json
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


class Unanswered(Unreachable):
    """An update or create was sent and its answer lost (connection reset, answer past the
    timeout): the server may have applied it. Not resent blindly: the caller reads the
    object to see whether its write is there (put_verified)."""


class Unexpected(ApiError):
    """An answer the hook cannot read (not a JSON object, a list that pages without end):
    a broken server or proxy, or a broken hook, not a refusal."""


class Conflict(ApiError):
    """409: the object changed since it was read; read it again and retry."""

    def __init__(self, path: str, said: str = "", method: str = "PUT") -> None:
        why = "another client created it first" if method == "POST" else "it changed since the hook read it"
        super().__init__(f"409 Conflict: cannot {describe_request(path, method)}: {why}{said}")


class Gone(ApiError):
    """410 Expired: a list's continue token outlived the storage's compaction
    (k8s.io/apiserver pkg/storage/etcd3/errors.go, handleCompactedErrorForPaging answers
    apimachinery's NewResourceExpired: code 410, reason Expired). The list starts again."""

    def __init__(self, path: str, said: str = "") -> None:
        super().__init__(f"410 Gone: the continue token of {describe_request(path)} expired{said}")


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


def describe_request(path: str, method: str = "GET") -> str:
    """'list nodes', 'get networks.config.openshift.io "cluster"', 'update ...' for messages:
    the verbs RBAC names (apiserver pkg/endpoints/request/requestinfo.go)."""
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
        verb = {"PUT": "update", "DELETE": "delete", "PATCH": "patch"}.get(method, "get")
        return f'{verb} {resource} "{rest[1]}"{where}'
    return f"{'create' if method == 'POST' else 'list'} {resource}{where}"


def server_says(body: bytes | str) -> str:
    """' (Reason: message)' of an error's Status body (apimachinery pkg/apis/meta/v1/types.go,
    Status: reason, message), to append to a message; '' when the body is no Status."""
    try:
        status = json.loads(body)
    except ValueError:
        return ""
    if not isinstance(status, dict) or status.get("kind") != "Status":
        return ""
    words = ": ".join(str(status[k]) for k in ("reason", "message") if status.get(k))
    return f" ({words[:600]})" if words else ""


# Who is refused, and the way out, by the command that runs (see cli.py).
_GRANT = {
    "preflight": "Grant it in the preflight's (Cluster)Role, or skip the check that needs it with preflight.skipChecks",
    "cleanup": "Grant it in the cleanup ClusterRole, or set cleanup.failOnError=false and take the leftovers off by hand",
    "wait": "Grant it in the wait ClusterRole, or set rollout.wait=false and watch `kubectl get nnce` yourself",
    "verify": "Grant it in the verify Role or ClusterRole",
    "user": "Ask for it, or use a kubeconfig context that has it",
}


def refusal(status: int, path: str, method: str = "GET", role: str = "preflight", said: str = "") -> ApiError:
    what = describe_request(path, method)
    if status == 401:
        return ApiError(f"401 Unauthorized for {what}: the credentials were rejected "
                        f"(expired or revoked token?){said}")
    who = "you" if role == "user" else f"the {role}"
    return ApiError(f"403 Forbidden: {who} may not {what}. {_GRANT[role]}{said}")


class Denied(ApiError):
    """Admission refused the request (a webhook or a ValidatingAdmissionPolicy): it was
    authorized, so no grant helps; the webhook's own message says why."""


# How the API server words an admission denial: k8s.io/apiserver v0.36.3
# pkg/admission/plugin/webhook/errors/statuserror.go (ToStatusErr: 'admission webhook "NAME"
# denied the request: MESSAGE', the code the webhook chose, often 403) and
# pkg/admission/plugin/policy/validating/dispatcher.go ("ValidatingAdmissionPolicy 'NAME'
# [with binding 'B'] denied request: MESSAGE"). An authorizer's 403 reads '... is forbidden:
# User "U" cannot VERB resource ...' (pkg/endpoints/handlers/responsewriters/errors.go,
# forbiddenMessage).
_WEBHOOK = re.compile(r'admission webhook "([^"]+)" denied the request(?::\s*|\s+)(.*)', re.S)
_POLICY = re.compile(r"ValidatingAdmissionPolicy '([^']+)'(?: with binding '[^']+')? denied request: (.*)", re.S)


def admission_denial(text: str) -> tuple[str, str] | None:
    """(who, their message) when an error's text is an admission denial, else None."""
    found = _WEBHOOK.search(text)
    if found:
        return f'admission webhook "{found[1]}"', found[2].strip()
    found = _POLICY.search(text)
    if found:
        return f"ValidatingAdmissionPolicy '{found[1]}'", found[2].strip()
    return None


def status_message(body: bytes | str) -> str:
    """The message of an error's Status body, '' when the body is no Status."""
    try:
        status = json.loads(body)
    except ValueError:
        return ""
    return str(status.get("message") or "") if isinstance(status, dict) else ""


def answer_error(status: int, path: str, method: str, role: str, said: str, text: str = "") -> ApiError:
    """The error for a final 4xx answer: an admission denial (told by the Status message, not
    the code), a refusal, a conflict, an expired list, or the status with the server's own
    words."""
    denial = admission_denial(text)
    if denial is not None:
        who, message = denial
        phrase = http.client.responses.get(status, "")
        return Denied(f"{status} {phrase}: {who} denied the request to {describe_request(path, method)}: "
                      f"{message[:300] or 'without explanation'}. The request was authorized (this is no missing "
                      "permission): see that webhook's or policy's rules, or ask its owner")
    if status in (401, 403):
        return refusal(status, path, method, role, said)
    if status == 409:
        return Conflict(path, said, method)
    if status == 410:
        return Gone(path, said)
    phrase = http.client.responses.get(status, "")
    return ApiError(f"{status} {phrase}: the API refused to {describe_request(path, method)}{said}")


Notice = Callable[[str], None]


class Backoff:
    """Waits between attempts: 0.2 s doubling to at most 5 s, never past the deadline."""

    def __init__(self, deadline: float, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.deadline, self.clock, self.sleep = deadline, clock, sleep
        self.delay = 0.2

    def wait(self, asked: float | None = None) -> bool:
        """Sleeps the next delay, or the seconds the server asked for (Retry-After)."""
        remaining = self.deadline - self.clock()
        if remaining <= 0:
            return False
        self.sleep(min(self.delay if asked is None else asked, remaining))
        self.delay = min(self.delay * 2, 5.0)
        return self.clock() < self.deadline


class HttpsTransport:
    """HTTPS with a bearer token and a CA bundle: the service account, in the cluster.

    One connection per thread is kept open and reused (the API server keeps connections
    alive), so a run costs a TLS handshake per thread, not one per request.
    """

    def __init__(self, server: str, token: str, ca_file: Path, *, timeout: float = 10.0,
                 deadline_seconds: float = 60.0, role: str = "preflight", refused_is_final: bool = False,
                 notice: Notice | None = None) -> None:
        self.role = role
        # Told once per request that starts retrying, so that a wait is never silent.
        self.notice = notice
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
            raise ApiError(f"cannot {describe_request(path, 'PUT')}: it is gone (404)")
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
        retrying = False
        while True:
            asked = None
            sent = False
            try:
                connection = self._connect()
                connection.request(method, path, body=body, headers=headers)
                sent = True
                response = connection.getresponse()
                answer = response.read()
                status = response.status
                asked = retry_after(response.getheader("Retry-After"))
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
                if sent and method in ("PUT", "POST"):
                    raise Unanswered(f"no answer to {describe_request(path, method)} ({problem}): "
                                     "the server may have applied it") from None
            else:
                if status in (200, 201):
                    return decode_answer(answer, path, method)
                if status == 404:
                    return None
                said = server_says(answer)
                if status != 429 and status < 500:
                    raise answer_error(status, path, method, self.role, said, status_message(answer))
                problem = f"{status} {http.client.responses.get(status, '')}".strip() + said
            what = describe_request(path, method)
            if asked is not None:
                problem += f"; the server asks to retry after {asked:g}s (Retry-After)"
            if not retrying and self.notice:
                self.notice(f"{what}: {problem}; retrying for up to {self.deadline_seconds:g}s")
            retrying = True
            if not backoff.wait(asked):
                raise Unreachable(
                    f"the API at {self.server} did not answer {what} within "
                    f"{self.deadline_seconds:g}s (last problem: {problem})"
                )


def retry_after(header: str | None) -> float | None:
    """The seconds of a Retry-After header, as client-go reads it for a 429 or 5xx (rest/
    request.go retryAfterSeconds: an integer, else ignored; rest/with_retry.go checkWait)."""
    try:
        return float(int(header)) if header is not None else None
    except ValueError:
        return None


def put_verified(transport: Transport, path: str, body: dict[str, Any],
                 landed: Callable[[dict[str, Any]], bool]) -> Any:
    """Updates path with body; when the answer is lost (Unanswered), reads the object: if
    landed(fresh) says the write is in it, that is the answer; if its resourceVersion is
    still the one sent, the update never applied and is sent once more; else someone else
    wrote it meanwhile: Conflict, handled as any 409 (read again, retry or stop)."""
    for attempt in range(1, 3):
        try:
            return transport.put(path, body)
        except Unanswered as lost:
            fresh = transport.get(path)
            if fresh is None:
                raise ApiError(f"{lost}; the object is gone now (404)") from None
            if landed(fresh):
                return fresh
            if (fresh.get("metadata") or {}).get("resourceVersion") != body["metadata"].get("resourceVersion"):
                raise Conflict(path, f" ({lost}; it holds another write now)") from None
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def decode_answer(body: bytes, path: str, method: str = "GET") -> dict[str, Any]:
    """The JSON object of an answer: every answer of the API is one (a list is a *List)."""
    try:
        decoded = json.loads(body)
    except ValueError:
        raise Unexpected(f"the answer to {describe_request(path, method)} is not JSON: {body[:80].decode(errors='replace')!r}") from None
    if not isinstance(decoded, dict):
        raise Unexpected(f"the answer to {describe_request(path, method)} is not a JSON object "
                         f"but {type(decoded).__name__} {json.dumps(decoded)[:80]}")
    return decoded
