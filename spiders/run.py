"""python -m spiders.run: one crawl in its own process (Twisted's reactor cannot restart in a process).

Called by ``pipeline.crawl.crawler.run_crawl``; the arguments say where the config, the state and the outputs are.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings

from pipeline.config import load_config
from pipeline.crawl.workspace import ShardWorkspace
from spiders.politeness import without_credentials
from spiders.settings import crawl_settings
from spiders.spiders.news import NewsSpider


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m spiders.run", description=__doc__)
    parser.add_argument("--config", type=Path, required=True, help="config directory")
    parser.add_argument("--workdir", type=Path, required=True, help="where the run's files are written")
    parser.add_argument("--run-key", required=True)
    parser.add_argument("--http-cache", type=Path, help="JSON: url -> http_cache row from the warehouse")
    parser.add_argument("--outlet", action="append", default=[], help="crawl only this outlet (repeatable)")
    parser.add_argument("--now", help="ISO time used for re-check decisions (default: the clock)")
    parser.add_argument("--log-level", default="INFO")
    return parser


def scrapy_settings(args: argparse.Namespace) -> Settings:
    settings = Settings()
    settings.setmodule("spiders.settings", priority="project")
    settings.update(crawl_settings(load_config(args.config)), priority="project")
    settings.update(
        {
            "FRAMEWATCH_WORKDIR": str(args.workdir),
            "FRAMEWATCH_RUN_KEY": args.run_key,
            "FRAMEWATCH_WARC_PATH": str(ShardWorkspace(args.workdir, args.run_key).warc),
            "FRAMEWATCH_HTTP_CACHE": str(args.http_cache) if args.http_cache else None,
            "FRAMEWATCH_NOW": args.now,
            "LOG_LEVEL": args.log_level,
        },
        priority="cmdline",
    )
    return settings


class CredentialsFilter(logging.Filter):
    """Takes user:password@ out of every line of the crawl log (a URL may carry them)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "@" in message:
            record.msg, record.args = without_credentials(message), ()
        return True


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    process = CrawlerProcess(scrapy_settings(args))
    for handler in logging.getLogger().handlers:  # Scrapy's root handler, installed by CrawlerProcess
        handler.addFilter(CredentialsFilter())
    process.crawl(NewsSpider, config_dir=str(args.config), outlets="\n".join(args.outlet))
    process.start()
    return 0


if __name__ == "__main__":
    sys.exit(main())
