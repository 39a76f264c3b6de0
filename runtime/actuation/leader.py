"""Kubernetes Lease leader election, so only one replica of warming / placement acts at a time.

Wraps the kubernetes client's own `leaderelection` (LeaseLock): a daemon thread campaigns, leads
until a renewal fails, then campaigns again. Control loops check `is_leader` before each pass.

On shutdown `release()` gives the Lease up the way client-go's `ReleaseOnCancel` does
(k8s.io/client-go/tools/leaderelection/leaderelection.go, `release()`: holderIdentity empty,
leaseDurationSeconds 1, renewTime = acquireTime = now), so a successor takes over on its next retry
instead of waiting out lease_duration_s. The Python library has no such hook (kubernetes 37.0.2,
`leaderelection/leaderelection.py`: `run()` renews until an update fails): the lock below refuses
to write once released, so the renew loop cannot take the Lease back.

The library logs at INFO on every renewal ("leader … has successfully acquired lease", every
retry_period) and every follower retry; its logger is set to WARNING and this module logs the
transitions (became leader, lost leadership, released) instead.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException
from kubernetes.leaderelection import electionconfig, leaderelection
from kubernetes.leaderelection.resourcelock.leaselock import LeaseLock

log = logging.getLogger(__name__)
logging.getLogger("leaderelection").setLevel(logging.WARNING)  # INFO there is a line per renewal


class _ReleasableLeaseLock(LeaseLock):
    """A LeaseLock that writes nothing once `release` has given the Lease up."""

    def __init__(self, name: str, namespace: str, identity: str) -> None:
        super().__init__(name, namespace, identity)
        self._writing = threading.Lock()
        self.released = False

    def create(self, name: str, namespace: str, election_record: Any) -> bool:
        with self._writing:
            return False if self.released else super().create(name, namespace, election_record)

    def update(self, name: str, namespace: str, updated_record: Any) -> bool:
        with self._writing:
            return False if self.released else super().update(name, namespace, updated_record)

    def release(self) -> bool:
        """Stop writing; if we hold the Lease, empty its holder as client-go's release() does. True if released."""
        with self._writing:
            self.released = True
            try:
                lease = self.api_instance.read_namespaced_lease(self.name, self.namespace)
            except ApiException:
                return False
            if lease.spec is None or lease.spec.holder_identity != self.identity:
                return False
            now = datetime.now(UTC)
            lease.spec.holder_identity = None
            lease.spec.lease_duration_seconds = 1
            lease.spec.acquire_time = now
            lease.spec.renew_time = now
            try:  # with the read resourceVersion: a successor that got there first is not overwritten
                self.api_instance.replace_namespaced_lease(self.name, self.namespace, lease)
            except ApiException:
                return False
            return True


class LeaseLeadership:
    """Campaigns for the Lease `namespace/name` as `identity` and tracks whether we hold it."""

    def __init__(
        self,
        name: str,
        namespace: str,
        identity: str,
        *,
        api_client: client.ApiClient | None = None,
        lease_duration_s: int = 15,
        renew_deadline_s: int = 10,
        retry_period_s: int = 2,
    ) -> None:
        if not lease_duration_s > renew_deadline_s > 1.2 * retry_period_s >= 1.2:
            raise ValueError(
                "need lease_duration_s > renew_deadline_s > 1.2 x retry_period_s and retry_period_s >= 1 "
                f"(got {lease_duration_s}, {renew_deadline_s}, {retry_period_s})"
            )
        self.name, self.namespace, self.identity = name, namespace, identity
        self._lock = _ReleasableLeaseLock(name, namespace, identity)
        if api_client is not None:
            self._lock.api_instance = client.CoordinationV1Api(api_client)
        self._config = electionconfig.Config(
            self._lock,
            lease_duration=lease_duration_s,
            renew_deadline=renew_deadline_s,
            retry_period=retry_period_s,
            onstarted_leading=self._started,
            onstopped_leading=self._stopped,
        )
        self._leading = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def is_leader(self) -> bool:
        return self._leading.is_set()

    def wait_until_leader(self, timeout_s: float) -> bool:
        return self._leading.wait(timeout_s)

    def start(self) -> None:
        """Campaign in a daemon thread (the lease lapses on its own if the process dies)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._campaign, name=f"lease-{self.name}", daemon=True)
            self._thread.start()

    def release(self) -> None:
        """Stop campaigning and give the Lease up now (called on shutdown, after the loops stopped acting)."""
        was_leading = self._leading.is_set()
        self._leading.clear()
        released = self._lock.release()
        if was_leading or released:
            log.info("released leadership" if released else "stopped leading; the lease lapses on its own",
                     extra={"lease": f"{self.namespace}/{self.name}", "identity": self.identity})

    def _campaign(self) -> None:
        while not self._lock.released:
            try:
                leaderelection.LeaderElection(self._config).run()
            except Exception as error:  # noqa: BLE001 - any failure must not end the campaign
                # The library lets transport errors escape run(); without a renewal we are no
                # longer leader, and we campaign again after a retry period.
                log.warning("leader election failed (%s); campaigning again", error, extra={"identity": self.identity})
                self._leading.clear()
                time.sleep(self._config.retry_period)

    def _started(self) -> None:
        if self._lock.released:
            return
        log.info("became leader", extra={"lease": f"{self.namespace}/{self.name}", "identity": self.identity})
        self._leading.set()

    def _stopped(self) -> None:
        if self._lock.released:
            return  # we gave it up on purpose
        log.warning("lost leadership", extra={"lease": f"{self.namespace}/{self.name}", "identity": self.identity})
        self._leading.clear()
