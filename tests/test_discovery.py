"""Discovery and politeness decisions, tested as plain functions (no network)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pipeline.config import StoryWindow, load_config, load_story
from spiders import discovery, politeness

WINDOW = StoryWindow(start=datetime(2025, 11, 15, tzinfo=UTC), end=datetime(2025, 12, 31, tzinfo=UTC))
BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<rss version="2.0"><channel><title>&lol3;</title><item><title>x</title><link>http://a.example/x-y-z</link></item></channel></rss>"""

RSS2 = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/" xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel><title>T</title><link>http://a.example/</link><language>es-MX</language>
<item><title>Boots on the ground</title><link>http://a.example/news/boots-on-ground?utm_source=rss</link>
<guid isPermaLink="false">a:1</guid><pubDate>Mon, 24 Nov 2025 10:30:00 GMT</pubDate>
<dc:creator>Ana Ruiz</dc:creator><description>Dek</description>
<content:encoded><![CDATA[<p>Full text</p>]]></content:encoded></item>
<item><title>Old</title><link>http://a.example/news/old-story-here</link><pubDate>Mon, 03 Mar 2025 10:00:00 GMT</pubDate></item>
</channel></rss>"""

ATOM = b"""<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom" xml:lang="en">
<id>x</id><title>T</title><updated>2025-11-24T00:00:00Z</updated>
<entry><id>tag:a,2025:1</id><title>Atom entry</title><link rel="alternate" href="http://a.example/a-b-c"/>
<published>2025-11-24T10:30:00Z</published><updated>2025-11-24T11:00:00Z</updated>
<author><name>Joe Doe</name></author><summary>S</summary></entry></feed>"""

RDF = b"""<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel rdf:about="http://a.example/index.rdf"><title>T</title><link>http://a.example/</link><description>d</description></channel>
<item rdf:about="http://a.example/2025/11/24/rdf-item"><title>RDF item</title><link>http://a.example/2025/11/24/rdf-item</link>
<dc:date>2025-11-24T10:30:00Z</dc:date><dc:creator>Luz</dc:creator></item></rdf:RDF>"""

NEWS_SITEMAP = b"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
<url><loc>http://a.example/n/one-two-three</loc><lastmod>2025-11-25T00:00:00Z</lastmod><news:news>
<news:publication><news:name>A</news:name><news:language>es</news:language></news:publication>
<news:publication_date>2025-11-24T10:30:00Z</news:publication_date><news:title>Uno</news:title></news:news></url>
<url><loc>http://a.example/n/plain-url-entry</loc><lastmod>2024-01-01</lastmod></url>
</urlset>"""

SITEMAP_INDEX = b"""<?xml version="1.0" encoding="UTF-8"?>
<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
<sitemap><loc>http://a.example/sitemaps/news.xml</loc></sitemap><sitemap><loc>http://a.example/sitemaps/pages.xml</loc></sitemap>
</sitemapindex>"""


def test_rss2_entry_carries_link_date_authors_content_and_language():
    parsed = discovery.parse_feed(RSS2, "http://a.example/rss.xml", "application/rss+xml")
    assert parsed.error is None
    first = parsed.entries[0]
    assert first.url == "http://a.example/news/boots-on-ground?utm_source=rss"
    assert first.published == datetime(2025, 11, 24, 10, 30, tzinfo=UTC)
    assert first.authors == ("Ana Ruiz",)
    assert first.content == "<p>Full text</p>"
    assert first.guid == "a:1"
    assert first.language == "es"


def test_atom_and_rss1_feeds_are_read_through_feedparser():
    atom = discovery.parse_feed(ATOM, "http://a.example/atom.xml", "application/atom+xml").entries[0]
    rdf = discovery.parse_feed(RDF, "http://a.example/index.rdf", "application/rdf+xml").entries[0]
    assert (atom.url, atom.authors, atom.published) == (
        "http://a.example/a-b-c",
        ("Joe Doe",),
        datetime(2025, 11, 24, 10, 30, tzinfo=UTC),
    )
    assert (rdf.url, rdf.published) == (
        "http://a.example/2025/11/24/rdf-item",
        datetime(2025, 11, 24, 10, 30, tzinfo=UTC),
    )


