"""The publishing clock: outlets that keep publishing while the world is served cycle after cycle.

Off until ``ReplayWorld.set_clock`` is first called (the states' hand-written content is all there is,
as the truth file says). From then on every configured outlet publishes one generated local story every
``PUBLISH_EVERY``, from ``PUBLISH_LEAD`` before that first time, each outlet a few minutes apart from
the others: its feeds, sitemaps and homepage list what it has published up to the clock, so an outlet's
usual rhythm, and its silence, can be measured (outlet health, issue 16).

Like scale mode, nothing is stored: article ``k`` of an outlet is rebuilt from
``random.Random(f"{seed}:live:{outlet}:{k}")`` whenever it is asked for.
"""

from __future__ import annotations

import dataclasses
import random
import re
from datetime import datetime, timedelta
from functools import lru_cache

from .content import Article, Outlet
from .scale import noise_article, slugify

PUBLISH_EVERY = timedelta(minutes=20)
PUBLISH_LEAD = timedelta(hours=1)  # the first cycle already finds a few of each outlet's stories
STAGGER = timedelta(minutes=3)  # outlet i publishes i x STAGGER (modulo PUBLISH_EVERY) after the beat
LIVE_SLUG = re.compile(r"-live-(\d{5})(?:\.html)?$")


class LiveCatalogue:
    """The generated stories each configured outlet has published since ``since``."""

    def __init__(self, since: datetime, seed: int, outlets: tuple[Outlet, ...]):
        self.since = since
        self.seed = seed
        self.outlets = {o.slug: o for o in outlets if o.configured}
        self.offsets = {slug: (STAGGER * i) % PUBLISH_EVERY for i, slug in enumerate(sorted(self.outlets))}

    def published_at(self, slug: str, index: int) -> datetime:
        return self.since + self.offsets[slug] + index * PUBLISH_EVERY

    def count_until(self, slug: str, clock: datetime) -> int:
        """How many stories the outlet has published by ``clock``."""
        if slug not in self.outlets or clock < self.published_at(slug, 0):
            return 0
        return (clock - self.published_at(slug, 0)) // PUBLISH_EVERY + 1

    def published(self, slug: str, clock: datetime) -> tuple[Article, ...]:
        return tuple(self.article(slug, k) for k in range(self.count_until(slug, clock)))

    @lru_cache(maxsize=4096)  # noqa: B019 - the catalogue lives as long as its world
    def article(self, slug: str, index: int) -> Article:
        rng = random.Random(f"{self.seed}:live:{slug}:{index}")
        story = noise_article(rng, self.outlets[slug], self.published_at(slug, index))
        return dataclasses.replace(
            story, id=f"live-{slug}-{index:05d}", slug=f"{slugify(story.headline)}-live-{index:05d}"
        )

    def index_from_path(self, path: str) -> int | None:
        match = LIVE_SLUG.search(path)
        return int(match.group(1)) if match else None
