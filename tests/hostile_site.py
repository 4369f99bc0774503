"""A hostile news site on 127.0.0.1 for the reliability tests (standard library only).

One server plays an outlet that serves, next to a few good articles, every kind of hostile input the
crawler must survive: broken and dangerous XML, decompression bombs, giant and dripping responses,
redirects towards private addresses, storms of 429/503, binary bodies, lying charsets, impossible dates,
script and CR/LF in headlines. A second outlet on the same host (under ``/bulk/``) publishes a feed of
10,000 entries. A *canary* server on another loopback port is never configured: any hit on it means the
crawler followed a redirect it should have refused.

The second round (issue 20) adds loopback spellings the resolver reads but ``ipaddress`` does not, text
no database stores (NUL, lone surrogates, headers longer than their columns), a sitemap tree that fans
out forever (the *Fanout Forever* outlet under ``/fanout/``), a 12,000-character link, another outlet's
articles listed in this one's feed, and a redirect carrying credentials.
"""

from __future__ import annotations

import gzip
import threading
import time
from collections import Counter
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

IN_WINDOW = "Mon, 24 Nov 2025 10:00:00 GMT"
OUT_OF_WINDOW = "Wed, 01 Jan 2020 10:00:00 GMT"
BULK_ENTRIES = 10_000
BULK_IN_WINDOW = 12
FANOUT_REQUEST_BUDGET = 20
GIANT_BYTES = 6_000_000  # over the tests' 4 MB cap (the 10,000-entry feed is 2.3 MB)
BOMB_EXPANDED_BYTES = 40_000_000

STORY_TEXT = (
    "US officials said special operations forces and the CIA are preparing drone strikes on cartel labs "
    "inside Mexico, after the designation of six cartels as foreign terrorist organizations. President "
    "Claudia Sheinbaum rejected any intervention and defended Mexican sovereignty in a morning briefing. "
    "The Pentagon declined to comment on the reported plans for boots on the ground, and analysts warned "
    "that unilateral military action would strain relations between the two governments for years."
)

# A <script> element, a tag left open (no ">": still markup to a browser, which drops it and what follows),
# and a CR/LF that would start a new email header.
SCRIPT_HEADLINE = "Cartel strikes <5%\r\nBcc: victim@attacker.example <script>alert('pwned')</script> <img src=x onerror=alert(1)//"
# What is left of it as one line of plain text: the script element goes with its content, and the tag
# left open swallows the rest of the value, as in a browser.
OPEN_TAG = "<img src=x onerror=alert(1)//"
CRLF_BYLINE = "Ana Torres\r\nX-Injected: yes"

# The articles the crawl must store despite everything around them (path -> distinctive headline).
GOOD_ARTICLES = {
    "/news/good-one-cartel-strike-plans": "Hostile Herald reports cartel strike plans",
    "/news/good-two-sheinbaum-rejects-intervention": "Sheinbaum rejects intervention, says Hostile Herald",
    "/news/good-three-pentagon-declines-comment": "Pentagon declines comment on Mexico operations",
    "/news/good-from-sitemap-only": "Sitemap-only article on drone strikes in Mexico",
    "/news/good-from-malformed-feed": "Article listed only in a malformed feed",
}

BILLION_LAUGHS_DTD = (
    '<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
    '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
    '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">'
    '<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">]>\n'
)


def article_html(
    headline: str,
    *,
    byline: str = "Ana Torres",
    published: str = "2025-11-24T10:00:00Z",
    canonical: str | None = None,
    charset_meta: str | None = "utf-8",
    extra_head: str = "",
    paragraphs: int = 3,
) -> str:
    """A plain article page; values are HTML-escaped like a real CMS would (the text itself is hostile)."""
    from html import escape

    meta = f'<meta charset="{charset_meta}">' if charset_meta else ""
    link = f'<link rel="canonical" href="{escape(canonical)}">' if canonical else ""
    body = "".join(f"<p>{STORY_TEXT}</p>" for _ in range(paragraphs))
    return (
        f'<!DOCTYPE html><html lang="en"><head>{meta}<title>{escape(headline)}</title>{link}'
        f'<meta property="article:published_time" content="{escape(published)}">{extra_head}</head>'
        f'<body><article><h1>{escape(headline)}</h1><p class="byline">By {escape(byline)}</p>'
        f'<time datetime="{escape(published)}">{escape(published)}</time>{body}</article></body></html>'
    )


