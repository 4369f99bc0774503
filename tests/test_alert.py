"""Alert digests: exactly once over real SMTP (aiosmtpd on 127.0.0.1), on SQLite and PostgreSQL."""

from __future__ import annotations

import email
import email.policy
import socket
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller

from pipeline.alert.digests import (
    Digest,
    DigestEntry,
    OutboxTransport,
    SmtpTransport,
    digest_subject,
    queue_digests,
    render_digest,
    send_pending_digests,
    transport_from_environment,
)
from pipeline.config import AlertSettings, OutletConfig, load_story
from pipeline.load.warehouse import load_articles, load_outlets, upsert_rows
from pipeline.load.warehouse import load_story as load_story_row
from pipeline.normalise.identity import url_hash
from schemas.models import AlertDigest, AlertItem, ArticleFraming, StoryArticle
from schemas.records import NormalisedArticle

STORY_FILE = Path(__file__).parent.parent / "config" / "stories" / "mexico-cartel-intervention.yaml"
SUBSCRIBER = "analyst@framewatch.example"
CYCLE_1 = datetime(2025, 11, 24, 10, 0, tzinfo=UTC)
CYCLE_2 = CYCLE_1 + timedelta(minutes=30)
INJECTED_HEADLINE = "Strikes loom\r\nBcc: victim@example.com <script>alert(1)</script>"


class CollectingHandler:
    """An SMTP server's DATA handler that keeps every message, or refuses them all with 451."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.envelope_recipients: list[list[str]] = []
        self.refusing = False

    async def handle_DATA(self, server, session, envelope) -> str:
        if self.refusing:
            return "451 4.3.0 try later"
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        self.envelope_recipients.append(list(envelope.rcpt_tos))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp_server() -> Iterator[tuple[CollectingHandler, str]]:
    handler = CollectingHandler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield handler, f"smtp://127.0.0.1:{port}"
    controller.stop()


@pytest.fixture
def story():
    return load_story(STORY_FILE).model_copy(update={"subscribers": (SUBSCRIBER,)})


def outlet(name: str, port: int, country: str = "US", language: str = "en") -> OutletConfig:
    return OutletConfig(name=name, homepage=f"http://127.0.0.1:{port}/", language=language, country=country)


def article(outlet_name: str, port: int, slug: str, headline: str, fetched_at: datetime, body: str = "Body."):
    url = f"http://127.0.0.1:{port}/2025/11/24/{slug}.html"
    return NormalisedArticle(
        outlet=outlet_name, canonical_url=url, url_hash=url_hash(url), aliases=(url,), headline=headline,
        dek=None, authors=(), published_at=fetched_at - timedelta(hours=1), modified_at=None, language="en",
        section=None, body_text=body, word_count=len(body.split()),
        content_hash=url_hash(url + headline + body)[:64], fetched_at=fetched_at, sources={},
    )  # fmt: skip


def load_coverage(engine: sa.Engine, story, articles: list[NormalisedArticle], relevant: bool = True) -> dict:
    """Load outlets, the story, the articles and their story relevance, as the process stage would."""
    with engine.begin() as connection:
        load_outlets(
            connection, [outlet("Continental Wire", 18101), outlet("Heraldo Nacional", 18102, "MX", "es")]
        )
        story_id = load_story_row(connection, story)
        ids = load_articles(connection, articles, run_id=None)
        rows = [
            {"story_id": story_id, "article_id": ids[a.url_hash], "relevance_score": 0.8, "is_relevant": relevant,
             "evidence": {}, "scored_at": a.fetched_at}
            for a in articles
        ]  # fmt: skip
        upsert_rows(connection, StoryArticle, rows, ["story_id", "article_id"])
    return ids


def run_cycle(engine: sa.Engine, story, transport, now: datetime):
    """What the cycle's alert stage does: queue in one transaction, then send what is pending."""
    with engine.begin() as connection:
        queue_digests(connection, story, now=now)
    return send_pending_digests(engine, transport, now=now)


def digests(engine: sa.Engine) -> list[sa.Row]:
    with engine.connect() as connection:
        return connection.execute(sa.select(AlertDigest).order_by(AlertDigest.id)).all()


