"""Errors raised by :class:`orq_nb.OrqClient`; none of them ever holds the API key."""

from __future__ import annotations

from orq_nb.errors import OrqError, OrqWarning

__all__ = ["OrqAuthError", "OrqNotFoundError", "OrqRateLimitError", "OrqAPIError", "OrqConnectionError",
           "OrqTimeoutError", "OrqRedirectError", "OrqPagingError", "FetchWarning"]


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


class OrqConnectionError(OrqAPIError):
    """No whole answer came: the connection failed, dropped, or the body was cut mid-way."""


class OrqTimeoutError(OrqAPIError):
    """A request (with its retries) or a whole call ran past its deadline.

    A server trickling its answer byte by byte is cut off at the deadline too.
    """


class OrqRedirectError(OrqAPIError):
    """The API answered with a redirect (3xx): never followed, its ``location`` is named."""

    def __init__(self, status: int, location: str, method: str = "", path: str = "") -> None:
        self.location = location
        super().__init__(status, f"redirected to {location!r}; check base_url (redirects are not "
                                 "followed: a POST would turn into a GET, and the key go elsewhere)",
                         method, path)


class OrqPagingError(OrqAPIError):
    """The list pages never end: a page repeats, or more pages come than the count allows."""


class FetchWarning(OrqWarning):
    """A fetch was capped by ``max_records``, or its total disagreed with the count."""
