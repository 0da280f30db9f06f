"""Layer 3: the orq.ai REST API: transport (retries, the secret key), request bodies, the client."""

from orq_nb.api.client import DEFAULT_BASE_URL, OrqClient

__all__ = ["DEFAULT_BASE_URL", "OrqClient"]