def json_ld(**fields: str) -> str:
    import json

    return f'<script type="application/ld+json">{json.dumps({"@type": "NewsArticle", **fields})}</script>'


def rss(items: list[tuple[str, str, str | None, str | None]], title: str = "Hostile Herald") -> bytes:
    """RSS 2.0 from (link, title, pubDate, guid) tuples."""
    from html import escape

    def item(link, item_title, date, guid):
        parts = [f"<title>{escape(item_title)}</title>", f"<link>{escape(link)}</link>"]
        parts += [f"<pubDate>{date}</pubDate>"] if date else []
        parts += [f'<guid isPermaLink="false">{escape(guid)}</guid>'] if guid else []
        return "<item>" + "".join(parts) + "</item>"

    entries = "".join(item(*entry) for entry in items)
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{title}</title>'
        f"<link>http://example.invalid/</link><description>d</description>{entries}</channel></rss>"
    ).encode()


@cache
def gzip_bomb() -> bytes:
    """About 40 KB of gzip that expands to 40 MB of zeros."""
    return gzip.compress(b"\0" * BOMB_EXPANDED_BYTES, compresslevel=9)


PNG_BYTES = (
    b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89" + bytes(range(256)) * 8
)
PDF_BYTES = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n" + bytes(range(256)) * 8 + b"\n%%EOF\n"


