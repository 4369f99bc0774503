"""Which outlet an article belongs to: the one whose host serves it, never the one that linked it.

A feed or a redirect may point anywhere; filing the page under the outlet that linked it would let one
outlet publish under another's name (or a stranger's). The page's own URL, after redirects, decides.
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlsplit

from pipeline.config import OutletConfig
from spiders.politeness import host_port


def site_host(url: str) -> str:
    """host:port with the default port explicit and no ``www.``: how two spellings of a site compare."""
    return host_port(url).removeprefix("www.")


def owning_outlet(outlets: Sequence[OutletConfig], url: str, linking: str | None = None) -> str | None:
    """The name of the configured outlet that serves ``url``, or None when no outlet is on its host.

    Outlets sharing a host are told apart by their homepage path (the longest prefix wins); a page
    under none of their paths goes to the one at the host's root, and among equals to the linking one.
    """
    host = site_host(url)
    same_host = [o for o in outlets if site_host(str(o.homepage)) == host]
    if not same_host:
        return None
    path = urlsplit(url).path
    prefixed = [o for o in same_host if _path(o) and (path == _path(o) or path.startswith(_path(o) + "/"))]
    if prefixed:
        return max(prefixed, key=lambda o: len(_path(o))).name
    candidates = [o.name for o in same_host if not _path(o)] or [o.name for o in same_host]
    return linking if linking in candidates else candidates[0]


def discovered_outlet_name(url: str) -> str:
    """The name a page on no configured outlet's host is filed under: its host, as query discovery names
    the outlets it finds."""
    return urlsplit(url).netloc.lower()


def _path(outlet: OutletConfig) -> str:
    return urlsplit(str(outlet.homepage)).path.rstrip("/")
