"""A page written to the WARC and its manifest line reads back as the same page."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from io import BytesIO

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from pipeline.crawl.archive import manifest_line, page_or_outcome
from schemas.records import FeedEntry, FetchedPage

RECORD_ID = "<urn:uuid:00000000-0000-4000-8000-000000000001>"
BODY = "<html><body><p>Sheinbaum rechaza una intervención</p></body></html>".encode()


def test_a_page_round_trips_through_the_warc_and_its_manifest_line(tmp_path) -> None:
    warc = tmp_path / "crawl.warc.gz"
    with warc.open("wb") as stream:
        writer = WARCWriter(stream, gzip=True)
        http = StatusAndHeaders("200 OK", [("Content-Type", "text/html")], protocol="HTTP/1.1")
        record = writer.create_warc_record(
            "http://127.0.0.1:1/a", "response", payload=BytesIO(BODY), http_headers=http,
            warc_headers_dict={"WARC-Record-ID": RECORD_ID},
        )  # fmt: skip
        writer.write_record(record)
    entry = FeedEntry(
        "http://127.0.0.1:1/a", title="Título", published=datetime(2025, 11, 20, 15, tzinfo=UTC),
        authors=("Ana Ruiz", "AP"), guid="g-1", language="es",
    )  # fmt: skip
    page = FetchedPage(
        "http://127.0.0.1:1/a", "http://127.0.0.1:1/a?utm_source=x", 200, {"content-type": "text/html"}, BODY,
        datetime(2025, 11, 20, 16, tzinfo=UTC), "Outlet", "feed", entry, RECORD_ID,
    )  # fmt: skip
    line = manifest_line(page, warc.name, 0)
    assert "body" not in json.loads(line)  # the bytes live in the WARC only
    assert page_or_outcome(tmp_path / "manifest.jsonl", 1, line) == page
