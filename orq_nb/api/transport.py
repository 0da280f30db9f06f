"""HTTP to the orq.ai API: one pooled ``requests.Session``, retries, typed errors.

The API key lives only in :class:`_Secret` and in the ``Authorization`` header
of outgoing requests; reprs, messages and logs never contain it.
"""

from __future__ import annotations

import email.utils
import ipaddress
import json
import logging
import math
import random
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pandas as pd
import requests
import urllib3
from requests.adapters import HTTPAdapter

from orq_nb.errors import (
    OrqAPIError,
    OrqAuthError,
    OrqConnectionError,
    OrqNotFoundError,
    OrqRateLimitError,
    OrqRedirectError,
    OrqTimeoutError,
)

__all__ = ["Call", "_Cancelled", "RetryPolicy", "Transport", "check_base_url", "GONE"]

log = logging.getLogger("orq_nb")

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


def _message(response: requests.Response, mask) -> str:
    """The server's message, masked by ``mask`` before it is cut short (a cut key would show)."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return mask(body["message"])
    text = mask(response.text).strip().replace("\n", " ")
    return text[:_EXCERPT] + ("..." if len(text) > _EXCERPT else "") or response.reason or "error"


def _reads(method: str, path: str) -> bool:
    """Whether a request only reads: GET, and the POSTs that change nothing (list, count, traces search,
    reporting)."""
    path = path.rstrip("/")
    return method == "GET" or (method == "POST" and (path.endswith(("/query", "/count", "/traces/search"))
                                                     or path == "/v2/reporting"))


class _Cancelled(Exception):
    """The call was interrupted (Ctrl-C): no new request is sent."""


class Call:
    """What bounds one client call: an optional deadline, and a flag set when it is interrupted.

    Every request of the call (on any thread) checks the flag before it is sent and
    waits on it instead of sleeping, so an interrupted call sends nothing more and
    its waits end at once.
    """

    def __init__(self, deadline: float | None = None) -> None:
        self.ends = None if deadline is None else time.monotonic() + deadline
        self.cancelled = threading.Event()

    def cancel(self) -> None:
        self.cancelled.set()


class _Expired(Exception):
    """An attempt ran past its wall-clock bound."""


class _Pacer:
    """Slows requests down before the rate limit is hit, from ``X-RateLimit-Remaining`` / ``-Reset``.

    Each answer says how many requests the window has left and when it resets;
    requests still in flight are counted against it. With none left, the next
    request waits for the reset instead of earning a 429. ``-Reset`` is read as
    seconds from now, or as a Unix time when it is that large (the API does not
    say which it sends).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.remaining: int | None = None
        self.resets: float | None = None
        self.in_flight = 0
        self.paused = 0.0  # seconds spent waiting for a window, in all

    def before(self, wait, ends: float) -> None:
        """Wait, if the window has nothing left, for its reset; never past ``ends``."""
        while True:
            with self._lock:
                now = time.monotonic()
                if self.remaining is None or self.resets is None or now >= self.resets or self.remaining > 0:
                    if self.remaining is not None and self.resets is not None and now < self.resets:
                        self.remaining -= 1
                    self.in_flight += 1
                    return
                pause = self.resets - now + 0.01
                if now + pause > ends:
                    raise OrqTimeoutError(None, f"the rate limit's window resets in {pause:.1f} s, past the "
                                                "deadline")
                self.paused += pause
            log.info("rate limit: none left in this window, pausing %.2f s until it resets", pause)
            wait(pause)

    def after(self, headers) -> None:
        with self._lock:
            self.in_flight -= 1
            left, reset = headers.get("X-RateLimit-Remaining"), headers.get("X-RateLimit-Reset")
            if left is None or reset is None:
                return
            try:
                left, reset = int(left), float(reset)
            except ValueError:
                return
            if not math.isfinite(reset) or reset < 0:
                return
            seconds = reset - time.time() if reset > 1e9 else reset
            resets = time.monotonic() + max(seconds, 0.0)
            left -= self.in_flight  # requests still out will count against it too
            same = self.resets is not None and abs(resets - self.resets) < 0.5 and self.remaining is not None
            # Answers come back out of order: within one window, the lowest figure is the true one.
            self.remaining = min(self.remaining, left) if same else left
            self.resets = resets if not same else min(self.resets, resets)

    def abandon(self) -> None:
        with self._lock:
            self.in_flight -= 1


