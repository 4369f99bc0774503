"""Downloader middlewares: per-outlet slots, address safety, conditional GET, Retry-After, WARC archive.

Each reads its settings in ``from_crawler`` and takes plain arguments in ``__init__``; the decisions
themselves are pure functions in ``spiders.politeness``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path
from urllib.parse import urlsplit

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import Response
from scrapy.http.response import Response as ScrapyResponse
from twisted.web.http import RESPONSES
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from pipeline.normalise.identity import url_hash
from spiders import politeness, resolver
from spiders.state import CrawlState, crawl_state_for

CONDITIONAL_HEADERS = (b"If-None-Match", b"If-Modified-Since")


class RefusedRequest(IgnoreRequest):
    """A request the crawler will not send; ``outcome`` is the counted reason."""

    def __init__(self, outcome: str, url: str):
        super().__init__(f"{outcome}: {url}")
        self.outcome = outcome


class ArchiveWriteFailed(RefusedRequest):
    """A response that arrived but could not be written to the run's WARC (counted, not handed on)."""

    def __init__(self, url: str, error: OSError | None):
        super().__init__("archive-write-failed", url)
        self.args = (f"archive-write-failed: {url} ({error})",)


class OutletSlotMiddleware:
    """One download slot per host:port, so concurrency and delays apply per outlet (ports matter on loopback)."""

    def process_request(self, request: Request) -> None:
        request.meta.setdefault("download_slot", urlsplit(request.url).netloc.lower())


class AddressSafetyMiddleware:
    """Refuses private, loopback and link-local addresses unless configured (redirects pass here again).

    The host is resolved here and every address it resolves to is checked; the approved address is
    pinned for the downloader (``spiders.resolver``), so the connection goes to the address that was
    checked. It sits before the robots.txt middleware so that not even a robots.txt is fetched from a
    refused host.
    """

    def __init__(self, state: CrawlState):
        self.state = state
        self.resolved: dict[str, list[str]] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> AddressSafetyMiddleware:
        return cls(crawl_state_for(crawler))

    async def process_request(self, request: Request) -> None:
        reason = politeness.refusal_reason(request.url, self.state.trusted_host_ports)
        if reason:
            raise RefusedRequest(reason, request.url)
        host = urlsplit(request.url).hostname or ""
        addresses = await self._addresses(host)
        reason = politeness.address_refusal(request.url, addresses, self.state.trusted_host_ports)
        if reason:
            raise RefusedRequest(reason, request.url)
        resolver.pin(host, addresses[0])

    async def _addresses(self, host: str) -> list[str]:
        """The host's addresses, resolved once per crawl (in a thread: the lookup blocks), so a name
        cannot answer one address to the check and another to a later request."""
        if host not in self.resolved:
            try:
                self.resolved[host] = await asyncio.get_running_loop().run_in_executor(
                    None, politeness.resolved_addresses, host
                )
            except (OSError, UnicodeError):
                self.resolved[host] = []
        return self.resolved[host]


class OutletBudgetMiddleware:
    """Refuses a request once its outlet has spent its requests or its time (``spiders.budget``)."""

    def __init__(self, state: CrawlState):
        self.state = state

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> OutletBudgetMiddleware:
        return cls(crawl_state_for(crawler))

    def process_request(self, request: Request) -> None:
        outlet = request.cb_kwargs.get("outlet")
        budget = self.state.budget(outlet) if outlet else None
        if budget is None:
            return
        now = time.monotonic()
        reason = budget.refusal(now)
        if reason:
            raise RefusedRequest(reason, request.url)
        budget.spend(now)


class ConditionalGetMiddleware:
    """Sends If-None-Match / If-Modified-Since remembered from earlier runs and records what came back."""

    def __init__(self, state: CrawlState):
        self.state = state

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ConditionalGetMiddleware:
        return cls(crawl_state_for(crawler))

    def process_request(self, request: Request) -> None:
        for name in CONDITIONAL_HEADERS:  # a redirect copies the previous URL's validators
            request.headers.pop(name, None)
        if request.meta.get("dont_obey_robotstxt") or request.meta.get("unconditional"):
            return  # robots.txt and homepages are always read in full (a 304 would hide their links)
        # Validators from earlier runs only: a URL reached twice in one run (a redirect onto a page already
        # fetched) is read in full, so the page is handed on with the URL it was requested under.
        for name, value in politeness.conditional_headers(self.state.http_cache.get(request.url)).items():
            request.headers[name] = value

    def process_response(self, request: Request, response: Response) -> Response:
        if response.status in (200, 304) and not request.meta.get("dont_obey_robotstxt"):
            self.state.cache_updates[request.url] = politeness.updated_cache_entry(
                self.state.cache_entry(request.url),
                request.url,
                status=response.status,
                etag=_header(response, b"ETag"),
                last_modified=_header(response, b"Last-Modified"),
                content_hash=politeness.body_hash(response.body) if response.status == 200 else None,
                now=self.state.now,
            )
            self._remember_permanent_redirects(request)
        return response

    def _remember_permanent_redirects(self, request: Request) -> None:
        """A URL that moved for good (301/308) is re-checked on its target's schedule, not every run."""
        reasons = request.meta.get("redirect_reasons") or []
        for old_url, reason in zip(request.meta.get("redirect_urls") or [], reasons, strict=False):
            if reason in (301, 308):
                self.state.cache_updates[old_url] = {
                    **self.state.cache_updates[request.url],
                    "url": old_url,
                    "url_hash": url_hash(old_url),
                    "etag": None,
                    "last_modified": None,
                }


