"""Kubernetes clusters (EKS, GKE, existing) with tiered and GPU node pools.

Import the concrete modules (`components.cluster.eks`, `.gke`, `.existing`, `.scheduling`); this
package stays import-light so workload builders can use `scheduling` without loading cloud SDKs.
"""
