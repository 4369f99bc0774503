"""What the spider hands on: archived pages, fetch events and discovered outlets (plain records)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from schemas.records import FetchedPage, make_storable
from spiders.politeness import without_credentials


@dataclass(frozen=True)
class ArchivedPage:
    """A fetched article page and where its bytes sit in this run's WARC file."""

    page: FetchedPage
    warc_file: str | None
    warc_offset: int | None


@dataclass(frozen=True)
class FetchEvent:
    """How one request ended: a row of the fetch log (``fetch_log`` table)."""

    url: str
    outlet: str | None
    status: int | None
    bytes: int
    elapsed_ms: float | None
    outcome: str  # ok, not-modified, http-404, blocked-by-robots, blocked-private-address, too-large...
    error: str | None
    fetched_at: datetime
    kind: str = "article"  # homepage, feed, sitemap, query, article
    # A feed or sitemap read in full: its entries, the newest entry's date and the median gap between
    # entries (``pipeline.health.listing_freshness``); None when it was not read (304, an error).
    entries: int | None = None
    newest_entry: datetime | None = None
    entry_gap_hours: float | None = None

    def __post_init__(self) -> None:
        # The fetch log on disk and in the warehouse never holds a user:password@ (a redirect's Location
        # may carry one) nor text no database can store.
        object.__setattr__(self, "url", without_credentials(self.url))
        if self.error:
            object.__setattr__(self, "error", without_credentials(self.error))
        make_storable(self)


@dataclass(frozen=True)
class DiscoveredOutlet:
    """An outlet found through query discovery, for ``outlets`` with ``discovered=True``."""

    name: str
    homepage: str
    homepage_host: str
    language: str | None
    country: str | None
    site_name: str | None = None  # the outlet's own name from its first page (og:site_name, publisher)
