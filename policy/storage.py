"""Storage guarantees: volumes and disks encrypted at rest, buckets never public."""

from __future__ import annotations

from policy.rule import Props, Rule, items, lookup

STORAGE_CLASS = "kubernetes:storage.k8s.io/v1:StorageClass"
EBS_VOLUME = "aws:ebs/volume:Volume"
RDS_CLUSTER = "aws:rds/cluster:Cluster"
S3_BUCKETS = ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")
S3_PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
S3_ACLS = ("aws:s3/bucketAclV2:BucketAclV2", "aws:s3/bucketAcl:BucketAcl")
GCS_BUCKET = "gcp:storage/bucket:Bucket"
GCS_BUCKET_IAM = ("gcp:storage/bucketIAMMember:BucketIAMMember", "gcp:storage/bucketIAMBinding:BucketIAMBinding")
_EBS_PROVISIONERS = ("ebs.csi.aws.com", "kubernetes.io/aws-ebs")
_PUBLIC_ACLS = ("public-read", "public-read-write", "authenticated-read")
_PUBLIC_MEMBERS = ("allUsers", "allAuthenticatedUsers")
_BLOCK_FLAGS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")


def storage_is_encrypted(resource_type: str, props: Props) -> list[str]:
    """EBS StorageClasses and volumes, and Aurora clusters, encrypt at rest (GCE persistent disks always do)."""
    if resource_type == STORAGE_CLASS:
        if lookup(props, "provisioner") in _EBS_PROVISIONERS and str(lookup(props, "parameters", "encrypted")) != "true":
            return ["EBS volumes of this StorageClass are not encrypted (parameters.encrypted: \"true\")"]
        return []
    key = "encrypted" if resource_type == EBS_VOLUME else "storageEncrypted"
    return [] if lookup(props, key) is True else [f"storage is not encrypted ({key}: true)"]


def buckets_are_private(resource_type: str, props: Props) -> list[str]:
    """No public ACL, every S3 public access block flag on, GCS public access prevention enforced, no allUsers."""
    if resource_type in S3_BUCKETS:
        acl = lookup(props, "acl")
        return [f"the bucket ACL {acl!r} makes it public"] if acl in _PUBLIC_ACLS else []
    if resource_type in S3_ACLS:
        acl = lookup(props, "acl")
        return [f"the bucket ACL {acl!r} makes it public"] if acl in _PUBLIC_ACLS else []
    if resource_type == S3_PUBLIC_ACCESS_BLOCK:
        off = [flag for flag in _BLOCK_FLAGS if lookup(props, flag) is not True]
        return [f"public access is not blocked: set {', '.join(off)} to true"] if off else []
    if resource_type == GCS_BUCKET:
        problems = []
        if lookup(props, "publicAccessPrevention") != "enforced":
            problems.append("public access prevention is not enforced (publicAccessPrevention: enforced)")
        if lookup(props, "uniformBucketLevelAccess") is not True:
            problems.append("object ACLs are allowed (uniformBucketLevelAccess: true)")
        return problems
    members = [lookup(props, "member"), *items(lookup(props, "members"))]
    public = sorted({m for m in members if m in _PUBLIC_MEMBERS})
    return [f"the bucket is granted to {', '.join(public)}"] if public else []


RULES = (
    Rule(
        "storage-encrypted",
        "EBS StorageClasses and volumes and Aurora clusters are encrypted at rest.",
        frozenset({STORAGE_CLASS, EBS_VOLUME, RDS_CLUSTER}),
        storage_is_encrypted,
    ),
    Rule(
        "buckets-private",
        "S3 and GCS buckets are never public: no public ACL or member, public access blocked or prevented.",
        frozenset({*S3_BUCKETS, *S3_ACLS, S3_PUBLIC_ACCESS_BLOCK, GCS_BUCKET, *GCS_BUCKET_IAM}),
        buckets_are_private,
    ),
)
