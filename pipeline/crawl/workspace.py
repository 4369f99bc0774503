"""The files one crawl shard leaves behind, named in one place: the contract between the crawl process,
the crawl stage that records them and the stages that read them.

A run is served by one or more crawl processes (shards, one per group of outlets). Each works in a
directory of its own under the run's archive directory, and the crawl stage records that directory in
``crawl_shards`` (one row per run and shard). The process stage finds every file of the run from those
rows: the WARC (the run's record of what was fetched), the manifest pointing into it, the fetch log, the
HTTP cache updates (saved only once the pages are loaded) and the pages extracted while the crawl ran.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

WHOLE_CRAWL_SHARD = "all"  # the shard of a crawl asked for every configured outlet


def shard_key(outlets: Iterable[str] | None) -> str:
    """Names a crawl's share of a run from the outlets it was asked for: a retried shard gets the same
    name (and directory), so it replaces its own files and rows, never another shard's."""
    names = sorted(outlets or ())
    if not names:
        return WHOLE_CRAWL_SHARD
    return "shard-" + hashlib.sha256("\n".join(names).encode()).hexdigest()[:10]


@dataclass(frozen=True)
class ShardWorkspace:
    """One shard's directory and the files in it, by what they hold."""

    directory: Path
    run_key: str

    @property
    def warc(self) -> Path:
        """The fetched responses, as the crawl received them (written by the WARC middleware)."""
        return self.directory / f"{self.run_key}.warc.gz"

    @property
    def manifest(self) -> Path:
        """One JSON line per archived article page: its fields and where its record is in the WARC."""
        return self.directory / "manifest.jsonl"

    @property
    def fetch_log(self) -> Path:
        """One JSON line per request and its outcome (``fetch_log`` rows, outlet health)."""
        return self.directory / "fetch_log.jsonl"

    @property
    def counts(self) -> Path:
        """Outcome kind -> how many, written when the crawl closes: its absence means it never finished."""
        return self.directory / "counts.json"

    @property
    def http_cache_in(self) -> Path:
        """The warehouse's ``http_cache`` as the crawl process reads it (it never opens the database)."""
        return self.directory / "http_cache_in.json"

    @property
    def http_cache_updates(self) -> Path:
        """url -> new ``http_cache`` row: saved by the process stage with the pages it loads."""
        return self.directory / "http_cache_updates.json"

    @property
    def discovered_outlets(self) -> Path:
        return self.directory / "discovered_outlets.json"

    @property
    def crawl_log(self) -> Path:
        return self.directory / "crawl.log"

    @property
    def extracted_early(self) -> Path:
        """Pages extracted while the crawl still fetched (``pipeline.speedup``): a speed-up, never the record."""
        return self.directory / "early-results.pickle"


@dataclass(frozen=True)
class RunWorkspace:
    """A run's directory under the archive: its shards' directories, and what the run keeps beside them."""

    directory: Path
    run_key: str

    def shard(self, outlets: Iterable[str] | None) -> ShardWorkspace:
        return ShardWorkspace(self.directory / shard_key(outlets), self.run_key)

    @property
    def framing_measured_ahead(self) -> Path:
        """Framing measures computed while the process stage loaded (``pipeline.speedup``): read by each
        story's framing, removed when the run finishes."""
        return self.directory / "framing-measured-ahead.pickle"


def run_workspace(archive_directory: Path, run_key: str) -> RunWorkspace:
    """One directory per run, whatever the stories; the run key made safe as a directory name."""
    safe_key = re.sub(r"[^A-Za-z0-9._-]+", "_", run_key)
    return RunWorkspace(Path(archive_directory) / "runs" / safe_key, run_key)
