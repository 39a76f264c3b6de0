"""Every rule of the pack, a plain evaluator for tests and scripts, and the `pulumi_policy.PolicyPack`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from policy import data_stores, kubernetes, node_pools
from policy.rule import Props, Rule

if TYPE_CHECKING:
    from pulumi_policy import (
        PolicyPack,
        ReportViolation,
        ResourceValidation,
        ResourceValidationArgs,
        ResourceValidationPolicy,
    )

PACK_NAME = "isf-platform-guarantees"
RULES: tuple[Rule, ...] = (*kubernetes.RULES, *data_stores.RULES, *node_pools.RULES)


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


def serve() -> PolicyPack:
    """Start the pack (the SDK serves the policy analyzer until the engine is done): every rule mandatory."""
    from pulumi_policy import EnforcementLevel, PolicyPack

    return PolicyPack(
        name=PACK_NAME, policies=list(resource_policies()), enforcement_level=EnforcementLevel.MANDATORY
    )
