"""The ML scheduler's artifact bucket per cloud, private and encrypted, and the workload identities that use it.

- AWS: an S3 bucket (public access blocked, SSE-KMS by default, versioned, TLS-only policy) and one IAM role per
  Kubernetes service account through IRSA (the cluster's OIDC provider): read-write for MLflow, read-only for
  the KServe model servers.
- GCP: a GCS bucket (uniform bucket-level access, public access prevention enforced, versioned; Google-managed
  encryption at rest) and one Google service account per Kubernetes service account through GKE Workload
  Identity (`roles/iam.workloadIdentityUser`), with objectAdmin / objectViewer on the bucket.
`ArtifactStore.annotations[account]` is what the Kubernetes ServiceAccount carries.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

import pulumi

ROLE_ARN_ANNOTATION = "eks.amazonaws.com/role-arn"
GCP_SA_ANNOTATION = "iam.gke.io/gcp-service-account"


@dataclass(frozen=True)
class ArtifactStore:
    """Where artifacts live (`s3://…` / `gs://…`) and each service account's identity annotations."""

    root: pulumi.Output[str]
    bucket: pulumi.Output[str]
    scheme: str
    annotations: Mapping[str, dict[str, pulumi.Input[str]]]


def _s3_policy(bucket_arn: str, *, write: bool) -> str:
    actions = ["s3:GetObject", "s3:ListBucket", "s3:GetBucketLocation"]
    if write:
        actions += ["s3:PutObject", "s3:DeleteObject"]
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": actions, "Resource": [bucket_arn, f"{bucket_arn}/*"]}]})


def aws_artifact_store(
    name: str, *, namespace: str, accounts: Mapping[str, bool], oidc_provider_arn: pulumi.Input[str],
    oidc_issuer_url: pulumi.Input[str], opts: pulumi.ResourceOptions,
) -> ArtifactStore:
    """`accounts`: service account -> may write."""
    import pulumi_aws as aws

    from components.cluster.eks import irsa_trust_policy

    bucket = aws.s3.Bucket(f"{name}-artifacts", bucket_prefix=f"{name}-artifacts-", opts=opts)
    aws.s3.BucketPublicAccessBlock(f"{name}-artifacts", bucket=bucket.id, block_public_acls=True,
                                   block_public_policy=True, ignore_public_acls=True, restrict_public_buckets=True,
                                   opts=opts)
    aws.s3.BucketServerSideEncryptionConfiguration(
        f"{name}-artifacts", bucket=bucket.id,
        rules=[aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
            apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                sse_algorithm="aws:kms"),
            bucket_key_enabled=True)],
        opts=opts)
    aws.s3.BucketVersioning(f"{name}-artifacts", bucket=bucket.id,
                            versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(status="Enabled"),
                            opts=opts)
    aws.s3.BucketPolicy(f"{name}-artifacts-tls-only", bucket=bucket.id, policy=bucket.arn.apply(lambda arn: json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*",
                                                 "Action": "s3:*", "Resource": [arn, f"{arn}/*"],
                                                 "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]})),
        opts=opts)
    annotations: dict[str, dict[str, pulumi.Input[str]]] = {}
    for account, write in accounts.items():
        trust = pulumi.Output.all(oidc_provider_arn, oidc_issuer_url).apply(
            lambda parts, account=account: irsa_trust_policy(str(parts[0]), str(parts[1]), namespace, account))
        role = aws.iam.Role(f"{name}-{account}", assume_role_policy=trust, opts=opts)
        aws.iam.RolePolicy(f"{name}-{account}", role=role.id,
                           policy=bucket.arn.apply(lambda arn, write=write: _s3_policy(arn, write=write)), opts=opts)
        annotations[account] = {ROLE_ARN_ANNOTATION: role.arn}
    return ArtifactStore(bucket.bucket.apply(lambda b: f"s3://{b}"), bucket.bucket, "s3", annotations)


def gcp_artifact_store(
    name: str, *, namespace: str, accounts: Mapping[str, bool], project: str, location: str,
    opts: pulumi.ResourceOptions,
) -> ArtifactStore:
    import pulumi_gcp as gcp

    bucket = gcp.storage.Bucket(f"{name}-artifacts", name=f"{project}-{name}-artifacts", location=location.upper(),
                                uniform_bucket_level_access=True, public_access_prevention="enforced",
                                versioning=gcp.storage.BucketVersioningArgs(enabled=True), opts=opts)
    annotations: dict[str, dict[str, pulumi.Input[str]]] = {}
    for account, write in accounts.items():
        identity = gcp.serviceaccount.Account(f"{name}-{account}", account_id=f"isf-{account}"[:30],
                                              display_name=f"{namespace}/{account}", project=project, opts=opts)
        gcp.serviceaccount.IAMMember(
            f"{name}-{account}-workload-identity", service_account_id=identity.name, role="roles/iam.workloadIdentityUser",
            member=f"serviceAccount:{project}.svc.id.goog[{namespace}/{account}]", opts=opts)
        gcp.storage.BucketIAMMember(
            f"{name}-{account}", bucket=bucket.name,
            role="roles/storage.objectAdmin" if write else "roles/storage.objectViewer",
            member=identity.email.apply(lambda email: f"serviceAccount:{email}"), opts=opts)
        annotations[account] = {GCP_SA_ANNOTATION: identity.email}
    return ArtifactStore(bucket.name.apply(lambda b: f"gs://{b}"), bucket.name, "gcs", annotations)
