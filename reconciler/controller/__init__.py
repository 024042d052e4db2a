"""The GitOps controller: a git source, a lease in AWS, the reconcile loop, metrics and health."""
