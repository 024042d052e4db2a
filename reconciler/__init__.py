"""reconciler: keeps an AWS machine-learning environment converged to YAML manifests in git."""

__version__ = "0.1.0"
