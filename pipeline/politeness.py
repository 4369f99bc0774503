"""Politeness and safety decisions of the crawler, as small pure functions.

The Scrapy middlewares in ``spiders/middlewares.py`` call these; they hold no state of their own so each
decision can be tested with plain values.
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Collection, Mapping
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

from pipeline.identity import url_hash

# NewsDiffs-style re-check schedule: an article that changed recently is checked often, an old one rarely.
RECHECK_SCHEDULE: tuple[tuple[timedelta, timedelta], ...] = (
    (timedelta(hours=1), timedelta(minutes=15)),
    (timedelta(days=1), timedelta(hours=1)),
    (timedelta(days=3), timedelta(hours=6)),
    (timedelta(days=7), timedelta(days=1)),
)
RECHECK_WHEN_OLDER = timedelta(days=7)


def recheck_interval(last_change_age: timedelta) -> timedelta:
    """How long to wait before re-fetching an article whose content last changed ``last_change_age`` ago."""
    for age_limit, interval in RECHECK_SCHEDULE:
        if last_change_age < age_limit:
            return interval
    return RECHECK_WHEN_OLDER


def next_check_at(now: datetime, last_changed_at: datetime) -> datetime:
    return now + recheck_interval(max(now - last_changed_at, timedelta(0)))


def is_due(cache_entry: Mapping[str, str] | None, now: datetime) -> bool:
    """An article URL is fetched when never seen, or when its scheduled re-check time has come."""
    if not cache_entry or not cache_entry.get("next_check_at"):
        return True
    return datetime.fromisoformat(cache_entry["next_check_at"]) <= now


def conditional_headers(cache_entry: Mapping[str, str] | None) -> dict[str, str]:
    """If-None-Match / If-Modified-Since from what the last fetch of this URL answered (RFC 9110 13.1)."""
    if not cache_entry:
        return {}
    headers = {}
    if cache_entry.get("etag"):
        headers["If-None-Match"] = cache_entry["etag"]
    if cache_entry.get("last_modified"):
        headers["If-Modified-Since"] = cache_entry["last_modified"]
    return headers


def body_hash(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def updated_cache_entry(
    previous: Mapping[str, str] | None,
    url: str,
    *,
    status: int,
    etag: str | None,
    last_modified: str | None,
    content_hash: str | None,
    now: datetime,
) -> dict[str, str | None]:
    """The ``http_cache`` row after a 200 or 304 answer (times as ISO strings: the state travels as JSON)."""
    previous = previous or {}
    unchanged = status == 304 or (content_hash is not None and content_hash == previous.get("body_hash"))
    last_changed = (
        datetime.fromisoformat(previous["last_changed_at"])
        if unchanged and previous.get("last_changed_at")
        else now
    )
    return {
        "url": url,
        "url_hash": url_hash(url),
        "etag": etag or previous.get("etag"),
        "last_modified": last_modified or previous.get("last_modified"),
        "body_hash": previous.get("body_hash") if status == 304 else content_hash,
        "first_fetched_at": previous.get("first_fetched_at") or now.isoformat(),
        "last_fetched_at": now.isoformat(),
        "last_changed_at": last_changed.isoformat(),
        "next_check_at": next_check_at(now, last_changed).isoformat(),
    }


def retry_after_seconds(header_value: str | None, now: datetime, cap: float) -> float | None:
    """Seconds a 429/503 asks us to wait (delta-seconds or an HTTP date, RFC 9110 10.2.3), capped."""
    if not header_value:
        return None
    value = header_value.strip()
    if value.isdigit():
        return min(float(value), cap)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return min(max((moment - now).total_seconds(), 0.0), cap)


def is_private_host(host: str) -> bool:
    """True for loopback, private, link-local and other non-public literal addresses (and localhost).

    Host *names* are not resolved here: a public name that resolves to a private address is a known gap
    (DNS rebinding), covered in production by network egress rules.
    """
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return not address.is_global


def host_port(url: str) -> str:
    """``host:port`` with the scheme's default port made explicit, so both spellings compare equal."""
    parts = urlsplit(url)
    default = 443 if parts.scheme == "https" else 80
    return f"{(parts.hostname or '').lower()}:{parts.port or default}"


def refusal_reason(url: str, trusted_host_ports: Collection[str]) -> str | None:
    """Why the crawler must not fetch ``url`` (an outcome kind), or None when it may.

    The operator's config is the trust boundary: a private or loopback address is fetched only when its
    host:port is a configured outlet, the configured query API, or an outlet that API listed.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        return "unsupported-scheme"
    if not parts.hostname:
        return "invalid-url"
    if parts.username is not None or parts.password is not None:
        return "credentials-in-url"  # e.g. a redirect's Location: never sent on, never stored
    if is_private_host(parts.hostname) and host_port(url) not in trusted_host_ports:
        return "blocked-private-address"
    return None
