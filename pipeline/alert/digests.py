"""Alert digests: one email per subscriber listing a story's new coverage, delivered exactly once.

The protocol ("record, then send"):

1. ``queue_digests`` runs inside the cycle's transaction. It records what each subscriber is owed as
   ``alert_items`` rows (unique per subscriber, story, article, kind and content hash, so recording
   twice changes nothing), then attaches every unattached item of a subscriber to one new
   ``alert_digests`` row in status ``pending``. The digest's key is a hash of its story, subscriber
   and items, and its ``Message-ID`` derives from that key: a rolled-back and retried queueing
   produces the same key, a committed one leaves nothing unattached to queue again.
2. ``send_pending_digests`` delivers every ``pending`` digest, oldest first. Before sending it claims
   the digest by bumping ``attempts`` with a compare-and-set (``WHERE attempts = <read value>``), so
   two senders running at once never both send it. After the transport reports success it marks the
   digest ``sent`` in its own transaction.
3. A failed delivery (SMTP refused with 4xx/5xx, server down) records ``last_error`` and leaves the
   digest ``pending``: the next cycle sends it, together with that cycle's new digest. Nothing owed is
   ever dropped, and an outage only delays alerts.

The one remaining window: the server accepted a message and the process died before the ``sent``
mark committed. The digest is then sent again on the next cycle, with the *same* Message-ID, so mail
stores and clients that deduplicate by Message-ID (and any reader) can tell it is the same message.
For SMTP this is at-least-once for that crash window and exactly-once otherwise; SMTP has no
idempotency key a client could present. The outbox transport is exactly-once outright: the file
name is the digest key and files are replaced atomically, so writing twice leaves one file.
"""

from __future__ import annotations

import hashlib
import os
import smtplib
import ssl
import tempfile
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qs, unquote, urlsplit

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlalchemy import Connection, Engine, and_, column, func, select, table, update
from sqlalchemy.orm import Session, aliased

from pipeline.config import AlertSettings, StoryConfig
from pipeline.dedupe.translation import rendering_note
from pipeline.framing.lexicon import load_frames
from pipeline.load.warehouse import upsert_rows
from schemas.models import (
    AlertDigest,
    AlertItem,
    Article,
    ArticleFraming,
    ArticleVersion,
    Outlet,
    Story,
    StoryArticle,
    SyndicationCluster,
    SyndicationMember,
    TranslationLink,
)

NEW_COVERAGE = "new-coverage"
HEADLINE_CHANGE = "headline-change"
COVERAGE_DIGEST, BACKLOG_DIGEST = "coverage", "backlog"
# A backlog digest lists this many of the latest items; the rest are counted by outlet and language.
BACKLOG_LATEST_ITEMS = 10
TEMPLATES_DIR = Path(__file__).parent / "templates"
SUBJECT_HEADLINE_CHARS = 90


class AlertConfigError(ValueError):
    """Alert delivery is not configured, or its URL cannot be used; the message says why."""


# ---------------------------------------------------------------------------------------------------
# Queueing: what each subscriber is owed becomes alert_items, grouped into one pending digest.


def queue_digests(
    connection: Connection, story: StoryConfig, now: datetime, kind: str = COVERAGE_DIGEST
) -> list[int]:
    """Record the coverage owed to each subscriber and group it into pending digests; return their ids.

    Items are keyed by content, not by run, so a re-run of the same cycle queues nothing new. ``kind``
    ``backlog`` makes the digest one summary of what a new or re-matched story found in the stored
    articles (counts by outlet and language, the latest items, the report's link), not a list of
    hundreds; its items are owed and delivered all the same, so they are never announced again.
    A story no longer configured is not active: nothing is queued for it.
    """
    story_id = connection.execute(
        select(Story.id).where(Story.slug == story.slug, Story.active.is_(True))
    ).scalar()
    if story_id is None:
        return []
    owed = owed_item_keys(connection, story_id)
    digest_ids = []
    for subscriber in sorted(set(story.subscribers)):
        rows = [{"subscriber": subscriber, "story_slug": story.slug, **key} for key in owed]
        upsert_rows(
            connection, AlertItem, rows, ["subscriber", "story_slug", "article_id", "kind", "content_hash"]
        )
        digest_id = _attach_unassigned_items(connection, story.slug, subscriber, now, kind)
        if digest_id is not None:
            digest_ids.append(digest_id)
    return digest_ids


