"""Outlet health, per outlet and cycle: what the crawl and the process stage saw of each outlet.

Pure functions over the run's records: its fetch events (the crawl's fetch log), the process stage's
extraction outcomes and the articles it produced. Nothing here reads a database or the clock; the
stage that stores the measures (``pipeline.health.store``) gives them the run's logical time.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from statistics import median
from urllib.parse import urlsplit

from pipeline.extract.page_kind import NON_ARTICLE_KINDS
from schemas.records import NormalisedArticle, Outcome
from schemas.timestamps import as_utc

# Fetch outcome classes (issue 16): what an operator asks of an outlet's requests.
OK, NOT_MODIFIED, CLIENT_ERROR, SERVER_ERROR, TIMEOUT, ROBOTS, BLOCKED, OTHER = (
    "ok", "not-modified", "client-error", "server-error", "timeout", "robots", "blocked", "other",
)  # fmt: skip
FETCH_CLASSES = (OK, NOT_MODIFIED, CLIENT_ERROR, SERVER_ERROR, TIMEOUT, ROBOTS, BLOCKED, OTHER)
# Statuses with which a server refuses this client rather than a page: an outlet blocking the crawler.
BLOCKING_STATUSES = frozenset({401, 403, 429, 451})
LISTING_KINDS = frozenset({"feed", "sitemap", "homepage"})
# Extraction outcomes of a page that yields no article; "future-date-ignored" is about a stored article.
FAILED_EXTRACTION = frozenset({"no-text", "not-html", "not-an-article", "quarantined", *NON_ARTICLE_KINDS})
EXAMPLES_PER_OUTLET = 3


@dataclass(frozen=True)
class ListingHealth:
    """An outlet's feeds (or sitemaps) in one cycle: the entries read, the newest entry seen so far,
    the usual gap between entries, and the newest entry's age at the cycle's time (its silence)."""

    entries: int = 0  # entries of the listings read in full this cycle (a 304 reads none)
    newest: datetime | None = None  # this cycle's newest, or the last cycle's when it read nothing newer
    gap_hours: float | None = None  # median over the listings read; else the last cycle's
    silence_hours: float | None = None  # the cycle's time minus ``newest``


@dataclass(frozen=True)
class OutletCycleHealth:
    """One outlet's measures for one cycle (a row of ``outlet_health``)."""

    outlet: str
    requests: int = 0
    fetch_classes: Mapping[str, int] = field(default_factory=dict)  # FETCH_CLASSES -> count
    listing_requests: int = 0  # feeds, sitemaps and homepages requested
    listing_ok: int = 0  # of which answered 200 or 304
    pages: int = 0  # pages the process stage read (articles and failed extractions)
    articles: int = 0  # new or changed articles stored
    new_articles: int = 0
    extraction: Mapping[str, int] = field(default_factory=dict)  # failed-extraction outcome -> count
    non_articles: int = 0  # consent, paywall, challenge, login and error pages
    undated_share: float | None = None  # shares over the cycle's stored articles; None without any
    unauthored_share: float | None = None
    other_language_share: float | None = None
    median_body_words: float | None = None
    newest_article_age_hours: float | None = None  # at the cycle's time, over everything stored
    examples: tuple[str, ...] = ()  # URLs of failed extractions, for an operator's evidence
    feeds: ListingHealth = field(default_factory=ListingHealth)
    sitemaps: ListingHealth = field(default_factory=ListingHealth)

    @property
    def failed_extraction_share(self) -> float | None:
        failed = sum(self.extraction.values())
        return failed / self.pages if self.pages else None

    @property
    def answered_afresh(self) -> int:
        """Requests less those answered 304: a 304 repeats an earlier answer, a refusal or a challenge
        too, so counting it would dilute a blocking outlet's share as its pages come back 304."""
        return self.requests - self.fetch_classes.get(NOT_MODIFIED, 0)

    @property
    def blocked_share(self) -> float | None:
        blocked = self.fetch_classes.get(BLOCKED, 0) + self.extraction.get("bot-challenge", 0)
        return blocked / self.answered_afresh if self.answered_afresh else None


def fetch_class(outcome: str, status: int | None) -> str:
    """The class of one fetch outcome (``spiders.spiders.news.status_outcome``/``failure_outcome``)."""
    if outcome == "ok":
        return OK
    if outcome == "not-modified":
        return NOT_MODIFIED
    if outcome == "timeout":
        return TIMEOUT
    if outcome == "blocked-by-robots":
        return ROBOTS
    if status is not None and status in BLOCKING_STATUSES:
        return BLOCKED
    if status is not None and 400 <= status < 500:
        return CLIENT_ERROR
    if status is not None and status >= 500:
        return SERVER_ERROR
    return OTHER


def outlet_of_url(url: str, hosts_by_outlet: Mapping[str, Collection[str]]) -> str | None:
    host = urlsplit(url).netloc.lower()
    return next((outlet for outlet, hosts in hosts_by_outlet.items() if host in hosts), None)


def measure_outlets(
    outlets: Sequence[str],
    fetch_events: Iterable[Mapping[str, object]],
    outcomes: Iterable[Outcome],
    articles: Iterable[NormalisedArticle],
    context: HealthContext,
) -> list[OutletCycleHealth]:
    """Every configured outlet's measures (an outlet the cycle never reached gets zeros: that, too, is
    a measure), plus any other outlet the fetch log names."""
    events = list(fetch_events)
    url_outlets = {str(e["url"]): str(e["outlet"]) for e in events if e.get("outlet")}
    failed = _failed_extractions_by_outlet(outcomes, url_outlets, context.hosts_by_outlet)
    stored = _by_outlet(articles)
    names = list(dict.fromkeys([*outlets, *(str(e["outlet"]) for e in events if e.get("outlet"))]))
    events_by_outlet: dict[str, list[Mapping[str, object]]] = {}
    for event in events:
        events_by_outlet.setdefault(str(event.get("outlet")), []).append(event)
    return [
        measure_outlet(
            name, events_by_outlet.get(name, []), failed.get(name, []), stored.get(name, []), context
        )
        for name in names
    ]


