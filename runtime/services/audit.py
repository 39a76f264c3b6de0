"""The audit trail of a pass: every patch applied, computed in dry-run, or failed, written in one batch."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

from kubernetes.client.exceptions import ApiException
from sqlalchemy import Engine
from urllib3.exceptions import HTTPError

from runtime.actuation import patches
from runtime.store.decisions import Actuation, record_actuations
from runtime.store.schema import AuditOutcome

log = logging.getLogger(__name__)


@dataclass
class Attempt:
    """One attempted actuation; `outcome` is FAILED if it raised, SKIPPED if nothing needed changing."""

    outcome: AuditOutcome = AuditOutcome.SKIPPED
    done: Sequence[patches.Actuation] = ()
    detail: str = ""

    def record(self, done: Sequence[patches.Actuation], detail: str = "") -> None:
        self.done, self.detail = done, detail
        if done:
            self.outcome = AuditOutcome.DRY_RUN if all(a.dry_run for a in done) else AuditOutcome.APPLIED


@dataclass
class AuditTrail:
    """Collects a pass's actuations; `flush` appends them to the audit log."""

    actor: str
    entries: list[Actuation] = field(default_factory=list)

    @contextmanager
    def attempt(self, action: str, target: str, at: datetime) -> Iterator[Attempt]:
        """Run one actuation; a Kubernetes error is audited as FAILED instead of ending the pass."""
        attempt = Attempt()
        try:
            yield attempt
        except (ApiException, HTTPError, OSError) as error:
            attempt.outcome = AuditOutcome.FAILED
            reason = f"{error.status} {error.reason}" if isinstance(error, ApiException) else str(error)
            log.warning("actuation failed", extra={"actor": self.actor, "target": target, "error": reason})
            self.entries.append(Actuation(at, self.actor, action, target, AuditOutcome.FAILED, {}, reason))
            return
        for done in attempt.done:
            outcome = AuditOutcome.DRY_RUN if done.dry_run else AuditOutcome.APPLIED
            self.entries.append(
                Actuation(at, self.actor, action, f"{done.kind} {done.namespace}/{done.name}", outcome, done.patch,
                          attempt.detail)
            )

    def flush(self, engine: Engine) -> int:
        """Write the collected entries; returns how many."""
        written = len(self.entries)
        record_actuations(engine, self.entries)
        self.entries = []
        return written
