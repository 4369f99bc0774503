"""Politeness and safety decisions of the crawler, as small pure functions.

The Scrapy middlewares in ``spiders/middlewares.py`` call these; they hold no state of their own so each
decision can be tested with plain values.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
import socket
from collections.abc import Collection, Mapping
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

from pipeline.normalise.identity import url_hash
from schemas.timestamps import as_utc

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
    return min(max((as_utc(moment) - now).total_seconds(), 0.0), cap)


def is_private_host(host: str) -> bool:
    """True for loopback, private, link-local and other non-public literal addresses (and localhost).

    Only the spelling is read here, so this is a first, cheap refusal; the decision that counts is
    ``address_refusal`` on the addresses the resolver returns, since the resolver reads spellings that
    ``ipaddress`` does not (``127.1``, ``2130706433``, ``0x7f.1``, ``0177.0.0.1``).
    """
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return not is_public_address(str(address))


def is_public_address(address: str) -> bool:
    """True for a globally routable IP address (an IPv4-mapped IPv6 address is judged as its IPv4)."""
    try:
        parsed = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    mapped = getattr(parsed, "ipv4_mapped", None)
    return (mapped or parsed).is_global and not (mapped or parsed).is_multicast


def resolved_addresses(host: str) -> list[str]:
    """Every address the system resolver gives for ``host`` (raises ``OSError`` when there is none)."""
    infos = socket.getaddrinfo(host.strip("[]"), None, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def address_refusal(url: str, addresses: Collection[str], trusted_host_ports: Collection[str]) -> str | None:
    """Why ``url`` must not be fetched given the addresses its host resolves to, or None.

    Every address must be public, unless the URL's host:port is configured (an outlet, the query API,
    an outlet it listed): a name with one private address among public ones is refused too, since the
    connection could go to any of them.
    """
    if not addresses:
        return "dns-error"
    if host_port(url) in trusted_host_ports:
        return None
    return None if all(is_public_address(a) for a in addresses) else "blocked-private-address"


def host_port(url: str) -> str:
    """``host:port`` with the scheme's default port made explicit, so both spellings compare equal."""
    parts = urlsplit(url)
    default = 443 if parts.scheme == "https" else 80
    return f"{(parts.hostname or '').lower()}:{parts.port or default}"


# Scrapy's own limit (URLLENGTH_LIMIT) drops a longer URL without a trace; this one refuses it by name.
MAX_URL_LENGTH = 2083


def refusal_reason(url: str, trusted_host_ports: Collection[str]) -> str | None:
    """Why the crawler must not fetch ``url`` (an outcome kind), or None when it may.

    The operator's config is the trust boundary: a private or loopback address is fetched only when its
    host:port is a configured outlet, the configured query API, or an outlet that API listed. This
    reads the URL alone; ``address_refusal`` then judges the addresses its host resolves to.
    """
    if len(url) > MAX_URL_LENGTH:
        return "url-too-long"
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


# user:password@ after a scheme's "//": never written to a log, a file or a table.
_USERINFO = re.compile(r"(?<=//)[^/@\s]*@")


def without_credentials(text: str) -> str:
    """``text`` (a URL, or a message that quotes URLs) with every ``user:password@`` removed."""
    return _USERINFO.sub("", text) if "@" in text else text
