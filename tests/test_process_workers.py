"""The process stage in worker processes gives the batch one process gives, and a page that breaks
inside a worker is quarantined alone."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.config import load_story
from pipeline.extract.page import _language_identifier
from pipeline.match.stories import compile_stories
from pipeline.run.process import process_pages, results_in_input_order
from pipeline.speedup.workers import MIN_PAGES_FOR_WORKERS, map_in_order, mapped_in_background
from schemas.records import FetchedPage

STORY_FILE = Path(__file__).parents[1] / "config" / "stories" / "mexico-cartel-intervention.yaml"
HOST = "127.0.0.1:8401"
FETCHED = datetime(2025, 11, 20, 15, 0, tzinfo=UTC)
PARAGRAPH = (
    "US officials said JSOC units could carry out drone strikes on cartel labs in Mexico under Title 50, "
    "while President Claudia Sheinbaum rejected any intervention as a breach of sovereignty."
)


def article_page(number: int) -> FetchedPage:
    url = f"http://{HOST}/news/story-{number}.html"
    body = (
        f"<!doctype html><html lang='en'><head><title>Report {number}</title>"
        f"<link rel='canonical' href='{url}'></head><body><article><h1>Report {number} on Mexico</h1>"
        + "".join(f"<p>Paragraph {k} of report {number}. {PARAGRAPH}</p>" for k in range(4))
        + "</article></body></html>"
    )
    return FetchedPage(
        url, url, 200, {"content-type": "text/html; charset=utf-8"}, body.encode(), FETCHED, "Outlet", "feed"
    )


def broken_page() -> FetchedPage:
    """A body that is not bytes: ``process_page`` raises on it."""
    url = f"http://{HOST}/news/broken.html"
    return FetchedPage(url, url, 200, {"content-type": "text/html"}, None, FETCHED, "Outlet", "feed")  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def pages() -> list[FetchedPage]:
    pages = [article_page(number) for number in range(MIN_PAGES_FOR_WORKERS + 10)]
    pages.insert(7, broken_page())
    return pages


@pytest.fixture(scope="module")
def matcher():
    return compile_stories([load_story(STORY_FILE)])


def test_workers_give_the_same_batch_as_one_process(pages, matcher) -> None:
    hosts = {"Outlet": (HOST,)}
    in_workers = process_pages(iter(pages), hosts, matcher, workers=2)
    in_process = process_pages(iter(pages), hosts, matcher, workers=1)
    assert len(in_workers.articles) == len(pages) - 1
    assert in_workers == in_process


def test_a_page_that_breaks_in_a_worker_is_quarantined_alone(pages, matcher) -> None:
    batch = process_pages(iter(pages), {"Outlet": (HOST,)}, matcher, workers=2)
    assert [q.url for q in batch.quarantined] == [broken_page().url]
    assert batch.quarantined[0].error.startswith("TypeError")
    assert batch.counts["extract:quarantined"] == 1
    assert {a.canonical_url for a in batch.articles} == {p.url for p in pages if p.body is not None}


def test_one_text_at_two_urls_keeps_the_same_url_whichever_was_fetched_first(matcher) -> None:
    # Fetch order within a run is the crawler's concurrency: the kept article must not follow it.
    def copy_at(path: str, minutes: int) -> FetchedPage:
        page = article_page(1)
        url = f"http://{HOST}{path}"
        body = page.body.replace(page.url.encode(), url.encode())
        return FetchedPage(
            url, url, 200, page.headers, body, FETCHED.replace(minute=minutes), "Outlet", "feed"
        )

    hosts = {"Outlet": (HOST,)}
    outcomes = []
    for short_first in (True, False):
        pages = [copy_at("/news/story-1.html", 1 if short_first else 2),
                 copy_at("/news/2025/story-1-updated.html", 2 if short_first else 1)]  # fmt: skip
        batch = process_pages(pages, hosts, matcher, workers=1)
        assert [a.canonical_url for a in batch.articles] == [f"http://{HOST}/news/story-1.html"]
        assert batch.articles[0].aliases == (
            f"http://{HOST}/news/story-1.html",
            f"http://{HOST}/news/2025/story-1-updated.html",
        )
        outcomes.append(batch.counts["dedupe:duplicate"])
    assert outcomes == [1, 1]


def test_map_in_order_in_workers_equals_the_plain_map() -> None:
    items = [f"{'x' * (n % 7)} {n}" for n in range(MIN_PAGES_FOR_WORKERS + 25)]
    assert map_in_order(str.upper, items, workers=2) == [item.upper() for item in items]
    assert map_in_order(str.upper, items[:3], workers=2) == [item.upper() for item in items[:3]]


@given(st.lists(st.booleans(), max_size=40), st.booleans())
def test_known_results_and_processed_pages_come_back_in_input_order(known_flags, reads_ahead) -> None:
    # Item i is known (its result given) or a page to process; a pool reads its input ahead of what
    # it has returned, so both a lazy and a read-everything-first ``process`` must keep the order.
    items = [(None, f"known {i}") if known else (i, None) for i, known in enumerate(known_flags)]
    sent: list[int] = []

    def process(pages):
        def each(page):
            sent.append(page)
            return f"processed {page}"

        return list(map(each, list(pages))) if reads_ahead else map(each, pages)

    results = list(results_in_input_order(iter(items), process))
    assert results == [f"known {i}" if known else f"processed {i}" for i, known in enumerate(known_flags)]
    assert sent == [i for i, known in enumerate(known_flags) if not known]  # known ones never processed


def test_a_process_that_loses_a_page_is_an_error_not_a_short_batch() -> None:
    items = [(1, None), (None, "known"), (2, None)]
    with pytest.raises(RuntimeError, match="without a result"):
        list(results_in_input_order(iter(items), lambda pages: [f"processed {p}" for p in pages][:1]))


def test_the_language_model_is_loaded_once_before_the_workers_are_forked(pages, matcher) -> None:
    # Workers forked after the load share the parent's model instead of each loading it (~0.6 s).
    _language_identifier.cache_clear()
    process_pages(iter(pages), {"Outlet": (HOST,)}, matcher, workers=2)
    assert _language_identifier.cache_info().currsize == 1  # loaded here, not only in the workers


def test_mapped_in_background_gives_the_plain_map_in_input_order() -> None:
    items = [f"item {n}" for n in range(MIN_PAGES_FOR_WORKERS + 25)]
    with mapped_in_background(str.upper, items, workers=1) as results:
        assert results() == [item.upper() for item in items]
    with mapped_in_background(str.upper, items[:3], workers=1) as results:  # too few: in the caller
        assert results() == [item.upper() for item in items[:3]]


def mark_done(path: Path) -> None:
    time.sleep(0.005)
    path.touch()


def test_an_error_in_the_caller_s_block_cancels_the_background_map(tmp_path) -> None:
    items = [tmp_path / f"{n}.done" for n in range(MIN_PAGES_FOR_WORKERS * 20)]
    with pytest.raises(ValueError, match="loading failed"), mapped_in_background(mark_done, items, workers=1):
        raise ValueError("loading failed")
    # Only what a worker had already taken ran; without the cancel, every item would have.
    assert len(list(tmp_path.glob("*.done"))) < len(items) // 2
