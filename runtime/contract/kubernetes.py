"""Kubernetes names both sides use: namespaces, the labels controllers select on, the annotations they patch."""

from __future__ import annotations

# Namespaces (defaults of the stack config; the services learn the real ones from the environment).
PLATFORM_NAMESPACE = "serverless-system"
FUNCTIONS_NAMESPACE = "functions"

# Labels the program puts on what it deploys and the controllers select on.
FUNCTION_LABEL = "isf.io/function"  # a Knative Service that runs a function: value = the function id
WORKLOAD_TIER_LABEL = "isf.io/tier"  # the tier a workload was declared on; a function's follows placement's moves
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY = "isf"
SETTINGS_HASH_ANNOTATION = "isf.io/settings-sha256"  # rolls the control plane when settings change

# Knative Serving: the API the warming and placement services patch, and its autoscaling annotations.
KNATIVE_GROUP = "serving.knative.dev"
KNATIVE_VERSION = "v1"
AUTOSCALING_PREFIX = "autoscaling.knative.dev"
MIN_SCALE = f"{AUTOSCALING_PREFIX}/min-scale"
MAX_SCALE = f"{AUTOSCALING_PREFIX}/max-scale"
SCALE_DOWN_DELAY = f"{AUTOSCALING_PREFIX}/scale-down-delay"
# Labels Knative puts on every Revision (knative/serving knative-v1.23.0): the owning Service's name
# (`pkg/reconciler/configuration/resources/revision.go`, updateRevisionLabels) and whether a Route
# references it (`pkg/reconciler/labeler/accessors.go`, markRoutingState: "active", else "reserve").
# A Revision also carries its template's labels, so the function label selects a function's Revisions.
SERVICE_LABEL = f"{KNATIVE_GROUP}/service"
ROUTING_STATE_LABEL = f"{KNATIVE_GROUP}/routingState"
ROUTING_STATE_ACTIVE = "active"
ROUTING_STATE_RESERVE = "reserve"
# A list of only the objects' metadata (kind PartialObjectMetadataList, apiVersion meta.k8s.io/v1,
# each item a PartialObjectMetadata: apiVersion, kind, metadata), negotiated by the Accept header as
# client-go's metadata client does (kubernetes/client-go `metadata/metadata.go`, the
# `PartialObjectMetadataList` media-type parameters). The API server converts any list, custom resources
# included, in its generic list handler (kubernetes/kubernetes `staging/src/k8s.io/apiserver/pkg/endpoints/
# handlers/response.go`: `transformObject` -> `asPartialObjectMetadataList`, which keeps each item's metadata
# and the list's resourceVersion; read at the stored snapshot, there since Kubernetes 1.15, before the 1.33 we
# pin). The trailing `application/json` lets a server that cannot convert answer with the whole objects. Warming reads only Revisions' names, labels and
# annotations, so it asks for this and skips decoding every Revision's spec and status.
METADATA_LIST_KIND = "PartialObjectMetadataList"
METADATA_LIST_ACCEPT = f"application/json;as={METADATA_LIST_KIND};g=meta.k8s.io;v=v1, application/json"
