"""The crawler against the replay world and a small fault server of its own (all on 127.0.0.1).

A module-wide world of our own (we switch it to state 2 at the end) is crawled three times: a first run,
a second run over the unchanged world, and a third after the world changed and the re-check schedule
came due. Request counts of the runs are printed (run pytest with -s); timings are never asserted.
"""

from __future__ import annotations

import gzip
import json
import shutil
import threading
import time
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
import yaml

from demo.world import ReplayWorld
from demo.world.config import write_config
from pipeline.crawl.archive import iter_fetched_pages
from pipeline.crawl.crawler import CrawlResult, run_crawl
from pipeline.crawl.state import (
    read_cache_updates,
    read_http_cache,
    record_crawl,
    run_shards,
    save_http_cache,
)
from pipeline.crawl.workspace import ShardWorkspace
from schemas.models import CrawlRun, CrawlShard, FetchLog, HttpCacheEntry, Outlet, RunOutcome

REPO = Path(__file__).resolve().parent.parent
# Ordinary pages must never reach the timeout on a loaded 2-core CI machine (a retried timeout would
# count as a second request); the slow page must always exceed it.
FAULT_TIMEOUT_SECONDS = 4
SLOW_PAGE_SECONDS = 10
STORY = "mexico-cartel-intervention"

pytestmark = pytest.mark.slow


def write_test_config(directory: Path, outlets_yaml: Path | None, **crawl_overrides) -> Path:
    """A config dir: the given outlets.yaml, the shipped framewatch.yaml with test overrides, the story."""
    (directory / "stories").mkdir(parents=True, exist_ok=True)
    if outlets_yaml and outlets_yaml != directory / "outlets.yaml":
        shutil.copy(outlets_yaml, directory / "outlets.yaml")
    settings = yaml.safe_load((REPO / "config" / "framewatch.yaml").read_text(encoding="utf-8"))
    settings["crawl"].update(
        {
            "download_delay": 0,
            "concurrency_per_host": 4,
            "timeout_seconds": 10,
            "max_response_bytes": 2_000_000,
            **crawl_overrides,
        }
    )
    (directory / "framewatch.yaml").write_text(yaml.safe_dump(settings), encoding="utf-8")
    shutil.copy(REPO / "config" / "stories" / f"{STORY}.yaml", directory / "stories")
    return directory


def request_total(world: ReplayWorld) -> int:
    return sum(len(records) for records in world.request_log.values())


def manifest(result: CrawlResult) -> list[dict]:
    return [json.loads(line) for line in result.workspace.manifest.read_text(encoding="utf-8").splitlines()]


def cache_updates(result: CrawlResult) -> dict[str, dict]:
    return read_cache_updates([result.workspace])


def fetch_log(result: CrawlResult) -> list[dict]:
    return [json.loads(line) for line in result.workspace.fetch_log.read_text(encoding="utf-8").splitlines()]


def outcome_of(result: CrawlResult, url: str) -> str:
    return next(e["outcome"] for e in fetch_log(result) if e["url"] == url)


# The replay world, crawled three times ----------------------------------------------------------------


@pytest.fixture(scope="module")
def world():
    with ReplayWorld() as world:
        yield world


@pytest.fixture(scope="module")
def truth(world):
    return world.truth()


@pytest.fixture(scope="module")
def config_dir(world, tmp_path_factory):
    directory = tmp_path_factory.mktemp("config")
    write_config(world, directory)
    return write_test_config(directory, None, query_api=world.gdelt_url)


@pytest.fixture(scope="module")
def first_run(world, config_dir, tmp_path_factory):
    before = request_total(world)
    started = time.perf_counter()
    result = run_crawl(config_dir, tmp_path_factory.mktemp("run1"), "run-1", {})
    seconds = time.perf_counter() - started
    requests = request_total(world) - before
    pages = len(manifest(result))
    print(
        f"\nfirst run: {requests} requests, {pages} pages in {seconds:.1f}s ({pages / seconds:.1f} pages/s); "
        f"outcomes {result.counts}"
    )
    return result


@pytest.fixture(scope="module")
def second_run(world, config_dir, first_run, tmp_path_factory):
    before = {site: len(records) for site, records in world.request_log.items()}
    result = run_crawl(config_dir, tmp_path_factory.mktemp("run2"), "run-2", cache_updates(first_run))
    records = [r for site, records in world.request_log.items() for r in records[before[site] :]]
    print(
        f"\nsecond run: {len(records)} requests ({sum(r.status == 304 for r in records)} answered 304); "
        f"outcomes {result.counts}"
    )
    return result, records


