"""The hook benchmarks' cluster: the real kube-apiserver and etcd of tests/support/realcluster.py
behind the recording proxy of tests/support/realapi.py, loaded with many objects at once.

The hooks reach it through the proxy with a real bound token (a cluster-admin ServiceAccount),
and the proxy records each request (method, path, Accept, body) for the bare client of
benchmarks/floor.py, which then sends the same requests the same way. What is measured is
each client process's own CPU, so the server being real changes what it costs to wait, not
what is compared.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support import realapi
from tests.support.realapi import RealApi, to_load

# Creates in flight at once while loading: etcd and the API server take them in parallel.
LOADERS = 16


@dataclass
class Rig:
    api: RealApi
    token_file: Path

    @property
    def access(self) -> list[str]:
        """The hook's flags reaching the server through the recording proxy."""
        return [f"--server={self.api.url}", f"--token-file={self.token_file}", f"--ca-file={self.api.ca_file}"]

    def stop(self) -> None:
        self.api.stop()
        self.api.cluster.stop()


def start(folder: Path, namespaces: tuple[str, ...] = ()) -> Rig:
    """A control plane in folder (CRDs of ../shared/crds applied), the proxy, an admin token."""
    began = time.monotonic()
    rig = Rig(realapi.start(folder), folder / "token")
    try:
        for namespace in namespaces:
            rig.api.client.call("POST", "/api/v1/namespaces",
                                {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
    except BaseException:
        rig.stop()
        raise
    rig.token_file.write_text(rig.api.token)
    print(f"set-up: real kube-apiserver and etcd up, CRDs established in {time.monotonic() - began:.1f} s",
          flush=True)
    return rig


def fresh_bytecode(hooks: Path) -> None:
    """Writes the bytecode caches of the hooks' modules (hooks/symrouting), as an installed
    package has them: the runs measured do not write them (PYTHONDONTWRITEBYTECODE), and a
    cache older than its module would have each run compile it again. A zip has none."""
    import compileall

    if (hooks / "symrouting").is_dir():
        compileall.compile_dir(str(hooks / "symrouting"), quiet=1)


def load(api: RealApi, routes: dict[str, Any], what: str = "objects") -> list[dict[str, Any]]:
    """Writes the objects of a tests/support/clusters.py builder (realapi.to_load), LOADERS at
    a time; returns what the server stored. Prints how long it took."""
    began = time.monotonic()
    stored = create_all(api, to_load(routes))
    print(f"set-up: {len(stored)} {what} created in {time.monotonic() - began:.1f} s ({LOADERS} at a time)",
          flush=True)
    return stored


def create_all(api: RealApi, objects: list[tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    with ThreadPoolExecutor(max_workers=LOADERS) as pool:
        return list(pool.map(lambda target: api.create(*target), objects))


def put_all(api: RealApi, objects: list[tuple[str, dict[str, Any]]]) -> None:
    """PUTs each body to its path, LOADERS at a time."""
    with ThreadPoolExecutor(max_workers=LOADERS) as pool:
        list(pool.map(lambda target: api.client.call("PUT", *target), objects))


def requests_file(api: RealApi, since: int, path: Path) -> int:
    """Writes what the hook sent through the proxy (since the since-th request) for the bare
    client of benchmarks/floor.py: [method, path, body, Accept, Authorization], in the order
    the proxy saw them. A PUT carries the policy's resourceVersion of the hook's run; the
    floor replays it on the objects as they are now, so each is given the live one (read
    here, outside the measured process), and the server answers it as it answered the hook."""
    sent = api.requests[since:]
    live: dict[str, str] = {}
    for request in sent:
        if request.method == "PUT" and isinstance(request.body, dict):
            target = request.path.split("?", 1)[0]
            if target not in live:
                found = api.client.get(target)
                live[target] = str(((found or {}).get("metadata") or {}).get("resourceVersion", ""))
    rows = []
    for request in sent:
        body = request.body
        if request.method == "PUT" and isinstance(body, dict):
            body = {**body, "metadata": {**body["metadata"], "resourceVersion": live[request.path.split("?", 1)[0]]}}
        rows.append([request.method, request.path, body, request.accept, f"Bearer {api.token}"])
    path.write_text(json.dumps(rows))
    return len(rows)


def profile(command: list[str], env: dict[str, str], out: Path, lines: int = 25) -> None:
    """Runs a hook once under cProfile (command as benchmarks/preflight.py's measure takes it:
    the mode, then the hook's arguments) and prints where its time went, by own time."""
    import pstats
    import subprocess
    import sys

    subprocess.run([sys.executable, "-S", "-m", "cProfile", "-o", str(out), "-m", "symrouting", *command[1:]],
                   env=env, capture_output=True, check=False, timeout=600)
    print(f"\nprofile of `symrouting {' '.join(command[1:2])}` ({out}), by own time:")
    pstats.Stats(str(out)).sort_stats("tottime").print_stats(lines)
