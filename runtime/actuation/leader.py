"""Kubernetes Lease leader election, so only one replica of warming / placement acts at a time.

Wraps the kubernetes client's own `leaderelection` (LeaseLock): a daemon thread campaigns, leads
until a renewal fails, then campaigns again. Control loops check `is_leader` before each pass.
"""

from __future__ import annotations

import logging
import threading
import time

from kubernetes import client
from kubernetes.leaderelection import electionconfig, leaderelection
from kubernetes.leaderelection.resourcelock.leaselock import LeaseLock

log = logging.getLogger(__name__)


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
        self._lock = LeaseLock(name, namespace, identity)
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

    def _campaign(self) -> None:
        while True:
            try:
                leaderelection.LeaderElection(self._config).run()
            except Exception as error:  # noqa: BLE001 - any failure must not end the campaign
                # The library lets transport errors escape run(); without a renewal we are no
                # longer leader, and we campaign again after a retry period.
                log.warning("leader election failed (%s); campaigning again", error, extra={"identity": self.identity})
                self._leading.clear()
                time.sleep(self._config.retry_period)

    def _started(self) -> None:
        log.info("became leader", extra={"lease": f"{self.namespace}/{self.name}", "identity": self.identity})
        self._leading.set()

    def _stopped(self) -> None:
        log.warning("lost leadership", extra={"lease": f"{self.namespace}/{self.name}", "identity": self.identity})
        self._leading.clear()
