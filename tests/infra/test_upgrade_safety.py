"""Upgrade safety: no change silently replaces a resource, and data stores survive mistakes in production."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pulumi
import pulumi_random as random
import pytest

from infra.mocks import Records, run_program
from infra.render import Rendered, render_stack
from infra.urns import VARIANTS, UrnIndex, lost_urns, read_recorded, variant_overrides
from tests.infra.conftest import PROJECT_DIR

# The resource that holds each store's data, per cloud (type, logical name).
STATEFUL = {
    ("aws:rds/instance:Instance", "isf-postgres-instance"),
    ("gcp:sql/databaseInstance:DatabaseInstance", "isf-postgres-instance"),
    ("aws:elasticache/replicationGroup:ReplicationGroup", "isf-redis-group"),
    ("gcp:redis/cluster:Cluster", "isf-redis-cluster"),
    ("kubernetes:postgresql.cnpg.io/v1:Cluster", "isf-postgres-cluster"),
    ("kubernetes:redis.redis.opstreelabs.in/v1beta2:RedisCluster", "isf-redis-cluster"),
}


@pytest.fixture(scope="module")
def variants() -> Iterator[dict[str, Rendered]]:
    with variant_overrides() as filled:
        yield {
            label: render_stack(stack, project_dir=PROJECT_DIR, overrides=overrides)
            for label, (stack, overrides) in filled.items()
        }


def _index(rendered: Rendered) -> UrnIndex:
    assert rendered.records is not None
    return UrnIndex(rendered.records, stack=rendered.stack)


@pytest.mark.parametrize("label", list(VARIANTS))
def test_no_recorded_urn_disappears_without_an_alias(label: str, variants: dict[str, Rendered]) -> None:
    lost = lost_urns(read_recorded(label), _index(variants[label]))
    assert lost == [], (
        f"{label}: these resources would be replaced by `pulumi up`. Give the renamed resource "
        "aliases=[pulumi.Alias(...)] naming the old URN, or record a deliberate replacement with `isf urns --write`"
    )


def test_urns_are_the_engines_whole_parent_type_chain_without_the_stack(variants: dict[str, Rendered]) -> None:
    urns = set(_index(variants["production-gcp"]).urns())
    assert "urn:pulumi:production::isf::isf:data:CloudSqlPostgres::isf-postgres" in urns
    assert (
        "urn:pulumi:production::isf::isf:data:CloudSqlPostgres$gcp:sql/databaseInstance:DatabaseInstance"
        "::isf-postgres-instance"
    ) in urns
    assert not [u for u in urns if "pulumi:pulumi:Stack" in u]


class _Store(pulumi.ComponentResource):
    def __init__(self, name: str, child: str, opts: pulumi.ResourceOptions | None = None,
                 child_opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("isf:test:Store", name, None, opts)
        random.RandomPassword(child, length=8, opts=pulumi.ResourceOptions.merge(
            pulumi.ResourceOptions(parent=self), child_opts or pulumi.ResourceOptions()))


def _urns(program) -> tuple[list[str], UrnIndex]:
    records: Records = run_program(program, stack="prod")
    index = UrnIndex(records, stack="prod")
    return index.urns(), index


def test_a_rename_without_an_alias_loses_the_old_urn_and_one_with_an_alias_keeps_it() -> None:
    recorded, _ = _urns(lambda: _Store("db", "db-data"))
    _, renamed = _urns(lambda: _Store("db", "db-volume"))
    assert lost_urns(recorded, renamed) == ["urn:pulumi:prod::isf::isf:test:Store$random:index/randomPassword:RandomPassword::db-data"]
    _, aliased = _urns(lambda: _Store("db", "db-volume", child_opts=pulumi.ResourceOptions(
        aliases=[pulumi.Alias(name="db-data")])))
    assert lost_urns(recorded, aliased) == []


def test_a_renamed_component_needs_an_alias_but_its_children_keep_theirs() -> None:
    # A URN carries the parent's type chain, not its name: only the component itself is lost.
    recorded, _ = _urns(lambda: _Store("db", "data"))
    _, moved = _urns(lambda: _Store("database", "data"))
    assert lost_urns(recorded, moved) == ["urn:pulumi:prod::isf::isf:test:Store::db"]
    _, aliased = _urns(lambda: _Store("database", "data", opts=pulumi.ResourceOptions(aliases=[pulumi.Alias(name="db")])))
    assert lost_urns(recorded, aliased) == []


def _stateful(rendered: Rendered) -> list[tuple[str, str, bool, bool]]:
    assert rendered.records is not None
    return [(r.type, r.name, r.protect, r.retain_on_delete) for r in rendered.records if (r.type, r.name) in STATEFUL]


@pytest.mark.parametrize("label", ["production-gcp", "production-aws", "production-existing"])
def test_production_data_stores_are_protected_and_retained_on_delete(label: str, variants: dict[str, Rendered]) -> None:
    found = _stateful(variants[label])
    assert len(found) == 2, found  # PostgreSQL and Redis
    assert all(protect and retain for _, _, protect, retain in found), found


@pytest.mark.parametrize("label", ["staging-aws", "staging-gcp", "staging-existing"])
def test_staging_data_stores_stay_disposable(label: str, variants: dict[str, Rendered]) -> None:
    found = _stateful(variants[label])
    assert len(found) == 2 and not any(protect or retain for _, _, protect, retain in found), found


def test_protection_follows_the_stores_deletion_protection_key() -> None:
    rendered = render_stack("production", project_dir=PROJECT_DIR, overrides=["postgres.deletion_protection=false"])
    by_name = {name: protect for _, name, protect, _ in _stateful(rendered)}
    assert by_name == {"isf-postgres-instance": False, "isf-redis-cluster": True}


def test_recorded_urn_files_exist_for_every_variant() -> None:
    assert {p.stem for p in (Path(__file__).resolve().parents[2] / "infra" / "recorded_urns").glob("*.txt")} == set(VARIANTS)
