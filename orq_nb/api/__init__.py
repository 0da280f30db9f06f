"""Layer 3: the orq.ai REST API: transport (retries, the secret key), request bodies, the client."""

from orq_nb.api.client import DEFAULT_BASE_URL, OrqClient
from orq_nb.api.errors import (
    FetchWarning,
    OrqAPIError,
    OrqAuthError,
    OrqConnectionError,
    OrqNotFoundError,
    OrqPagingError,
    OrqRateLimitError,
    OrqRedirectError,
    OrqTimeoutError,
)

__all__ = [
    "DEFAULT_BASE_URL", "FetchWarning", "OrqAPIError", "OrqAuthError", "OrqClient", "OrqConnectionError",
    "OrqNotFoundError", "OrqPagingError", "OrqRateLimitError", "OrqRedirectError", "OrqTimeoutError",
]
