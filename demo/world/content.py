"""The replay world's content: outlets, articles and faults, loaded from the data files under content/.

Articles are Markdown with YAML front matter; a syndicated copy names its wire original and the edits
a republisher made (new headline, trimmed ending, inserted local paragraph, credit line). The world covers
several stories: ``kind: story`` marks coverage of the first one (mexico-cartel-intervention), and an
optional ``stories: [slug, ...]`` lists the other stories an article is coverage of (a copy inherits its
original's list). ``translates: <id>`` names the article in another language whose text this one
translates or closely adapts.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

import yaml

CONTENT_DIR = Path(__file__).parent / "content"

# The world's clock: what "now" is in each state (pages show it, feeds use it as lastBuildDate).
STATE_CLOCK = {1: datetime(2025, 11, 26, 18, 0, tzinfo=UTC), 2: datetime(2025, 11, 27, 18, 0, tzinfo=UTC)}
# State 3 is state 2's content with four outlets broken (content/breaks.yaml); state 2 is their repair.
BROKEN_STATE = 3
STATES = (1, 2, BROKEN_STATE)


def content_state(state: int) -> int:
    """The state whose articles a state serves (the broken state serves state 2's)."""
    return 2 if state == BROKEN_STATE else state


@dataclass(frozen=True)
class Feed:
    kind: str  # rss2-teaser | rss2-full | atom | jsonfeed | rdf
    path: str
    language: str | None = None
    truncated: bool = False


@dataclass(frozen=True)
class Outlet:
    slug: str
    name: str
    language: str
    country: str
    outlet_type: str
    lean: str | None
    ownership: str
    markup: str  # json-ld-body | json-ld-graph | json-ld-nobody | opengraph | microdata | plain
    tagline: str
    article_path: str  # pattern with {y} {m} {d} {slug}
    feeds: tuple[Feed, ...] = ()
    sitemaps: tuple[str, ...] = ()  # kinds: news | index | urlset
    encoding: str = "utf-8"
    amp: bool = False
    timezone_note: str = "UTC"
    configured: bool = True  # False: only found through query discovery
    config_lists_feeds: bool = False
    feed_link_params: str = ""
    robots_disallow: tuple[str, ...] = ("/private/",)


@dataclass(frozen=True)
class Article:
    id: str
    outlet: str  # outlet slug
    language: str
    kind: str  # story | negative | unrelated
    headline: str
    dek: str
    authors: tuple[str, ...]
    published: datetime
    section: str
    paragraphs: tuple[str, ...]
    slug: str
    modified: datetime | None = None
    syndicates: str | None = None  # id of the wire original
    credit: str | None = None
    dateline: str | None = None
    only_in_state: int | None = None
    state2: dict = field(default_factory=dict)  # headline / add_paragraph / trivial / modified
    old_path: str | None = None  # an earlier URL, answered with a 301 to the canonical path
    charset_declared: str = "header"  # header | meta | none (only for the latin-1 outlet)
    in_gdelt: bool = False
    image: str | None = None
    # The stories other than the first (``kind: story``) this article is coverage of, by slug.
    stories: tuple[str, ...] = ()
    # The id of the article in another language this one's text translates or closely adapts (a
    # same-language copy of a translation inherits it from its original).
    translates: str | None = None

    def in_state(self, state: int) -> Article:
        """The article as the outlet serves it in ``state`` (state 2 applies the labelled edits)."""
        if state != 2 or not self.state2:
            return self
        changes: dict = {}
        if "headline" in self.state2:
            changes["headline"] = self.state2["headline"]
        if "add_paragraph" in self.state2:
            changes["paragraphs"] = self.paragraphs + (self.state2["add_paragraph"],)
        if "modified" in self.state2:
            changes["modified"] = _utc(self.state2["modified"])
        return dataclasses.replace(self, **changes)

    def exists_in(self, state: int) -> bool:
        return self.only_in_state is None or self.only_in_state == state


def _utc(value) -> datetime:
    parsed = (
        value if isinstance(value, datetime) else datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    )
    return parsed.astimezone(UTC)


def _split_front_matter(text: str) -> tuple[dict, list[str]]:
    _, front, body = text.split("---\n", 2)
    paragraphs = [" ".join(p.split()) for p in body.strip().split("\n\n") if p.strip()]
    return yaml.safe_load(front), paragraphs


def _article_from_file(path: Path) -> tuple[dict, list[str]]:
    return _split_front_matter(path.read_text(encoding="utf-8"))


def _build_original(meta: dict, paragraphs: list[str]) -> Article:
    return Article(
        id=meta["id"],
        outlet=meta["outlet"],
        language=meta["language"],
        kind=meta["kind"],
        headline=meta["headline"],
        dek=meta.get("dek", ""),
        authors=tuple(meta.get("authors", ())),
        published=_utc(meta["published"]),
        section=meta.get("section", "News"),
        paragraphs=tuple(paragraphs),
        slug=meta["slug"],
        modified=_utc(meta["modified"]) if meta.get("modified") else None,
        credit=meta.get("credit"),
        dateline=meta.get("dateline"),
        only_in_state=meta.get("only_in_state"),
        state2=meta.get("state2") or {},
        old_path=meta.get("old_path"),
        charset_declared=meta.get("charset_declared", "header"),
        in_gdelt=bool(meta.get("in_gdelt")),
        image=meta.get("image"),
        stories=tuple(meta.get("stories", ())),
        translates=meta.get("translates"),
    )


def _build_copy(meta: dict, local_paragraphs: list[str], original: Article) -> Article:
    """A republished wire story: the republisher's edits applied to the original's state-1 text."""
    kept = list(original.paragraphs[: len(original.paragraphs) - int(meta.get("trim_end", 0))])
    insert_at = int(meta.get("insert_after", len(kept)))
    kept[insert_at:insert_at] = local_paragraphs
    if meta.get("credit"):
        kept.append(meta["credit"])
    return Article(
        id=meta["id"],
        outlet=meta["outlet"],
        language=original.language,
        kind=original.kind,
        headline=meta.get("headline", original.headline),
        dek=meta.get("dek", original.dek),
        authors=tuple(meta.get("authors", original.authors)),
        published=_utc(meta["published"]),
        section=meta.get("section", original.section),
        paragraphs=tuple(kept),
        slug=meta["slug"],
        syndicates=original.id,
        credit=meta.get("credit"),
        dateline=meta.get("dateline", original.dateline),
        charset_declared=meta.get("charset_declared", "header"),
        in_gdelt=bool(meta.get("in_gdelt")),
        stories=tuple(meta.get("stories", original.stories)),
        translates=original.translates,
    )


@cache
def load_outlets() -> tuple[Outlet, ...]:
    raw = yaml.safe_load((CONTENT_DIR / "outlets.yaml").read_text(encoding="utf-8"))
    outlets = []
    for entry in raw["outlets"]:
        feeds = tuple(Feed(**feed) for feed in entry.pop("feeds", ()))
        entry["sitemaps"] = tuple(entry.get("sitemaps", ()))
        entry["robots_disallow"] = tuple(entry.get("robots_disallow", ("/private/",)))
        outlets.append(Outlet(feeds=feeds, **entry))
    return tuple(outlets)


@cache
def load_articles() -> tuple[Article, ...]:
    """Every hand-written article, originals first so copies can refer to them."""
    parsed = [_article_from_file(p) for p in sorted((CONTENT_DIR / "articles").rglob("*.md"))]
    originals = {
        meta["id"]: _build_original(meta, paras) for meta, paras in parsed if "syndicates" not in meta
    }
    copies = [
        _build_copy(meta, paras, originals[meta["syndicates"]])
        for meta, paras in parsed
        if "syndicates" in meta
    ]
    return tuple(originals.values()) + tuple(copies)


@cache
def load_faults() -> tuple[dict, ...]:
    return tuple(yaml.safe_load((CONTENT_DIR / "faults.yaml").read_text(encoding="utf-8"))["faults"])


def article_path(outlet: Outlet, article: Article, slug: str | None = None) -> str:
    when = article.published
    return outlet.article_path.format(
        y=f"{when:%Y}", m=f"{when:%m}", d=f"{when:%d}", slug=slug or article.slug
    )


@cache
def load_breaks() -> dict[str, dict]:
    """State 3's broken outlets (content/breaks.yaml): outlet slug -> its break."""
    raw = yaml.safe_load((CONTENT_DIR / "breaks.yaml").read_text(encoding="utf-8"))["breaks"]
    return {entry["outlet"]: entry for entry in raw}