def test_json_feed_is_parsed_as_json():
    body = json.dumps(
        {
            "version": "https://jsonfeed.org/version/1.1",
            "language": "en",
            "items": [
                {
                    "id": 7,
                    "url": "/world/a-b-c",
                    "title": "J",
                    "date_published": "2025-11-24T10:30:00Z",
                    "authors": [{"name": "Kim"}],
                    "content_text": "Body",
                },
                {"id": 8},
            ],
        }
    ).encode()
    parsed = discovery.parse_feed(body, "http://a.example/feed.json", "application/feed+json")
    assert [e.url for e in parsed.entries] == ["http://a.example/world/a-b-c"]
    assert parsed.entries[0].authors == ("Kim",) and parsed.entries[0].content == "Body"
    assert parsed.entries[0].guid == "7" and parsed.entries[0].language == "en"


def test_a_truncated_feed_keeps_what_was_readable_and_names_the_error():
    parsed = discovery.parse_feed(
        RSS2[: len(RSS2) * 2 // 3], "http://a.example/rss.xml", "application/rss+xml"
    )
    assert parsed.error == "malformed-feed"
    assert parsed.detail


def test_garbage_is_a_malformed_feed_not_a_crash():
    assert discovery.parse_feed(b"\x00\xff not a feed", "http://a/x", "text/html").error == "malformed-feed"
    assert discovery.parse_feed(b"{not json", "http://a/x", "application/json").error == "malformed-feed"


@pytest.mark.parametrize(
    "parse", [lambda b: discovery.parse_feed(b, "http://a/x", "application/rss+xml"), discovery.parse_sitemap]
)
def test_entity_expansion_is_refused(parse):
    parsed = parse(BILLION_LAUGHS)
    assert parsed.error == "unsafe-xml" and parsed.entries == ()


def test_news_sitemap_uses_publication_date_and_title():
    parsed = discovery.parse_sitemap(NEWS_SITEMAP)
    news, plain = parsed.entries
    assert (news.url, news.title, news.language) == ("http://a.example/n/one-two-three", "Uno", "es")
    assert news.published == datetime(2025, 11, 24, 10, 30, tzinfo=UTC)
    assert plain.published == datetime(2024, 1, 1, tzinfo=UTC)


def test_sitemap_index_lists_child_sitemaps():
    parsed = discovery.parse_sitemap(SITEMAP_INDEX)
    assert parsed.child_sitemaps == (
        "http://a.example/sitemaps/news.xml",
        "http://a.example/sitemaps/pages.xml",
    )
    assert parsed.entries == ()


def test_a_non_sitemap_document_is_reported():
    assert discovery.parse_sitemap(b"<html><body>hi</body></html>").error == "malformed-sitemap"


def test_robots_sitemap_lines():
    robots = (
        b"User-agent: *\nDisallow: /preview/\n\nSitemap: http://a.example/sitemap.xml\nsitemap: /news.xml\n"
    )
    assert discovery.sitemap_urls_from_robots(robots, "http://a.example/") == [
        "http://a.example/sitemap.xml",
        "http://a.example/news.xml",
    ]


def test_window_filter_follows_undated_entries():
    entries = discovery.parse_sitemap(NEWS_SITEMAP).entries + (discovery.FeedEntry(url="http://a/u"),)
    inside = [e.url for e in entries if discovery.in_any_window(e.published, [WINDOW])]
    assert inside == ["http://a.example/n/one-two-three", "http://a/u"]


def test_an_entry_is_followed_when_any_storys_window_holds_it():
    entries = discovery.parse_sitemap(NEWS_SITEMAP).entries
    dated_outside = next(e for e in entries if not discovery.in_any_window(e.published, [WINDOW]))
    later = StoryWindow(start=dated_outside.published, end=dated_outside.published + timedelta(days=1))
    assert discovery.in_any_window(dated_outside.published, [WINDOW, later])
    assert not discovery.in_any_window(dated_outside.published, [])


def test_crawl_url_drops_tracking_parameters_and_fragments_only():
    url = "http://a.example/x?id=3&utm_source=rss&utm_medium=feed&fbclid=IwAR#top"
    assert discovery.crawl_url(url) == "http://a.example/x?id=3"
    assert discovery.crawl_url("/news/a-b", "http://a.example/") == "http://a.example/news/a-b"


def test_feed_autodiscovery_and_homepage_article_links():
    html = """<html><head><link rel="alternate" type="application/rss+xml" href="/rss.xml">
    <link rel="alternate" hreflang="es" href="/es/"><link rel="stylesheet" href="/a.css"></head><body>
    <a href="/section/world">World</a><a href="/news/boots-on-the-ground?utm_source=x">A</a>
    <a href="http://other.example/news/some-other-story">B</a><a href="/privacy">P</a></body></html>"""
    assert discovery.feed_urls_from_html(html, "http://a.example/") == ["http://a.example/rss.xml"]
    assert discovery.article_links_from_html(html, "http://a.example/") == [
        "http://a.example/news/boots-on-the-ground"
    ]


def test_query_api_hits_and_discovered_outlets():
    body = json.dumps(
        {
            "articles": [
                {
                    "url": "http://b.example:8080/p/a-b-c",
                    "title": "T",
                    "seendate": "20251124T103000Z",
                    "domain": "b.example",
                    "language": "Spanish",
                    "sourcecountry": "Mexico",
                },
                {"url": "javascript:alert(1)", "seendate": "x"},
            ]
        }
    ).encode()
    hits, error = discovery.parse_query_hits(body)
    assert error is None and len(hits) == 1
    assert hits[0].seen_at == datetime(2025, 11, 24, 10, 30, tzinfo=UTC)
    assert discovery.discovered_outlet(hits[0]) == {
        "name": "b.example:8080",
        "homepage": "http://b.example:8080/",
        "homepage_host": "b.example:8080",
        "language": "es",
        "country": "MX",
        "discovered": True,
    }
    assert discovery.parse_query_hits(b"<html>")[1].startswith("malformed-query-response")


def test_query_urls_ask_for_artlist_json_within_the_story_window():
    story = load_story(
        Path(__file__).parent.parent / "config" / "stories" / "mexico-cartel-intervention.yaml"
    )
    urls = discovery.query_api_urls("http://q.example/api/v2/doc/doc", story)
    assert len(urls) == 2
    assert all("mode=ArtList" in u and "format=json" in u and "maxrecords=250" in u for u in urls)
    assert f"startdatetime={story.window.start:%Y%m%d%H%M%S}" in urls[0]
    assert "sourcelang%3Aspanish" in urls[1]


@pytest.mark.parametrize(
    ("age", "interval"),
    [
        (timedelta(minutes=10), timedelta(minutes=15)),
        (timedelta(hours=5), timedelta(hours=1)),
        (timedelta(days=2), timedelta(hours=6)),
        (timedelta(days=5), timedelta(days=1)),
        (timedelta(days=30), timedelta(days=7)),
    ],
)
def test_recheck_interval_decays_with_the_age_of_the_last_change(age, interval):
    assert politeness.recheck_interval(age) == interval


def test_an_article_is_due_when_new_or_when_its_check_time_has_come():
    now = datetime(2025, 11, 26, 18, tzinfo=UTC)
    assert politeness.is_due(None, now)
    entry = politeness.updated_cache_entry(
        None, "http://a/x", status=200, etag='"e"', last_modified=None, content_hash="h", now=now
    )
    assert not politeness.is_due(entry, now + timedelta(minutes=14))
    assert politeness.is_due(entry, now + timedelta(minutes=15))


def test_cache_entry_keeps_last_change_when_content_is_unchanged():
    t0 = datetime(2025, 11, 20, tzinfo=UTC)
    first = politeness.updated_cache_entry(
        None, "http://a/x", status=200, etag='"1"', last_modified="L", content_hash="h1", now=t0
    )
    later = t0 + timedelta(days=2)
    same = politeness.updated_cache_entry(
        first, "http://a/x", status=304, etag=None, last_modified=None, content_hash=None, now=later
    )
    changed = politeness.updated_cache_entry(
        first, "http://a/x", status=200, etag='"2"', last_modified=None, content_hash="h2", now=later
    )
    assert same["last_changed_at"] == t0.isoformat() and same["etag"] == '"1"' and same["body_hash"] == "h1"
    assert same["next_check_at"] == (later + timedelta(hours=6)).isoformat()
    assert changed["last_changed_at"] == later.isoformat() and changed["etag"] == '"2"'
    assert politeness.conditional_headers(same) == {"If-None-Match": '"1"', "If-Modified-Since": "L"}


def test_retry_after_accepts_seconds_and_dates_and_is_capped():
    now = datetime(2025, 11, 24, 10, 0, tzinfo=UTC)
    assert politeness.retry_after_seconds("3", now, cap=60) == 3
    assert politeness.retry_after_seconds("3600", now, cap=60) == 60
    assert politeness.retry_after_seconds("Mon, 24 Nov 2025 10:00:30 GMT", now, cap=60) == 30
    assert politeness.retry_after_seconds("soon", now, cap=60) is None


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1:9000/admin", "blocked-private-address"),
        ("http://localhost/x", "blocked-private-address"),
        ("http://169.254.169.254/latest/meta-data", "blocked-private-address"),
        ("http://10.0.0.7/", "blocked-private-address"),
        ("http://[::1]:8080/", "blocked-private-address"),
        ("http://127.0.0.1:8001/news/a", None),  # a configured outlet
        ("https://news.example/a", None),
        ("file:///etc/passwd", "unsupported-scheme"),
    ],
)
def test_private_addresses_are_refused_unless_configured(url, reason):
    assert politeness.refusal_reason(url, {"127.0.0.1:8001"}) == reason