class Transport:
    """Sends requests to the API, retrying what is worth retrying.

    Each attempt is bounded in wall-clock time by ``timeout`` (connect + read when a
    tuple), body included, however slowly it trickles in; each request with its
    retries by ``retry.max_elapsed``; a whole call by its :class:`Call`'s deadline.
    Redirects are never followed. A loopback base URL never goes through a proxy.
    Retries and waits are logged to the ``orq_nb`` logger; the key is masked in
    every message that could carry it.
    """

    def __init__(self, api_key: str, base_url: str, timeout: float | tuple, retry: RetryPolicy,
                 pool_size: int) -> None:
        api_key = api_key.strip()  # a key read from a file often ends with a newline
        if not api_key or not all(" " < c < "\x7f" for c in api_key):
            raise OrqAuthError(401, "the API key holds characters a key cannot have (spaces, line "
                                    "breaks, non-ASCII); check ORQ_API_KEY or api_key=")
        self.base_url = check_base_url(base_url)
        self.timeout = timeout
        self.retry = retry
        self.session = requests.Session()
        self._secret = _Secret(api_key)
        self.session.auth = _BearerAuth(self._secret)
        self.session.headers.update({"Accept": "application/json", "User-Agent": "orq_nb"})
        if _is_loopback(urlsplit(self.base_url).hostname or ""):
            # HTTP(S)_PROXY must not see loopback traffic: plain http there carries the key in clear.
            self.session.trust_env = False
            self.session.proxies = {"http": None, "https": None}
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=max(pool_size, 1), max_retries=0)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self._lock = threading.Lock()
        self.requests_sent = 0
        #: The server's time (its ``Date`` header, to the second) at its latest answer.
        self.server_time: pd.Timestamp | None = None
        self.pacer = _Pacer()

    def __repr__(self) -> str:
        return f"Transport(base_url={self.base_url!r}, api_key='***')"

    def close(self) -> None:
        self.session.close()

    def mask(self, text: str) -> str:
        """``text`` with the API key replaced by ``***``."""
        key = self._secret.reveal()
        return text.replace(key, "***") if key and key in text else text

    def _bound(self) -> float:
        """One attempt's wall-clock bound: connect + read (``None`` means no bound of its own)."""
        parts = self.timeout if isinstance(self.timeout, tuple) else (self.timeout,)
        return math.inf if any(p is None for p in parts) else float(sum(parts))

    def request(self, method: str, path: str, body: Any = None, ok: tuple[int, ...] = (200,),
                call: Call | None = None, retry_5xx: bool = True) -> Any:
        """Send one request; return the decoded JSON (None for an empty answer).

        ``retry_5xx=False``: a 5xx answer is raised at once, not retried (a write the server may have done
        before failing, which the caller checks before sending again); a 429 is retried still.
        """
        url = self.base_url + path
        start = time.monotonic()
        ends = start + self.retry.max_elapsed
        if call is not None and call.ends is not None:
            ends = min(ends, call.ends)
        attempt, lost = 0, False
        while True:
            if call is not None and call.cancelled.is_set():
                raise _Cancelled()
            if time.monotonic() >= ends:
                raise OrqTimeoutError(None, f"no answer within the deadline ({attempt} attempts)",
                                      method, path)
            self.pacer.before(lambda seconds: self._wait(seconds, call), ends)
            with self._lock:
                self.requests_sent += 1
            try:
                try:
                    response = self._attempt(method, url, body, min(ends, time.monotonic() + self._bound()))
                except BaseException:
                    self.pacer.abandon()
                    raise
                self.pacer.after(response.headers)
            except (_Expired, requests.Timeout) as error:
                failure, reason = OrqTimeoutError, "timed out"
                unsent = isinstance(error, requests.ConnectTimeout)
            except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError,
                    requests.exceptions.ContentDecodingError, urllib3.exceptions.HTTPError) as error:
                failure, reason = OrqConnectionError, type(error).__name__
                unsent = "NewConnectionError" in repr(error)  # refused: nothing reached the server
            except (requests.RequestException, ValueError, UnicodeError) as error:
                # Bad URLs and the like; a header value http.client refuses: never a raw error, and
                # never its text when it may quote the Authorization header.
                failure, reason, unsent = OrqAPIError, type(error).__name__, True
                if isinstance(error, requests.RequestException) and not isinstance(error, ValueError):
                    reason = self.mask(f"{reason}: {error}")
            else:
                if response.status_code in RETRY_STATUSES and (retry_5xx or response.status_code == 429):
                    hinted = retry_after(response.headers.get("Retry-After"))
                    wait = self._next_wait(attempt, ends, hinted)
                    if wait is not None:
                        self._retry_after_wait(method, path, f"HTTP {response.status_code}", wait, attempt,
                                               call)
                        attempt += 1
                        continue
                if lost and method == "DELETE" and response.status_code == 404:
                    log.warning("%s %s: the first answer was lost and the retry found the session gone: "
                                "counted as deleted by this call", method, path)
                    return GONE
                return self._decode(response, method, path, ok)
            if failure is OrqAPIError:
                raise OrqAPIError(None, reason, method, path)  # outside the except: no __context__
            # No whole answer. Reads and DELETEs are retried (a DELETE that then finds nothing was
            # this call's: see GONE). Any other write is retried only when it never reached the
            # server (no connection); otherwise it may have been applied, and the caller decides.
            again = _reads(method, path) or method == "DELETE" or unsent
            wait = self._next_wait(attempt, ends, None) if again else None
            if wait is None:
                break
            lost = lost or not unsent
            self._retry_after_wait(method, path, reason, wait, attempt, call)
            attempt += 1
        # Raised here, outside any except block: the requests error (which holds the request and its
        # headers) is not kept as this error's __context__.
        tries = f"{attempt + 1} attempts" if attempt else "1 attempt"
        raise failure(None, f"{reason} after {tries}", method, path)

    def _attempt(self, method: str, url: str, body: Any, ends: float) -> requests.Response:
        """One exchange, its body read as it arrives and abandoned at ``ends``."""
        left = ends - time.monotonic()
        if left <= 0:
            raise _Expired()
        connect, read = self.timeout if isinstance(self.timeout, tuple) else (self.timeout, self.timeout)
        connect = left if connect is None else min(connect, left)
        read = left if read is None else min(read, left)
        response = self.session.request(method, url, json=body, stream=True, allow_redirects=False,
                                        timeout=(connect, read))
        chunks = []
        try:
            while True:
                if time.monotonic() > ends:
                    raise _Expired()
                chunk = response.raw.read1(1 << 16, decode_content=True)  # gzip, as sent
                if not chunk:
                    break
                chunks.append(chunk)
        except BaseException:
            response.close()
            raise
        response._content = b"".join(chunks)
        response._content_consumed = True
        response.close()
        stamp = response.headers.get("Date")
        if stamp:
            try:
                self.server_time = pd.Timestamp(email.utils.parsedate_to_datetime(stamp)).tz_convert("UTC")
            except (TypeError, ValueError):
                pass
        return response

    def _retry_after_wait(self, method: str, path: str, why: str, wait: float, attempt: int,
                          call: Call | None) -> None:
        """Say on the ``orq_nb`` logger why and how long, then wait before the next attempt."""
        log.info("%s %s: %s, retrying in %.1f s (attempt %d of %d)", method, path, why, wait, attempt + 2,
                 self.retry.max_retries + 1)
        self._wait(wait, call)

    def _wait(self, seconds: float, call: Call | None) -> None:
        """Sleep, or less: an interrupted call stops waiting at once."""
        if call is None:
            time.sleep(seconds)
        elif call.cancelled.wait(seconds):
            raise _Cancelled()

    def _next_wait(self, attempt: int, ends: float, hinted: float | None) -> float | None:
        if attempt >= self.retry.max_retries:
            return None
        wait = self.retry.backoff(attempt) if hinted is None else hinted
        if time.monotonic() + wait > ends:
            return None
        return wait

    def _decode(self, response: requests.Response, method: str, path: str, ok: tuple[int, ...]) -> Any:
        status = response.status_code
        if 300 <= status < 400:
            raise OrqRedirectError(status, self.mask(response.headers.get("Location", "")), method, path)
        if status not in ok:
            message = _message(response, self.mask)
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
            text = self.mask(response.text)[:_EXCERPT].replace("\n", " ")
            raise OrqAPIError(status, f"the answer is not valid JSON: {text!r}", method, path) from None


#: What a DELETE answers when its first answer was lost and the retry found nothing to delete.
GONE = object()
