"""The spider hands Scrapy one callback object per kind of page, so Scrapy's per-callback check of a
generator's source (``warn_on_generator_with_return_value``) is computed once, not on every response."""

from __future__ import annotations

import gc
from pathlib import Path

from scrapy.utils.misc import _generator_callbacks_cache, is_generator_with_return_value

from spiders.spiders.news import NewsSpider

CONFIG_DIR = Path(__file__).parents[1] / "config"


def test_requests_for_articles_share_one_callback_that_scrapy_keeps_its_check_for() -> None:
    spider = NewsSpider(config_dir=str(CONFIG_DIR))
    first = spider._request("http://127.0.0.1:1/a", spider.parse_article, "Outlet", "article")
    assert is_generator_with_return_value(first.callback) is False  # Scrapy parses the source here
    assert first.callback in _generator_callbacks_cache
    del first
    gc.collect()  # the first request is gone, as it is once its response has been handled
    second = spider._request("http://127.0.0.1:1/b", spider.parse_article, "Outlet", "article")
    assert second.callback in _generator_callbacks_cache  # so its source is not parsed again
    assert second.callback == spider.parse_article
