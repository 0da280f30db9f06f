"""Errors raised by :class:`orq_nb.OrqClient`; none of them ever holds the API key."""

from __future__ import annotations

from orq_nb.errors import OrqError, OrqWarning

__all__ = ["OrqAuthError", "OrqNotFoundError", "OrqRateLimitError", "OrqAPIError", "FetchWarning"]


class OrqAPIError(OrqError):
    """The API answered with an error, or with a body that is not the JSON promised.

    Attributes
    ----------
    status : int or None
        HTTP status (None when no answer came, e.g. the connection kept failing).
    message : str
        The server's message, or a short excerpt of what it sent.
    """

    def __init__(self, status: int | None, message: str, method: str = "", path: str = "") -> None:
        self.status, self.message, self.method, self.path = status, message, method, path
        where = f"{method} {path}: " if method else ""
        code = f"HTTP {status}" if status is not None else "no answer"
        super().__init__(f"{where}{code}: {message}")


class OrqAuthError(OrqAPIError):
    """401 or 403: the API key is missing, wrong, or not allowed to do this."""

    def __init__(self, status: int, message: str, method: str = "", path: str = "") -> None:
        hint = " (check the key given as api_key= or in ORQ_API_KEY)"
        super().__init__(status, message + hint, method, path)


class OrqNotFoundError(OrqAPIError):
    """404: no such session (or endpoint)."""


class OrqRateLimitError(OrqAPIError):
    """429 still answered after every retry."""


class FetchWarning(OrqWarning):
    """A fetch was capped by ``max_records``, or its total disagreed with the count."""
