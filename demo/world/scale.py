"""Scale mode: N extra articles generated deterministically from a seed, one at a time, on demand.

Each generated article is a republished wire story (a realistic syndicated copy), an exact duplicate of a
hand-written article at a new URL, or local noise. Nothing is stored: article ``i`` is rebuilt from
``random.Random(f"{seed}:{i}")`` whenever it is asked for, so 5,000+ articles cost nothing up front.
"""

from __future__ import annotations

import dataclasses
import random
import re
import unicodedata
from datetime import UTC, datetime, timedelta
from functools import cache, lru_cache

import yaml

from .content import CONTENT_DIR, Article, Outlet

SCALE_SLUG = re.compile(r"-(\d{6})(?:\.html)?$")
WINDOW_START = datetime(2025, 11, 18, tzinfo=UTC)
WINDOW_SECONDS = 9 * 24 * 3600  # published 2025-11-18 .. 2025-11-26, so every state serves them


def slugify(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:60]


@cache
def _bank() -> dict:
    return yaml.safe_load((CONTENT_DIR / "scale_bank.yaml").read_text(encoding="utf-8"))


class ScaleCatalogue:
    def __init__(self, size: int, seed: int, outlets: tuple[Outlet, ...], articles: tuple[Article, ...]):
        self.size = size
        self.seed = seed
        self.outlets = tuple(o for o in outlets if o.configured)
        self.originals = tuple(a for a in articles if a.syndicates is None and a.outlet == "continental-wire")
        self.handwritten = tuple(a for a in articles if a.only_in_state is None)

    @lru_cache(maxsize=8192)  # noqa: B019 - the catalogue lives as long as its world
    def article(self, index: int) -> Article:
        rng = random.Random(f"{self.seed}:{index}")
        outlet = rng.choice(self.outlets)
        published = WINDOW_START + timedelta(seconds=rng.randrange(WINDOW_SECONDS))
        roll = rng.random()
        if roll < 0.4:
            article = self._wire_copy(rng, outlet)
        elif roll < 0.5:
            article = self._duplicate(rng, outlet)
        else:
            article = self._noise(rng, outlet)
        slug = f"{slugify(article.headline)}-{index:06d}"
        return dataclasses.replace(
            article,
            id=f"scale-{index:06d}",
            outlet=outlet.slug,
            slug=slug,
            published=published,
            modified=None,
            state2={},
            old_path=None,
            in_gdelt=False,
            charset_declared="header",
            dateline=None,
        )

    def _wire_copy(self, rng: random.Random, outlet: Outlet) -> Article:
        same_language = [a for a in self.originals if a.language == outlet.language] or list(self.originals)
        original = rng.choice(same_language)
        kept = original.paragraphs[: len(original.paragraphs) - rng.randint(0, 2)]
        prefix = rng.choice(["", "WIRE: ", "Update: ", ""])
        return dataclasses.replace(
            original,
            headline=prefix + original.headline,
            paragraphs=kept,
            syndicates=original.id,
            credit="Continental Wire Service",
        )

    def _duplicate(self, rng: random.Random, outlet: Outlet) -> Article:
        source = rng.choice(self.handwritten)
        return dataclasses.replace(source, syndicates=source.syndicates or source.id)

    def _noise(self, rng: random.Random, outlet: Outlet) -> Article:
        return noise_article(rng, outlet)

    def outlet_of(self, index: int) -> str:
        # The outlet is the generator's first draw, so it can be known without building the article.
        return random.Random(f"{self.seed}:{index}").choice(self.outlets).slug

    @lru_cache(maxsize=64)  # noqa: B019
    def indices_for(self, outlet_slug: str) -> tuple[int, ...]:
        return tuple(i for i in range(self.size) if self.outlet_of(i) == outlet_slug)

    def index_from_path(self, path: str) -> int | None:
        match = SCALE_SLUG.search(path)
        index = int(match.group(1)) if match else None
        return index if index is not None and index < self.size else None


def noise_article(rng: random.Random, outlet: Outlet, published: datetime = WINDOW_START) -> Article:
    """A bland local story in the outlet's language (no id or slug yet: the caller gives them)."""
    bank = _bank()[outlet.language]
    headline = rng.choice(bank["headlines"]).format(
        town=rng.choice(bank["towns"]), thing=rng.choice(bank["things"])
    )
    paragraphs = tuple(" ".join(rng.sample(bank["sentences"], 3)) for _ in range(rng.randint(4, 7)))
    return Article(
        id="",
        outlet=outlet.slug,
        language=outlet.language,
        kind="unrelated",
        headline=headline,
        dek=paragraphs[0][:120],
        authors=(rng.choice(["Staff", "Redacción", "Pat Moreno"]),),
        published=published,
        section="Local",
        paragraphs=paragraphs,
        slug="",
    )
