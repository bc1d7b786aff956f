"""One coordination.k8s.io/v1 Lease that lets one cleanup run at a time in the cluster.

A prune, teardown or rollback cleanup reads what the other releases' policies declare and
keeps it; while another release's cleanup has sent only its removal state, that reading is
wrong. So every cleanup of every release of this chart holds the same Lease, in MetalLB's
namespace (which every release uses, so it exists) under a name the chart fixes, while it
reads, updates and waits.

The Lease is taken and kept as client-go's leader election does it (client-go v0.36.3
tools/leaderelection/leaderelection.go, tryAcquireOrRenew and release; resourcelock/
leaselock.go): create it when absent; take it when its holder is empty or expired; every
write an update carrying the resourceVersion that was read, so that of two clients only one
wins and the other gets 409. It is renewed while the cleanup waits and released (holder
emptied) at the end, also on failure.

Expiry: client-go's isLeaseValid counts leaseDurationSeconds from when this client last saw
the record change (observedTime, the local clock), so a newcomer waits a dead holder's full
duration from its own first look: a hook retried after its pod was killed, with
cleanup.timeoutSeconds at the schema's minimum (30 s, the Lease's duration), never got it.
So a holder is also expired once the Lease's own renewTime + leaseDurationSeconds has
passed, as kube-apiserver's coordinated leader election judges a Lease (kubernetes v1.36.3
pkg/controlplane/controller/leaderelection/election.go, isLeaseExpired): the first of the
two clocks to say so. A holder named after this release (identity) is this release's own
earlier cleanup, which Helm starts one at a time: one that still holds the Lease stopped
without releasing it, and the messages say so.
"""

from __future__ import annotations

import datetime
import json
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from symrouting.api import ApiError, Conflict, Transport, Unanswered, Unreachable, put_verified
from symrouting.records import field, record

LEASES = "/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases"
# client-go's defaults for controllers are 15 s; a hook that renews every 10 s can miss two.
DURATION_SECONDS = 30
RENEW_SECONDS = 10
POLL_SECONDS = 2.0
PROGRESS_SECONDS = 10.0


class LeaseTimeout(Exception):
    """Another cleanup held the Lease for longer than this one may wait."""


def micro_time(moment: datetime.datetime) -> str:
    """A MicroTime as the API serialises it: RFC 3339 with microseconds, in UTC
    (apimachinery pkg/apis/meta/v1/micro_time.go, RFC3339Micro)."""
    return moment.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_micro_time(text: Any) -> datetime.datetime | None:
    """A MicroTime or Time as the API writes it (RFC 3339, with or without fractions)."""
    if not isinstance(text, str):
        return None
    try:
        return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def identity(what: str) -> str:
    """Who holds the Lease: the release and command, the pod (hostname), and a random
    suffix so that two runs in one pod differ (client-go's examples add a UUID too)."""
    return f"{what} {socket.gethostname()}_{uuid.uuid4().hex[:8]}"