def _header(response: Response, name: bytes) -> str | None:
    value = response.headers.get(name)
    return value.decode("latin-1") if value else None


class RetryAfterMiddleware(RetryMiddleware):
    """Scrapy's retries, but a 429/503 with Retry-After waits the stated time first (capped)."""

    def __init__(self, settings, max_wait: float):
        super().__init__(settings)
        self.max_wait = max_wait

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RetryAfterMiddleware:
        middleware = cls(crawler.settings, crawler.settings.getfloat("FRAMEWATCH_RETRY_AFTER_MAX", 60.0))
        middleware.crawler = crawler
        return middleware

    async def process_response(self, request: Request, response: Response) -> Request | Response:
        if response.status in (429, 503) and not request.meta.get("dont_retry"):
            wait = politeness.retry_after_seconds(
                _header(response, b"Retry-After"), datetime.now(UTC), self.max_wait
            )
            if wait:
                await asyncio.sleep(wait)
        return super().process_response(request, response)


class WarcArchiveMiddleware:
    """Writes every response exactly as received (before decompression) to this run's WARC file.

    Sits next to the downloader, so redirects, retries, 304s and robots.txt are all archived. The record
    id and offset travel in ``request.meta`` to the page handed on, so any stored value can be traced.

    When the archive cannot be written (a full disk), no further response is handed on: each is refused
    as ``archive-write-failed``, since a page without its raw record could not be traced or reprocessed.
    robots.txt is still obeyed (its failed record is counted in the crawl stats instead).
    """

    def __init__(self, warc_path: Path, stats=None):
        self.warc_path = warc_path
        self.stats = stats
        self.file = None
        self.writer: WARCWriter | None = None
        self.write_error: OSError | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> WarcArchiveMiddleware:
        path = crawler.settings.get("FRAMEWATCH_WARC_PATH")
        if not path:
            raise NotConfigured("FRAMEWATCH_WARC_PATH not set: responses are not archived")
        middleware = cls(Path(path), crawler.stats)

        crawler.signals.connect(middleware.close, signal=signals.spider_closed)
        return middleware

    def process_response(self, request: Request, response: Response) -> Response:
        try:
            offset, record_id = self._write(response)
        except OSError as exc:
            self.write_error = self.write_error or exc
        if self.write_error is not None:
            return self._unarchived(request, response)
        request.meta.update(warc_file=self.warc_path.name, warc_offset=offset, warc_record_id=record_id)
        return response

    def _unarchived(self, request: Request, response: Response) -> Response:
        if request.meta.get("dont_obey_robotstxt"):  # robots.txt: obeyed all the same
            if self.stats is not None:
                self.stats.inc_value("framewatch/skipped/archive-write-failed")
            return response
        raise ArchiveWriteFailed(request.url, self.write_error)

    def _write(self, response: ScrapyResponse) -> tuple[int, str]:
        if self.writer is None:
            self.warc_path.parent.mkdir(parents=True, exist_ok=True)
            self.file = self.warc_path.open("wb")
            self.writer = WARCWriter(self.file, gzip=True)
        record = self.writer.create_warc_record(
            response.url,
            "response",
            payload=BytesIO(response.body),
            http_headers=_status_and_headers(response),
            warc_headers_dict={"WARC-Record-ID": f"<urn:uuid:{uuid.uuid4()}>"},
        )
        offset = self.file.tell()
        self.writer.write_record(record)
        self.file.flush()  # a full disk shows at the record that did not fit, not at close
        return offset, record.rec_headers.get_header("WARC-Record-ID")

    def close(self) -> None:
        if self.file:
            with contextlib.suppress(OSError):  # already counted as archive-write-failed
                self.file.close()


def _status_and_headers(response: ScrapyResponse) -> StatusAndHeaders:
    reason = RESPONSES.get(response.status, b"").decode("latin-1")
    # The body is stored de-chunked, so a Transfer-Encoding header would misdescribe it.
    headers = [
        (k.decode("latin-1"), v.decode("latin-1"))
        for k, values in response.headers.items()
        for v in values
        if k.lower() != b"transfer-encoding"
    ]
    return StatusAndHeaders(f"{response.status} {reason}".strip(), headers, protocol="HTTP/1.1")
