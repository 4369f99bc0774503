"""State one crawl shares between its middlewares and its spider, created once per crawler.

The spider process never touches the warehouse: conditional-GET state arrives as a JSON file
(``FRAMEWATCH_HTTP_CACHE``) and the updates leave as another (written by the recorder pipeline).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from scrapy.crawler import Crawler

from spiders.budget import OutletBudget


@dataclass
class CrawlState:
    now: datetime
    http_cache: dict[str, dict] = field(default_factory=dict)  # url -> http_cache row (JSON values)
    cache_updates: dict[str, dict] = field(default_factory=dict)
    # host:port pairs allowed even when the address is private: configured outlets, the query API and
    # the outlets it listed (see spiders.politeness.refusal_reason).
    trusted_host_ports: set[str] = field(default_factory=set)
    # outlet name -> [max requests, max seconds]; an outlet not listed (a discovered one) has no budget
    # of its own beyond the query hits that lead to it.
    budget_limits: dict[str, list[float]] = field(default_factory=dict)
    budgets: dict[str, OutletBudget] = field(default_factory=dict)

    def budget(self, outlet: str) -> OutletBudget | None:
        if outlet not in self.budgets and outlet in self.budget_limits:
            max_requests, max_seconds = self.budget_limits[outlet]
            self.budgets[outlet] = OutletBudget(int(max_requests), float(max_seconds))
        return self.budgets.get(outlet)

    def cache_entry(self, url: str) -> dict | None:
        return self.cache_updates.get(url) or self.http_cache.get(url)


def crawl_state_for(crawler: Crawler) -> CrawlState:
    state = getattr(crawler, "framewatch_state", None)
    if state is None:
        state = _load_state(crawler.settings)
        crawler.framewatch_state = state  # type: ignore[attr-defined]
    return state


def _load_state(settings) -> CrawlState:
    now_text = settings.get("FRAMEWATCH_NOW")
    now = datetime.fromisoformat(now_text) if now_text else datetime.now(UTC)
    cache_path = settings.get("FRAMEWATCH_HTTP_CACHE")
    cache = (
        json.loads(Path(cache_path).read_text(encoding="utf-8"))
        if cache_path and Path(cache_path).exists()
        else {}
    )
    return CrawlState(
        now=now,
        http_cache=cache,
        trusted_host_ports=set(settings.getlist("FRAMEWATCH_TRUSTED_HOSTS")),
        budget_limits=dict(settings.getdict("FRAMEWATCH_OUTLET_BUDGETS")),
    )