def test_scrapy_settings_give_each_configured_outlet_its_slot_and_trust(tmp_path):
    import spiders.settings as scrapy_project_settings
    from spiders.settings import crawl_settings

    (tmp_path / "stories").mkdir()
    (tmp_path / "stories" / "s-1.yaml").write_text(
        "slug: s-1\ntitle: S\nsummary: {en: s}\nwindow: {start: 2025-11-01, end: 2025-12-01}\nkey_terms: {en: [x]}\n"
    )
    (tmp_path / "framewatch.yaml").write_text(
        "crawl: {user_agent: 'fw/1 (+http://x.example)', query_api: 'http://127.0.0.1:9100/api'}\n"
    )
    (tmp_path / "outlets.yaml").write_text(
        "outlets:\n- {name: A, homepage: 'http://127.0.0.1:9001/', language: en, country: US,"
        " crawl: {concurrency: 1, download_delay: 3}}\n"
        "- {name: B, homepage: 'https://b.example/news', language: es, country: MX}\n"
    )
    settings = crawl_settings(load_config(tmp_path))
    assert settings["DOWNLOAD_SLOTS"] == {"127.0.0.1:9001": {"concurrency": 1, "delay": 3.0}}
    assert settings["FRAMEWATCH_TRUSTED_HOSTS"] == ["127.0.0.1:9001", "127.0.0.1:9100", "b.example:443"]
    assert scrapy_project_settings.ROBOTSTXT_OBEY is True


def test_a_discovered_outlet_is_named_by_its_pages_site_name():
    """Issue 19: og:site_name, else the JSON-LD publisher (an @id into the graph too), else application-name."""
    og = b'<html><head><meta property="og:site_name" content="El Sol &amp; Co\x07"></head></html>'
    assert discovery.site_name(og) == "El Sol & Co"
    shown_entity = b'<html><head><meta property="og:site_name" content="Sol &amp;lt;3"></head></html>'
    assert discovery.site_name(shown_entity) == "Sol &lt;3"  # decoded once, by the parser
    graph = json.dumps(
        {
            "@graph": [
                {"@type": "NewsArticle", "headline": "H", "publisher": {"@id": "https://sol.example/#org"}},
                {"@type": "Organization", "@id": "https://sol.example/#org", "name": "Diario del Sol"},
            ]
        }
    )
    jsonld = f'<html><head><script type="application/ld+json">{graph}</script></head></html>'.encode()
    assert discovery.site_name(jsonld) == "Diario del Sol"
    app = b'<html><head><meta name="application-name" content="Sol Noticias"></head></html>'
    assert discovery.site_name(app) == "Sol Noticias"
    assert discovery.site_name(b"<html><head><title>Only a title</title></head></html>") is None