class HostileSite:
    """The hostile outlet and the canary, started and stopped together (a context manager)."""

    def __init__(self) -> None:
        self.hits: Counter[str] = Counter()  # path (decoded, no query) -> requests
        self.canary_hits: Counter[str] = Counter()
        self._servers: list[ThreadingHTTPServer] = []

    # Lifecycle ------------------------------------------------------------------------------------
    def __enter__(self) -> HostileSite:
        self.server = self._start(_handler_for(self, role="hostile"))
        self.canary = self._start(_handler_for(self, role="canary"))
        self.rival = self._start(_handler_for(self, role="rival"))
        return self

    def __exit__(self, *exc) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()

    def _start(self, handler) -> ThreadingHTTPServer:
        server = _QuietServer(("127.0.0.1", 0), handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self._servers.append(server)
        return server

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    @property
    def canary_base(self) -> str:
        return f"http://127.0.0.1:{self.canary.server_address[1]}"

    @property
    def rival_base(self) -> str:
        return f"http://127.0.0.1:{self.rival.server_address[1]}"

    def url(self, path: str) -> str:
        return self.base + path

    # Config -----------------------------------------------------------------------------------------
    def outlets(self) -> dict:
        """outlets.yaml content: the hostile outlet and the bulk outlet that shares its host."""
        base = self.base
        return {
            "outlets": [
                {
                    "name": "Hostile Herald",
                    "homepage": base + "/",
                    "language": "en",
                    "country": "US",
                    "feeds": [base + path for path in FEEDS],
                    "sitemaps": [base + path for path in SITEMAPS],
                },
                {
                    "name": "Bulk Bugle",
                    "homepage": base + "/bulk/",
                    "language": "en",
                    "country": "US",
                    "feeds": [base + "/bulk/feed.xml"],
                    "crawl": {"max_pages": 5},
                },
                {
                    "name": "Rival Record",
                    "homepage": self.rival_base + "/",
                    "language": "en",
                    "country": "MX",
                    "feeds": [self.rival_base + "/feed.xml"],
                },
                {
                    "name": "Fanout Forever",
                    "homepage": base + "/fanout/",
                    "language": "en",
                    "country": "US",
                    "sitemaps": [base + "/fanout/sitemap-0-0.xml"],
                    "crawl": {"max_requests": FANOUT_REQUEST_BUDGET},
                },
            ]
        }

    # Content ----------------------------------------------------------------------------------------
    def main_feed_items(self) -> list[tuple[str, str, str | None, str | None]]:
        b = self.base
        items = [
            (b + path, title, IN_WINDOW, "guid:" + path)
            for path, title in GOOD_ARTICLES.items()
            if path not in ("/news/good-from-sitemap-only", "/news/good-from-malformed-feed")
        ]
        items += [
            # the same GUID twice for one link, and a reused GUID on a different link
            (
                b + "/news/good-one-cartel-strike-plans",
                "duplicate entry",
                IN_WINDOW,
                "guid:/news/good-one-cartel-strike-plans",
            ),
            (
                b + "/news/dup-guid-other-link",
                "reused guid",
                IN_WINDOW,
                "guid:/news/good-two-sheinbaum-rejects-intervention",
            ),
            (b + "/news/invalid-dates-article", "bad dates", "2025-13-45", "g-invalid"),
            (
                b + "/news/future-dated-feed-entry",
                "dated 2099 in the feed",
                "Thu, 01 Jan 2099 00:00:00 GMT",
                "g-f",
            ),
            (
                "http://user:s3cret@127.0.0.1:" + b.rsplit(":", 1)[1] + "/news/credentials-in-url",
                "creds",
                IN_WINDOW,
                "g-c",
            ),
            (b + "/news/política-ñandú-artículo", "unicode path", IN_WINDOW, "g-u"),
            (
                "http://bücher.localhost:" + b.rsplit(":", 1)[1] + "/news/idn-host-article",
                "idn",
                IN_WINDOW,
                "g-i",
            ),
        ]
        canary_port = self.canary_base.rsplit(":", 1)[1]
        items += [
            (f"http://{spelling}:{canary_port}/numeric/{n}", "loopback spelling", IN_WINDOW, f"g-n{n}")
            for n, spelling in enumerate(LOOPBACK_SPELLINGS)
        ]
        items += [
            (b + LONG_URL_PATH, "a 12,000-character link", IN_WINDOW, "g-long"),
            (self.rival_base + RIVAL_LISTED_BY_HOSTILE, "another outlet's article", IN_WINDOW, "g-rival"),
            # feedparser reads this link as "" (an unparsable IPv6 literal): counted, not silently gone
            (
                f"http://[::1:{b.rsplit(':', 1)[1]}/news/broken-ipv6-in-rss",
                "unreadable link",
                IN_WINDOW,
                "g-v6",
            ),
        ]
        # A feed repeats the page's headline: the script/CR-LF one arrives by both routes.
        items += [(b + p, SCRIPT_HEADLINE if "script" in p else p, None, "g" + p) for p in ARTICLE_PATHS]
        return items

    def respond(self, path: str) -> tuple[int, dict[str, str], bytes | None]:
        """(status, headers, body); a None body means the handler streams it (see ``_Handler``)."""
        html = {"Content-Type": "text/html; charset=utf-8"}
        if path in GOOD_ARTICLES:
            return 200, html, article_html(GOOD_ARTICLES[path]).encode()
        if path.startswith("/bulk/"):
            return self._bulk(path)
        if path.startswith("/fanout/"):
            return fanout_response(self.base, path)
        if path.startswith("/slowchain/"):
            return slow_chain_response(self.base, path)
        simple = self._static_routes()
        if path in simple:
            return simple[path]
        if path in REDIRECTS:
            ports = {"port": self.base.rsplit(":", 1)[1], "canary_port": self.canary_base.rsplit(":", 1)[1]}
            target = REDIRECTS[path].format(canary=self.canary_base, rival=self.rival_base, **ports)
            return 302, {"Location": target}, b""
        return 404, html, b"<html><body>not here</body></html>"

    def _static_routes(self) -> dict[str, tuple[int, dict[str, str], bytes | None]]:
        b = self.base
        canary_port = self.canary_base.rsplit(":", 1)[1]
        html = {"Content-Type": "text/html; charset=utf-8"}
        xml = {"Content-Type": "application/rss+xml"}
        sitemap = {"Content-Type": "application/xml"}
        story = article_html("Hostile Herald story page").encode()
        good_sitemap = (
            '<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            f"<url><loc>{b}/news/good-from-sitemap-only</loc><lastmod>2025-11-24</lastmod></url></urlset>"
        ).encode()
        return {
            "/robots.txt": (
                200,
                {"Content-Type": "text/plain"},
                f"User-agent: *\nDisallow: /private/\nSitemap: http://2130706433:{canary_port}/sitemap.xml\n".encode(),
            ),
            "/": (
                200,
                html,
                (
                    "<html><head><title>Hostile Herald</title><link rel=alternate type=application/rss+xml "
                    f'href="http://0x7f000001:{canary_port}/feed.xml"></head><body>home</body></html>'
                ).encode(),
            ),
            # Second round (issue 20)
            "/feeds/surrogate.json": (
                200,
                {"Content-Type": "application/feed+json"},
                (SURROGATE_JSON_FEED % (b, b.rsplit(":", 1)[1])).encode(),
            ),
            "/news/from-json-feed-with-surrogate": (
                200,
                html,
                article_html("Article listed in a JSON Feed with a lone surrogate").encode(),
            ),
            "/news/nul-and-long-fields": (
                200,
                {**html, "ETag": LONG_ETAG, "Last-Modified": "Mon, 24 Nov 2025 " + "9" * 200},
                article_html(
                    "Page with a NUL in its JSON-LD",
                    extra_head=json_ld(headline=NUL_HEADLINE, articleSection=LONG_SECTION),
                ).encode(),
            ),
            "/news/quadratic-description": (
                200,
                html,
                article_html(
                    "Page whose description is made of script openings",
                    extra_head='<meta name="description" content="' + "&lt;script&gt;" * 20_000 + '">'
                    '<meta property="og:description" content="' + "&lt;script&gt;" * 20_000 + '">',
                ).encode(),
            ),
            # Feeds
            "/feeds/main.xml": (200, xml, rss(self.main_feed_items())),
            "/feeds/malformed.xml": (
                200,
                xml,
                (
                    '<?xml version="1.0"?><rss version="2.0"><channel><title>Broken</title><item>'
                    f"<title>ok</title><link>{b}/news/good-from-malformed-feed</link><pubDate>{IN_WINDOW}</pubDate>"
                    "</item><item><title>bad <b>nesting</title></b></item></channel></rss>"
                ).encode(),
            ),
            "/feeds/truncated.xml": (200, xml, rss(self.main_feed_items()[:3])[:180]),
            "/feeds/billion-laughs.xml": (
                200,
                xml,
                (
                    BILLION_LAUGHS_DTD
                    + f'<rss version="2.0"><channel><title>&lol4;</title><item><title>x</title>'
                    f"<link>{b}/news/never-from-billion-laughs</link></item></channel></rss>"
                ).encode(),
            ),
            "/feeds/xxe.xml": (
                200,
                xml,
                (
                    '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
                    f'<rss version="2.0"><channel><title>&xxe;</title><item><title>&xxe;</title>'
                    f"<link>{b}/news/never-from-xxe</link></item></channel></rss>"
                ).encode(),
            ),
            "/feeds/not-json.json": (
                200,
                {"Content-Type": "application/feed+json"},
                b"<html>this is not JSON {",
            ),
            # Sitemaps
            "/sitemaps/good.xml": (200, sitemap, good_sitemap),
            "/sitemaps/truncated.xml": (200, sitemap, good_sitemap[: len(good_sitemap) - 40]),
            "/sitemaps/billion-laughs.xml": (
                200,
                sitemap,
                (
                    BILLION_LAUGHS_DTD + '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
                    f"<url><loc>{b}/news/never-from-sitemap-bomb&lol4;</loc></url></urlset>"
                ).encode(),
            ),
            "/sitemaps/bomb.xml.gz": (200, {"Content-Type": "application/gzip"}, gzip_bomb()),
            # Hostile articles
            "/news/malformed-html-article": (
                200,
                html,
                (
                    "<html><head><title>Malformed cartel page</title><body><div><p>"
                    + STORY_TEXT
                    + "<p><b><i>"
                    + STORY_TEXT
                    + "</div></b><table><tr><td>"
                    + STORY_TEXT
                    + "</span></html></html>"
                ).encode(),
            ),
            "/news/truncated-html-article": (
                200,
                html,
                article_html("Truncated cartel page").encode()[:-220],
            ),
            "/news/wrong-charset-article": (
                200,
                {"Content-Type": "text/html; charset=utf-8"},  # a lie: the bytes are Latin-1
                article_html("Política de seguridad en México", charset_meta=None).encode("latin-1"),
            ),
            "/news/latin1-no-charset-article": (
                200,
                {"Content-Type": "text/html"},
                article_html("Intervención militar rechazada", charset_meta=None).encode("latin-1"),
            ),
            "/news/storm-429": (429, {"Retry-After": "1", "Content-Type": "text/plain"}, b"slow down"),
            "/news/storm-503": (503, {"Content-Type": "text/plain"}, b"unavailable"),
            "/news/png-as-html": (200, {"Content-Type": "text/html"}, PNG_BYTES),
            "/news/report.pdf": (200, {"Content-Type": "application/pdf"}, PDF_BYTES),
            "/news/empty-body": (200, {"Content-Type": "text/html"}, b""),
            "/news/gzip-bomb-encoded": (
                200,
                {"Content-Type": "text/html", "Content-Encoding": "gzip"},
                gzip_bomb(),
            ),
            "/news/gzip-bytes-as-html": (200, {"Content-Type": "text/html"}, gzip_bomb()),
            "/news/invalid-dates-article": (
                200,
                html,
                article_html(
                    "Cartel story with impossible dates",
                    published="2025-13-45",
                    extra_head=json_ld(
                        headline="Cartel story with impossible dates", datePublished="not a date"
                    ),
                ).encode(),
            ),
            "/news/future-dated-article": (
                200,
                html,
                article_html(
                    "Cartel story dated 2099",
                    published="2099-01-01T00:00:00Z",
                    extra_head=json_ld(
                        headline="Cartel story dated 2099", datePublished="2099-01-01T00:00:00Z"
                    ),
                ).encode(),
            ),
            "/news/script-in-headline": (
                200,
                html,
                article_html(SCRIPT_HEADLINE, byline=CRLF_BYLINE).encode(),
            ),
            "/news/foreign-canonical": (
                200,
                html,
                article_html(
                    "Page claiming another outlet's canonical",
                    canonical="http://other-outlet.example/news/stolen-canonical",
                ).encode(),
            ),
            "/news/canonical-to-rival-outlet": (
                200,
                html,
                article_html(
                    "Page claiming the Rival Record's canonical",
                    canonical=self.rival_base + RIVAL_STORY,
                ).encode(),
            ),
            "/news/credentials-in-url": (200, html, article_html("Article linked with credentials").encode()),
            "/news/política-ñandú-artículo": (200, html, article_html("Artículo con ruta unicode").encode()),
            "/news/dup-guid-other-link": (200, html, article_html("Reused GUID on another link").encode()),
            "/private/robots-blocked-article": (200, html, story),
            # Streamed by the handler
            "/news/giant-page": (
                200,
                {"Content-Type": "text/html", "Content-Length": str(GIANT_BYTES)},
                None,
            ),
            "/news/giant-streamed": (200, {"Content-Type": "text/html"}, None),
            "/news/slow-drip": (200, {"Content-Type": "text/html", "Content-Length": "4000"}, None),
        }

    def _bulk(self, path: str) -> tuple[int, dict[str, str], bytes]:
        if path == "/bulk/":
            return 200, {"Content-Type": "text/html"}, b"<html><body>bulk</body></html>"
        if path == "/bulk/feed.xml":
            return 200, {"Content-Type": "application/rss+xml"}, bulk_feed(self.base)
        if path.startswith("/bulk/news/"):
            return 200, {"Content-Type": "text/html"}, article_html("Bulk " + path.rsplit("/", 1)[1]).encode()
        return 404, {"Content-Type": "text/html"}, b"not here"


# Article paths the main feed lists without a date (the feed lists them; the page does the harm).
ARTICLE_PATHS = (
    "/news/malformed-html-article",
    "/news/truncated-html-article",
    "/news/wrong-charset-article",
    "/news/latin1-no-charset-article",
    "/news/redirect-loop-a",
    "/news/redirect-to-private-10",
    "/news/redirect-to-link-local",
    "/news/redirect-to-other-port",
    "/private/robots-blocked-article",
    "/news/storm-429",
    "/news/storm-503",
    "/news/slow-drip",
    "/news/png-as-html",
    "/news/report.pdf",
    "/news/empty-body",
    "/news/gzip-bomb-encoded",
    "/news/gzip-bytes-as-html",
    "/news/giant-page",
    "/news/giant-streamed",
    "/news/future-dated-article",
    "/news/script-in-headline",
    "/news/foreign-canonical",
    "/news/canonical-to-rival-outlet",
    "/news/nul-and-long-fields",
    "/news/quadratic-description",
    "/news/moved-to-rival",
    "/news/redirect-to-numeric-loopback",
    "/news/redirect-with-credentials",
)
REDIRECTS = {
    "/news/redirect-loop-a": "/news/redirect-loop-b",
    "/news/redirect-loop-b": "/news/redirect-loop-a",
    "/news/redirect-to-private-10": "http://10.0.0.1/latest/meta-data/",
    "/news/redirect-to-link-local": "http://169.254.169.254/latest/meta-data/",
    "/news/redirect-to-other-port": "{canary}/internal/admin",
    "/news/moved-to-rival": "{rival}" + "/news/rival-story-the-herald-redirects-to",
    "/news/redirect-to-numeric-loopback": "http://127.1:{canary_port}/internal/short",
    "/news/redirect-with-credentials": "http://user:s3cret@127.0.0.1:{port}/news/good-one-cartel-strike-plans",
}
FEEDS = (
    "/feeds/main.xml",
    "/feeds/malformed.xml",
    "/feeds/truncated.xml",
    "/feeds/billion-laughs.xml",
    "/feeds/xxe.xml",
    "/feeds/not-json.json",
    "/feeds/surrogate.json",
)
SITEMAPS = (
    "/sitemaps/good.xml",
    "/sitemaps/truncated.xml",
    "/sitemaps/billion-laughs.xml",
    "/sitemaps/bomb.xml.gz",
)


@cache
def _bulk_entries_template() -> tuple[str, ...]:
    return tuple(
        f"/bulk/news/bulk-article-{n:05d}|{IN_WINDOW if n % (BULK_ENTRIES // BULK_IN_WINDOW) == 0 else OUT_OF_WINDOW}"
        for n in range(BULK_ENTRIES)
    )


def bulk_feed(base: str) -> bytes:
    """10,000 entries: a dozen inside the story window, the rest years old."""
    items = []
    for line in _bulk_entries_template():
        path, date = line.split("|")
        items.append((base + path, path, date, path))
    return rss(items, title="Bulk Bugle")


def bulk_in_window_paths() -> set[str]:
    return {line.split("|")[0] for line in _bulk_entries_template() if line.endswith(IN_WINDOW)}


def fanout_response(base: str, path: str) -> tuple[int, dict[str, str], bytes]:
    """Fanout Forever: every sitemap is an index of FANOUT_CHILDREN more indexes, without end."""
    if not path.startswith("/fanout/sitemap-"):
        return 200, {"Content-Type": "text/html"}, b"<html><body>fanout</body></html>"
    depth, number = path.removeprefix("/fanout/sitemap-").removesuffix(".xml").split("-")
    children = "".join(
        f"<sitemap><loc>{base}/fanout/sitemap-{int(depth) + 1}-{int(number) * FANOUT_CHILDREN + k}.xml</loc></sitemap>"
        for k in range(FANOUT_CHILDREN)
    )
    body = f'<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{children}</sitemapindex>'
    return 200, {"Content-Type": "application/xml"}, body.encode()


SLOW_CHAIN_SECONDS = 0.3


def slow_chain_response(base: str, path: str) -> tuple[int, dict[str, str], bytes]:
    """A chain of sitemap indexes, each answering after SLOW_CHAIN_SECONDS and listing the next one."""
    if not path.startswith("/slowchain/sitemap-"):
        return 200, {"Content-Type": "text/html"}, b"<html><body>slow chain</body></html>"
    time.sleep(SLOW_CHAIN_SECONDS)
    number = int(path.removeprefix("/slowchain/sitemap-").removesuffix(".xml"))
    child = f"<sitemap><loc>{base}/slowchain/sitemap-{number + 1}.xml</loc></sitemap>"
    body = f'<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{child}</sitemapindex>'
    return 200, {"Content-Type": "application/xml"}, body.encode()


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address) -> None:
        pass  # the crawler hangs up on giant and dripping responses: expected here


