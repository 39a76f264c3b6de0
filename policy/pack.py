"""Every rule of the pack, a plain evaluator for tests and scripts, and the `pulumi_policy.PolicyPack`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from policy import data_stores, kubernetes, node_pools, storage, workloads
from policy.rule import Props, Rule, StackRule

if TYPE_CHECKING:
    from pulumi_policy import (
        PolicyPack,
        ReportViolation,
        ResourceValidation,
        ResourceValidationArgs,
        ResourceValidationPolicy,
        StackValidation,
        StackValidationArgs,
        StackValidationPolicy,
    )

PACK_NAME = "isf-platform-guarantees"
RULES: tuple[Rule, ...] = (
    *kubernetes.RULES, *workloads.RULES, *data_stores.RULES, *storage.RULES, *node_pools.RULES
)
STACK_RULES: tuple[StackRule, ...] = workloads.STACK_RULES


@dataclass(frozen=True)
class Violation:
    """One broken guarantee: which rule, and what to change."""

    rule: str
    message: str


def violations(resource_type: str, props: Props, *, from_chart: bool = False) -> list[Violation]:
    """What every applicable rule finds wrong with one resource's inputs."""
    return [
        Violation(rule.name, message)
        for rule in RULES
        if rule.applies_to(resource_type, from_chart=from_chart)
        for message in rule.check(resource_type, props)
    ]


def stack_violations(resources: Iterable[tuple[str, str, Props]]) -> list[tuple[str, str, Violation]]:
    """What every stack rule finds wrong across all (type, name, inputs) of a stack."""
    listed = list(resources)
    return [
        (type_, name, Violation(rule.name, message))
        for rule in STACK_RULES
        for type_, name, message in rule.check(listed)
    ]


def render_violations(rendered: Any) -> list[tuple[str, str, Violation]]:
    """`isf render --policy`: every rule over an offline render's inventory (its `type`/`name`/`inputs` items)."""
    inventory: list[Mapping[str, Any]] = rendered.inventory
    found = [(item["type"], item["name"], v) for item in inventory for v in violations(item["type"], item["inputs"])]
    return found + stack_violations((item["type"], item["name"], item["inputs"]) for item in inventory)


def inside_helm_chart(urn: str) -> bool:
    """Whether a URN's type chain (`parent$child`) passes through a Helm chart."""
    type_chain = urn.split("::")[2] if urn.count("::") >= 3 else ""
    return any(t.startswith("kubernetes:helm.sh/") for t in type_chain.split("$")[:-1])


def resource_policies() -> list[ResourceValidationPolicy]:
    """Every rule as a CrossGuard resource validation; objects inside Helm charts skip the hardening rules."""
    from pulumi_policy import ResourceValidationPolicy

    def validation(rule: Rule) -> ResourceValidation:
        def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
            if rule.applies_to(args.resource_type, from_chart=inside_helm_chart(args.urn)):
                for message in rule.check(args.resource_type, args.props):
                    report_violation(message, args.urn)

        return validate

    return [
        ResourceValidationPolicy(name=rule.name, description=rule.description, validate=validation(rule))
        for rule in RULES
    ]


def stack_policies() -> list[StackValidationPolicy]:
    """Every stack rule as a CrossGuard stack validation, over the resources outside Helm charts."""
    from pulumi_policy import StackValidationPolicy

    def validation(rule: StackRule) -> StackValidation:
        def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
            ours = [r for r in args.resources if not inside_helm_chart(r.urn)]
            urns = {(r.resource_type, r.name): r.urn for r in ours}
            for type_, name, message in rule.check((r.resource_type, r.name, r.props) for r in ours):
                report_violation(message, urns.get((type_, name)))

        return validate

    return [
        StackValidationPolicy(name=rule.name, description=rule.description, validate=validation(rule))
        for rule in STACK_RULES
    ]


def serve() -> PolicyPack:
    """Start the pack (the SDK serves the policy analyzer until the engine is done): every rule mandatory."""
    from pulumi_policy import EnforcementLevel, PolicyPack

    return PolicyPack(
        name=PACK_NAME, policies=[*resource_policies(), *stack_policies()], enforcement_level=EnforcementLevel.MANDATORY
    )
