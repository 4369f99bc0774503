"""The peer, news-please 1.6.16, fetching and extracting a list of article URLs: a part of ``bench/all.py``.

Runs in news-please's own virtualenv (``bench/.peer-venv``, made by ``bench/peer_venv.py``), so it imports
nothing from framewatch. It does what ``NewsPlease.from_urls`` does, with two changes that make it a fair
and working comparison:

- ``from_urls`` starts one thread per URL at once (5,000 threads here) and a new process pool per call;
  this fetches with news-please's own ``SimpleCrawler.fetch_urls`` in batches of ``--concurrency`` URLs
  (framewatch's CONCURRENT_REQUESTS) and extracts with ``NewsPlease.from_html`` in one process pool
  (a process per core, as ``from_urls`` does) that works while the next batch downloads;
- images are not fetched (``fetch_images=False``): the benchmark stays on 127.0.0.1.

Usage: bench/.peer-venv/bin/python bench/newsplease_fetch.py --urls FILE [--concurrency 8]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime
import json
import logging
import time
from pathlib import Path

from newsplease import NewsPlease
from newsplease.crawler.simple_crawler import SimpleCrawler

REQUEST_ARGUMENTS = {"timeout": 30}


def batches(urls: list[str], size: int):
    for start in range(0, len(urls), size):
        yield urls[start : start + size]


def crawl(urls: list[str], concurrency: int) -> int:
    """Articles news-please fetched and extracted a body for."""
    download_date = datetime.datetime.now().strftime("%Y-%m-%d %H:%M:%S")
    with concurrent.futures.ProcessPoolExecutor() as extractors:
        pending = []
        for batch in batches(urls, concurrency):
            pages = SimpleCrawler.fetch_urls(batch, request_args=dict(REQUEST_ARGUMENTS))
            pending += [
                extractors.submit(NewsPlease.from_html, html, url, download_date, False)
                for url, html in pages.items() if html
            ]  # fmt: skip
        return sum(bool(getattr(future.result(), "maintext", None)) for future in pending)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--urls", type=Path, required=True, help="one URL a line")
    parser.add_argument("--concurrency", type=int, default=8)
    options = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    urls = options.urls.read_text(encoding="utf-8").split()
    started = time.perf_counter()
    extracted = crawl(urls, options.concurrency)
    print(
        json.dumps({"seconds": round(time.perf_counter() - started, 3), "article_pages": extracted}),
        flush=True,
    )


if __name__ == "__main__":
    main()
