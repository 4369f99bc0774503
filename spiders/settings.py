"""Scrapy settings of the framewatch crawler. Values that come from config/framewatch.yaml are filled in
by ``crawl_settings``; what stays here is how the crawler behaves regardless of deployment."""

from __future__ import annotations

from pipeline.config import Config
from spiders.politeness import host_port

BOT_NAME = "framewatch"
SPIDER_MODULES = ["spiders.spiders"]
NEWSPIDER_MODULE = "spiders.spiders"

ROBOTSTXT_OBEY = True
COOKIES_ENABLED = False
TELNETCONSOLE_ENABLED = False
METAREFRESH_ENABLED = False
HTTPERROR_ALLOW_ALL = True  # the spider records every status as an outcome; nothing vanishes in middleware
RETRY_HTTP_CODES = [429, 500, 502, 503, 504, 522, 524, 408]
LOG_LEVEL = "INFO"
# Scrapy starts this many cooperative tasks per callback's output (default 100); our item pipelines are
# synchronous, so more only adds scheduling: 8 crawled a 3,000-article replay world in 7.5 s, not 8.8 s.
CONCURRENT_ITEMS = 8
# Connections go only to addresses AddressSafetyMiddleware approved (spiders/resolver.py).
TWISTED_DNS_RESOLVER = "spiders.resolver.PinnedResolver"
# Scrapy's UrlLengthMiddleware drops a long URL without an outcome; spiders.politeness refuses it by name.
URLLENGTH_LIMIT = 0

DOWNLOADER_MIDDLEWARES = {
    "spiders.middlewares.AddressSafetyMiddleware": 40,  # before robots.txt: refused hosts see nothing
    "spiders.middlewares.OutletBudgetMiddleware": 42,  # redirects and retries spend the budget too
    "spiders.middlewares.OutletSlotMiddleware": 45,
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "spiders.middlewares.RetryAfterMiddleware": 550,
    "spiders.middlewares.ConditionalGetMiddleware": 585,  # after decompression, after redirects resolve
    "spiders.middlewares.WarcArchiveMiddleware": 950,  # next to the downloader: bytes as received
}
ITEM_PIPELINES = {
    "spiders.pipelines.ManifestPipeline": 300,
    "spiders.pipelines.RecorderPipeline": 400,
}


def crawl_settings(config: Config) -> dict[str, object]:
    """Scrapy settings from the validated framewatch.yaml and outlets.yaml."""
    crawl = config.settings.crawl
    return {
        "USER_AGENT": crawl.user_agent,
        "CONCURRENT_REQUESTS": crawl.concurrency,
        "CONCURRENT_REQUESTS_PER_DOMAIN": crawl.concurrency_per_host,
        "DOWNLOAD_DELAY": crawl.download_delay,
        "AUTOTHROTTLE_ENABLED": crawl.autothrottle,
        "AUTOTHROTTLE_START_DELAY": max(crawl.download_delay, 0.01),
        "AUTOTHROTTLE_TARGET_CONCURRENCY": float(crawl.concurrency_per_host),
        "DOWNLOAD_MAXSIZE": crawl.max_response_bytes,
        "DOWNLOAD_WARNSIZE": 0,
        "DOWNLOAD_TIMEOUT": crawl.timeout_seconds,
        "REDIRECT_MAX_TIMES": crawl.max_redirects,
        "RETRY_TIMES": crawl.retry_times,
        "DOWNLOAD_SLOTS": outlet_download_slots(config),
        "FRAMEWATCH_TRUSTED_HOSTS": trusted_host_ports(config),
        "FRAMEWATCH_OUTLET_BUDGETS": outlet_budgets(config),
        "FRAMEWATCH_SITEMAP_MAX_DEPTH": crawl.sitemap_max_depth,
        "FRAMEWATCH_SITEMAP_MAX_CHILDREN": crawl.sitemap_max_children,
    }


def outlet_budgets(config: Config) -> dict[str, list[float]]:
    """Outlet name -> [max requests, max seconds]: the crawl's defaults or the outlet's own."""
    crawl = config.settings.crawl
    return {
        outlet.name: [
            outlet.crawl.max_requests or crawl.outlet_max_requests,
            outlet.crawl.max_seconds or crawl.outlet_max_seconds,
        ]
        for outlet in config.outlets
    }


def outlet_download_slots(config: Config) -> dict[str, dict[str, object]]:
    """Per-outlet overrides (outlets.yaml ``crawl:``) keyed like OutletSlotMiddleware's slots."""
    slots = {}
    for outlet in config.outlets:
        overrides = {"concurrency": outlet.crawl.concurrency, "delay": outlet.crawl.download_delay}
        if any(value is not None for value in overrides.values()):
            slots[outlet.host] = {k: v for k, v in overrides.items() if v is not None}
    return slots


def trusted_host_ports(config: Config) -> list[str]:
    urls = [str(o.homepage) for o in config.outlets]
    urls += [str(u) for o in config.outlets for u in (*o.feeds, *o.sitemaps)]
    if config.settings.crawl.query_api:
        urls.append(str(config.settings.crawl.query_api))
    return sorted({host_port(url) for url in urls})