@pytest.fixture(scope="module")
def third_run(world, config_dir, first_run, second_run, tmp_path_factory):
    """The world moves to state 2; two hours later every fresh article is due for its re-check."""
    world.set_state(2)
    cache = {**cache_updates(first_run), **cache_updates(second_run[0])}
    later = datetime.now(UTC) + timedelta(hours=2)
    result = run_crawl(config_dir, tmp_path_factory.mktemp("run3"), "run-3", cache, now=later)
    print(f"\nthird run (state 2, +2h): outcomes {result.counts}")
    return result


def expected_articles(truth, state: int = 1) -> dict[str, dict]:
    return {url: a for url, a in truth["articles"].items() if str(state) in a["versions"]}


def test_every_article_of_every_outlet_is_found(first_run, truth):
    fetched = {page["url"] for page in manifest(first_run)}
    expected = expected_articles(truth)
    assert sorted(set(expected) - fetched) == []
    assert sorted(fetched - set(expected)) == []
    assert {a["outlet"] for a in expected.values()} == set(truth["outlets"])


def test_each_page_says_how_it_was_discovered(first_run, truth):
    pages = manifest(first_run)
    by_via = Counter(page["discovered_via"] for page in pages)
    assert by_via["feed"] > 0 and by_via["sitemap"] > 0
    query_pages = [p for p in pages if p["discovered_via"] == "query"]
    discovered_bases = {urlsplit(u).netloc for u in truth["world"]["discovered_outlets"].values()}
    assert {p["outlet"] for p in query_pages} == discovered_bases
    feed_pages = [p for p in pages if p["discovered_via"] == "feed"]
    assert all(p["feed_entry"] and p["feed_entry"]["url"] for p in feed_pages)


def test_query_discovery_reports_the_outlets_not_in_config(first_run, truth):
    expected = {urlsplit(u).netloc for u in truth["world"]["discovered_outlets"].values()}
    assert {o["homepage_host"] for o in first_run.discovered_outlets} == expected
    assert all(o["discovered"] for o in first_run.discovered_outlets)
    assert {o["site_name"] for o in first_run.discovered_outlets} == set(truth["world"]["discovered_outlets"])


def fault(truth, fault_id: str) -> dict:
    return next(f for f in truth["faults"] if f["id"] == fault_id)


def test_faults_end_in_their_recorded_outcomes(first_run, truth):
    assert outcome_of(first_run, fault(truth, "feed-link-404")["url"]) == "http-404"
    assert outcome_of(first_run, fault(truth, "huge-page")["url"]) == "too-large"
    assert outcome_of(first_run, fault(truth, "robots-disallowed")["url"]) == "blocked-by-robots"
    assert outcome_of(first_run, fault(truth, "truncated-feed")["url"]) == "malformed-feed"
    assert (
        outcome_of(first_run, truth["world"]["internal_url"] + "/admin/export?all=1")
        == "blocked-private-address"
    )
    assert first_run.counts["blocked-by-robots"] >= 1 and first_run.counts["too-large"] >= 1


def test_nothing_is_contacted_outside_configured_hosts(first_run, world):
    assert world.internal_hits == 0


def test_robots_disallowed_url_is_never_requested(first_run, world, truth):
    disallowed = fault(truth, "robots-disallowed")
    assert world.requests_to(disallowed["outlet"], disallowed["path"]) == []


def test_retry_after_503_is_retried_and_stored_once(first_run, world, truth):
    url = fault(truth, "retry-after-503")["url"]
    statuses = [r.status for r in world.requests_to(truth["articles"][url]["outlet"], urlsplit(url).path)]
    assert statuses[:2] == [503, 200]
    assert [p["url"] for p in manifest(first_run)].count(url) == 1


def test_moved_article_is_stored_under_its_new_url_with_the_old_one_kept(first_run, truth):
    moved = fault(truth, "moved-301")
    page = next(p for p in manifest(first_run) if p["requested_url"] == moved["url"])
    assert page["url"] != moved["url"] and truth["articles"][page["url"]]["fault"] == "moved-301"


def test_wrong_content_types_are_handed_on_for_extraction_to_sniff(first_run, truth):
    pages = {p["url"]: p for p in manifest(first_run)}
    for fault_id in ("octet-stream-article", "text-plain-article"):
        url = fault(truth, fault_id)["url"]
        assert pages[url]["headers"]["content-type"] == fault(truth, fault_id)["content_type"]