def owed_item_keys(connection: Connection, story_id: int) -> list[dict[str, Any]]:
    """Every alertable fact of the story: each relevant article once, and each headline change."""
    relevant = connection.execute(
        select(Article.id, Article.url_hash)
        .join(StoryArticle, StoryArticle.article_id == Article.id)
        .where(StoryArticle.story_id == story_id, StoryArticle.is_relevant.is_(True))
    ).all()
    # New coverage is announced once per article, whatever its later versions: key it by url_hash.
    keys = [{"article_id": a.id, "kind": NEW_COVERAGE, "content_hash": a.url_hash} for a in relevant]
    keys += _headline_change_keys(connection, story_id)
    return keys


def _headline_change_keys(connection: Connection, story_id: int) -> list[dict[str, Any]]:
    """Each headline change of the story's relevant articles, as ``v_headline_changes`` defines it (one
    definition for the analysts' view and the alerts), keyed by the changed version's content hash."""
    changes = table("v_headline_changes", column("story_slug"), column("article_id"), column("changed_at"))
    rows = connection.execute(
        select(changes.c.article_id, ArticleVersion.content_hash)
        .join(Story, Story.slug == changes.c.story_slug)
        .join(
            ArticleVersion,
            (ArticleVersion.article_id == changes.c.article_id)
            & (ArticleVersion.fetched_at == changes.c.changed_at),
        )
        .where(Story.id == story_id)
        .order_by(changes.c.article_id, changes.c.changed_at)
    ).all()
    return [
        {"article_id": article_id, "kind": HEADLINE_CHANGE, "content_hash": content_hash}
        for article_id, content_hash in rows
    ]


def _versions_by_article(
    connection: Connection | Session, article_ids: Sequence[int]
) -> dict[int, list[Any]]:
    versions: dict[int, list[Any]] = {}
    for start in range(0, len(article_ids), 1000):
        rows = connection.execute(
            select(ArticleVersion.article_id, ArticleVersion.content_hash, ArticleVersion.headline)
            .where(ArticleVersion.article_id.in_(article_ids[start : start + 1000]))
            .order_by(ArticleVersion.article_id, ArticleVersion.fetched_at, ArticleVersion.id)
        ).all()
        for row in rows:
            versions.setdefault(row.article_id, []).append(row)
    return versions


def _attach_unassigned_items(
    connection: Connection, story_slug: str, subscriber: str, now: datetime, kind: str
) -> int | None:
    unassigned = connection.execute(
        select(AlertItem.id, AlertItem.article_id, AlertItem.kind, AlertItem.content_hash)
        .where(AlertItem.story_slug == story_slug, AlertItem.subscriber == subscriber)
        .where(AlertItem.digest_id.is_(None))
        .order_by(AlertItem.id)
    ).all()
    if not unassigned:
        return None
    key = digest_key(story_slug, subscriber, [(i.article_id, i.kind, i.content_hash) for i in unassigned])
    connection.execute(
        AlertDigest.__table__.insert().values(
            digest_key=key, story_slug=story_slug, subscriber=subscriber, message_id=message_id_for(key),
            status="pending", attempts=0, created_at=now, kind=kind,
        )
    )  # fmt: skip
    digest_id = connection.execute(select(AlertDigest.id).where(AlertDigest.digest_key == key)).scalar_one()
    item_ids = [i.id for i in unassigned]
    connection.execute(update(AlertItem).where(AlertItem.id.in_(item_ids)).values(digest_id=digest_id))
    return digest_id


def digest_key(story_slug: str, subscriber: str, items: Sequence[tuple[int, str, str]]) -> str:
    """A stable name for a digest: the same story, subscriber and items always give the same key."""
    parts = [story_slug, subscriber.lower()] + [f"{a}:{k}:{h}" for a, k, h in sorted(items)]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def message_id_for(key: str) -> str:
    # RFC 5322 msg-id: "<" id-left "@" id-right ">"; the key makes a resend recognisable.
    return f"<{key}@framewatch.alerts>"


