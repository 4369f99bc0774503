"""Item pipelines: write the run's JSONL manifest, fetch log, counts, cache updates and discovered outlets.

They write files only; loading them into the warehouse is ``pipeline.crawl.state``'s job, outside the
crawl process.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict
from pathlib import Path

from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem, NotConfigured

from pipeline.crawl.archive import manifest_line
from pipeline.crawl.workspace import ShardWorkspace
from spiders.items import ArchivedPage, DiscoveredOutlet, FetchEvent
from spiders.state import CrawlState, crawl_state_for


def _workspace(crawler: Crawler) -> ShardWorkspace:
    workdir, run_key = crawler.settings.get("FRAMEWATCH_WORKDIR"), crawler.settings.get("FRAMEWATCH_RUN_KEY")
    if not workdir or not run_key:
        raise NotConfigured("FRAMEWATCH_WORKDIR and FRAMEWATCH_RUN_KEY must be set")
    return ShardWorkspace(Path(workdir), run_key)


class ManifestPipeline:
    """Archived article pages go to manifest.jsonl; a page without its WARC record is dropped, not lost.

    A page that cannot be listed is counted (``not-archived``) and its HTTP cache update withdrawn, so
    the next crawl fetches it again instead of trusting a 304 or "not due" for a page never stored.
    """

    def __init__(self, path: Path, state: CrawlState | None = None, stats=None):
        self.path = path
        self.state = state
        self.stats = stats
        self.file = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ManifestPipeline:
        return cls(_workspace(crawler).manifest, crawl_state_for(crawler), crawler.stats)

    def open_spider(self, spider=None) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.file = self.path.open("w", encoding="utf-8")

    def close_spider(self, spider=None) -> None:
        self.file.close()

    def process_item(self, item, spider=None):
        if not isinstance(item, ArchivedPage):
            return item
        if not item.page.warc_record_id:
            self._withdraw(item.page)
            raise DropItem(f"not-archived: {item.page.url} has no WARC record")
        try:
            line = manifest_line(item.page, item.warc_file, item.warc_offset) + "\n"
            self.file.write(line)
            self.file.flush()
        except (OSError, ValueError) as exc:  # ValueError: text a file cannot encode
            self._withdraw(item.page)
            raise DropItem(f"not-archived: {item.page.url} could not be listed ({exc})") from exc
        return item

    def _withdraw(self, page) -> None:
        if self.stats is not None:
            self.stats.inc_value("framewatch/skipped/not-archived")
        if self.state is not None:
            for url in (page.url, page.requested_url):
                self.state.cache_updates.pop(url, None)


class RecorderPipeline:
    """Fetch events to fetch_log.jsonl; at the end, outcome counts, cache updates and discovered outlets."""

    def __init__(self, workspace: ShardWorkspace, state: CrawlState, stats):
        self.workspace = workspace
        self.state = state
        self.stats = stats
        self.counts: Counter[str] = Counter()
        self.discovered: dict[str, dict] = {}
        self.log = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RecorderPipeline:
        return cls(_workspace(crawler), crawl_state_for(crawler), crawler.stats)

    def open_spider(self, spider=None) -> None:
        self.workspace.directory.mkdir(parents=True, exist_ok=True)
        self.log = self.workspace.fetch_log.open("w", encoding="utf-8")

    def process_item(self, item, spider=None):
        if isinstance(item, FetchEvent):
            self.counts[item.outcome] += 1
            self.log.write(json.dumps(fetch_log_line(item)) + "\n")
        elif isinstance(item, DiscoveredOutlet):
            known = self.discovered.setdefault(item.name, {**asdict(item), "discovered": True})
            known["site_name"] = known.get("site_name") or item.site_name
        return item

    def close_spider(self, spider=None) -> None:
        self.log.close()
        skipped = {
            k.removeprefix("framewatch/skipped/"): v
            for k, v in self.stats.get_stats().items()
            if k.startswith("framewatch/skipped/")
        }
        self.counts.update(skipped)
        _write_json(self.workspace.counts, dict(sorted(self.counts.items())))
        _write_json(self.workspace.http_cache_updates, self.state.cache_updates)
        discovered = sorted(self.discovered.values(), key=lambda o: o["name"])
        _write_json(self.workspace.discovered_outlets, discovered)


def fetch_log_line(event: FetchEvent) -> dict:
    line = {**asdict(event), "fetched_at": event.fetched_at.isoformat()}
    line["newest_entry"] = event.newest_entry.isoformat() if event.newest_entry else None
    return line


def _write_json(path: Path, value) -> None:
    path.write_text(json.dumps(value, indent=1, ensure_ascii=False, sort_keys=True), encoding="utf-8")
