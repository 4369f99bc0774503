"""The crawl's provenance: a JSONL manifest of fetched pages pointing into the run's WARC file.

``manifest_line`` writes one page (every ``FetchedPage`` field but the body, plus where its bytes are);
``iter_fetched_pages`` reads pages back with their bodies from the WARC, which is what
``framewatch reprocess --run ID`` uses. A damaged record becomes an error outcome, never a crash.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import asdict, fields
from datetime import datetime
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator

from schemas.records import FeedEntry, FetchedPage, Outcome

logger = logging.getLogger(__name__)


def manifest_line(page: FetchedPage, warc_file: str | None, warc_offset: int | None) -> str:
    # Fields one by one, not asdict(): that deep-copies the body (the crawl writes a line per page).
    record = {f.name: getattr(page, f.name) for f in fields(page) if f.name not in ("body", "feed_entry")}
    record["headers"] = dict(page.headers)
    record["fetched_at"] = page.fetched_at.isoformat()
    record["feed_entry"] = _entry_json(page.feed_entry)
    record["warc_file"] = warc_file
    record["warc_offset"] = warc_offset
    return json.dumps(record, ensure_ascii=False)


def _entry_json(entry: FeedEntry | None) -> dict | None:
    if entry is None:
        return None
    data = asdict(entry)
    data["published"] = entry.published.isoformat() if entry.published else None
    data["authors"] = list(entry.authors)
    return data


def _entry_from_json(data: dict | None) -> FeedEntry | None:
    if not data:
        return None
    published = datetime.fromisoformat(data["published"]) if data.get("published") else None
    return FeedEntry(**{**data, "published": published, "authors": tuple(data.get("authors") or ())})


def iter_fetched_pages(
    manifest_path: Path | str, on_error: Callable[[Outcome], None] | None = None
) -> Iterator[FetchedPage]:
    """Pages listed in a manifest, bodies read back from the WARC (next to the manifest).

    A record that cannot be read (truncated, corrupt gzip, wrong id) is reported to ``on_error`` as an
    ``Outcome(stage="fetch", kind="corrupt-warc-record")`` and skipped; the other pages still come.
    """
    manifest_path = Path(manifest_path)
    report = on_error or (
        lambda outcome: logger.error("%s: %s (%s)", outcome.kind, outcome.url, outcome.detail)
    )
    with manifest_path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            result = page_or_outcome(manifest_path, number, line)
            if isinstance(result, Outcome):
                report(result)
            else:
                yield result


def page_or_outcome(manifest_path: Path, number: int, line: str) -> FetchedPage | Outcome:
    try:
        record = json.loads(line)
    except ValueError as exc:
        return Outcome("fetch", "corrupt-manifest-line", None, f"{manifest_path}:{number}: {exc}")
    try:
        body = read_warc_body(
            manifest_path.parent / record["warc_file"], record["warc_offset"], record["warc_record_id"]
        )
    except Exception as exc:  # warcio, gzip and OS errors alike: the record is unusable
        return Outcome("fetch", "corrupt-warc-record", record.get("url"), f"{type(exc).__name__}: {exc}")
    return _page_from_record(record, body)


def manifest_records(manifest_path: Path | str) -> dict[str, dict]:
    """url -> its manifest record (outlet, requested_url, where its bytes are...), bodies not read."""
    found: dict[str, dict] = {}
    with Path(manifest_path).open(encoding="utf-8") as lines:
        for line in lines:
            try:
                record = json.loads(line)
            except ValueError:
                continue  # reported as corrupt-manifest-line by iter_fetched_pages
            if isinstance(record, dict) and record.get("url"):
                found[record["url"]] = record
    return found


def read_warc_body(warc_path: Path, offset: int, record_id: str) -> bytes:
    """The HTTP payload (de-chunked, content-decoded) of the record at ``offset``, checked by id."""
    with warc_path.open("rb") as stream:
        stream.seek(offset)
        record = next(iter(ArchiveIterator(stream)), None)
        if record is None:
            raise ValueError(f"no WARC record at offset {offset}")
        found = record.rec_headers.get_header("WARC-Record-ID")
        if found != record_id:
            raise ValueError(f"record at offset {offset} is {found}, expected {record_id}")
        return record.content_stream().read()


def _page_from_record(record: dict, body: bytes) -> FetchedPage:
    return FetchedPage(
        url=record["url"],
        requested_url=record["requested_url"],
        status=record["status"],
        headers=record["headers"],
        body=body,
        fetched_at=datetime.fromisoformat(record["fetched_at"]),
        outlet=record["outlet"],
        discovered_via=record["discovered_via"],
        feed_entry=_entry_from_json(record.get("feed_entry")),
        warc_record_id=record["warc_record_id"],
    )