def rival_response(base: str, path: str) -> tuple[int, dict[str, str], bytes]:
    """A well-behaved second outlet whose article the hostile one claims as its canonical."""
    html = {"Content-Type": "text/html; charset=utf-8"}
    if path == "/feed.xml":
        return (
            200,
            {"Content-Type": "application/rss+xml"},
            rss([(base + RIVAL_STORY, RIVAL_HEADLINE, IN_WINDOW, "r1")]),
        )
    if path == RIVAL_STORY:
        return 200, html, article_html(RIVAL_HEADLINE).encode()
    if path in (RIVAL_LISTED_BY_HOSTILE, RIVAL_REDIRECT_TARGET):
        return 200, html, article_html("Rival Record: " + path.rsplit("/", 1)[1]).encode()
    if path == "/robots.txt":
        return 200, {"Content-Type": "text/plain"}, b"User-agent: *\nDisallow:\n"
    return 200, html, b"<html><body>Rival Record</body></html>"


RIVAL_STORY = "/news/rival-original-cartel-story"
RIVAL_HEADLINE = "Rival Record's own report on the cartel strikes"
# Rival articles the hostile outlet lists in its feed, and redirects to: still the rival's.
RIVAL_LISTED_BY_HOSTILE = "/news/rival-story-listed-by-the-herald"
RIVAL_REDIRECT_TARGET = "/news/rival-story-the-herald-redirects-to"

