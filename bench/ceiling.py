"""The Scrapy ceiling: fetch a list of article URLs and discard the bodies, nothing else.

Same Scrapy, same concurrency, delay and size settings as the framewatch crawler (``crawl_settings`` of
the same config) and the same one-download-slot-per-outlet keying, so the only difference is the work
framewatch does around each fetch. A part of ``bench/all.py``.

Usage: python -m bench.ceiling --config DIR --urls FILE
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from urllib.parse import urlsplit

import scrapy
from scrapy.crawler import CrawlerProcess

from bench.measure import print_report
from pipeline.config import load_config
from spiders.settings import crawl_settings

# Only the settings that shape throughput; the framewatch-specific ones have no component to read them.
THROUGHPUT_SETTINGS = (
    "USER_AGENT", "CONCURRENT_REQUESTS", "CONCURRENT_REQUESTS_PER_DOMAIN", "DOWNLOAD_DELAY",
    "AUTOTHROTTLE_ENABLED", "AUTOTHROTTLE_START_DELAY", "AUTOTHROTTLE_TARGET_CONCURRENCY",
    "DOWNLOAD_MAXSIZE", "DOWNLOAD_TIMEOUT", "REDIRECT_MAX_TIMES", "RETRY_TIMES",
)  # fmt: skip


class FetchOnlySpider(scrapy.Spider):
    name = "fetch-only"
    custom_settings = {"ROBOTSTXT_OBEY": False, "COOKIES_ENABLED": False, "TELNETCONSOLE_ENABLED": False}

    def __init__(self, urls: list[str], **kwargs):
        super().__init__(**kwargs)
        self.urls = urls
        self.fetched = 0

    async def start(self):
        for url in self.urls:
            # One slot per host:port, as framewatch's OutletSlotMiddleware keys them.
            yield scrapy.Request(url, callback=self.discard, meta={"download_slot": urlsplit(url).netloc})

    def discard(self, response):
        self.fetched += response.status == 200
        return None


def ceiling_settings(config_dir: Path) -> dict[str, object]:
    settings = crawl_settings(load_config(config_dir))
    return {name: settings[name] for name in THROUGHPUT_SETTINGS} | {"LOG_LEVEL": "WARNING"}


def fetch_all(config_dir: Path, urls: list[str]) -> int:
    process = CrawlerProcess(ceiling_settings(config_dir))
    crawler = process.create_crawler(FetchOnlySpider)
    process.crawl(crawler, urls=urls)
    process.start()
    return crawler.spider.fetched


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--urls", type=Path, required=True, help="one URL a line")
    options = parser.parse_args()
    urls = options.urls.read_text(encoding="utf-8").split()
    started = time.perf_counter()
    fetched = fetch_all(options.config, urls)
    print_report({"seconds": round(time.perf_counter() - started, 3), "article_pages": fetched})


if __name__ == "__main__":
    main()