@record
class Lease:
    transport: Transport
    namespace: str
    name: str
    holder: str
    duration: int = DURATION_SECONDS
    renew_every: float = RENEW_SECONDS
    monotonic: Callable[[], float] = time.monotonic
    now: Callable[[], datetime.datetime] = lambda: datetime.datetime.now(datetime.timezone.utc)
    # The Lease as last read or written, and when this client saw its spec change.
    current: dict[str, Any] | None = None
    observed_spec: str = ""
    observed_at: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def collection(self) -> str:
        return LEASES.format(namespace=self.namespace)

    @property
    def path(self) -> str:
        return f"{self.collection}/{self.name}"

    def _spec(self, transitions: int, acquired: str | None = None) -> dict[str, Any]:
        stamp = micro_time(self.now())
        return {"holderIdentity": self.holder, "leaseDurationSeconds": self.duration,
                "acquireTime": acquired or stamp, "renewTime": stamp, "leaseTransitions": transitions}

    def _observe(self, lease: dict[str, Any]) -> dict[str, Any]:
        spec = lease.get("spec") or {}
        raw = json.dumps(spec, sort_keys=True)
        if raw != self.observed_spec:
            self.observed_spec, self.observed_at = raw, self.monotonic()
        self.current = lease
        return spec

    def expires_at(self) -> datetime.datetime | None:
        """renewTime + leaseDurationSeconds of the Lease as last read (None without a renewTime)."""
        spec = (self.current or {}).get("spec") or {}
        renewed = parse_micro_time(spec.get("renewTime"))
        if renewed is None:
            return None
        return renewed + datetime.timedelta(seconds=int(spec.get("leaseDurationSeconds") or 0))

    def held_by_other(self) -> str | None:
        """The other holder whose Lease has not expired, or None: expired once it has not
        changed for leaseDurationSeconds as this client saw it (client-go), or once its
        renewTime + leaseDurationSeconds has passed (kube-apiserver's election.go)."""
        spec = (self.current or {}).get("spec") or {}
        holder = spec.get("holderIdentity") or ""
        if not holder or holder == self.holder:
            return None
        if self.monotonic() >= self.observed_at + int(spec.get("leaseDurationSeconds") or 0):
            return None
        expires = self.expires_at()
        return None if expires is not None and self.now() >= expires else holder

    def own_release(self, holder: str) -> bool:
        """Whether a holder is a run of this release's cleanup (identity starts with the release)."""
        return holder.split(" ", 1)[0] == self.holder.split(" ", 1)[0]

    def whose(self, holder: str) -> str:
        """Who holds the Lease, in words: this release's own earlier run, or another release."""
        if self.own_release(holder):
            return (f"this release's own earlier cleanup ({holder}), which stopped without releasing it "
                    "(its pod killed or crashed)")
        return f"another release's cleanup ({holder})"

    def frees(self) -> str:
        """When the Lease frees by its renewTime, for a message."""
        expires = self.expires_at()
        return (f"it frees at {micro_time(expires)} (renewTime + leaseDurationSeconds)" if expires is not None else
                f"it frees {self.duration}s after its last renewal")

    @staticmethod
    def _landed(body: dict[str, Any]) -> Callable[[dict[str, Any]], bool]:
        """Whether a Lease read after a lost answer holds this write: its spec as sent."""
        return lambda fresh: bool(fresh.get("spec") == body["spec"])

    def try_acquire(self) -> bool:
        """One attempt: create the Lease, or take it over; False when another holds it or
        won the race (409)."""
        with self.lock:
            lease = self.transport.get(self.path)
            if lease is None:
                body = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                        "metadata": {"name": self.name, "namespace": self.namespace},
                        "spec": self._spec(0)}
                try:
                    self._observe(self.transport.post(self.collection, body))
                except Conflict:
                    return False
                except Unanswered:
                    # The create may have landed: the Lease read now says whose it is.
                    created = self.transport.get(self.path)
                    if created is None:
                        return False
                    return (self._observe(created).get("holderIdentity") or "") == self.holder
                return True
            spec = self._observe(lease)
            if self.held_by_other():
                return False
            mine = spec.get("holderIdentity") == self.holder
            transitions = int(spec.get("leaseTransitions") or 0) + (0 if mine else 1)
            body = dict(lease, spec=self._spec(transitions, spec.get("acquireTime") if mine else None))
            try:
                self._observe(put_verified(self.transport, self.path, body, self._landed(body)))
            except Conflict:
                return False
            return True

    def renew(self) -> bool:
        """Moves renewTime on; False when the Lease is no longer this client's."""
        with self.lock:
            for _ in range(3):
                lease = self.current or self.transport.get(self.path)
                spec = (lease or {}).get("spec") or {}
                if lease is None or spec.get("holderIdentity") != self.holder:
                    return False
                body = dict(lease, spec=self._spec(int(spec.get("leaseTransitions") or 0), spec.get("acquireTime")))
                try:
                    self._observe(put_verified(self.transport, self.path, body, self._landed(body)))
                    return True
                except Conflict:
                    # Another client wrote it: read it again to see who holds it now.
                    self.current = self.transport.get(self.path)
            return False

    def release(self) -> None:
        """Empties the holder, with leaseDurationSeconds 1, as client-go's release does; a
        conflict is read again and retried; a Lease someone else holds is left alone."""
        with self.lock:
            for _ in range(3):
                lease = self.transport.get(self.path)
                spec = (lease or {}).get("spec") or {}
                if lease is None or spec.get("holderIdentity") != self.holder:
                    return
                stamp = micro_time(self.now())
                transitions = int(spec.get("leaseTransitions") or 0)
                body = dict(lease, spec={"holderIdentity": "", "leaseDurationSeconds": 1, "acquireTime": stamp,
                                         "renewTime": stamp, "leaseTransitions": transitions})
                try:
                    self.current = self.transport.put(self.path, body)
                    return
                except Conflict:
                    continue


