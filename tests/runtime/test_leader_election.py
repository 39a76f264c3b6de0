"""Only one replica of a controller leads; when the leader dies, another takes over after the lease lapses."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from runtime.actuation.leader import LeaseLeadership
from tests.runtime.fake_kube import FakeKube

LEASE = "/apis/coordination.k8s.io/v1/namespaces/platform/leases/warming"
TIMING = {"lease_duration_s": 4, "renew_deadline_s": 3, "retry_period_s": 1}

CANDIDATE = """
import sys, time
from kubernetes import client
from runtime.actuation.leader import LeaseLeadership
api = client.ApiClient(client.Configuration(host=sys.argv[1]))
LeaseLeadership("warming", "platform", "replica-a", api_client=api,
                lease_duration_s=4, renew_deadline_s=3, retry_period_s=1).start()
time.sleep(120)
"""


@pytest.fixture
def kube() -> Iterator[FakeKube]:
    with FakeKube() as fake:
        yield fake


def _holder(kube: FakeKube) -> str | None:
    try:
        return kube.get(LEASE)["spec"]["holderIdentity"]
    except KeyError:
        return None


def _wait(condition: object, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.1)
    return False


def test_a_single_candidate_creates_the_lease_and_leads(kube: FakeKube) -> None:
    me = LeaseLeadership("warming", "platform", "replica-b", api_client=kube.api_client(), **TIMING)
    me.start()

    assert me.wait_until_leader(5)
    assert _holder(kube) == "replica-b"


def test_a_follower_takes_over_only_after_the_leader_dies(kube: FakeKube) -> None:
    leader = subprocess.Popen([sys.executable, "-c", CANDIDATE, kube.url])
    try:
        assert _wait(lambda: _holder(kube) == "replica-a", 15), "the first replica never took the lease"
        follower = LeaseLeadership("warming", "platform", "replica-b", api_client=kube.api_client(), **TIMING)
        follower.start()
        time.sleep(3)
        assert not follower.is_leader, "two replicas led at once"

        leader.kill()
        leader.wait()
        assert follower.wait_until_leader(12), "the follower never took over"
        assert _holder(kube) == "replica-b"
    finally:
        leader.kill()


def test_impossible_timings_are_refused() -> None:
    with pytest.raises(ValueError, match="lease_duration_s > renew_deadline_s"):
        LeaseLeadership("x", "ns", "me", lease_duration_s=5, renew_deadline_s=5, retry_period_s=1)
