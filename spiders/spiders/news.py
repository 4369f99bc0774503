"""The news spider: finds the outlets' articles through feeds, sitemaps, homepages and a query API.

One crawl serves every configured story: an entry is followed when its date lies inside at least one
story's window (or it has none), and the query API is asked once per story that uses it.

It stays thin: every decision (what a feed says, which entries are in the story window, whether an
article is due for a re-check, whether an address is safe) is a function in ``spiders.discovery`` or
``spiders.politeness``. It fetches and hands raw pages on as ``ArchivedPage`` items, and every request
ends in exactly one ``FetchEvent``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from urllib.parse import urlsplit

import scrapy
from scrapy import Request, signals
from scrapy.exceptions import DontCloseSpider, IgnoreRequest
from scrapy.http import Response, TextResponse
from scrapy.utils.gz import gunzip
from twisted.internet.error import ConnectionRefusedError as TwistedConnectionRefused
from twisted.internet.error import TimeoutError as TwistedTimeout

from pipeline.config import OutletConfig, load_config
from schemas.records import FeedEntry, FetchedPage
from spiders import attribution, budget, discovery, politeness
from spiders.items import ArchivedPage, DiscoveredOutlet, FetchEvent
from spiders.middlewares import RefusedRequest
from spiders.state import crawl_state_for

try:  # Scrapy >= 2.13 names its download errors; older ones surface Twisted's
    from scrapy.exceptions import DownloadCancelledError, DownloadConnectionRefusedError, DownloadTimeoutError
except ImportError:  # pragma: no cover
    DownloadCancelledError = DownloadConnectionRefusedError = DownloadTimeoutError = ()  # type: ignore


@dataclass(frozen=True)
class ArticleLead:
    """An article URL some strategy found, not yet requested."""

    outlet: str
    discovered_via: str
    entry: FeedEntry | None


class NewsSpider(scrapy.Spider):
    name = "news"

    def __init__(self, config_dir: str, outlets: str = "", **kwargs):
        super().__init__(**kwargs)
        self.config = load_config(config_dir)
        wanted = {name for name in outlets.split("\n") if name}
        self.outlets = [o for o in self.config.outlets if not wanted or o.name in wanted]
        self.asks_query_api = self.config.asks_query_api(wanted)
        self.windows = [story.window for story in self.config.stories]  # entries any story could want
        self.requested: set[str] = set()
        self.fallback_leads: dict[str, ArticleLead] = {}
        self.articles_per_outlet: Counter[str] = Counter()
        self.discovered_hosts: set[str] = set()
        self.discovered_rows: dict[str, dict] = {}  # host key -> its outlets row, until a page names it
        # Scrapy checks a generator callback's source for `return <value>` on every response and caches
        # the answer under a weak reference to the callback. A bound method made afresh for each request
        # dies with it, so the source was parsed again for every page: each callback is made once here.
        self.kept_callbacks: dict[str, Callable] = {}

    @classmethod
    def from_crawler(cls, crawler, *args, **kwargs):
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.state = crawl_state_for(crawler)
        crawler.signals.connect(spider.on_robots_parsed, signal=signals.robots_parsed)
        crawler.signals.connect(spider.on_idle, signal=signals.spider_idle)
        return spider

    # Entry points ---------------------------------------------------------------------------------
    async def start(self):
        for outlet in self.outlets:
            yield self._request(
                str(outlet.homepage), self.parse_homepage, outlet.name, "homepage", unconditional=True
            )
            for feed in outlet.feeds:
                yield self._request(str(feed), self.parse_feed, outlet.name, "feed")
            for sitemap in outlet.sitemaps:
                yield self._request(str(sitemap), self.parse_sitemap, outlet.name, "sitemap")
        for url in self._query_urls():
            yield self._request(url, self.parse_query, None, "query", unconditional=True)

    def _query_urls(self) -> list[str]:
        api = self.config.settings.crawl.query_api
        if not (api and self.asks_query_api):
            return []
        urls = (
            url for story in self.config.query_stories() for url in discovery.query_api_urls(str(api), story)
        )
        return list(dict.fromkeys(urls))

    def on_robots_parsed(self, robotparser, request: Request) -> None:
        """robots.txt ``Sitemap:`` lines of a configured outlet (read by Scrapy's robots middleware)."""
        outlet = self.config.outlet_for_url(request.url)
        sitemaps = getattr(getattr(robotparser, "rp", None), "sitemaps", None) or ()
        if outlet is None or outlet not in self.outlets:
            return
        for url in sitemaps:
            self.crawler.engine.crawl(self._request(url, self.parse_sitemap, outlet.name, "sitemap"))

    def on_idle(self) -> None:
        """Homepage links and query hits at configured outlets are a fallback: fetched once feeds and
        sitemaps have had their say, so an article keeps the richer feed context when it has one."""
        leads, self.fallback_leads = self.fallback_leads, {}
        scheduled = 0
        for url, lead in leads.items():
            for request in self._article_requests(url, lead):
                self.crawler.engine.crawl(request)
                scheduled += 1
        if scheduled:
            raise DontCloseSpider

    # Callbacks ----------------------------------------------------------------------------------------
    def parse_homepage(self, response: Response, outlet: str, kind: str):
        yield self._event(response, outlet, kind)
        if response.status != 200:
            return
        html = _text(response)
        for feed_url in discovery.feed_urls_from_html(html, response.url):
            yield self._request_or_outcome(feed_url, self.parse_feed, outlet, "feed")
        for link in discovery.article_links_from_html(html, response.url):
            self.fallback_leads.setdefault(link, ArticleLead(outlet, "homepage", None))

    def parse_feed(self, response: Response, outlet: str, kind: str):
        if response.status != 200:
            yield self._event(response, outlet, kind)
            return
        parsed = discovery.parse_feed(response.body, response.url, _header(response, b"Content-Type"))
        yield self._listing_event(response, outlet, kind, parsed)
        if parsed.entries_without_link:
            self.crawler.stats.inc_value("framewatch/skipped/entry-without-link", parsed.entries_without_link)
        for entry in parsed.entries:
            yield from self._follow(entry, outlet, "feed")

    def parse_sitemap(self, response: Response, outlet: str, kind: str, depth: int = 0):
        if response.status != 200:
            yield self._event(response, outlet, kind)
            return
        try:
            body = _maybe_gunzip(response.body, self.settings.getint("DOWNLOAD_MAXSIZE"))
        except (ValueError, OSError, EOFError) as exc:
            # ValueError: a .xml.gz that inflates past the size cap (a gzip bomb); the others: broken gzip
            outcome = "too-large" if isinstance(exc, ValueError) else "malformed-sitemap"
            yield self._event(response, outlet, kind, outcome, f"{type(exc).__name__}: {exc}"[:500])
            return
        parsed = discovery.parse_sitemap(body)
        yield self._listing_event(response, outlet, kind, parsed)
        for child in self._children_to_follow(parsed.child_sitemaps, response.url, depth):
            yield self._request_or_outcome(child, self.parse_sitemap, outlet, "sitemap", depth=depth + 1)
        for entry in parsed.entries:
            if discovery.same_site(entry.url, response.url):
                yield from self._follow(entry, outlet, "sitemap")
            else:  # the sitemaps protocol: a sitemap lists its own site's URLs only
                self.crawler.stats.inc_value("framewatch/skipped/off-site-sitemap-entry")

    def _children_to_follow(self, children: tuple[str, ...], sitemap_url: str, depth: int) -> list[str]:
        """Same-site child sitemaps within the depth and breadth budgets; the rest are counted."""
        same_site = [c for c in children if discovery.same_site(c, sitemap_url)]
        left = (
            {"off-site-sitemap-entry": len(children) - len(same_site)}
            if len(same_site) < len(children)
            else {}
        )
        followed, over = budget.sitemap_children_to_follow(
            same_site,
            depth,
            self.settings.getint("FRAMEWATCH_SITEMAP_MAX_DEPTH", 3),
            self.settings.getint("FRAMEWATCH_SITEMAP_MAX_CHILDREN", 500),
        )
        for reason, count in {**left, **over}.items():
            self.crawler.stats.inc_value(f"framewatch/skipped/{reason}", count)
        return followed

    def parse_query(self, response: Response, outlet: None, kind: str):
        hits, error = discovery.parse_query_hits(response.body) if response.status == 200 else ([], None)
        yield self._event(response, outlet, kind, error.split(":")[0] if error else None, error)
        for hit in hits:
            if not discovery.in_any_window(hit.entry.published, self.windows):
                self.crawler.stats.inc_value("framewatch/skipped/out-of-window")
                continue
            yield from self._query_hit(hit)

    def _query_hit(self, hit: discovery.QueryHit):
        configured = self.config.outlet_for_url(hit.url)
        url = discovery.crawl_url(hit.url)
        if configured is not None:
            if configured in self.outlets:
                self.fallback_leads.setdefault(url, ArticleLead(configured.name, "query", hit.entry))
            return
        # The configured query API vouches for the outlets it lists (see politeness.refusal_reason).
        self.state.trusted_host_ports.add(politeness.host_port(url))
        outlet = discovery.discovered_outlet(hit)
        if outlet["name"] not in self.discovered_hosts:
            self.discovered_hosts.add(outlet["name"])
            self.discovered_rows[outlet["name"]] = {k: v for k, v in outlet.items() if k != "discovered"}
            yield DiscoveredOutlet(**self.discovered_rows[outlet["name"]])
        yield from self._article_requests(url, ArticleLead(outlet["name"], "query", hit.entry))

    def parse_article(self, response: Response, outlet: str, kind: str, via: str, entry: FeedEntry | None):
        event = self._event(response, outlet, kind)
        yield event
        if response.status not in (200, 304):
            self._remember_failure(response.request.url, event.outcome)
        if response.status != 200:
            return
        owner = yield from self._owner(response.url, outlet)
        if owner in self.discovered_rows:  # the first page of a discovered outlet names it
            name = discovery.site_name(response.body)
            if name:
                yield DiscoveredOutlet(**self.discovered_rows.pop(owner), site_name=name)
        page = FetchedPage(
            url=response.url,
            requested_url=(response.meta.get("redirect_urls") or [response.request.url])[0],
            status=response.status,
            headers=_headers(response),
            body=response.body,
            fetched_at=datetime.now(UTC),
            outlet=owner,
            discovered_via=via,
            feed_entry=entry,
            warc_record_id=response.meta.get("warc_record_id"),
        )
        yield ArchivedPage(page, response.meta.get("warc_file"), response.meta.get("warc_offset"))

    def _owner(self, url: str, linking: str):
        """The outlet whose host serves the page (``spiders.attribution``): a configured one, or the
        page's host as a discovered outlet, yielded once. Never the outlet that merely linked it."""
        configured = attribution.owning_outlet(self.config.outlets, url, linking)
        if configured is not None:
            return configured
        name = attribution.discovered_outlet_name(url)
        if name not in self.discovered_hosts:
            self.discovered_hosts.add(name)
            self.crawler.stats.inc_value("framewatch/skipped/filed-under-its-own-host")
            parts = urlsplit(url)
            # remembered so that this first page can name it (parse_article reads its site name)
            self.discovered_rows[name] = {"name": name, "homepage": f"{parts.scheme}://{parts.netloc}/",
                                          "homepage_host": name, "language": None, "country": None}  # fmt: skip
            yield DiscoveredOutlet(**self.discovered_rows[name])
        return name

    def on_error(self, failure):
        request = failure.request
        outcome, detail = failure_outcome(failure.value)
        if request.cb_kwargs.get("kind") == "article":
            self._remember_failure((request.meta.get("redirect_urls") or [request.url])[0], outcome)
        yield FetchEvent(
            url=request.url,
            outlet=request.cb_kwargs.get("outlet"),
            status=None,
            bytes=0,
            elapsed_ms=None,
            outcome=outcome,
            error=detail,
            fetched_at=datetime.now(UTC),
            kind=request.cb_kwargs.get("kind", "article"),
        )

    def _remember_failure(self, url: str, outcome: str) -> None:
        """A failed article URL goes on the re-check schedule too (a lasting failure is retried ever more
        rarely), unless it had worked before: a page that once answered keeps its validators."""
        previous = self.state.cache_entry(url)
        if previous and not str(previous.get("body_hash") or "").startswith("failed:"):
            return
        self.state.cache_updates[url] = politeness.updated_cache_entry(
            previous,
            url,
            status=0,
            etag=None,
            last_modified=None,
            content_hash=f"failed:{outcome}",
            now=self.state.now,
        )

    # Following leads ------------------------------------------------------------------------------------
    def _follow(self, entry: FeedEntry, outlet: str, via: str) -> Iterator[Request | FetchEvent]:
        if not discovery.in_any_window(entry.published, self.windows):
            self.crawler.stats.inc_value("framewatch/skipped/out-of-window")
            return
        try:
            url = discovery.crawl_url(entry.url)
            yield from self._article_requests(url, ArticleLead(outlet, via, entry))
        except ValueError as exc:  # a link no request can be made of ("http://[::1", a bad port)
            yield self._unrequested(entry.url, outlet, "invalid-url", f"{type(exc).__name__}: {exc}")

    def _article_requests(self, url: str, lead: ArticleLead) -> Iterator[Request]:
        if url in self.requested:
            return
        self.requested.add(url)
        if url in self.state.cache_updates:  # reached earlier in this run under another URL (a redirect)
            self.crawler.stats.inc_value("framewatch/skipped/already-fetched")
            return
        if not politeness.is_due(self.state.cache_entry(url), self.state.now):
            self.crawler.stats.inc_value("framewatch/skipped/not-due")
            return
        if self.articles_per_outlet[lead.outlet] >= self._article_limit(lead.outlet):
            self.crawler.stats.inc_value("framewatch/skipped/over-outlet-limit")
            return
        self.articles_per_outlet[lead.outlet] += 1
        # dont_filter: leads are deduplicated above; a redirect onto a page fetched already must still
        # arrive, so the page keeps the URL it was linked under (an alias for the normaliser).
        request = self._request(
            url, self.parse_article, lead.outlet, "article", via=lead.discovered_via, entry=lead.entry
        )
        yield request.replace(dont_filter=True)

    def _article_limit(self, outlet_name: str) -> int:
        outlet: OutletConfig | None = next((o for o in self.outlets if o.name == outlet_name), None)
        limit = outlet.crawl.max_pages if outlet else None
        return limit or self.config.settings.crawl.max_articles_per_outlet

    # Requests and events ----------------------------------------------------------------------------------
    def _request(
        self, url: str, callback, outlet: str | None, kind: str, unconditional: bool = False, **context
    ) -> Request:
        return Request(
            url,
            callback=self.kept_callbacks.setdefault(callback.__name__, callback),
            errback=self.on_error,
            cb_kwargs={"outlet": outlet, "kind": kind, **context},
            meta={"unconditional": unconditional},
        )

    def _request_or_outcome(self, url: str, callback, outlet: str | None, kind: str, **context):
        try:
            return self._request(url, callback, outlet, kind, **context)
        except ValueError as exc:
            return self._unrequested(url, outlet, "invalid-url", f"{type(exc).__name__}: {exc}", kind)

    def _unrequested(
        self, url: str, outlet: str | None, outcome: str, error: str, kind: str = "article"
    ) -> FetchEvent:
        """The outcome of a URL seen but never requested, so it is not lost without a trace."""
        return FetchEvent(url=url, outlet=outlet, status=None, bytes=0, elapsed_ms=None, outcome=outcome,
                          error=error[:500], fetched_at=datetime.now(UTC), kind=kind)  # fmt: skip

    def _listing_event(self, response: Response, outlet: str, kind: str, parsed) -> FetchEvent:
        event = self._event(response, outlet, kind, parsed.error, parsed.detail)
        return _with_freshness(event, parsed, self.state.now)

    def _event(
        self,
        response: Response,
        outlet: str | None,
        kind: str,
        outcome: str | None = None,
        error: str | None = None,
    ) -> FetchEvent:
        latency = response.meta.get("download_latency")
        return FetchEvent(
            url=response.url,
            outlet=outlet,
            status=response.status,
            bytes=len(response.body),
            elapsed_ms=round(latency * 1000, 1) if latency is not None else None,
            outcome=outcome or status_outcome(response.status),
            error=error,
            fetched_at=datetime.now(UTC),
            kind=kind,
        )


def _with_freshness(event: FetchEvent, parsed: discovery.ParsedDocument, now: datetime) -> FetchEvent:
    """A listing's event with what it listed (outlet health measures feed silence from it)."""
    dates = [entry.published for entry in parsed.entries] + [None] * parsed.entries_without_link
    freshness = discovery.listing_freshness(dates, now)
    return replace(
        event, entries=freshness.entries, newest_entry=freshness.newest, entry_gap_hours=freshness.gap_hours
    )


def status_outcome(status: int) -> str:
    if status == 200:
        return "ok"
    return "not-modified" if status == 304 else f"http-{status}"


def failure_outcome(error: BaseException) -> tuple[str, str]:
    """The counted outcome kind of a request that ended without a usable response."""
    detail = f"{type(error).__name__}: {error}"[:500]
    if isinstance(error, RefusedRequest):
        return error.outcome, detail
    if isinstance(error, IgnoreRequest):
        message = str(error).lower()
        if "robots.txt" in message:
            return "blocked-by-robots", detail
        if "download_maxsize" in message:  # a compressed body that inflates past the cap (gzip bomb)
            return "too-large", detail
        return ("too-many-redirects" if "redirect" in message else "ignored"), detail
    if isinstance(error, DownloadCancelledError):
        # Scrapy cancels a download only for DOWNLOAD_MAXSIZE (timeouts have their own error); when the
        # body arrives without a Content-Length the cancellation carries no message at all.
        return "too-large", detail
    if isinstance(error, DownloadTimeoutError | TwistedTimeout):
        return "timeout", detail
    if isinstance(error, DownloadConnectionRefusedError | TwistedConnectionRefused):
        return "connection-refused", detail
    return "fetch-error", detail


def _text(response: Response) -> str:
    return response.text if isinstance(response, TextResponse) else response.body.decode("utf-8", "replace")


def _header(response: Response, name: bytes) -> str | None:
    value = response.headers.get(name)
    return value.decode("latin-1") if value else None


def _headers(response: Response) -> dict[str, str]:
    return {k.decode("latin-1").lower(): b", ".join(v).decode("latin-1") for k, v in response.headers.items()}


def _maybe_gunzip(body: bytes, max_size: int) -> bytes:
    """Sitemaps may be served as .xml.gz files (not Content-Encoding): unpack them within the size cap."""
    return gunzip(body, max_size=max_size) if body[:2] == b"\x1f\x8b" else body
