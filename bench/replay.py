"""The replay world as the crawl benchmarks see it: a config for the running world, tuned for throughput.

The demo config (config/demo) is kept as it is, except what would make the benchmark measure sleeps or
a cap instead of the pipeline: no download delay, no AutoThrottle, and a per-outlet article cap above
the world's size. Concurrency stays the demo's (8 requests, 2 per host) and every part uses it.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from demo.world.config import write_demo_config

STORY = "mexico-cartel-intervention"


def write_bench_config(world, directory: Path, stories: list[str] | None = None) -> Path:
    """config/demo for the running ``world`` with the throughput settings above; returns the directory.
    One story (the cartel story) unless ``stories`` says otherwise: the end-to-end rows compare with
    runs from before framewatch watched many stories (``bench/stories.py`` measures those)."""
    write_demo_config(
        world,
        directory,
        archive_dir=directory / "warc",
        outbox=directory / "outbox",
        stories=stories or [STORY],
    )
    settings_path = directory / "framewatch.yaml"
    settings = yaml.safe_load(settings_path.read_text(encoding="utf-8"))
    settings["crawl"].update(
        {"download_delay": 0.0, "autothrottle": False, "max_articles_per_outlet": max(1000, 2 * world.scale)}
    )
    settings_path.write_text(yaml.safe_dump(settings, sort_keys=False), encoding="utf-8")
    return directory


def fetched_article_urls(archive_dir: Path) -> list[str]:
    """Article URLs a framewatch crawl fetched with a 200 (every manifest under ``archive_dir``)."""
    urls: list[str] = []
    for manifest in sorted(archive_dir.rglob("manifest.jsonl")):
        for line in manifest.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            urls.append(record.get("requested_url") or record["url"])
    return list(dict.fromkeys(urls))