def test_pages_read_back_from_the_warc_are_the_pages_served(first_run, truth):
    pages = list(iter_fetched_pages(first_run.workspace.manifest))
    assert len(pages) == len(manifest(first_run))
    for page in pages:
        assert page.warc_record_id.startswith("<urn:uuid:")
        assert page.url in truth["articles"]
        assert f'<link rel="canonical" href="{page.url}">'.encode() in page.body


def test_a_corrupt_warc_record_becomes_an_error_outcome(first_run, tmp_path):
    shutil.copytree(first_run.workspace.directory, tmp_path / "copy")
    lines = (tmp_path / "copy" / "manifest.jsonl").read_text(encoding="utf-8").splitlines()
    victim = json.loads(lines[len(lines) // 2])
    warc = tmp_path / "copy" / victim["warc_file"]
    data = bytearray(warc.read_bytes())
    data[victim["warc_offset"] + 30 : victim["warc_offset"] + 60] = b"\x00" * 30
    warc.write_bytes(bytes(data))
    errors = []
    pages = list(iter_fetched_pages(tmp_path / "copy" / "manifest.jsonl", on_error=errors.append))
    assert [e.url for e in errors] == [victim["url"]]
    assert errors[0].kind == "corrupt-warc-record"
    assert len(pages) == len(lines) - 1


def test_warc_file_is_gzipped_per_record_and_holds_robots_and_redirects(first_run):
    with gzip.open(first_run.workspace.warc, "rb") as stream:
        text = stream.read()
    assert b"WARC-Target-URI: " in text and b"/robots.txt" in text and b"301 Moved Permanently" in text


def test_a_crawl_can_be_limited_to_some_outlets(world, config_dir, truth, tmp_path):
    result = run_crawl(config_dir, tmp_path, "subset", {}, outlets=["The Liberty Ledger"])
    ledger = urlsplit(truth["world"]["outlets"]["The Liberty Ledger"]).netloc
    assert {p["outlet"] for p in manifest(result)} == {"The Liberty Ledger"}
    # not the shard holding the first configured outlet: no query discovery, so only the outlet's host
    assert {urlsplit(e["url"]).netloc for e in fetch_log(result)} == {ledger}
    assert not result.asked_query_api and result.shard.startswith("shard-")
    assert result.discovered_outlets == []


def test_second_run_over_an_unchanged_world_fetches_almost_nothing(first_run, second_run, world):
    result, records = second_run
    assert manifest(result) == []
    assert result.counts.get("not-modified", 0) > 0
    assert result.counts.get("not-due", 0) >= len(manifest(first_run)) - 2
    conditional = [r for r in records if "if-none-match" in r.headers or "if-modified-since" in r.headers]
    assert conditional and all(r.status == 304 for r in conditional)
    article_paths = {urlsplit(p["url"]).path for p in manifest(first_run)}
    assert [r.path for r in records if urlsplit(r.path).path in article_paths] == []


def test_a_changed_world_is_picked_up_when_rechecks_come_due(third_run, truth):
    fetched = {p["url"] for p in manifest(third_run)}
    changes = truth["state_changes"]
    assert set(changes["headline_edited"]) | set(changes["paragraph_added"]) <= fetched
    assert set(changes["new_in_state_2"]) <= fetched
    assert third_run.counts.get("not-modified", 0) > 0  # unchanged articles answered 304


def open_run(connection, run_key: str) -> int:
    values = {
        "run_key": run_key,
        "started_at": datetime.now(UTC),
        "story_slug": STORY,
        "counts": {},
    }
    return connection.execute(sa.insert(CrawlRun).values(**values).returning(CrawlRun.id)).scalar_one()


def count_rows(connection, model) -> int:
    return connection.execute(sa.select(sa.func.count()).select_from(model)).scalar_one()


def test_crawl_state_round_trips_through_the_warehouse(first_run, warehouse, truth):
    with warehouse.begin() as connection:
        run_id = open_run(connection, "run-1")
        for _ in range(2):  # a retried task changes nothing
            record_crawl(connection, run_id, first_run)
            save_http_cache(connection, cache_updates(first_run))  # the process stage's, once pages load
        cache = read_http_cache(connection)
        assert cache == cache_updates(first_run)
        assert count_rows(connection, HttpCacheEntry) == len(cache)
        assert count_rows(connection, FetchLog) == len(fetch_log(first_run))
        outcomes = dict(connection.execute(sa.select(RunOutcome.outcome, RunOutcome.count)).all())
        assert outcomes == first_run.counts
        assert connection.execute(sa.select(CrawlRun.counts)).scalar_one()["fetch"] == first_run.counts
        assert [shard.manifest for shard in run_shards(connection, "run-1")] == [first_run.workspace.manifest]
        discovered = connection.execute(sa.select(Outlet.name).where(Outlet.discovered.is_(True))).scalars()
        # issue 19: named by the site name their pages give, not by host and port
        assert set(discovered) == set(truth["world"]["discovered_outlets"])


def test_shards_of_one_run_add_up_and_a_retried_shard_replaces_its_share(first_run, warehouse, tmp_path):
    shard_a = replace(
        first_run,
        workspace=ShardWorkspace(tmp_path / "no-files", "sharded"),
        outlets=("A",),
        counts={"ok": 2},
        discovered_outlets=[],
    )
    shard_b = replace(shard_a, outlets=("B",), counts={"ok": 3, "http-404": 1})
    with warehouse.begin() as connection:
        run_id = open_run(connection, "sharded")
        for result in (shard_a, shard_b, replace(shard_a, counts={"ok": 4})):
            record_crawl(connection, run_id, result)
        outcomes = dict(connection.execute(sa.select(RunOutcome.outcome, RunOutcome.count)).all())
        assert outcomes == {"ok": 7, "http-404": 1}
        shards = connection.execute(sa.select(CrawlShard.shard)).scalars()
        assert sorted(shards) == sorted({shard_a.shard, shard_b.shard})


@pytest.mark.postgres
def test_two_shards_recorded_at_the_same_moment_do_not_deadlock(first_run, postgres_server_url, tmp_path):
    """Issue 22: two crawl shards finishing together on two Celery workers deadlocked on the run's row."""
    from conftest import fresh_postgres_schema

    from schemas.database import make_engine, upgrade_database

    shard = replace(first_run, workspace=ShardWorkspace(tmp_path / "no-files", "together"), outlets=("A",),
                    counts={"ok": 2}, discovered_outlets=[])  # fmt: skip
    with fresh_postgres_schema(postgres_server_url) as url:
        upgrade_database(url)
        engine = make_engine(url)
        with engine.begin() as connection:
            run_id = open_run(connection, "together")
        other = engine.connect()
        other_shard = other.begin()
        # The other shard has written its row: its foreign key holds a share lock on the run's row.
        other.execute(
            sa.insert(CrawlShard).values(run_id=run_id, shard="shard-other", directory="d", outlets=["B"])
        )
        recording: dict = {}
        thread = threading.Thread(target=_record_in_own_transaction, args=(engine, run_id, shard, recording))
        thread.start()
        _wait_until_waiting_for_a_lock(other, recording)
        # ...and now locks the run's row to add its counts (save_fetch_counts) while this shard records.
        other.execute(sa.select(CrawlRun.id).where(CrawlRun.id == run_id).with_for_update())
        other_shard.commit()
        other.close()
        thread.join(timeout=60)
        with engine.connect() as connection:
            shards = sorted(connection.execute(sa.select(CrawlShard.shard)).scalars())
        engine.dispose()
    assert recording.get("error") is None
    assert shards == sorted([shard.shard, "shard-other"])


def _record_in_own_transaction(engine, run_id: int, result, recording: dict) -> None:
    try:
        with engine.begin() as connection:
            recording["pid"] = connection.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()
            record_crawl(connection, run_id, result)
    except Exception as exc:  # noqa: BLE001 - the test reports what the recording thread met
        recording["error"] = f"{type(exc).__name__}: {exc}"


def _wait_until_waiting_for_a_lock(connection, recording: dict, timeout: float = 30) -> None:
    """Until the recording thread's backend waits for a lock (held by ``connection``'s transaction)."""
    deadline = time.monotonic() + timeout
    query = sa.text("SELECT wait_event_type FROM pg_stat_activity WHERE pid = :pid")
    while time.monotonic() < deadline:
        pid = recording.get("pid")
        if pid is not None and connection.execute(query, {"pid": pid}).scalar() == "Lock":
            return
        time.sleep(0.05)
    raise AssertionError(f"the recording shard never waited for the run's row: {recording}")


# Faults the world does not serve, on a small server of our own ----------------------------------------

BILLION_LAUGHS = b"""<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">
<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;">]><rss version="2.0"><channel><title>&c;</title>
<item><title>t</title><link>/news/never-followed-item</link></item></channel></rss>"""


class FaultHandler(BaseHTTPRequestHandler):
    hits: Counter = Counter()

    def do_GET(self):  # noqa: N802
        type(self).hits[self.path] += 1
        base = f"http://{self.headers['Host']}"
        routes = {
            "/robots.txt": (200, {"Content-Type": "text/plain"}, b"User-agent: *\nDisallow:\n"),
            "/": (200, {"Content-Type": "text/html"}, b"<html><head></head><body>home</body></html>"),
            "/rss.xml": (200, {"Content-Type": "application/rss+xml"}, self._feed(base)),
            "/bomb.xml": (200, {"Content-Type": "application/rss+xml"}, BILLION_LAUGHS),
            "/news/loop-one-a": (302, {"Location": "/news/loop-one-b"}, b""),
            "/news/loop-one-b": (302, {"Location": "/news/loop-one-a"}, b""),
            "/news/to-metadata-service": (302, {"Location": "http://169.254.169.254/latest/meta-data/"}, b""),
            "/news/busy-retry-later": (429, {"Retry-After": "1"}, b"slow down")
            if type(self).hits[self.path] == 1
            else (200, {"Content-Type": "text/html"}, b"<h1>ok now</h1>"),
        }
        if self.path == "/news/very-slow-page":
            time.sleep(SLOW_PAGE_SECONDS)
        status, headers, body = routes.get(self.path, (200, {"Content-Type": "text/html"}, b"<h1>page</h1>"))
        self.send_response(status)
        for name, value in {**headers, "Content-Length": str(len(body))}.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _feed(self, base: str) -> bytes:
        links = [
            "/news/loop-one-a",
            "/news/to-metadata-service",
            "/news/very-slow-page",
            "/news/busy-retry-later",
        ]
        items = "".join(f"<item><title>{p}</title><link>{base}{p}</link></item>" for p in links)
        return f'<?xml version="1.0"?><rss version="2.0"><channel><title>F</title>{items}</channel></rss>'.encode()

    def log_message(self, *args):
        pass


class QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        pass  # the crawler hangs up on the slow page when it times out: expected here


@pytest.fixture(scope="module")
def fault_server():
    server = QuietServer(("127.0.0.1", 0), FaultHandler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def fault_run(fault_server, tmp_path_factory):
    directory = tmp_path_factory.mktemp("fault-config")
    outlets = {
        "outlets": [
            {
                "name": "Fault Gazette",
                "homepage": fault_server + "/",
                "language": "en",
                "country": "US",
                "feeds": [fault_server + "/rss.xml", fault_server + "/bomb.xml"],
            }
        ]
    }
    (directory / "outlets.yaml").write_text(yaml.safe_dump(outlets), encoding="utf-8")
    write_test_config(
        directory, None, query_api=None, timeout_seconds=FAULT_TIMEOUT_SECONDS, retry_times=1, max_redirects=3
    )
    return run_crawl(directory, tmp_path_factory.mktemp("fault-run"), "fault-run", {})


def test_redirect_loops_end(fault_run, fault_server):
    loop = {fault_server + "/news/loop-one-a", fault_server + "/news/loop-one-b"}
    assert [e["outcome"] for e in fetch_log(fault_run) if e["url"] in loop] == ["too-many-redirects"]
    assert FaultHandler.hits["/news/loop-one-a"] + FaultHandler.hits["/news/loop-one-b"] <= 4


def test_redirects_to_link_local_addresses_are_refused(fault_run):
    assert outcome_of(fault_run, "http://169.254.169.254/latest/meta-data/") == "blocked-private-address"


def test_slow_pages_time_out(fault_run, fault_server):
    assert outcome_of(fault_run, fault_server + "/news/very-slow-page") == "timeout"


def test_entity_expansion_feeds_are_refused(fault_run, fault_server):
    assert outcome_of(fault_run, fault_server + "/bomb.xml") == "unsafe-xml"
    assert FaultHandler.hits["/news/never-followed-item"] == 0


def test_429_with_retry_after_is_retried(fault_run, fault_server):
    assert FaultHandler.hits["/news/busy-retry-later"] == 2
    assert any(p["url"] == fault_server + "/news/busy-retry-later" for p in manifest(fault_run))
