"""HTTP to the orq.ai API: one pooled ``requests.Session``, retries, typed errors.

The API key lives only in :class:`_Secret` and in the ``Authorization`` header
of outgoing requests; reprs, messages and logs never contain it.
"""

from __future__ import annotations

import email.utils
import ipaddress
import json
import random
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter

from orq_nb.api.errors import OrqAPIError, OrqAuthError, OrqNotFoundError, OrqRateLimitError

__all__ = ["RetryPolicy", "Transport", "check_base_url"]

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
_EXCERPT = 200


class _Secret:
    """Holds the API key; prints as ``'***'``."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "'***'"

    __str__ = __repr__

    def __reduce__(self):
        raise TypeError("the API key cannot be pickled")


class _BearerAuth(requests.auth.AuthBase):
    def __init__(self, secret: _Secret) -> None:
        self._secret = secret

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self._secret.reveal()}"
        return request

    def __repr__(self) -> str:
        return "<bearer auth ***>"


def check_base_url(url: str) -> str:
    """Return ``url`` without a trailing slash; refuse plain http except to loopback."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"base_url must be an http(s) URL, not {url!r}")
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise ValueError(
            f"refusing plain http to {parts.hostname}: the API key would travel unencrypted; use https"
        )
    return url.rstrip("/")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter, bounded in attempts and in total time.

    A ``Retry-After`` header (seconds or an HTTP date) sets the wait instead,
    as long as it fits in what is left of ``max_elapsed``.
    """

    max_retries: int = 4
    initial: float = 0.5
    factor: float = 1.5
    cap: float = 30.0
    max_elapsed: float = 60.0

    def backoff(self, attempt: int) -> float:
        base = min(self.cap, self.initial * self.factor**attempt)
        return base * random.uniform(0.75, 1.25)


def retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP date)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def _message(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return body["message"]
    text = response.text.strip().replace("\n", " ")
    return text[:_EXCERPT] + ("..." if len(text) > _EXCERPT else "") or response.reason or "error"


def _reads(method: str, path: str) -> bool:
    """Whether a request only reads: GET, and the list and count POSTs, which change nothing."""
    return method == "GET" or (method == "POST" and path.rstrip("/").endswith(("/query", "/count")))


class Transport:
    """Sends requests to the API, retrying what is worth retrying."""

    def __init__(self, api_key: str, base_url: str, timeout: float | tuple, retry: RetryPolicy,
                 pool_size: int) -> None:
        self.base_url = check_base_url(base_url)
        self.timeout = timeout
        self.retry = retry
        self.session = requests.Session()
        self.session.auth = _BearerAuth(_Secret(api_key))
        self.session.headers.update({"Accept": "application/json", "User-Agent": "orq_nb"})
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=max(pool_size, 1), max_retries=0)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self._lock = threading.Lock()
        self.requests_sent = 0

    def __repr__(self) -> str:
        return f"Transport(base_url={self.base_url!r}, api_key='***')"

    def close(self) -> None:
        self.session.close()

    def request(self, method: str, path: str, body: Any = None, ok: tuple[int, ...] = (200,)) -> Any:
        """Send one request; return the decoded JSON (None for an empty answer)."""
        url = self.base_url + path
        start = time.monotonic()
        attempt = 0
        while True:
            with self._lock:
                self.requests_sent += 1
            try:
                response = self.session.request(method, url, json=body, timeout=self.timeout)
                response.content  # noqa: B018 - read the whole body here, where a cut is caught
            except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError,
                    requests.exceptions.ContentDecodingError) as error:
                # A body cut mid-way is retried only for reads: a write may have been applied.
                cut = isinstance(error, (requests.exceptions.ChunkedEncodingError,
                                         requests.exceptions.ContentDecodingError))
                wait = self._next_wait(attempt, start, None) if not cut or _reads(method, path) else None
                if wait is None:
                    raise OrqAPIError(None, f"{type(error).__name__} after {attempt + 1} attempts",
                                      method, path) from None
                time.sleep(wait)
                attempt += 1
                continue
            except requests.RequestException as error:  # redirect loops, bad URLs: never a raw requests error
                raise OrqAPIError(None, f"{type(error).__name__}: {error}", method, path) from None
            if response.status_code in RETRY_STATUSES:
                wait = self._next_wait(attempt, start, retry_after(response.headers.get("Retry-After")))
                if wait is not None:
                    response.close()
                    time.sleep(wait)
                    attempt += 1
                    continue
            return self._decode(response, method, path, ok)

    def _next_wait(self, attempt: int, start: float, hinted: float | None) -> float | None:
        if attempt >= self.retry.max_retries:
            return None
        wait = self.retry.backoff(attempt) if hinted is None else hinted
        if time.monotonic() - start + wait > self.retry.max_elapsed:
            return None
        return wait

    def _decode(self, response: requests.Response, method: str, path: str, ok: tuple[int, ...]) -> Any:
        status = response.status_code
        if status not in ok:
            message = _message(response)
            if status in (401, 403):
                raise OrqAuthError(status, message, method, path)
            if status == 404:
                raise OrqNotFoundError(status, message, method, path)
            if status == 429:
                raise OrqRateLimitError(status, message + " (rate limited; retries exhausted)", method, path)
            raise OrqAPIError(status, message, method, path)
        if not response.content:
            return None
        try:
            return json.loads(response.content)
        except ValueError:
            text = response.text[:_EXCERPT].replace("\n", " ")
            raise OrqAPIError(status, f"the answer is not valid JSON: {text!r}", method, path) from None