def acquire(lease: Lease, timeout: float, log: Callable[[str], None],
            sleep: Callable[[float], None] = time.sleep) -> float:
    """Takes the Lease, waiting at most timeout seconds with a line at least every
    PROGRESS_SECONDS; returns the seconds waited. LeaseTimeout names the holder."""
    start = lease.monotonic()
    said = start - PROGRESS_SECONDS
    while not lease.try_acquire():
        waited = lease.monotonic() - start
        holder = lease.held_by_other()
        who = lease.whose(holder) if holder else "another cleanup"
        if waited >= timeout:
            running = ("" if holder and lease.own_release(holder) else
                       " Retry when it is done; a holder that crashed stops holding it "
                       f"{lease.duration}s after its last renewal.")
            raise LeaseTimeout(
                f"Lease {lease.namespace}/{lease.name} is still held by {who} after {waited:.0f}s "
                f"(the cleanup's timeout); {lease.frees()}.{running} "
                f"(kubectl get lease -n {lease.namespace} {lease.name} -o yaml)")
        if lease.monotonic() - said >= PROGRESS_SECONDS:
            said = lease.monotonic()
            log(f"waiting for Lease {lease.namespace}/{lease.name}, held by {who}; {lease.frees()}: "
                f"{waited:.0f}s of {timeout:.0f}s")
        sleep(min(POLL_SECONDS, max(timeout - waited, 0.0)))
    return lease.monotonic() - start


@contextmanager
def held(lease: Lease, timeout: float, log: Callable[[str], None],
         sleep: Callable[[float], None] = time.sleep) -> Iterator[float]:
    """Holds the Lease around a cleanup: takes it (yielding the seconds waited), renews it
    every renew_every seconds from a thread, and releases it at the end, also after an error."""
    waited = acquire(lease, timeout, log, sleep)
    log(f"holding Lease {lease.namespace}/{lease.name} as {lease.holder}")
    stop = threading.Event()

    def renew() -> None:
        while not stop.wait(lease.renew_every):
            try:
                if not lease.renew():
                    log(f"WARN  lost Lease {lease.namespace}/{lease.name}: another cleanup may run at the same time")
                    return
            except (ApiError, Unreachable) as error:
                log(f"WARN  could not renew Lease {lease.namespace}/{lease.name}: {error}")

    renewer = threading.Thread(target=renew, name="lease-renewer", daemon=True)
    renewer.start()
    try:
        yield waited
    finally:
        stop.set()
        renewer.join()
        try:
            lease.release()
        except (ApiError, Unreachable) as error:
            log(f"WARN  could not release Lease {lease.namespace}/{lease.name} ({error}): it stays held by "
                f"{lease.holder} until it expires; {lease.frees()}")
