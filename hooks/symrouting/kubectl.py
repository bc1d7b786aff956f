"""The kubeconfig transport: `kubectl get --raw` and its siblings, with the user's kubeconfig
and context, for the `symrouting` tool outside a pod. A hook Job reads its service account
(api.HttpsTransport.in_cluster), so this module stays out of the hooks' zip
(scripts/build_hooks.py COMMAND_ONLY) and out of every release Secret."""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path
from typing import Any

from symrouting.api import (FIELD_MANAGER, ApiError, Backoff, Notice, Unreachable, admission_denial, answer_error,
                            decode_answer, describe_request, refusal)

_REFUSED = "was refused - did you specify the right host or port?"


def kubeconfig_paths(env: dict[str, str], home: Path) -> list[Path]:
    """Where kubectl reads its kubeconfig: the files of KUBECONFIG (a path list), else
    ~/.kube/config (client-go tools/clientcmd/loader.go: RecommendedConfigPathEnvVar,
    RecommendedHomeFile). Only the files that exist."""
    listed = [Path(p) for p in env.get("KUBECONFIG", "").split(os.pathsep) if p]
    return [p for p in (listed or [home / ".kube" / "config"]) if p.is_file()]


class KubectlTransport:
    """`kubectl get --raw PATH`, with the user's kubeconfig and context."""

    # kubectl prints an API error as "Error from server (<reason>): <message>", an
    # Unauthorized one as "error: You must be logged in to the server (<message>)", a refused
    # connection as below (kubectl pkg/cmd/util/helpers.go, StandardErrorMessage).
    _SERVER = re.compile(r"Error from server \((\w+)\): ?(.*)")
    _LOGGED_OUT = "You must be logged in to the server"
    # Reasons that may pass (apimachinery pkg/apis/meta/v1/types.go): retried like a 429 or 5xx.
    _PASSING = ("TooManyRequests", "InternalError", "ServiceUnavailable", "Timeout", "ServerTimeout")
    _CODES = {"NotFound": 404, "Forbidden": 403, "Conflict": 409, "AlreadyExists": 409, "Expired": 410, "Gone": 410,
              "BadRequest": 400, "Invalid": 422, "MethodNotAllowed": 405, "NotAcceptable": 406}

    def __init__(self, kubectl: str = "kubectl", context: str | None = None, *,
                 deadline_seconds: float = 60.0, notice: Notice | None = None) -> None:
        import shutil

        found = shutil.which(kubectl)
        if not found:
            raise ApiError(f"{kubectl} not found on PATH: outside a pod symrouting reads the kubeconfig through it; "
                           "install it, or give --server, --token-file and --ca-file")
        self.command = [found] + (["--context", context] if context else [])
        self.context = context
        self.deadline_seconds = deadline_seconds
        self.role = "user"
        self.notice = notice

    def _final(self, stderr: str, path: str, method: str) -> ApiError | None:
        """The error kubectl's stderr reports, None when it may pass with a retry."""
        said = f" (kubectl: {stderr.strip()[:300]})"
        if self._LOGGED_OUT in stderr:
            return refusal(401, path, method, self.role, said)
        found = self._SERVER.search(stderr)
        if found is None and admission_denial(stderr) is not None:
            # kubectl writes "Error from server: ..." when the Status names no reason
            return answer_error(400, path, method, self.role, said, stderr)
        if found is None or found.group(1) in self._PASSING:
            return None
        return answer_error(self._CODES.get(found.group(1), 400), path, method, self.role, said, stderr)

    def get(self, path: str, *, metadata_only: bool = False) -> Any | None:
        import subprocess

        backoff = Backoff(time.monotonic() + self.deadline_seconds)
        retrying = False
        while True:
            proc = subprocess.run([*self.command, "get", "--raw", path], capture_output=True, text=True, check=False)
            if proc.returncode == 0:
                return decode_answer(proc.stdout.encode(), path)
            if "Error from server (NotFound)" in proc.stderr:
                return None
            final = self._final(proc.stderr, path, "GET")
            if final is not None:
                raise final
            if _REFUSED in proc.stderr:
                # The context names no running API server: waiting would not change that.
                raise Unreachable(f"{proc.stderr.strip()[:300]} (kubeconfig context: {self.context or 'current'})")
            if not retrying and self.notice:
                self.notice(f"{describe_request(path)}: kubectl: {proc.stderr.strip()[:200]}; "
                            f"retrying for up to {self.deadline_seconds:g}s")
            retrying = True
            if not backoff.wait():
                raise Unreachable(f"kubectl get --raw {path} kept failing: {proc.stderr.strip()[:300]}")

    def _write(self, what: str, arguments: list[str], path: str, method: str, body: dict[str, Any]) -> Any:
        """`kubectl <what> <arguments> -f -` with body on its stdin: the object the API
        answered, else the error kubectl said."""
        import subprocess

        proc = subprocess.run([*self.command, *what.split(), *arguments, "-f", "-"], input=json.dumps(body),
                              capture_output=True, text=True, check=False)
        if proc.returncode == 0:
            return decode_answer(proc.stdout.encode(), path, method)
        final = self._final(proc.stderr, path, method)
        if final is not None:
            raise final
        raise ApiError(f"kubectl {what} could not {describe_request(path, method)}: "
                       f"{proc.stderr.strip()[:300]}")

    def put(self, path: str, body: dict[str, Any]) -> Any:
        return self._write("replace", [f"--field-manager={FIELD_MANAGER}", "-o", "json"], path, "PUT", body)

    def post(self, path: str, body: dict[str, Any]) -> Any:
        # --raw: the path as the HTTPS transport sends it, with no discovery or schema download.
        # AlreadyExists is a 409, a Conflict: another client created the name first.
        return self._write("create --raw", [f"{path}?fieldManager={FIELD_MANAGER}"], path, "POST", body)

    def delete(self, path: str) -> bool:
        import subprocess

        proc = subprocess.run([*self.command, "delete", "--raw", path], capture_output=True, text=True, check=False)
        if proc.returncode == 0:
            return True
        if "Error from server (NotFound)" in proc.stderr:
            return False
        final = self._final(proc.stderr, path, "DELETE")
        if final is not None:
            raise final
        raise ApiError(f"kubectl delete --raw could not {describe_request(path, 'DELETE')}: {proc.stderr.strip()[:300]}")
