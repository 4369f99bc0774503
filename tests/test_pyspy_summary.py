"""bench/pyspy_summary.py: py-spy's raw stacks counted by activity, process and library."""

from __future__ import annotations

from bench.pyspy_summary import WAITING, activity, package, parse_raw, render, summarise

STAGE = 'process 10:"/venv/bin/python -m bench.framewatch_cycle --config c"'
CRAWL = 'process 11:"/venv/bin/python -m spiders.run --config c"'
WORKER_ROOT = (
    "BaseProcess.run (multiprocessing/process.py:108);_process_worker (concurrent/futures/process.py:249)"
)
LINES = [
    # a worker extracting: trafilatura under extract_article, leaf in lxml
    f'{STAGE};process 12:"x";{WORKER_ROOT};process_page (pipeline/run/process.py:60);'
    "extract_article (pipeline/extract/page.py:701);extract (trafilatura/core.py:482);"
    "lookup (lxml/html/__init__.py:714) 7",
    # a worker in framewatch's own extraction code
    f'{STAGE};process 12:"x";{WORKER_ROOT};extract_article (pipeline/extract/page.py:701);'
    "_visible_bylines (pipeline/extract/page.py:483) 3",
    # the Scrapy process fetching
    f"{STAGE};{CRAWL};run (twisted/internet/base.py:700);doRead (twisted/internet/tcp.py:250) 5",
    # a thread of the stage process blocked in select: waiting, not work
    f"{STAGE};Thread.run (threading.py:982);_PollLikeSelector.select (selectors.py:415) 4",
    "not a sample line",
]
LIBRARIES = {"trafilatura", "lxml", "twisted", "pipeline"}


def test_samples_are_parsed_with_their_processes_frames_and_counts() -> None:
    samples = list(parse_raw(LINES))
    assert [s.count for s in samples] == [7, 3, 5, 4]
    assert samples[2].processes == (STAGE, CRAWL)
    assert samples[2].frames[-1] == "doRead (twisted/internet/tcp.py:250)"


def test_each_sample_goes_to_its_innermost_named_activity_and_waiting_is_kept_apart() -> None:
    samples = list(parse_raw(LINES))
    assert [activity(s) for s in samples] == [
        "trafilatura (body extraction)",
        "extraction, framewatch's own",
        "crawl (Scrapy, Twisted)",
        WAITING,
    ]


def test_packages_are_the_sampled_frames_library() -> None:
    samples = list(parse_raw(LINES))
    assert [package(s, LIBRARIES) for s in samples] == ["lxml", "pipeline", "twisted", "standard library"]


def test_the_summary_counts_every_sample_once_per_table_and_renders_cpu_seconds() -> None:
    summary = summarise(parse_raw(LINES), LIBRARIES)
    assert summary.samples == 19
    assert summary.by_process == {
        "a worker process": 10,
        "the Scrapy crawl process": 5,
        "the stage process": 4,
    }
    table = render(summary, rate=100, pages=10)
    assert "trafilatura (body extraction)" in table and "0.1   36.8%" in table  # 7 samples at 100/s
    assert "total: 0.2 CPU-s in 19 samples at 100/s" in table
