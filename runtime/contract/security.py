"""Security exceptions the program declares and the policy pack (policy/kubernetes.py) checks.

A namespace whose Pod Security Admission level is `privileged` (no restriction at all) must say why in the
`isf.io/security-exception` annotation: the reason is on the object itself, where `kubectl describe` and an
audit show it, and a namespace that loses its reason fails `pulumi preview --policy-pack policy`.
"""

from __future__ import annotations

# Pod Security Admission (kubernetes.io/docs/concepts/security/pod-security-admission): mode label and the level
# that allows everything.
POD_SECURITY_ENFORCE_LABEL = "pod-security.kubernetes.io/enforce"
POD_SECURITY_PRIVILEGED = "privileged"
SECURITY_EXCEPTION_ANNOTATION = "isf.io/security-exception"
