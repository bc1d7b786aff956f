"""nmstate's own verdict on a desiredState: rig/rust/nmstate-check (the `nmstate` crate,
default features off, `gen_conf`), built by scripts/bootstrap.sh into .tools/bin.

check_desired_state(state) is what the node model asks before it applies a state, as
kubernetes-nmstate's handler runs nmstate before it touches the node: a state nmstate
refuses fails the enactment with nmstate's message.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass, field
from typing import Any

from tests.support import helm

BINARY = helm.TOOLS / "nmstate-check"


@dataclass(frozen=True)
class Verdict:
    """nmstate's answer: the NetworkManager keyfiles it would write, or its refusal."""

    ok: bool
    kind: str = ""  # nmstate's ErrorKind, e.g. InvalidArgument
    msg: str = ""
    keyfiles: dict[str, str] = field(default_factory=dict)

    @property
    def error(self) -> str:
        """As nmstatectl prints an NmstateError (rust/src/lib/error.rs, Display)."""
        return f"{self.kind}: {self.msg}"


def check_desired_state(state: dict[str, Any] | str) -> Verdict:
    """Runs nmstate on a desiredState (a dict, or its YAML/JSON text)."""
    if not BINARY.exists():
        raise RuntimeError(f"{BINARY} is missing: run scripts/bootstrap.sh rig")
    text = state if isinstance(state, str) else json.dumps(state)
    proc = subprocess.run([str(BINARY)], input=text, capture_output=True, text=True, check=False)
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"nmstate-check failed ({proc.returncode}): {proc.stderr}")
    answer = json.loads(proc.stdout)
    if answer["ok"]:
        return Verdict(True, keyfiles=answer["keyfiles"])
    return Verdict(False, answer["kind"], answer["msg"])


def refusal(state: dict[str, Any]) -> str | None:
    """nmstate's error for a state it refuses, None for one it takes: the node model's
    `check_desired_state` hook (tests/support/nmstatehandler.py, Checker)."""
    verdict = check_desired_state(state)
    return None if verdict.ok else verdict.error