def text_part(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def html_part(message) -> str:
    return message.get_body(preferencelist=("html",)).get_content()


def test_digest_arrives_exactly_once_across_two_identical_runs(warehouse, story, smtp_server):
    handler, url = smtp_server
    load_coverage(
        warehouse, story, [article("Continental Wire", 18101, "strikes", "US weighs strikes", CYCLE_1)]
    )
    transport = SmtpTransport(url, sender="framewatch@framewatch.example")

    first = run_cycle(warehouse, story, transport, CYCLE_1)
    second = run_cycle(warehouse, story, transport, CYCLE_1)

    assert len(first.sent) == 1 and second.sent == []
    assert len(handler.messages) == 1
    assert handler.envelope_recipients == [[SUBSCRIBER]]
    assert [d.status for d in digests(warehouse)] == ["sent"]
    message = handler.messages[0]
    assert message["Message-ID"] == digests(warehouse)[0].message_id
    assert "US weighs strikes" in text_part(message) and "Continental Wire (US, en)" in text_part(message)
    assert "First from this outlet" in html_part(message)


def test_new_coverage_after_the_first_digest_gets_a_digest_of_its_own(warehouse, story, smtp_server):
    handler, url = smtp_server
    transport = SmtpTransport(url)
    load_coverage(
        warehouse, story, [article("Continental Wire", 18101, "strikes", "US weighs strikes", CYCLE_1)]
    )
    run_cycle(warehouse, story, transport, CYCLE_1)

    later = article("Heraldo Nacional", 18102, "soberania", "Sheinbaum rechaza intervención", CYCLE_2)
    load_coverage(warehouse, story, [later])
    run_cycle(warehouse, story, transport, CYCLE_2)

    assert len(handler.messages) == 2
    second = text_part(handler.messages[1])
    assert "Sheinbaum rechaza intervención" in second
    assert "US weighs strikes" not in second
    assert handler.messages[0]["Message-ID"] != handler.messages[1]["Message-ID"]


def test_irrelevant_coverage_is_not_alerted(warehouse, story, smtp_server):
    handler, url = smtp_server
    load_coverage(
        warehouse, story, [article("Continental Wire", 18101, "tariffs", "Tariffs", CYCLE_1)], relevant=False
    )
    report = run_cycle(warehouse, story, SmtpTransport(url), CYCLE_1)
    assert report.sent == [] and handler.messages == [] and digests(warehouse) == []


def test_a_headline_change_is_highlighted(warehouse, story, smtp_server):
    handler, url = smtp_server
    transport = SmtpTransport(url)
    original = article("Continental Wire", 18101, "strikes", "US weighs strikes on cartels", CYCLE_1)
    load_coverage(warehouse, story, [original])
    run_cycle(warehouse, story, transport, CYCLE_1)

    revised = replace(
        original, headline="US orders strikes on cartels", content_hash="d" * 64, fetched_at=CYCLE_2
    )
    load_coverage(warehouse, story, [revised])
    run_cycle(warehouse, story, transport, CYCLE_2)

    assert len(handler.messages) == 2
    text = text_part(handler.messages[1])
    assert "HEADLINE CHANGES" in text
    assert "US orders strikes on cartels" in text and "was: US weighs strikes on cartels" in text
    assert "<del>US weighs strikes on cartels</del>" in html_part(handler.messages[1])
    assert "[FIRST FROM THIS OUTLET]" not in text  # the change is not new coverage


def test_framing_summary_and_syndication_appear_when_known(warehouse, story, smtp_server):
    handler, url = smtp_server
    ids = load_coverage(warehouse, story, [article("Continental Wire", 18101, "strikes", "Strikes", CYCLE_1)])
    with warehouse.begin() as connection:
        connection.execute(
            sa.insert(ArticleFraming).values(
                article_id=next(iter(ids.values())), content_hash="x" * 64, tone=-0.42, tone_method="vader-en",
                certainty=0.3, frame_shares={}, primary_frame="security_and_defense", loaded_terms={"war on cartels": 2},
                evidence={},
            )
        )  # fmt: skip
    run_cycle(warehouse, story, SmtpTransport(url), CYCLE_1)
    text = text_part(handler.messages[0])
    assert (
        "framing: tone -0.42; certainty +0.30; frame: Security and defense; loaded terms: war on cartels"
        in text
    )
    assert "original" in text


def test_an_smtp_outage_delays_alerts_without_losing_them(warehouse, story, smtp_server):
    handler, url = smtp_server
    transport = SmtpTransport(url)
    load_coverage(
        warehouse, story, [article("Continental Wire", 18101, "strikes", "US weighs strikes", CYCLE_1)]
    )
    handler.refusing = True

    refused = run_cycle(warehouse, story, transport, CYCLE_1)

    assert refused.sent == [] and len(refused.failed) == 1
    assert "451" in digests(warehouse)[0].last_error
    assert [d.status for d in digests(warehouse)] == ["pending"]

    handler.refusing = False
    load_coverage(warehouse, story, [article("Heraldo Nacional", 18102, "plan", "El plan", CYCLE_2)])
    delivered = run_cycle(warehouse, story, transport, CYCLE_2)

    assert len(delivered.sent) == 2 and len(handler.messages) == 2
    delivered_text = "".join(text_part(m) for m in handler.messages)
    assert "US weighs strikes" in delivered_text and "El plan" in delivered_text
    assert [d.status for d in digests(warehouse)] == ["sent", "sent"]


def test_a_stopped_server_delays_alerts_without_losing_them(warehouse, story):
    port = free_port()  # nothing listens here: connection refused
    load_coverage(
        warehouse, story, [article("Continental Wire", 18101, "strikes", "US weighs strikes", CYCLE_1)]
    )
    failed = run_cycle(warehouse, story, SmtpTransport(f"smtp://127.0.0.1:{port}"), CYCLE_1)
    assert len(failed.failed) == 1 and [d.status for d in digests(warehouse)] == ["pending"]

    handler = CollectingHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        run_cycle(warehouse, story, SmtpTransport(f"smtp://127.0.0.1:{port}"), CYCLE_2)
    finally:
        controller.stop()
    assert len(handler.messages) == 1 and [d.status for d in digests(warehouse)] == ["sent"]


def test_a_retried_queueing_after_a_rollback_creates_the_same_digest(warehouse, story):
    load_coverage(
        warehouse, story, [article("Continental Wire", 18101, "strikes", "US weighs strikes", CYCLE_1)]
    )
    with warehouse.connect() as connection, connection.begin() as transaction:
        queue_digests(connection, story, now=CYCLE_1)
        rolled_back_key = connection.execute(sa.select(AlertDigest.digest_key)).scalar_one()
        transaction.rollback()
    with warehouse.begin() as connection:
        queue_digests(connection, story, now=CYCLE_1)
        queue_digests(connection, story, now=CYCLE_2)  # a re-run queues nothing new
    assert [d.digest_key for d in digests(warehouse)] == [rolled_back_key]
    with warehouse.connect() as connection:
        assert connection.execute(sa.select(sa.func.count()).select_from(AlertItem)).scalar_one() == 1


def test_a_digest_already_claimed_by_another_sender_is_skipped(warehouse, story, smtp_server):
    handler, url = smtp_server
    load_coverage(
        warehouse, story, [article("Continental Wire", 18101, "strikes", "US weighs strikes", CYCLE_1)]
    )
    with warehouse.begin() as connection:
        queue_digests(connection, story, now=CYCLE_1)
        # A concurrent sender read attempts=0 and claimed it first.
        connection.execute(sa.update(AlertDigest).values(attempts=AlertDigest.attempts + 1))
    from pipeline.alert import digests as alert

    report = alert.SendReport()
    digest = digests(warehouse)[0]
    alert._send_one(warehouse, SmtpTransport(url), digest.id, digest.digest_key, 0, report, CYCLE_1)
    assert report.skipped == [digest.digest_key] and handler.messages == []


def test_header_injection_is_neutralised_and_html_escapes_markup(warehouse, story, smtp_server):
    handler, url = smtp_server
    load_coverage(
        warehouse, story, [article("Continental Wire", 18101, "inject", INJECTED_HEADLINE, CYCLE_1)]
    )
    run_cycle(warehouse, story, SmtpTransport(url), CYCLE_1)

    assert handler.envelope_recipients == [[SUBSCRIBER]]
    message = handler.messages[0]
    assert message["Bcc"] is None
    assert "\r" not in message["Subject"] and "\n" not in message["Subject"]
    assert "Bcc: victim@example.com" in message["Subject"]  # kept as harmless text on one line
    html = html_part(message)
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_the_outbox_holds_one_file_per_digest_however_often_it_is_written(warehouse, story, tmp_path, capsys):
    load_coverage(
        warehouse, story, [article("Continental Wire", 18101, "strikes", "US weighs strikes", CYCLE_1)]
    )
    transport = transport_from_environment(AlertSettings(outbox=tmp_path / "outbox"))
    assert isinstance(transport, OutboxTransport)

    report = run_cycle(warehouse, story, transport, CYCLE_1)
    with warehouse.begin() as connection:  # as if the crash came after writing, before marking sent
        connection.execute(sa.update(AlertDigest).values(status="pending"))
    run_cycle(warehouse, story, transport, CYCLE_2)

    files = sorted((tmp_path / "outbox").iterdir())
    assert [f.name for f in files] == [f"{report.sent[0]}.eml"]
    parsed = email.message_from_bytes(files[0].read_bytes(), policy=email.policy.default)
    assert parsed["To"] == SUBSCRIBER
    assert str(files[0]) in capsys.readouterr().out


def test_the_smtp_url_from_the_environment_wins_over_the_outbox(monkeypatch, tmp_path):
    monkeypatch.setenv("FRAMEWATCH_SMTP_URL", "smtps://user:secret@mail.example:465")
    transport = transport_from_environment(AlertSettings(outbox=tmp_path))
    assert isinstance(transport, SmtpTransport)
    monkeypatch.setenv("FRAMEWATCH_SMTP_URL", "http://mail.example")
    with pytest.raises(ValueError, match="not an SMTP URL"):
        transport_from_environment(AlertSettings())


def digest_entry(headline: str, outlet: str, hour: int | None, **changes) -> DigestEntry:
    published = None if hour is None else datetime(2025, 11, 24, hour, 0, tzinfo=UTC)
    entry = DigestEntry(
        headline=headline, outlet=outlet, country="US", language="en", published_at=published,
        url=f"http://127.0.0.1:18101/{headline.replace(' ', '-')}", relevance=0.8, syndication="original",
        framing="tone -0.10; certainty +0.20; frame: Security and defense", first_from_outlet=False,
        previous_headline=None,
    )  # fmt: skip
    return replace(entry, **changes)


def test_a_digest_lists_coverage_in_publication_order_with_copies_under_their_original():
    """Issue 23: the first digest listed its items in no time order."""
    entries = (
        digest_entry("Late story", "Heraldo Nacional", 18, first_from_outlet=True),
        digest_entry(
            "Copy of the wire", "Harbor Post", 12, cluster_id=7, is_copy=True, first_from_outlet=True
        ),
        digest_entry("Undated story", "Continental Wire", None),
        digest_entry("Wire original", "Continental Wire", 9, cluster_id=7, first_from_outlet=True),
        digest_entry("Midday story", "Continental Wire", 11),
    )
    digest = Digest(1, "k", "mexico-cartel-intervention", "Boots on the ground", SUBSCRIBER, "<k@framewatch.alerts>",
                    CYCLE_1, entries)  # fmt: skip
    text, html = render_digest(digest, "desk@framewatch.example")
    assert digest_subject(digest) == "[framewatch] Boots on the ground: 5 updates — Wire original"
    order = [line.strip(" *") for line in text.splitlines() if line.lstrip().startswith("* ")]
    assert order == [
        "[FIRST FROM THIS OUTLET] Wire original", "[FIRST FROM THIS OUTLET] Copy of the wire", "Midday story",
        "[FIRST FROM THIS OUTLET] Late story", "Undated story",
    ]  # fmt: skip
    assert "    * [FIRST FROM THIS OUTLET] Copy of the wire" in text  # indented under its original
    assert "First coverage of the story from: Continental Wire, Harbor Post, Heraldo Nacional." in text
    assert html.index("Wire original") < html.index("Copy of the wire") < html.index("Midday story")
    assert html.index("Midday story") < html.index("Late story") < html.index("Undated story")


def test_a_digest_footer_says_how_to_stop_or_change_the_subscription():
    digest = Digest(1, "k", "mexico-cartel-intervention", "Boots", SUBSCRIBER, "<k@framewatch.alerts>", CYCLE_1,
                    (digest_entry("A story", "Continental Wire", 9),))  # fmt: skip
    text, html = render_digest(digest, "desk@framewatch.example")
    footer = " ".join(text.split("--\n", 1)[1].split())
    assert (
        'remove or edit that address under "subscribers:" in config/stories/mexico-cartel-intervention.yaml'
        in footer
    )
    assert "ask desk@framewatch.example" in footer
    assert "<code>config/stories/mexico-cartel-intervention.yaml</code>" in html


def test_first_coverage_from_an_outlet_is_its_earliest_published_article(warehouse, story, smtp_server):
    handler, url = smtp_server
    later = article("Continental Wire", 18101, "later", "Later story", CYCLE_1)
    earlier = replace(article("Continental Wire", 18101, "earlier", "Earlier story", CYCLE_1),
                      published_at=CYCLE_1 - timedelta(hours=5))  # fmt: skip
    load_coverage(warehouse, story, [later, earlier])  # loaded in this order: "later" has the smaller id
    run_cycle(warehouse, story, SmtpTransport(url), CYCLE_1)
    order = [
        line.strip(" *") for line in text_part(handler.messages[0]).splitlines() if line.startswith("* ")
    ]
    assert order == ["[FIRST FROM THIS OUTLET] Earlier story", "Later story"]