# Second round (issue 20) ----------------------------------------------------------------------------
# Spellings of 127.0.0.1 that the system resolver reads and ``ipaddress`` does not.
LOOPBACK_SPELLINGS = ("127.1", "2130706433", "0x7f.0.0.1", "0177.0.0.1", "127.000.000.001")
LONG_URL_PATH = "/news/" + "long-" * 2400  # 12,000 characters
NUL_HEADLINE = "Cartel strikes with a NUL\u0000 inside"
LONG_ETAG = '"' + "e" * 600 + '"'
LONG_SECTION = "Section " * 80
FANOUT_CHILDREN = 30
SURROGATE_JSON_FEED = (
    '{"version": "https://jsonfeed.org/version/1.1", "title": "Surrogates", "items": [{"id": "s1", '
    '"url": "%s/news/from-json-feed-with-surrogate", "title": "Lone \\ud800 surrogate and NUL \\u0000", '
    '"date_published": "2025-11-24T10:00:00Z", "content_text": "Text with a lone \\udc00 surrogate"}, '
    '{"id": "s2", "url": "http://[::1:%s/news/broken-ipv6", "title": "an unparsable link"}]}'
)


def _handler_for(site: HostileSite, role: str) -> type[BaseHTTPRequestHandler]:
    class Handler(_Handler):
        pass

    Handler.site, Handler.role = site, role
    return Handler


class _Handler(BaseHTTPRequestHandler):
    site: HostileSite
    role: str  # hostile, canary (must never be reached) or rival

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        path = unquote(urlsplit(self.path).path)
        if self.role == "canary":
            self.site.canary_hits[path] += 1
            self._send(200, {"Content-Type": "text/plain"}, b"internal secrets")
            return
        if self.role == "rival":
            self._send(*rival_response(self.site.rival_base, path))
            return
        self.site.hits[path] += 1
        status, headers, body = self.site.respond(path)
        if body is None:
            self._stream(path, headers)
        else:
            self._send(status, headers, body)

    def _send(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.send_response(status)
        for name, value in {**headers, "Content-Length": str(len(body))}.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _stream(self, path: str, headers: dict[str, str]) -> None:
        self.send_response(200)
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        if path == "/news/slow-drip":
            for _ in range(4000):  # one byte every 0.2 s: 800 s in all, far past any timeout
                self.wfile.write(b"<")
                self.wfile.flush()
                time.sleep(0.2)
            return
        chunk = b"<p>" + b"x" * 65_533
        for _ in range(GIANT_BYTES // len(chunk) + 1):
            self.wfile.write(chunk)

    def log_message(self, *args) -> None:
        pass