# ---------------------------------------------------------------------------------------------------
# Rendering: the digest's items, enriched for reading, through jinja2 templates.


@dataclass(frozen=True)
class DigestEntry:
    headline: str
    outlet: str
    country: str | None
    language: str | None
    published_at: datetime | None
    url: str
    relevance: float | None
    syndication: str
    framing: str | None
    first_from_outlet: bool
    previous_headline: str | None  # set when this entry announces a headline change
    # The syndication cluster this article belongs to (None: in none) and whether it is a copy in it:
    # a digest lists each original with its copies.
    cluster_id: int | None = None
    is_copy: bool = False


@dataclass(frozen=True)
class Digest:
    id: int
    key: str
    story_slug: str
    story_title: str
    subscriber: str
    message_id: str
    created_at: datetime
    entries: tuple[DigestEntry, ...]
    kind: str = COVERAGE_DIGEST
    report_url: str | None = None  # where the story's report is read (alerts.report_url), if set

    @property
    def latest_entries(self) -> tuple[DigestEntry, ...]:
        """The newest entries first (by publication, undated last), at most ``BACKLOG_LATEST_ITEMS``."""
        dated = sorted(
            self.entries,
            key=lambda e: (e.published_at is not None, e.published_at or self.created_at),
            reverse=True,
        )
        return tuple(dated[:BACKLOG_LATEST_ITEMS])

    def counts_by(self, attribute: str) -> list[tuple[str, int]]:
        """(value, entries) by outlet or language, most first: the shape of a backlog at a glance."""
        counts = Counter(getattr(entry, attribute) or "unknown" for entry in self.entries)
        return sorted(counts.items(), key=lambda item: (-item[1], item[0]))


def load_digest(connection: Connection, digest_id: int, report_url: str | None = None) -> Digest:
    """The digest as its email shows it; ``report_url`` is the ``alerts.report_url`` template."""
    with Session(bind=connection) as session:
        digest = _load_digest(session, digest_id)
    if report_url:
        digest = replace(digest, report_url=report_url.replace("{slug}", digest.story_slug))
    return digest


def _load_digest(session: Session, digest_id: int) -> Digest:
    digest = session.get_one(AlertDigest, digest_id)
    story = session.execute(
        select(Story.id, Story.title).where(Story.slug == digest.story_slug)
    ).one_or_none()
    items = session.scalars(select(AlertItem).where(AlertItem.digest_id == digest_id).order_by(AlertItem.id))
    entries = tuple(_entry(session, story.id if story else None, item) for item in items)
    return Digest(
        id=digest.id, key=digest.digest_key, story_slug=digest.story_slug,
        story_title=story.title if story else digest.story_slug, subscriber=digest.subscriber,
        message_id=digest.message_id, created_at=digest.created_at, entries=entries, kind=digest.kind,
    )  # fmt: skip


def _entry(connection: Session, story_id: int | None, item: AlertItem) -> DigestEntry:
    article, outlet = connection.execute(
        select(Article, Outlet)
        .join(Outlet, Outlet.id == Article.outlet_id)
        .where(Article.id == item.article_id)
    ).one()
    relevance = connection.execute(
        select(StoryArticle.relevance_score).where(
            StoryArticle.story_id == story_id, StoryArticle.article_id == article.id
        )
    ).scalar()
    headline, previous = _headlines(connection, item, article)
    return DigestEntry(
        headline=headline, outlet=outlet.name, country=outlet.country, language=article.language or outlet.language,
        published_at=article.published_at, url=web_link(article.canonical_url), relevance=relevance,
        syndication=syndication_note(connection, article.id), framing=framing_summary(connection, article.id),
        first_from_outlet=item.kind == NEW_COVERAGE and _is_first_from_outlet(connection, story_id, article),
        previous_headline=previous, **_cluster_of(connection, article.id),
    )  # fmt: skip


