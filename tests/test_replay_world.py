"""The replay world (demo/world) serves what its truth file says: outlets, feeds, sitemaps, faults, states."""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
import threading
import urllib.robotparser
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import feedparser
import lxml.etree
import lxml.html
import pytest
import yaml

from demo.world import ReplayWorld, render_outlets_config
from pipeline.extract.page_kind import BOT_CHALLENGE, CONSENT_PAGE, CUES

SITEMAP_NS = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
NEWS_NS = "{http://www.google.com/schemas/sitemap-news/0.9}"


def fetch(url: str, headers: dict | None = None, method: str = "GET") -> tuple[int, dict, bytes]:
    """One request, redirects not followed, so tests see exactly what the world answers."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        connection.request(
            method, parts.path + (f"?{parts.query}" if parts.query else ""), headers=headers or {}
        )
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def fetch_with_retry(url: str) -> tuple[int, dict, bytes]:
    status, headers, body = fetch(url)
    if status == 503:  # the retry-after-503 fault: one retry must succeed
        status, headers, body = fetch(url)
    return status, headers, body


def visible_headline(body: bytes) -> str:
    """The <h1> text as a reader sees it: script elements removed, whitespace collapsed."""
    tree = lxml.html.fromstring(body)
    heading = tree.xpath("//h1")[0]
    for script in heading.xpath(".//script"):
        script.drop_tree()
    return " ".join(heading.text_content().split())


def body_paragraphs(body: bytes) -> list[str]:
    tree = lxml.html.fromstring(body)
    return [
        " ".join(p.text_content().split()) for p in tree.xpath("//div[contains(@class, 'article-body')]/p")
    ]


@pytest.fixture(scope="module")
def truth(replay_world) -> dict:
    return replay_world.truth()


def articles_in_state(truth: dict, state: int) -> dict[str, dict]:
    return {url: a for url, a in truth["articles"].items() if str(state) in a["versions"]}


def fault(truth: dict, fault_id: str) -> dict:
    return next(f for f in truth["faults"] if f["id"] == fault_id)


# Content --------------------------------------------------------------------------------------------


def test_world_has_the_outlets_and_coverage_the_brief_asks_for(truth):
    configured = [o for o in truth["outlets"].values() if o["configured"]]
    assert len(configured) >= 10
    assert {o["language"] for o in configured} == {"en", "es"}
    assert {"US", "MX", "GB"} <= {o["country"] for o in configured}
    assert {"wire", "aggregator", "national", "regional", "international"} <= {
        o["outlet_type"] for o in configured
    }
    articles = truth["articles"].values()
    stories = [a for a in articles if a["is_story"]]
    assert 25 <= len(stories) <= 40
    assert {a["kind"] for a in articles} == {"story", "negative", "unrelated"}
    assert {a["language"] for a in stories} == {"en", "es"}
    copies = [a for a in articles if a["syndicates"]]
    assert {a["language"] for a in copies} == {"en", "es"}
    assert all(
        a["published"].startswith("2025-11-") and "18" <= a["published"][8:10] <= "27" for a in articles
    )


def test_original_articles_are_realistic_length(replay_world, truth):
    for url, article in articles_in_state(truth, 1).items():
        if not article["syndicates"]:
            words = sum(len(p.split()) for p in body_paragraphs(fetch_with_retry(url)[2]))
            assert 250 <= words <= 700, (url, words)


# Homepages, robots, feeds, sitemaps --------------------------------------------------------------------


@pytest.mark.parametrize(
    "outlet_name", ["Continental Wire Service", "El Heraldo Nacional", "The Meridian Review"]
)
def test_homepage_advertises_every_feed_by_autodiscovery(replay_world, truth, outlet_name):
    outlet = truth["outlets"][outlet_name]
    status, _, body = fetch(outlet["base_url"] + "/")
    assert status == 200
    advertised = lxml.html.fromstring(body).xpath("//link[@rel='alternate']/@href")
    assert advertised == [feed["url"] for feed in outlet["feeds"]]


def test_every_outlet_serves_homepage_and_robots_with_its_sitemaps(replay_world, truth):
    for name, outlet in truth["outlets"].items():
        assert fetch(outlet["base_url"] + "/")[0] == 200, name
        status, _, robots = fetch(outlet["base_url"] + "/robots.txt")
        assert status == 200
        sitemap_lines = [
            line.split(": ", 1)[1] for line in robots.decode().splitlines() if line.startswith("Sitemap:")
        ]
        assert sitemap_lines == [s["url"] for s in outlet["sitemaps"]], name
        assert "Disallow: /private/" in robots.decode()


def feed_links(body: bytes, kind: str) -> list[str]:
    if kind == "jsonfeed":  # feedparser does not read JSON Feed
        return [item["url"] for item in json.loads(body)["items"]]
    parsed = feedparser.parse(body)
    assert not parsed.bozo, parsed.get("bozo_exception")
    return [entry.link for entry in parsed.entries]


def test_every_feed_parses_and_links_only_to_known_urls(replay_world, truth):
    known = {alias.split("?")[0] for a in truth["articles"].values() for alias in a["aliases"]}
    known |= {f["url"] for f in truth["faults"]}
    for outlet in truth["outlets"].values():
        for feed in outlet["feeds"]:
            body = fetch(feed["url"])[2]
            parsed = feedparser.parse(body)
            if feed["truncated"]:
                assert parsed.bozo, feed["url"]
                continue
            links = feed_links(body, feed["kind"])
            assert links, feed["url"]
            assert {link.split("?")[0] for link in links} <= known, feed["url"]


def test_feed_kinds_cover_rss_atom_json_rdf_and_full_content(truth):
    kinds = {f["kind"] for o in truth["outlets"].values() for f in o["feeds"]}
    assert {"rss2-teaser", "rss2-full", "atom", "jsonfeed", "rdf"} <= kinds


def test_full_content_rss_carries_the_article_body(replay_world, truth):
    feed_url = truth["outlets"]["Continental Wire Service"]["feeds"][0]["url"]
    entry = feedparser.parse(fetch(feed_url)[2]).entries[0]
    assert len(entry.content[0].value.split()) > 200


def test_feed_links_carry_the_labelled_tracking_parameters(replay_world, truth):
    for name, parameter in [("The Metropolitan Chronicle", "utm_source="), ("Headline Hub", "fbclid=")]:
        feed_url = truth["outlets"][name]["feeds"][0]["url"]
        links = [e.link for e in feedparser.parse(fetch(feed_url)[2]).entries]
        article_links = [link for link in links if link.split("?")[0] in truth["articles"]]
        assert article_links and all(parameter in link for link in article_links)


def _sitemap_locs(url: str) -> list[lxml.etree._Element]:
    root = lxml.etree.fromstring(fetch(url)[2])
    if root.tag == SITEMAP_NS + "sitemapindex":
        return [loc for child in root.iter(SITEMAP_NS + "loc") for loc in _sitemap_locs(child.text)]
    return list(root.iter(SITEMAP_NS + "url"))


def test_sitemaps_and_indexes_list_the_outlets_articles(replay_world, truth):
    for name, outlet in truth["outlets"].items():
        expected = {url for url, a in articles_in_state(truth, 1).items() if a["outlet"] == name}
        for sitemap in outlet["sitemaps"]:
            entries = _sitemap_locs(sitemap["url"])
            assert {e.findtext(SITEMAP_NS + "loc") for e in entries} == expected, sitemap["url"]
            if sitemap["kind"] == "news":
                assert all(e.find(f"{NEWS_NS}news/{NEWS_NS}title") is not None for e in entries)


# Article pages -----------------------------------------------------------------------------------------


def test_every_article_shows_its_expected_headline(replay_world, truth):
    for url, article in articles_in_state(truth, 1).items():
        status, _, body = fetch_with_retry(url)
        assert status == 200, url
        assert visible_headline(body) == article["expected_headline"], url


def test_markup_styles_carry_the_metadata_they_claim(replay_world, truth):
    def page(article_id):
        url = next(u for u, a in truth["articles"].items() if a["id"] == article_id)
        return fetch_with_retry(url)[2].decode("utf-8", errors="replace")

    assert '"articleBody"' in page("cws-en-plan")
    assert '"@graph"' in page("mc-options")
    nobody = page("mr-explainer")
    assert '"NewsArticle"' in nobody and '"articleBody"' not in nobody
    assert 'property="og:title"' in page("ll-border-invasion") and "ld+json" not in page("ll-border-invasion")
    assert 'itemtype="https://schema.org/NewsArticle"' in page("pm-plan")
    plain = page("cbs-football")
    assert "By Javier Luna" in plain and "ld+json" not in plain and "og:" not in plain


def test_plain_spanish_pages_give_bylines_and_dates_only_as_text(replay_world, truth):
    url = next(u for u, a in truth["articles"].items() if a["id"] == "hn-soberania")
    text = fetch(url)[2].decode("latin-1")
    assert "Por María López y Juan Pérez" in text
    assert "24 de noviembre de 2025, 16:40" in text  # 22:40 UTC in Mexico City time
    assert "<time" not in text and "datePublished" not in text


def test_latin1_outlet_serves_real_iso_8859_1_bytes(replay_world, truth):
    heraldo = {u: a for u, a in articles_in_state(truth, 1).items() if a["outlet"] == "El Heraldo Nacional"}
    assert {a["charset_declared"] for a in heraldo.values()} == {"header", "meta", "none"}
    for url, article in heraldo.items():
        _, headers, body = fetch(url)
        assert "á".encode("latin-1") in body or "í".encode("latin-1") in body
        with pytest.raises(UnicodeDecodeError):
            body.decode("utf-8")
        assert ("charset=ISO-8859-1" in headers["content-type"]) == (article["charset_declared"] == "header")
        assert (b"iso-8859-1" in body) == (article["charset_declared"] != "none")


def test_amp_pages_and_canonical_pages_point_at_each_other(replay_world, truth):
    pairs = [(url, a["amp_url"]) for url, a in articles_in_state(truth, 1).items() if a["amp_url"]]
    assert len(pairs) >= 4
    for canonical, amp in pairs:
        assert lxml.html.fromstring(fetch(canonical)[2]).xpath("//link[@rel='amphtml']/@href") == [amp]
        amp_page = lxml.html.fromstring(fetch(amp)[2])
        assert "amp" in amp_page.attrib
        assert amp_page.xpath("//link[@rel='canonical']/@href") == [canonical]


def test_conditional_get_answers_304_and_is_logged(replay_world, truth):
    url = next(u for u, a in truth["articles"].items() if a["id"] == "mc-title50")
    _, headers, _ = fetch(url)
    assert fetch(url, {"If-None-Match": headers["etag"]})[0] == 304
    assert fetch(url, {"If-Modified-Since": headers["last-modified"]})[0] == 304
    assert fetch(url, {"If-None-Match": '"stale"'})[0] == 200
    seen = replay_world.requests_to("The Metropolitan Chronicle", urlsplit(url).path)
    assert [r.status for r in seen[-3:]] == [304, 304, 200]
    assert seen[-3].headers["if-none-match"] == headers["etag"]


# Faults ------------------------------------------------------------------------------------------------


def check_not_found(world, f):
    assert fetch(f["url"])[0] == 404


def check_unavailable_once(world, f):
    status, headers, _ = fetch(f["url"])
    assert (status, headers["retry-after"]) == (503, str(f["retry_after"]))
    assert fetch(f["url"])[0] == 200


def check_moved_permanently(world, f):
    status, headers, _ = fetch(f["url"])
    canonical = next(u for u, a in world.truth()["articles"].items() if a["id"] == f["article"])
    assert (status, headers["location"]) == (301, canonical)


def check_redirect_to_internal(world, f):
    hits_before = world.internal_hits
    status, headers, _ = fetch(f["url"])
    assert status == 302 and headers["location"].startswith(world.internal_url)
    assert urlsplit(world.internal_url).netloc not in {urlsplit(u).netloc for u in world.outlets.values()}
    assert world.internal_hits == hits_before


def check_truncated_feed(world, f):
    with pytest.raises(lxml.etree.XMLSyntaxError):
        lxml.etree.fromstring(fetch(f["url"])[2])


def check_huge_page(world, f):
    parts = urlsplit(f["url"])
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    connection.request("GET", parts.path)
    response = connection.getresponse()
    assert int(response.getheader("Content-Length")) == f["size_bytes"]
    received = 0
    while chunk := response.read(1 << 20):
        received += len(chunk)
    connection.close()
    assert received == f["size_bytes"]


def check_wrong_content_type(world, f):
    status, headers, body = fetch(f["url"])
    assert (status, headers["content-type"]) == (200, f["content_type"])
    assert b"<h1" in body


def check_markup_injection(world, f):
    body = fetch(f["url"])[2]
    assert b"<h1>" in body and b"<script>alert(" in body.split(b"<h1>")[1].split(b"</h1>")[0]
    assert "<script" not in world.truth()["articles"][f["url"]]["expected_headline"]


def check_crlf_in_headline(world, f):
    atom_feed = fetch(world.truth()["outlets"][f["outlet"]]["feeds"][0]["url"])[2]
    assert b",\r\nsay administration allies" in atom_feed
    assert "\n" not in world.truth()["articles"][f["url"]]["expected_headline"]


def check_robots_disallowed(world, f):
    outlet = world.truth()["outlets"][f["outlet"]]
    robots = urllib.robotparser.RobotFileParser()
    robots.parse(fetch(outlet["base_url"] + "/robots.txt")[2].decode().splitlines())
    assert not robots.can_fetch("framewatch", f["url"])
    assert f["url"] in lxml.html.fromstring(fetch(outlet["base_url"] + "/")[2]).xpath("//a/@href")
    # This test only reads robots.txt and the homepage: the page itself must stay unfetched for everyone.


FAULT_CHECKS = {
    name.removeprefix("check_").replace("_", "-"): check
    for name, check in globals().items()
    if name.startswith("check_")
}


def test_every_fault_kind_has_a_check(truth):
    assert {f["kind"] for f in truth["faults"]} <= set(FAULT_CHECKS)


@pytest.mark.parametrize(
    "fault_id",
    [
        "feed-link-404",
        "retry-after-503",
        "moved-301",
        "redirect-to-internal",
        "truncated-feed",
        "huge-page",
        "octet-stream-article",
        "text-plain-article",
        "script-in-headline",
        "crlf-in-headline",
        "robots-disallowed",
    ],
)
def test_fault_behaves_as_labelled(replay_world, truth, fault_id):
    labelled = fault(truth, fault_id)
    assert labelled["expected"] and labelled["outcome"]
    FAULT_CHECKS[labelled["kind"]](replay_world, labelled)


def test_never_stored_urls_include_every_unfetchable_fault(truth):
    never = {entry["fault"] for entry in truth["never_in_warehouse"]}
    assert never == {"feed-link-404", "redirect-to-internal", "huge-page", "robots-disallowed"}


# Query discovery and config -------------------------------------------------------------------------------


def test_query_api_lists_configured_and_unconfigured_outlets(replay_world, truth):
    status, _, body = fetch(replay_world.gdelt_url + "?query=cartels%20mexico&mode=ArtList&format=json")
    assert status == 200
    listed = json.loads(body)["articles"]
    assert {
        "url",
        "url_mobile",
        "title",
        "seendate",
        "socialimage",
        "domain",
        "language",
        "sourcecountry",
    } <= set(listed[0])
    bases = {urlsplit(u).netloc for u in replay_world.outlets.values()}
    discovered = {urlsplit(u).netloc for u in replay_world.discovered_outlets.values()}
    netlocs = {urlsplit(a["url"]).netloc for a in listed}
    assert netlocs & bases and netlocs & discovered == discovered
    assert all(fetch(a["url"])[0] == 200 and a["url"] in truth["articles"] for a in listed)
    assert all(len(a["seendate"]) == 16 and a["seendate"].endswith("Z") for a in listed)


def test_query_api_rejects_requests_it_does_not_record(replay_world):
    assert fetch(replay_world.gdelt_url + "?query=x&mode=TimelineVol&format=json")[0] == 400
    assert fetch(replay_world.gdelt_url)[0] == 400


def test_outlets_config_lists_only_configured_outlets(replay_world):
    config = yaml.safe_load(render_outlets_config(replay_world))["outlets"]
    assert [o["name"] for o in config] == list(replay_world.outlets)
    for entry in config:
        assert {"name", "homepage", "language", "country", "ownership", "outlet_type"} <= set(entry)
        assert entry["homepage"] == replay_world.outlets[entry["name"]] + "/"
    hosts = {urlsplit(o["homepage"]).netloc for o in config}
    assert urlsplit(replay_world.internal_url).netloc not in hosts
    assert not hosts & {urlsplit(u).netloc for u in replay_world.discovered_outlets.values()}


# State switch, scale, lifecycle ---------------------------------------------------------------------------


def test_state_switch_changes_exactly_the_labelled_articles():
    with ReplayWorld() as world:  # a world of its own: the session world stays in state 1
        truth = world.truth()
        pages = {1: {}, 2: {}}
        for state in (1, 2):
            world.set_state(state)
            for url in articles_in_state(truth, state):
                status, _, body = fetch_with_retry(url)
                assert status == 200
                pages[state][url] = body
    both = pages[1].keys() & pages[2].keys()
    headline_changed = {u for u in both if visible_headline(pages[1][u]) != visible_headline(pages[2][u])}
    body_changed = {u for u in both if body_paragraphs(pages[1][u]) != body_paragraphs(pages[2][u])}
    bytes_changed = {u for u in both if pages[1][u] != pages[2][u]}
    changes = truth["state_changes"]
    assert headline_changed == set(changes["headline_edited"])
    assert body_changed == set(changes["paragraph_added"])
    assert set(changes["trivial_only"]) <= bytes_changed - headline_changed - body_changed
    assert set(pages[2]) - set(pages[1]) == set(changes["new_in_state_2"])
    for url in changes["headline_edited"]:
        assert visible_headline(pages[2][url]) == truth["articles"][url]["versions"]["2"]["headline"]


def listed_links(url: str) -> list[str]:
    return [entry.link for entry in feedparser.parse(fetch(url)[2]).entries]


def test_the_publishing_clock_keeps_every_outlet_publishing_every_20_minutes():
    start = datetime(2025, 11, 28, 12, tzinfo=UTC)
    with ReplayWorld() as world:
        feed = world.outlets["The Metropolitan Chronicle"] + "/rss/world.xml"
        before = listed_links(feed)
        world.set_clock(start)  # the clock starts an hour back: three stories each
        first = listed_links(feed)
        world.set_clock(start + timedelta(hours=1))
        later = listed_links(feed)
        newest = fetch(first[0].split("?")[0])
    assert [link for link in first if "-live-" in link] == first[:3] and before == first[3:]
    assert later[3:] == first and all("-live-" in link for link in later[:3])
    assert newest[0] == 200 and b"article-body" in newest[2]


def test_state_3_breaks_four_outlets_and_state_2_repairs_them():
    at = datetime(2025, 11, 28, 12, tzinfo=UTC)
    with ReplayWorld() as world:
        world.set_state(2)
        world.set_clock(at)
        silent_feed = world.outlets["The Coronado Border Sentinel"] + "/feed/"
        listed, validator = fetch(silent_feed)[2], fetch(silent_feed)[1]["etag"]
        world.set_state(3)
        world.set_clock(at + timedelta(hours=1))
        broken = {name: [fetch(link.split("?")[0]) for link in listed_links(world.outlets[name] + path)[:6]]
                  for name, path in (("The Metropolitan Chronicle", "/rss/world.xml"),
                                     ("The Liberty Ledger", "/atom.xml"), ("Diario del Golfo", "/feed/atom"))}  # fmt: skip
        frozen = fetch(silent_feed)[2], fetch(silent_feed, {"If-None-Match": validator})[0]
        homepage = fetch(world.outlets["The Coronado Border Sentinel"] + "/")[2].decode()
        world.set_state(2)
        repaired = [
            fetch(link.split("?")[0])
            for link in listed_links(world.outlets["The Liberty Ledger"] + "/atom.xml")[:6]
        ]
    moved = [body.decode() for _, _, body in broken["The Metropolitan Chronicle"]]
    assert all("article-body" not in page and "__STORY_STATE__" in page for page in moved)
    assert not any(
        marker in page for page in moved for marker in ("datePublished", "<time", "published_time")
    )
    challenged = [body.decode() for _, _, body in broken["The Liberty Ledger"]]
    assert all(CUES[BOT_CHALLENGE].search(page) for page in challenged)
    walled = [
        CUES[CONSENT_PAGE].search(body.decode()) is not None and b"article-body" not in body
        for _, _, body in broken["Diario del Golfo"]
    ]
    assert 0 < sum(walled) < len(walled)  # some articles, not all
    assert all(status == 200 for pages in broken.values() for status, _, _ in pages)
    assert frozen == (listed, 304)  # the silent feed: what it listed when the break began, unchanged
    assert "-live-00005" in homepage  # while the site goes on publishing
    assert all(b"article-body" in body for _, _, body in repaired)


def test_scale_mode_is_deterministic_and_served():
    def scale_truth(seed):
        with ReplayWorld(scale=300, seed=seed) as world:
            truth = world.truth()
            generated = {u: a for u, a in truth["articles"].items() if a["id"].startswith("scale-")}
            sample_url = sorted(generated)[0]
            assert fetch(sample_url)[0] == 200
            bulk = next(
                s["url"]
                for s in truth["outlets"][generated[sample_url]["outlet"]]["sitemaps"]
                if s["url"].endswith("/sitemap-bulk.xml")
            )
            assert sample_url in fetch(bulk)[2].decode()
            return [(urlsplit(u).path, a["expected_headline"], a["syndicates"]) for u, a in generated.items()]

    first, again, other = scale_truth(7), scale_truth(7), scale_truth(8)
    assert len(first) == 300 and first == again and first != other
    assert {s is not None for _, _, s in first} == {True, False}  # copies and noise both present


def test_world_stops_cleanly_without_stray_threads():
    world = ReplayWorld().start()
    base = next(iter(world.outlets.values()))
    assert fetch(base + "/")[0] == 200
    world.stop()
    assert not [t for t in threading.enumerate() if t.name.startswith(world.thread_prefix)]
    with pytest.raises(OSError):
        fetch(base + "/")


def test_cli_writes_truth_file(tmp_path):
    out = tmp_path / "truth.json"
    subprocess.run(
        [sys.executable, "-m", "demo.world", "truth", "--base-port", "0", "--out", str(out)],
        check=True,
        timeout=60,
    )
    written = json.loads(out.read_text(encoding="utf-8"))
    assert len(written["articles"]) >= 40 and written["faults"]


def test_cli_serve_prints_outlet_urls_and_stops_on_interrupt():
    process = subprocess.Popen(
        [sys.executable, "-m", "demo.world", "serve", "--base-port", "0"], stdout=subprocess.PIPE, text=True
    )
    try:
        lines = [process.stdout.readline() for _ in range(3)]
        url = lines[0].split()[0]
        assert url.startswith("http://127.0.0.1:") and fetch(url)[0] == 200
    finally:
        process.send_signal(2)
        assert process.wait(timeout=10) == 0