@dataclass(frozen=True)
class HealthContext:
    """What the measures need beside the run's records: all plain values read by the caller."""

    measured_at: datetime
    hosts_by_outlet: Mapping[str, Collection[str]] = field(default_factory=dict)
    languages: Mapping[str, str] = field(default_factory=dict)  # outlet -> ISO 639-1
    new_articles: Mapping[str, int] = field(default_factory=dict)  # outlet -> articles first seen now
    newest_published: Mapping[str, datetime] = field(default_factory=dict)  # outlet -> newest stored
    # outlet -> {"feed": .., "sitemap": ..} as its last cycle left them: a listing that answers 304
    # lists what it listed then, so its newest entry and rhythm carry over
    previous_listings: Mapping[str, Mapping[str, ListingHealth]] = field(default_factory=dict)


def measure_outlet(
    outlet: str,
    events: Sequence[Mapping[str, object]],
    failed: Sequence[Outcome],
    articles: Sequence[NormalisedArticle],
    context: HealthContext,
) -> OutletCycleHealth:
    classes = Counter(fetch_class(str(e["outcome"]), _status(e)) for e in events)
    listings = [e for e in events if e.get("kind") in LISTING_KINDS]
    extraction = Counter(o.kind for o in failed)
    newest = context.newest_published.get(outlet)
    return OutletCycleHealth(
        outlet=outlet,
        requests=len(events),
        fetch_classes=dict(classes),
        listing_requests=len(listings),
        listing_ok=sum(fetch_class(str(e["outcome"]), _status(e)) in (OK, NOT_MODIFIED) for e in listings),
        pages=len(articles) + len(failed),
        articles=len(articles),
        new_articles=context.new_articles.get(outlet, 0),
        extraction=dict(extraction),
        non_articles=sum(extraction[kind] for kind in NON_ARTICLE_KINDS),
        undated_share=_share(articles, lambda a: a.published_at is None),
        unauthored_share=_share(articles, lambda a: not a.authors),
        other_language_share=_share(articles, lambda a: _other_language(a, context.languages.get(outlet))),
        median_body_words=median(a.word_count for a in articles) if articles else None,
        newest_article_age_hours=(
            (context.measured_at - newest).total_seconds() / 3600 if newest is not None else None
        ),
        examples=tuple(o.url for o in failed if o.url)[:EXAMPLES_PER_OUTLET],
        feeds=listing_health(
            events, "feed", context.previous_listings.get(outlet, {}).get("feed"), context.measured_at
        ),
        sitemaps=listing_health(
            events, "sitemap", context.previous_listings.get(outlet, {}).get("sitemap"), context.measured_at
        ),
    )


def listing_health(
    events: Sequence[Mapping[str, object]], kind: str, previous: ListingHealth | None, measured_at: datetime
) -> ListingHealth:
    """An outlet's listings of one kind this cycle, from their fetch events (``listing_freshness``
    read by the spider), carrying over what the last cycle knew where nothing newer was read."""
    read = [e for e in events if e.get("kind") == kind and e.get("entries") is not None]
    newest_seen = [
        as_utc(datetime.fromisoformat(str(e["newest_entry"]))) for e in read if e.get("newest_entry")
    ]
    if previous is not None and previous.newest is not None:
        newest_seen.append(previous.newest)
    newest = max(newest_seen, default=None)
    gaps = [float(str(e["entry_gap_hours"])) for e in read if e.get("entry_gap_hours") is not None]
    gap = median(gaps) if gaps else (previous.gap_hours if previous else None)
    silence = (measured_at - newest).total_seconds() / 3600 if newest is not None else None
    return ListingHealth(sum(int(str(e["entries"])) for e in read), newest, gap, silence)


def _status(event: Mapping[str, object]) -> int | None:
    status = event.get("status")
    return int(status) if isinstance(status, int | float | str) and str(status).isdigit() else None


def _other_language(article: NormalisedArticle, outlet_language: str | None) -> bool:
    return bool(article.language and outlet_language and article.language != outlet_language)


def _share(articles: Sequence[NormalisedArticle], predicate) -> float | None:
    return sum(map(predicate, articles)) / len(articles) if articles else None


def _by_outlet(articles: Iterable[NormalisedArticle]) -> dict[str, list[NormalisedArticle]]:
    grouped: dict[str, list[NormalisedArticle]] = {}
    for article in articles:
        grouped.setdefault(article.outlet, []).append(article)
    return grouped


def _failed_extractions_by_outlet(
    outcomes: Iterable[Outcome], url_outlets: Mapping[str, str], hosts: Mapping[str, Collection[str]]
) -> dict[str, list[Outcome]]:
    """Failed extractions per outlet: the fetch log says whose page a URL was; else its host."""
    grouped: dict[str, list[Outcome]] = {}
    for outcome in outcomes:
        if outcome.stage != "extract" or outcome.kind not in FAILED_EXTRACTION or not outcome.url:
            continue
        outlet = url_outlets.get(outcome.url) or outlet_of_url(outcome.url, hosts)
        if outlet:
            grouped.setdefault(outlet, []).append(outcome)
    return grouped