def _cluster_of(connection: Session, article_id: int) -> dict[str, Any]:
    member = connection.execute(
        select(SyndicationMember.cluster_id, SyndicationMember.is_original).where(
            SyndicationMember.article_id == article_id
        )
    ).one_or_none()
    if member is None:
        return {"cluster_id": None, "is_copy": False}
    return {"cluster_id": member.cluster_id, "is_copy": not member.is_original}


def web_link(url: str) -> str:
    """Only http(s) links reach an href: autoescaping does not stop a ``javascript:`` URL."""
    return url if urlsplit(url).scheme in ("http", "https") else ""


def _headlines(connection: Session, item: AlertItem, article: Article) -> tuple[str, str | None]:
    """The headline to show and, for a headline change, the one it replaced."""
    if item.kind != HEADLINE_CHANGE:
        return _clean(article.headline) or "(no headline)", None
    versions = _versions_by_article(connection, [article.id]).get(article.id, [])
    hashes = [v.content_hash for v in versions]
    at = hashes.index(item.content_hash) if item.content_hash in hashes else len(versions) - 1
    previous = versions[at - 1].headline if at > 0 else None
    return _clean(versions[at].headline) or "(no headline)", _clean(previous) or None


def _is_first_from_outlet(connection: Session, story_id: int | None, article: Article) -> bool:
    """True when no relevant article of the same outlet was published earlier for this story (first
    sighting stands in for an unknown publication time)."""
    when = func.coalesce(Article.published_at, Article.first_seen_at)
    this = article.published_at or article.first_seen_at
    earlier = connection.execute(
        select(func.count())
        .select_from(StoryArticle)
        .join(Article, Article.id == StoryArticle.article_id)
        .where(StoryArticle.story_id == story_id, StoryArticle.is_relevant.is_(True))
        .where(Article.outlet_id == article.outlet_id, Article.id != article.id)
        .where((when < this) | and_(when == this, Article.id < article.id))
    ).scalar_one()
    return earlier == 0


def syndication_note(connection: Session, article_id: int) -> str:
    """ "original", "syndicated copy of <outlet>: <headline>", and for a translation (or a copy of one)
    "<Language> rendering of <outlet>'s story: <headline>" (issue 17)."""
    member = connection.execute(
        select(SyndicationMember.cluster_id, SyndicationMember.is_original).where(
            SyndicationMember.article_id == article_id
        )
    ).one_or_none()
    if member is None or member.is_original:
        return translation_note(connection, article_id) or "original"
    original = connection.execute(
        select(Article.id, Article.headline, Outlet.name)
        .join(SyndicationCluster, SyndicationCluster.original_article_id == Article.id)
        .join(Outlet, Outlet.id == Article.outlet_id)
        .where(SyndicationCluster.id == member.cluster_id)
    ).one_or_none()
    if original is None:
        return "syndicated copy"
    copy_note = f"syndicated copy of {original.name}: {_clean(original.headline)}"
    translated = translation_note(connection, original.id)
    return f"{copy_note}; {translated}" if translated else copy_note


def translation_note(connection: Session, article_id: int) -> str | None:

    translation, original = aliased(Article), aliased(Article)
    link = connection.execute(
        select(translation.language, Outlet.name, original.headline)
        .select_from(TranslationLink)
        .join(translation, translation.id == TranslationLink.article_id)
        .join(original, original.id == TranslationLink.original_article_id)
        .join(Outlet, Outlet.id == original.outlet_id)
        .where(TranslationLink.article_id == article_id)
    ).one_or_none()
    return None if link is None else rendering_note(link.language, link.name, _clean(link.headline))


def framing_summary(connection: Session, article_id: int) -> str | None:
    """One line: tone, certainty, primary frame, loaded terms; None when framing was not computed."""
    framing = connection.get(ArticleFraming, article_id)
    if framing is None:
        return None
    parts = [f"tone {framing.tone:+.2f}", f"certainty {framing.certainty:+.2f}"]
    if framing.primary_frame:
        parts.append(f"frame: {frame_label(framing.primary_frame)}")
    terms = loaded_term_names(framing.loaded_terms)
    if terms:
        parts.append("loaded terms: " + ", ".join(terms[:5]))
    return "; ".join(parts)


