"""What a ``py-spy record --subprocesses --format raw`` profile of one framewatch cycle says, as tables.

py-spy samples every process of the cycle (the stage process, its worker pools, the Scrapy crawl
subprocess) and, without ``--idle``, only samples threads that are running: a sample is CPU time.
Each raw line is ``process A;[process B;]frame;...;frame COUNT`` with frames as ``function (file:line)``.

Every sample is put under one *activity*: the innermost frame that one of ``ACTIVITIES`` names (so a
worker extracting a page counts as extraction, whatever called it), else the process it ran in.
``by_package`` says which library the sampled (leaf) frame belongs to. Samples of threads blocked in a
wait count as ``WAITING``, kept apart from the work.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

# (activity, pattern over one frame "function (file:line)"), innermost match wins. Worker entry points
# come before their callers, libraries the stages call come before the stages.
ACTIVITIES: tuple[tuple[str, str], ...] = (
    ("trafilatura (body extraction)", r"\(trafilatura/"),
    ("language detection (py3langid)", r"\(py3langid/"),
    ("dates (htmldate, dateparser)", r"\((?:htmldate|dateparser)/"),
    ("minhash signatures", r"^(?:text_signature|minhash_signature) \(pipeline/dedupe/copies\.py"),
    ("copy descriptions (difflib)", r"^copy_differences \(pipeline/dedupe/copies\.py"),
    ("relevance", r"^score_story_relevance \(pipeline/match/relevance\.py"),
    ("normalise", r"^normalise_article \(pipeline/normalise/canonical\.py"),
    ("extraction, framewatch's own", r"^extract_article \(pipeline/extract/page\.py"),
    ("framing measures", r"^article_framing \(pipeline/framing/measures\.py"),
    ("WARC archive, writing and reading", r"\(pipeline/crawl/archive\.py"),
    ("early-result keys (hashing pages)", r"^page_key \(pipeline/run/process\.py"),
    ("syndication index (loading process)", r"^index_and_cluster \(pipeline/dedupe/syndication\.py"),
    ("framing stage (loading process)", r"^compute_story_framing \(pipeline/framing/store\.py"),
    ("load (SQL)", r"^(?:load_articles|_load_relevance) \(pipeline/"),
    ("early processing (crawl stage, tailing)", r"^(?:poll|finish) \(pipeline/speedup/early_extraction\.py"),
    ("pickling to and from workers", r"\((?:multiprocessing|concurrent/futures)/"),
    ("crawl (Scrapy, Twisted)", r"\((?:scrapy|twisted|spiders)/"),
    ("imports and start-up", r"^(?:_find_and_load|_call_with_frames_removed) \(<frozen importlib"),
)
_COMPILED = tuple((name, re.compile(pattern)) for name, pattern in ACTIVITIES)
_LINE = re.compile(r"^(?P<stack>.*) (?P<count>\d+)$")
# py-spy names a frame's file relative to its sys.path entry: "extract (trafilatura/core.py:482)".
_TOP_MODULE = re.compile(r"\((?P<top>[\w.-]+?)(?:/|\.py:)")
# A thread blocked in one of these is waiting, not working; py-spy's idle detection misses some.
_WAITING = re.compile(
    r"^(?:\w+\.)*(?:select|poll|wait|_wait_for_tstate_lock|recv|recv_bytes|_recv|_recv_bytes|get|sleep) \("
)
WAITING = "waiting (blocked; py-spy missed the idle)"


@dataclass(frozen=True)
class Sample:
    processes: tuple[str, ...]  # command lines, outermost first
    frames: tuple[str, ...]  # root first
    count: int


def parse_raw(lines: Iterable[str]) -> Iterator[Sample]:
    """The samples of py-spy's raw (collapsed) output; lines that are not samples are skipped."""
    for line in lines:
        match = _LINE.match(line.rstrip("\n"))
        if not match:
            continue
        parts = match["stack"].split(";")
        processes = tuple(p for p in parts if p.startswith("process "))
        frames = tuple(p for p in parts if not p.startswith("process "))
        yield Sample(processes, frames, int(match["count"]))


def activity(sample: Sample) -> str:
    if sample.frames and _WAITING.search(sample.frames[-1]):
        return WAITING
    for frame in reversed(sample.frames):
        for name, pattern in _COMPILED:
            if pattern.search(frame):
                return name
    return f"other, in {process_kind(sample)}"


def process_kind(sample: Sample) -> str:
    innermost = sample.processes[-1] if sample.processes else ""
    if "spiders.run" in innermost:
        return "the Scrapy crawl process"
    if any("_process_worker" in frame for frame in sample.frames):
        return "a worker process"
    return "the stage process"


def package(sample: Sample, libraries: Collection[str]) -> str:
    """The top-level module of the sampled frame's file when it is one of ``libraries`` (installed
    packages and framewatch's own), else "standard library"."""
    match = _TOP_MODULE.search(sample.frames[-1]) if sample.frames else None
    top = match["top"] if match else ""
    return top if top in libraries else "standard library"


@dataclass(frozen=True)
class Summary:
    samples: int
    by_activity: Counter
    by_process: Counter
    by_package: Counter


def summarise(samples: Iterable[Sample], libraries: Collection[str]) -> Summary:
    """Samples counted by activity, process and package (``libraries``: the names ``package`` keeps)."""
    by_activity: Counter = Counter()
    by_process: Counter = Counter()
    by_package: Counter = Counter()
    for sample in samples:
        by_activity[activity(sample)] += sample.count
        by_process[process_kind(sample)] += sample.count
        by_package[package(sample, libraries)] += sample.count
    return Summary(sum(by_process.values()), by_activity, by_process, by_package)


def render(summary: Summary, rate: int, pages: int | None = None, top: int = 15) -> str:
    """Tables of CPU seconds (samples / rate) and shares, per activity, process and leaf package."""
    lines: list[str] = []
    per_page = f", ms per article page ({pages})" if pages else ""
    for title, counter in (
        ("activity (innermost named frame)", summary.by_activity),
        ("process", summary.by_process),
        ("package of the sampled frame", summary.by_package),
    ):
        lines.append(f"\nCPU by {title}: CPU-s, share{per_page}")
        for name, count in counter.most_common(top):
            seconds = count / rate
            cost = f"  {seconds / pages * 1000:7.2f}" if pages else ""
            lines.append(f"  {name:<46} {seconds:7.1f}  {count / summary.samples:6.1%}{cost}")
    lines.append(f"\ntotal: {summary.samples / rate:.1f} CPU-s in {summary.samples} samples at {rate}/s")
    return "\n".join(lines)


def installed_libraries(site_packages: Path) -> set[str]:
    """Top-level module names of the packages installed in ``site_packages``, and framewatch's own."""
    names = {path.name.removesuffix(".py") for path in site_packages.iterdir() if not path.name.endswith(
        (".dist-info", ".pth", ".egg-info"))}  # fmt: skip
    return names | {"pipeline", "spiders", "schemas", "bench", "dags", "demo"}
