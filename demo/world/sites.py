"""What each outlet answers for a path, in a given world state: pages, feeds, sitemaps, faults.

Pure of sockets: ``Catalogue.resolve`` maps (outlet, state, path) to a ``Response`` the HTTP server
writes out. Faults from content/faults.yaml are applied here.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from urllib.parse import urlsplit

from . import render
from .content import (
    BROKEN_STATE,
    STATE_CLOCK,
    Article,
    Outlet,
    article_path,
    content_state,
    load_articles,
    load_breaks,
    load_faults,
    load_outlets,
)
from .live import PUBLISH_LEAD, LiveCatalogue
from .scale import ScaleCatalogue

FEED_ITEM_LIMIT = 60
HOMEPAGE_TEASERS = 30
GDELT_LANGUAGE = {"en": "English", "es": "Spanish"}
GDELT_COUNTRY = {"US": "United States", "MX": "Mexico", "GB": "United Kingdom"}
SITEMAP_PATHS = {"news": ["/sitemap-news.xml"], "urlset": ["/sitemap.xml"], "index": ["/sitemap_index.xml"]}
INDEXED_SITEMAPS = ["/sitemaps/news.xml", "/sitemaps/pages.xml"]
BULK_SITEMAP = "/sitemap-bulk.xml"


@dataclass(frozen=True)
class Response:
    status: int
    content_type: str = "text/html; charset=utf-8"
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    last_modified: datetime | None = None
    conditional: bool = False  # answers If-None-Match / If-Modified-Since with 304
    stream: Callable[[], Iterator[bytes]] | None = None
    length: int | None = None  # for streamed bodies


NOT_FOUND = Response(404, "text/html; charset=utf-8", b"<html><body><h1>404 Not Found</h1></body></html>")


def huge_page_stream(size: int) -> Callable[[], Iterator[bytes]]:
    chunk = ("<p>" + "archive filler text " * 50 + "</p>\n").encode()

    def generate() -> Iterator[bytes]:
        yield b"<!DOCTYPE html><html><head><title>All stories ever</title></head><body>\n"
        sent = 72
        while sent < size:
            piece = chunk[: size - sent]
            sent += len(piece)
            yield piece

    return generate


class Catalogue:
    """All outlets' content with their live base URLs; resolves requests per state."""

    def __init__(self, bases: dict[str, str], internal_base: str, scale: int = 0, seed: int = 0):
        self.bases = bases
        self.internal_base = internal_base
        self.outlets = {o.slug: o for o in load_outlets()}
        self.articles = load_articles()
        self.faults = load_faults()
        self.scale = ScaleCatalogue(scale, seed, load_outlets(), self.articles) if scale else None
        self.seed = seed
        # The publishing clock (demo/world/live.py): None until the world is given a time.
        self.live: LiveCatalogue | None = None
        self.clock: datetime | None = None
        self.breaks = load_breaks()
        self.broken_since: datetime | None = None  # when the world last entered the broken state
        self._unavailable_served: set[str] = set()
        self._lock = threading.Lock()

    # URLs -------------------------------------------------------------------------------------
    def path_of(self, article: Article) -> str:
        return article_path(self.outlets[article.outlet], article)

    def url_of(self, article: Article) -> str:
        return self.bases[article.outlet] + self.path_of(article)

    def amp_url_of(self, article: Article) -> str | None:
        outlet = self.outlets[article.outlet]
        return (
            self.bases[outlet.slug] + "/amp" + self.path_of(article)
            if outlet.amp and article.syndicates is None
            else None
        )

    def feed_link_of(self, article: Article) -> str:
        outlet = self.outlets[article.outlet]
        url = self.bases[outlet.slug] + (article.old_path or self.path_of(article))
        return f"{url}?{outlet.feed_link_params}" if outlet.feed_link_params else url

    def fault_for(self, article_id: str) -> dict | None:
        return next((f for f in self.faults if f.get("article") == article_id), None)

    # The clock and the breaks ---------------------------------------------------------------------
    def set_clock(self, now: datetime) -> None:
        """The world's time; the first call starts the publishing clock (``live.LiveCatalogue``)."""
        if self.live is None:
            self.live = LiveCatalogue(now - PUBLISH_LEAD, self.seed, load_outlets())
        self.clock = now

    def now(self, state: int) -> datetime:
        return self.clock or STATE_CLOCK[content_state(state)]

    def break_of(self, slug: str, state: int) -> str | None:
        """The outlet's break in this state (content/breaks.yaml), if any."""
        return self.breaks[slug]["kind"] if state == BROKEN_STATE and slug in self.breaks else None

    # Content per state --------------------------------------------------------------------------
    def articles_of(self, slug: str, state: int) -> tuple[Article, ...]:
        """The outlet's articles as served in ``state``, newest first (scale ones and, with the
        publishing clock on, what it has published by now included)."""
        if self.live is None or self.clock is None:
            return self.written_articles_of(slug, content_state(state))
        return self._with_live(slug, content_state(state), self.clock)

    @lru_cache(maxsize=64)  # noqa: B019 - lives as long as the world
    def written_articles_of(self, slug: str, state: int) -> tuple[Article, ...]:
        """The hand-written (and scale) articles as served in a content state, newest first."""
        own = [a.in_state(state) for a in self.articles if a.outlet == slug and a.exists_in(state)]
        if self.scale:
            own += [self.scale.article(i) for i in self.scale.indices_for(slug)]
        return _newest_first(own)

    @lru_cache(maxsize=64)  # noqa: B019
    def _with_live(self, slug: str, state: int, clock: datetime) -> tuple[Article, ...]:
        return _newest_first([*self.written_articles_of(slug, state), *self.live.published(slug, clock)])

    def sitemap_paths(self, outlet: Outlet) -> list[str]:
        paths = [p for kind in outlet.sitemaps for p in SITEMAP_PATHS[kind]]
        return paths + [BULK_SITEMAP] if self.scale and self.scale.indices_for(outlet.slug) else paths

    # Resolution --------------------------------------------------------------------------------
    def resolve(self, slug: str, state: int, path: str) -> Response:
        route = self._routes(slug, state).get(path)
        if route:
            return route()
        article = self._scale_article_at(slug, path) or self._live_article_at(slug, path)
        return self._article_response(article, state) if article else NOT_FOUND

    def _live_article_at(self, slug: str, path: str) -> Article | None:
        index = self.live.index_from_path(path) if self.live and self.clock else None
        if index is None or index >= self.live.count_until(slug, self.clock):
            return None
        article = self.live.article(slug, index)
        return article if self.path_of(article) == path else None

    def _scale_article_at(self, slug: str, path: str) -> Article | None:
        index = self.scale.index_from_path(path) if self.scale else None
        if index is None or self.scale.outlet_of(index) != slug:
            return None
        article = self.scale.article(index)
        return article if self.path_of(article) == path else None

    @lru_cache(maxsize=64)  # noqa: B019
    def _routes(self, slug: str, state: int) -> dict[str, Callable[[], Response]]:
        outlet = self.outlets[slug]
        routes: dict[str, Callable[[], Response]] = {
            "/": lambda: self._homepage(outlet, state),
            "/robots.txt": lambda: self._text(
                render.robots_txt(outlet, self.bases[slug], self.sitemap_paths(outlet)),
                "text/plain; charset=utf-8",
            ),
        }
        for feed in outlet.feeds:
            routes[feed.path] = lambda f=feed: self._feed(outlet, f, state)
        routes.update(self._sitemap_routes(outlet, state))
        written = self.written_articles_of(slug, content_state(state))
        for article in (a for a in written if not a.id.startswith("scale-")):
            routes.update(self._article_routes(article, state))
        routes.update(self._fault_routes(outlet))
        return routes

    def _article_routes(self, article: Article, state: int) -> dict[str, Callable[[], Response]]:
        path = self.path_of(article)
        routes = {path: lambda: self._article_response(article, state)}
        if self.amp_url_of(article):
            routes["/amp" + path] = lambda: self._amp_response(article)
        if article.old_path:
            routes[article.old_path] = lambda: Response(301, headers={"Location": self.url_of(article)})
        return routes

    def _fault_routes(self, outlet: Outlet) -> dict[str, Callable[[], Response]]:
        routes: dict[str, Callable[[], Response]] = {}
        for fault in (f for f in self.faults if f["outlet"] == outlet.slug):
            if fault["kind"] == "redirect-to-internal":
                target = self.internal_base + "/admin/export?all=1"
                routes[fault["path"]] = lambda t=target: Response(302, headers={"Location": t})
            elif fault["kind"] == "huge-page":
                size = int(fault["size_bytes"])
                routes[fault["path"]] = lambda s=size: Response(200, stream=huge_page_stream(s), length=s)
            elif fault["kind"] == "robots-disallowed":
                routes[fault["path"]] = lambda f=fault: self._robots_disallowed_page(outlet, f)
        return routes

    # Renderers wrapped as responses ---------------------------------------------------------------
    def _encode(self, outlet: Outlet, text: str) -> bytes:
        return text.encode(outlet.encoding, errors="xmlcharrefreplace")

    def _text(self, text: str, content_type: str) -> Response:
        return Response(200, content_type, text.encode(), conditional=True)

    def _html_content_type(self, outlet: Outlet, declared: str = "header") -> str:
        if outlet.encoding == "utf-8":
            return "text/html; charset=utf-8"
        return f"text/html; charset={outlet.encoding.upper()}" if declared == "header" else "text/html"

    def _homepage(self, outlet: Outlet, state: int) -> Response:
        base = self.bases[outlet.slug]
        newest = self.articles_of(outlet.slug, state)[:HOMEPAGE_TEASERS]
        teasers = [(a.headline, self.url_of(a), a.dek) for a in newest]
        extras = [
            (f.get("headline", "Archive: every story we ever published"), base + f["path"])
            for f in self.faults
            if f["outlet"] == outlet.slug and f["kind"] in ("robots-disallowed", "huge-page")
        ]
        html = render.homepage(
            outlet,
            base=base,
            clock=self.now(state),
            charset=outlet.encoding,
            teasers=teasers,
            extra_links=extras,
        )
        return Response(
            200,
            self._html_content_type(outlet),
            self._encode(outlet, html),
            last_modified=_newest(newest, self.now(state)),
            conditional=True,
        )

    def _article_response(self, article: Article, state: int) -> Response:
        broken = self._broken_article_response(article, state)
        if broken is not None:
            return broken
        outlet = self.outlets[article.outlet]
        base = self.bases[outlet.slug]
        html = render.article_page(
            article,
            outlet,
            url=self.url_of(article),
            base=base,
            state=content_state(state),
            charset=outlet.encoding,
            amp_url=self.amp_url_of(article),
            related=self._related(article, state),
            feed_links=render.feed_autodiscovery(outlet, base),
        )
        fault = self.fault_for(article.id) or {}
        if fault.get("kind") == "unavailable-once" and self._unavailable_now(article.id):
            return Response(
                503, headers={"Retry-After": str(fault["retry_after"])}, body=b"Service Unavailable"
            )
        content_type = fault.get("content_type") or self._html_content_type(outlet, article.charset_declared)
        return Response(
            200,
            content_type,
            self._encode(outlet, html),
            last_modified=article.modified or article.published,
            conditional=True,
        )

    def _related(self, article: Article, state: int) -> list[tuple[str, str]]:
        # From the written articles only: a page does not change each time the outlet publishes.
        newest = self.written_articles_of(article.outlet, content_state(state))[:4]
        return [(a.headline, self.url_of(a)) for a in newest if a.id != article.id][:3]

    def _broken_article_response(self, article: Article, state: int) -> Response | None:
        """State 3's article pages at a broken outlet (content/breaks.yaml); None where it serves them."""
        outlet = self.outlets[article.outlet]
        kind = self.break_of(outlet.slug, state)
        if kind == "layout-moved":
            html = render.app_shell_article_page(
                article,
                outlet,
                url=self.url_of(article),
                charset=outlet.encoding,
                related=self._related(article, state),
                feed_links=render.feed_autodiscovery(outlet, self.bases[outlet.slug]),
            )
            return Response(
                200, self._html_content_type(outlet), self._encode(outlet, html), conditional=True
            )
        if kind == "bot-challenge":
            ray = hashlib.sha1(self.url_of(article).encode()).hexdigest()[:16]
            return _utf8_page(render.challenge_page(outlet, urlsplit(self.bases[outlet.slug]).netloc, ray))
        walled = kind == "consent-interstitial" and _walled(
            self.path_of(article), self.breaks[outlet.slug]["share"]
        )
        return _utf8_page(render.consent_page(outlet)) if walled else None

    def _unavailable_now(self, key: str) -> bool:
        """Alternates 503 and 200, so every crawl (and every re-run) meets a 503 and a successful retry."""
        with self._lock:
            self._unavailable_served ^= {key}
            return key in self._unavailable_served

    def _amp_response(self, article: Article) -> Response:
        outlet = self.outlets[article.outlet]
        html = render.amp_page(
            article, outlet, canonical_url=self.url_of(article), base=self.bases[outlet.slug]
        )
        return Response(
            200,
            "text/html; charset=utf-8",
            html.encode(),
            last_modified=article.modified or article.published,
            conditional=True,
        )

    def _robots_disallowed_page(self, outlet: Outlet, fault: dict) -> Response:
        html = (
            f"<html><head><title>{fault['headline']}</title></head><body><h1>{fault['headline']}</h1>"
            "<p>Internal draft, not for publication.</p></body></html>"
        )
        return Response(200, "text/html; charset=utf-8", html.encode())

    def _feed_items(self, outlet: Outlet, feed, state: int) -> list[tuple[Article, str]]:
        frozen_at = self._feed_frozen_at(outlet, state)
        chosen = [
            a
            for a in self.articles_of(outlet.slug, state)
            if (not feed.language or a.language == feed.language)
            and (frozen_at is None or a.published <= frozen_at)
        ]
        items = [(a, self.feed_link_of(a)) for a in chosen[:FEED_ITEM_LIMIT]]
        for fault in (f for f in self.faults if f["outlet"] == outlet.slug and f.get("feed_title")):
            stub = Article(
                id=fault["id"],
                outlet=outlet.slug,
                language=outlet.language,
                kind="fault",
                headline=fault["feed_title"],
                dek=fault["feed_title"],
                authors=(),
                published=STATE_CLOCK[1],
                section="News",
                paragraphs=(),
                slug="",
            )
            items.append((stub, self.bases[outlet.slug] + fault["path"]))
        return items

    def _feed_frozen_at(self, outlet: Outlet, state: int) -> datetime | None:
        """A silent feed serves what it listed when the break began, as it was then."""
        return self.broken_since if self.break_of(outlet.slug, state) == "feed-silent" else None

    def _feed(self, outlet: Outlet, feed, state: int) -> Response:
        items = self._feed_items(outlet, feed, state)
        built = self._feed_frozen_at(outlet, state) or self.now(state)
        text = render.FEED_RENDERERS[feed.kind](
            outlet, feed, self.bases[outlet.slug], built, items, outlet.encoding.upper()
        )
        body = self._encode(outlet, text)
        if feed.truncated:
            body = body[: len(body) // 2]
        charset = "" if feed.kind == "jsonfeed" else f"; charset={outlet.encoding}"
        return Response(
            200,
            render.FEED_MIME[feed.kind] + charset,
            body,
            last_modified=_newest([a for a, _ in items], built),
            conditional=True,
        )

    def _sitemap_routes(self, outlet: Outlet, state: int) -> dict[str, Callable[[], Response]]:
        wanted = set(self.sitemap_paths(outlet)) | (
            set(INDEXED_SITEMAPS) if "index" in outlet.sitemaps else set()
        )
        return {
            path: (lambda p=path: self._xml(outlet, self._sitemap_text(outlet, state, p))) for path in wanted
        }

    def _sitemap_text(self, outlet: Outlet, state: int, path: str) -> str:
        base, encoding = self.bases[outlet.slug], outlet.encoding.upper()
        if path.endswith("_index.xml"):
            children = INDEXED_SITEMAPS + (
                [BULK_SITEMAP] if BULK_SITEMAP in self.sitemap_paths(outlet) else []
            )
            return render.sitemap_index([base + p for p in children], self.now(state))
        generated = path == BULK_SITEMAP  # scale mode's articles get a sitemap of their own
        entries = [
            (a, self.url_of(a))
            for a in self.articles_of(outlet.slug, state)
            if a.id.startswith("scale-") == generated
        ]
        if "news" in path:
            return render.news_sitemap(outlet, entries, encoding)
        return render.url_sitemap(entries, encoding)

    def _xml(self, outlet: Outlet, text: str) -> Response:
        return Response(
            200, f"application/xml; charset={outlet.encoding}", self._encode(outlet, text), conditional=True
        )

    # Query discovery -----------------------------------------------------------------------------
    def gdelt_artlist(self, state: int) -> bytes:
        state = content_state(state)
        listed = [a.in_state(state) for a in self.articles if a.in_gdelt and a.exists_in(state)]
        return json.dumps(
            {"articles": [self._gdelt_entry(a) for a in listed]}, ensure_ascii=False, indent=1
        ).encode()

    def _gdelt_entry(self, article: Article) -> dict:
        outlet = self.outlets[article.outlet]
        return {
            "url": self.url_of(article),
            "url_mobile": self.amp_url_of(article) or "",
            "title": article.headline,
            "seendate": f"{article.published:%Y%m%dT%H%M%SZ}",
            "socialimage": self.bases[outlet.slug] + article.image if article.image else "",
            "domain": urlsplit(self.bases[outlet.slug]).netloc,
            "language": GDELT_LANGUAGE[article.language],
            "sourcecountry": GDELT_COUNTRY[outlet.country],
        }


def _newest_first(articles: list[Article]) -> tuple[Article, ...]:
    return tuple(sorted(articles, key=lambda a: (a.published, a.id), reverse=True))


def _utf8_page(html: str) -> Response:
    return Response(200, "text/html; charset=utf-8", html.encode(), conditional=True)


def _walled(path: str, share: float) -> bool:
    """Whether the consent wall stands before this article: a fixed share of URLs, by their hash."""
    return int(hashlib.sha1(path.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF < share


def _newest(articles, fallback: datetime) -> datetime:
    return max((a.modified or a.published for a in articles), default=fallback)