def loaded_term_names(loaded_terms: Any) -> list[str]:
    """Term names from the stored JSON, whether {term: count} or a list of {"term", "count"}."""
    if isinstance(loaded_terms, dict) and isinstance(loaded_terms.get("terms"), list):
        loaded_terms = loaded_terms["terms"]
    if isinstance(loaded_terms, dict):
        return [str(term) for term, count in loaded_terms.items() if count]
    if isinstance(loaded_terms, list):
        return [str(t.get("term")) if isinstance(t, dict) else str(t) for t in loaded_terms]
    return []


def _template_environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(enabled_extensions=("html.j2",), default_for_string=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def frame_label(key: str) -> str:
    """A frame dimension in words ("Security and defense"), as the codebook names it."""

    frames = load_frames().frames
    return frames[key].label if key in frames else key.replace("_", " ")


@dataclass(frozen=True)
class CoverageGroup:
    """An original with the copies of it in this digest (or the copies alone, when the original was
    announced before), in publication order."""

    entries: tuple[DigestEntry, ...]

    @property
    def copies_only(self) -> bool:
        return all(entry.is_copy for entry in self.entries)


def publication_order(entry: DigestEntry) -> tuple:
    """Oldest first; undated entries last, by outlet and headline so the order is stable."""
    return (entry.published_at is None, entry.published_at or datetime.max.replace(tzinfo=UTC),
            entry.outlet, entry.headline)  # fmt: skip


def coverage_groups(entries: Sequence[DigestEntry]) -> list[CoverageGroup]:
    """New coverage grouped by syndication cluster, originals first, groups by their first publication."""
    groups: dict[object, list[DigestEntry]] = {}
    for entry in sorted(entries, key=publication_order):
        key = entry.cluster_id if entry.cluster_id is not None else ("own", entry.url, entry.headline)
        groups.setdefault(key, []).append(entry)
    ordered = [
        sorted(members, key=lambda e: (e.is_copy, publication_order(e))) for members in groups.values()
    ]
    ordered.sort(key=lambda members: min(publication_order(e) for e in members))
    return [CoverageGroup(tuple(members)) for members in ordered]


def render_digest(digest: Digest, sender: str = "the framewatch operator") -> tuple[str, str]:
    """The plain-text and HTML bodies of a digest: headline changes, then new coverage in publication
    order, each original with its copies, with the outlets covering the story for the first time named
    at the top, and a footer on how to stop or change the subscription."""
    environment = _template_environment()
    new_entries = [e for e in digest.entries if e.previous_headline is None]
    context = {
        "digest": digest,
        "groups": coverage_groups(new_entries),
        "new_count": len(new_entries),
        "first_outlets": sorted({e.outlet for e in new_entries if e.first_from_outlet}),
        "changed_entries": sorted((e for e in digest.entries if e.previous_headline is not None), key=publication_order),
        "story_file": f"config/stories/{digest.story_slug}.yaml",
        "contact": sender,
    }  # fmt: skip
    template = "alert_backlog" if digest.kind == BACKLOG_DIGEST else "alert_digest"
    text = environment.get_template(f"{template}.txt.j2").render(context)
    html = environment.get_template(f"{template}.html.j2").render(context)
    return text, html


def header_safe(value: str | None) -> str:
    """A value fit for a header: control characters (CR, LF, tabs...) become spaces, runs collapse."""
    cleaned = "".join(" " if unicodedata.category(ch)[0] == "C" else ch for ch in value or "")
    return " ".join(cleaned.split())


def _clean(value: str | None) -> str:
    return header_safe(value)


def reading_order(entries: Sequence[DigestEntry]) -> list[DigestEntry]:
    """The entries as the digest lists them: headline changes, then each coverage group in turn."""
    changed = sorted((e for e in entries if e.previous_headline is not None), key=publication_order)
    new = [
        e
        for group in coverage_groups([e for e in entries if e.previous_headline is None])
        for e in group.entries
    ]
    return changed + new


def digest_subject(digest: Digest) -> str:
    count = len(digest.entries)
    if digest.kind == BACKLOG_DIGEST:
        outlets = len({entry.outlet for entry in digest.entries})
        noun = "article" if count == 1 else "articles"
        return header_safe(
            f"[framewatch] {digest.story_title}: now watched — {count} {noun} from {outlets} outlets so far"
        )
    # The subject leads with the digest's first item, as the body lists them.
    lead = reading_order(digest.entries)[0].headline if digest.entries else ""
    if len(lead) > SUBJECT_HEADLINE_CHARS:
        lead = lead[: SUBJECT_HEADLINE_CHARS - 1] + "…"
    noun = "update" if count == 1 else "updates"
    return header_safe(f"[framewatch] {digest.story_title}: {count} {noun} — {lead}")


def build_message(digest: Digest, sender: str) -> EmailMessage:
    text, html = render_digest(digest, header_safe(sender))
    message = EmailMessage()  # the default policy refuses CR/LF in header values as a second line of defence
    message["Subject"] = digest_subject(digest)
    message["From"] = header_safe(sender)
    message["To"] = header_safe(digest.subscriber)
    message["Date"] = format_datetime(digest.created_at.astimezone(UTC))
    message["Message-ID"] = header_safe(digest.message_id)
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies to this
    message["X-Framewatch-Digest"] = digest.key
    message["X-Framewatch-Story"] = header_safe(digest.story_slug)
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    return message


# ---------------------------------------------------------------------------------------------------
# Transports and sending.


class Transport(Protocol):
    sender: str

    def deliver(self, message: EmailMessage, recipient: str, digest_key: str) -> str:
        """Hand the message on; return where it went. Raise on failure."""
        ...


@dataclass
class OutboxTransport:
    """Writes each digest as ``<digest_key>.eml``: writing the same digest twice leaves one file."""

    directory: Path
    sender: str = "framewatch@localhost"

    def deliver(self, message: EmailMessage, recipient: str, digest_key: str) -> str:
        directory = Path(self.directory)
        directory.mkdir(parents=True, exist_ok=True)
        target = directory / f"{digest_key}.eml"
        with tempfile.NamedTemporaryFile("wb", dir=directory, suffix=".tmp", delete=False) as handle:
            handle.write(message.as_bytes())
        os.replace(handle.name, target)  # atomic: a reader never sees half a message
        print(f"alert for {recipient} written to {target}")
        return str(target)


@dataclass
class SmtpTransport:
    """SMTP from a URL: ``smtp://[user:password@]host[:port][?starttls=true]`` or ``smtps://...``."""

    url: str
    sender: str = "framewatch@localhost"
    timeout: float = 30.0

    def __post_init__(self) -> None:
        parts = urlsplit(self.url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise AlertConfigError(
                f"not an SMTP URL: {redact_url(self.url)!r} (use smtp://host:port or smtps://)"
            )
        self._parts = parts

    def deliver(self, message: EmailMessage, recipient: str, digest_key: str) -> str:
        with self._connect() as client:
            client.send_message(message, from_addr=self.sender, to_addrs=[recipient])
        return f"{self._parts.scheme}://{self._parts.hostname}:{self._port()}"

    def _port(self) -> int:
        return self._parts.port or (465 if self._parts.scheme == "smtps" else 25)

    def _connect(self) -> smtplib.SMTP:
        host, port = self._parts.hostname, self._port()
        if self._parts.scheme == "smtps":
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                host, port, timeout=self.timeout, context=ssl.create_default_context()
            )
        else:
            client = smtplib.SMTP(host, port, timeout=self.timeout)
            if parse_qs(self._parts.query).get("starttls", ["false"])[0].lower() in ("1", "true", "yes"):
                client.starttls(context=ssl.create_default_context())
        if self._parts.username:
            client.login(unquote(self._parts.username), unquote(self._parts.password or ""))
        return client


def redact_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@")).geturl()


def alert_transport(settings: AlertSettings, smtp_url: str | None = None) -> Transport:
    """SMTP at ``smtp_url`` when one is given (a caller's override), else what the environment and the
    settings say (``transport_from_environment``)."""
    return (
        SmtpTransport(smtp_url, sender=str(settings.sender))
        if smtp_url
        else transport_from_environment(settings)
    )


def transport_from_environment(settings: AlertSettings) -> Transport:
    """SMTP when ``FRAMEWATCH_SMTP_URL`` is set, else the configured outbox folder."""
    url = os.environ.get("FRAMEWATCH_SMTP_URL", "").strip()
    if url:
        return SmtpTransport(url, sender=str(settings.sender))
    if settings.outbox is not None:
        return OutboxTransport(Path(settings.outbox), sender=str(settings.sender))
    raise AlertConfigError(
        "no alert transport: set FRAMEWATCH_SMTP_URL (smtp://host:port) or alerts.outbox in framewatch.yaml"
    )


@dataclass
class SendReport:
    sent: list[str] = field(default_factory=list)  # digest keys accepted by the transport
    failed: dict[str, str] = field(default_factory=dict)  # digest key -> error; still pending
    skipped: list[str] = field(default_factory=list)  # claimed by a concurrent sender
    locations: list[str] = field(default_factory=list)  # where each sent digest went (outbox paths)

    def as_counts(self) -> dict[str, int]:
        return {"sent": len(self.sent), "failed": len(self.failed), "skipped": len(self.skipped)}


def send_pending_digests(
    engine: Engine,
    transport: Transport,
    now: datetime | None = None,
    story_slug: str | None = None,
    report_url: str | None = None,
) -> SendReport:
    """Deliver every pending digest (of one story, when ``story_slug`` is given), oldest first;
    failures stay pending for the next cycle."""
    report = SendReport()
    query = select(AlertDigest.id, AlertDigest.digest_key, AlertDigest.attempts).where(
        AlertDigest.status == "pending"
    )
    if story_slug is not None:
        query = query.where(AlertDigest.story_slug == story_slug)
    with engine.connect() as connection:
        pending = connection.execute(query.order_by(AlertDigest.id)).all()
    for digest_id, key, attempts in pending:
        _send_one(engine, transport, digest_id, key, attempts, report, now, report_url)
    return report


def _send_one(
    engine: Engine, transport: Transport, digest_id: int, key: str, attempts: int, report: SendReport,
    now: datetime | None, report_url: str | None = None,
) -> None:  # fmt: skip
    if not _claim(engine, digest_id, attempts):
        report.skipped.append(key)
        return
    with engine.connect() as connection:
        digest = load_digest(connection, digest_id, report_url)
    try:
        location = transport.deliver(build_message(digest, transport.sender), digest.subscriber, key)
    except (smtplib.SMTPException, OSError) as exc:
        _record_failure(engine, digest_id, f"{type(exc).__name__}: {exc}")
        report.failed[key] = str(exc)
        return
    _mark_sent(engine, digest_id, now or datetime.now(UTC))
    report.sent.append(key)
    report.locations.append(location)


def _claim(engine: Engine, digest_id: int, attempts: int) -> bool:
    """Compare-and-set on ``attempts``: only one concurrent sender wins a given pending digest."""
    with engine.begin() as connection:
        claimed = connection.execute(
            update(AlertDigest)
            .where(
                AlertDigest.id == digest_id, AlertDigest.status == "pending", AlertDigest.attempts == attempts
            )
            .values(attempts=attempts + 1)
        )
    return claimed.rowcount == 1


def _record_failure(engine: Engine, digest_id: int, error: str) -> None:
    with engine.begin() as connection:
        connection.execute(
            update(AlertDigest).where(AlertDigest.id == digest_id).values(last_error=error[:2000])
        )


def _mark_sent(engine: Engine, digest_id: int, sent_at: datetime) -> None:
    with engine.begin() as connection:
        connection.execute(
            update(AlertDigest)
            .where(AlertDigest.id == digest_id)
            .values(status="sent", sent_at=sent_at, last_error=None)
        )
