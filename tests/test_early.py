"""Early processing (pipeline.speedup.early_extraction): pages extracted while the crawl runs give exactly the batch the
process stage would compute, and a result is reused only for an identical page."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

from demo.world import ReplayWorld
from demo.world.config import write_config
from pipeline.config import load_config
from pipeline.crawl.archive import iter_fetched_pages
from pipeline.crawl.crawler import _wait, run_crawl
from pipeline.crawl.workspace import ShardWorkspace
from pipeline.match.stories import compile_stories
from pipeline.run.process import page_key, process_page_or_quarantine, process_pages
from pipeline.speedup.ahead import results_ahead
from pipeline.speedup.early_extraction import (
    EarlyProcessor,
    ManifestTail,
)
from schemas.records import Outcome
from tests.test_crawl import STORY, write_test_config


@pytest.fixture(scope="module")
def config_dir(tmp_path_factory):
    with ReplayWorld() as world:
        directory = tmp_path_factory.mktemp("config")
        write_config(world, directory)
        yield write_test_config(directory, None, query_api=world.gdelt_url)


@pytest.fixture(scope="module")
def hosts(config_dir):
    return {outlet.name: (outlet.host,) for outlet in load_config(config_dir).outlets}


@pytest.fixture(scope="module")
def crawled(config_dir, hosts, tmp_path_factory):
    """A crawl whose pages were processed while it ran, then (after it ended) the rest of its manifest
    too, so every page has a saved result."""
    workdir = tmp_path_factory.mktemp("crawl")
    workspace = ShardWorkspace(workdir, "early-1")
    early = EarlyProcessor(workspace.manifest, hosts, workers=1)
    try:
        result = run_crawl(config_dir, workdir, "early-1", {}, while_crawling=early.poll)
        archived = len(result.workspace.manifest.read_text(encoding="utf-8").splitlines())
        while early.tail.line_number < archived:  # the lines the crawl wrote after the last poll
            early.poll()
            time.sleep(0.05)
        saved = early.finish(workspace.extracted_early)
    finally:
        early.close()
    return result, saved


@pytest.fixture(scope="module")
def matcher(config_dir):
    return compile_stories([load_config(config_dir).story(STORY)])


def test_every_archived_page_has_a_saved_result_equal_to_processing_it_now(crawled, hosts):
    result, saved = crawled
    pages = list(iter_fetched_pages(result.workspace.manifest))
    known = results_ahead([result.workspace.extracted_early])
    assert saved == len(known) == len(pages) > 30
    for page in pages:
        assert known[page_key(page, hosts)] == process_page_or_quarantine(page, hosts)


def test_the_process_stage_batch_is_the_same_with_and_without_saved_results(crawled, hosts, matcher):
    result, _ = crawled
    known = results_ahead([result.workspace.extracted_early])
    with_saved = process_pages(iter_fetched_pages(result.workspace.manifest), hosts, matcher, known=known)
    without = process_pages(iter_fetched_pages(result.workspace.manifest), hosts, matcher)
    assert with_saved == without
    assert len(without.articles) > 30


def test_a_saved_result_is_used_only_for_the_identical_page(crawled, hosts, matcher):
    result, _ = crawled
    page = next(iter_fetched_pages(result.workspace.manifest))
    marker = Outcome("extract", "from-saved-result", page.url)
    known = {page_key(page, hosts): marker}
    assert process_pages([page], hosts, matcher, known=known).counts["extract:from-saved-result"] == 1
    changed = replace(page, body=page.body.replace(b"</p>", b" (updated)</p>", 1))
    assert process_pages([changed], hosts, matcher, known=known).counts["extract:from-saved-result"] == 0
    other_hosts = {page.outlet: ("elsewhere.example",)}
    assert process_pages([page], other_hosts, matcher, known=known).counts["extract:from-saved-result"] == 0


def test_a_missing_or_corrupt_results_file_gives_no_results(tmp_path):
    (tmp_path / "corrupt.pickle").write_bytes(b"not a pickle")
    assert results_ahead([tmp_path / "absent.pickle", tmp_path / "corrupt.pickle"]) == {}


def test_the_manifest_tail_waits_for_a_line_to_be_written_whole(tmp_path):
    manifest = ShardWorkspace(tmp_path, "tail").manifest
    manifest.write_text('{"url": "a"}\n{"url": "b', encoding="utf-8")
    tail = ManifestTail(manifest)
    assert list(tail.new_lines(10)) == [(1, '{"url": "a"}\n')]
    assert list(tail.new_lines(10)) == []
    with manifest.open("a", encoding="utf-8") as stream:
        stream.write('"}\n')
    assert list(tail.new_lines(10)) == [(2, '{"url": "b"}\n')]


def test_waiting_for_the_crawl_calls_back_and_kills_it_at_the_timeout():
    calls = []
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    with pytest.raises(subprocess.TimeoutExpired):
        _wait(sleeper, 0.5, lambda: calls.append(1))
    assert sleeper.poll() is not None  # killed, not left running
    assert calls
    quick = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    assert _wait(quick, 30, lambda: None) == 3


def test_early_processing_can_be_switched_off_in_the_config(tmp_path):
    shipped = Path(__file__).parents[1] / "config"
    assert load_config(shipped).settings.crawl.process_while_crawling is True
    copied = shutil.copytree(shipped, tmp_path / "config")
    settings = copied / "framewatch.yaml"
    text = settings.read_text(encoding="utf-8").replace(
        "crawl:\n", "crawl:\n  process_while_crawling: false\n", 1
    )
    settings.write_text(text, encoding="utf-8")
    assert load_config(copied).settings.crawl.process_while_crawling is False


def test_a_failure_while_tailing_stops_early_processing_not_the_caller(tmp_path, hosts, caplog):
    workspace = ShardWorkspace(tmp_path, "failing")
    unreadable = workspace.manifest
    unreadable.mkdir()  # opening it raises IsADirectoryError
    early = EarlyProcessor(unreadable, hosts, workers=1)
    try:
        early.poll()
        early.poll()
        assert early.failed
        assert early.finish(workspace.extracted_early) == 0
    finally:
        early.close()
    assert not workspace.extracted_early.exists()
    assert "early processing stopped" in caplog.text


def test_the_language_model_is_loaded_before_the_early_workers_fork(tmp_path) -> None:
    # Each forked worker would otherwise load its own copy (~0.6 s of CPU each, during the crawl).
    from pipeline.extract.page import _language_identifier

    manifest = tmp_path / "manifest.jsonl"
    manifest.write_text('{"not": "a page"}\n', encoding="utf-8")
    _language_identifier.cache_clear()
    processor = EarlyProcessor(manifest, {}, workers=1)
    try:
        processor.poll()
        assert _language_identifier.cache_info().currsize == 1
    finally:
        processor.close()


def test_the_crawl_stage_starts_scrapy_before_it_imports_the_extractors() -> None:
    # What crawl_stage imports before it spawns the crawl: the extractors (about a second of CPU) load
    # at the first poll, beside Scrapy's start, and Scrapy's own modules only in the crawl process.
    code = (
        "import sys, pipeline.run.cycle, pipeline.crawl.crawler, pipeline.crawl.state, pipeline.speedup.early_extraction\n"
        "print([m for m in ('scrapy', 'trafilatura', 'feedparser', 'datasketch', 'pipeline.run.process') "
        "if m in sys.modules])"
    )
    found = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).parents[1],
    )
    assert found.stdout.strip() == "[]"
