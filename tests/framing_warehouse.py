"""A small written warehouse for the framing stage and the analyst interface (issue 7).

Five outlets cover one story, with framing that differs in known directions:
- Continental Wire (US, en): hedged ("reportedly", "no final decision"), anonymous officials; its story
  is republished word for word by Harbor Post (a syndication cluster).
- Capital Ledger (US, en): assertive ("confirmed", "will", "ordered"), the Pentagon and Hegseth quoted;
  one of its headlines carries injected markup and was edited once.
- Diario del Norte (MX, es): quotes Sheinbaum rejecting an "invasión" and defending "soberanía".
- Noticias Globales (ES, es): anonymous US officials, hedged ("según fuentes", "podría").
- Le Monde Fictif (FR, fr): relevant, but framing is defined for en/es only.
Diario del Norte also has an article that is not relevant to the story.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from pipeline.config import OutletConfig, StoryConfig
from pipeline.load.warehouse import load_articles, load_outlets, load_story, upsert_rows
from pipeline.normalise.identity import url_hash
from schemas.models import Base, StoryArticle, SyndicationCluster, SyndicationMember
from schemas.records import NormalisedArticle

SLUG = "mexico-cartel-intervention"
HOSTILE_HEADLINE = "Pentagon will strike cartels <script>window.__pwned=1</script>"
DAY = datetime(2025, 11, 20, 8, 0, tzinfo=UTC)

OUTLETS = (
    ("Continental Wire", "http://127.0.0.1:18101/", "en", "US", "wire"),
    ("Capital Ledger", "http://127.0.0.1:18102/", "en", "US", "national"),
    ("Harbor Post", "http://127.0.0.1:18103/", "en", "US", "regional"),
    ("Diario del Norte", "http://127.0.0.1:18104/", "es", "MX", "national"),
    ("Noticias Globales", "http://127.0.0.1:18105/", "es", "ES", "international"),
    ("Le Monde Fictif", "http://127.0.0.1:18106/", "fr", "FR", "international"),
)

WIRE_BODY = (
    "The administration is reportedly considering drone strikes on cartel labs in Mexico, officials said "
    "on condition of anonymity. No final decision has been made, and the plans could change, people "
    "familiar with the discussions said.\n\nThe options under discussion might include special operations "
    "units working with the CIA, according to sources."
)
LEDGER_BODY = (
    "The Pentagon confirmed on Monday that US forces will carry out strikes on cartel labs in Mexico. "
    "Defense Secretary Pete Hegseth said the military has decided to act against narco-terrorists.\n\n"
    "The president ordered the operation and signed the directive, the White House announced."
)
LEDGER_SECOND_BODY = (
    "US troops will deploy to the border, the Pentagon confirmed. Hegseth said the orders were signed "
    "and the strikes on cartel labs are set to begin.\n\nThe operation was approved by the White House."
)
DIARIO_BODY = (
    "La presidenta Claudia Sheinbaum dijo que México no aceptará una invasión ni injerencia de Estados "
    'Unidos. "La soberanía no se negocia", afirmó Sheinbaum en la conferencia matutina.\n\n'
    "El gobierno de México confirmó que la cancillería envió una nota diplomática sobre la soberanía "
    "nacional y rechazó cualquier invasión."
)
GLOBALES_BODY = (
    "Funcionarios estadounidenses que pidieron el anonimato dijeron que el Pentágono evalúa ataques con "
    "drones contra laboratorios de los cárteles. Según fuentes, no se ha tomado una decisión.\n\n"
    "La operación podría incluir fuerzas especiales y agentes de la CIA, y al parecer estaría lista en "
    "semanas."
)
IRRELEVANT_BODY = "El equipo de fútbol ganó el campeonato regional con un gol en el último minuto."
FRENCH_BODY = "Les États-Unis envisageraient des frappes contre les cartels au Mexique, selon des sources."


@dataclass(frozen=True)
class WrittenArticle:
    outlet: str
    path: str
    headline: str
    body: str
    language: str
    published: datetime | None
    relevant: bool = True


ARTICLES = (
    WrittenArticle("Continental Wire", "world/us-weighs-strikes", "US reportedly weighing strikes on "
                   "cartels in Mexico", WIRE_BODY, "en", DAY),
    WrittenArticle("Harbor Post", "news/us-weighs-strikes", "US reportedly weighing strikes on cartels in "
                   "Mexico", WIRE_BODY, "en", DAY + timedelta(hours=2)),
    WrittenArticle("Capital Ledger", "politics/pentagon-confirms", "Pentagon confirms it will strike "
                   "cartels in Mexico", LEDGER_BODY, "en", DAY + timedelta(hours=1)),
    WrittenArticle("Capital Ledger", "politics/troops-deploy", HOSTILE_HEADLINE, LEDGER_SECOND_BODY, "en",
                   DAY + timedelta(days=1)),
    WrittenArticle("Diario del Norte", "mexico/sheinbaum-rechaza", "Sheinbaum rechaza la invasión y "
                   "defiende la soberanía", DIARIO_BODY, "es", DAY + timedelta(hours=3)),
    WrittenArticle("Diario del Norte", "deportes/campeonato", "El equipo gana el campeonato",
                   IRRELEVANT_BODY, "es", DAY + timedelta(hours=4), relevant=False),
    WrittenArticle("Noticias Globales", "internacional/eeuu-analiza", "EE.UU. analiza ataques contra "
                   "cárteles en México", GLOBALES_BODY, "es", None),
    WrittenArticle("Le Monde Fictif", "monde/frappes", "Frappes envisagées au Mexique", FRENCH_BODY, "fr",
                   DAY + timedelta(hours=5)),
)  # fmt: skip

# The hostile headline replaced an earlier one: two versions, so v_headline_changes shows the edit.
EARLIER_HEADLINE = "Pentagon weighs troop deployment"


def outlet_configs() -> list[OutletConfig]:
    return [
        OutletConfig(name=name, homepage=home, language=lang, country=country, outlet_type=kind)
        for name, home, lang, country, kind in OUTLETS
    ]


def story_config() -> StoryConfig:
    return StoryConfig(
        slug=SLUG,
        title="US plans for 'boots on the ground' against cartels in Mexico",
        summary={"en": "US military action against cartels in Mexico."},
        window={"start": DAY - timedelta(days=10), "end": DAY + timedelta(days=30)},
        key_terms={"en": ["strikes"], "es": ["ataques"]},
    )


def url_of(article: WrittenArticle) -> str:
    home = next(home for name, home, *_ in OUTLETS if name == article.outlet)
    return f"{home}{article.path}.html"


def normalised(article: WrittenArticle, headline: str | None = None, fetched: datetime | None = None,
               body: str | None = None) -> NormalisedArticle:  # fmt: skip
    url = url_of(article)
    headline = article.headline if headline is None else headline
    body = article.body if body is None else body
    return NormalisedArticle(
        outlet=article.outlet, canonical_url=url, url_hash=url_hash(url), aliases=(url,), headline=headline,
        dek=None, authors=("Ana Ruiz",), published_at=article.published, modified_at=None,
        language=article.language, section=None, body_text=body, word_count=len(body.split()),
        content_hash=url_hash(headline + "\n" + body), fetched_at=fetched or DAY + timedelta(days=2),
    )  # fmt: skip


def article_by_headline(headline: str) -> WrittenArticle:
    return next(article for article in ARTICLES if article.headline == headline)


def build_warehouse(engine: sa.Engine) -> dict[str, int]:
    """Load the written coverage; returns url -> article id."""
    edited = article_by_headline(HOSTILE_HEADLINE)
    batch = [normalised(article) for article in ARTICLES]
    batch.append(normalised(edited, headline=EARLIER_HEADLINE, fetched=DAY + timedelta(days=1, hours=1)))
    with engine.begin() as connection:
        load_outlets(connection, outlet_configs())
        story_id = load_story(connection, story_config())
        ids = load_articles(connection, batch, run_id=None)
        by_url = {url_of(article): ids[url_hash(url_of(article))] for article in ARTICLES}
        upsert_rows(connection, StoryArticle, story_rows(story_id, by_url), ["story_id", "article_id"])
        add_wire_cluster(connection, by_url)
    return by_url


def story_rows(story_id: int, ids: dict[str, int]) -> list[dict]:
    return [
        {
            "story_id": story_id, "article_id": ids[url_of(article)], "relevance_score": 0.9 if article.relevant
            else 0.1, "is_relevant": article.relevant, "evidence": {}, "scored_at": DAY + timedelta(days=2),
        }
        for article in ARTICLES
    ]  # fmt: skip


def add_wire_cluster(connection: sa.Connection, ids: dict[str, int]) -> None:
    wire, copy = (url_of(a) for a in ARTICLES if a.path.endswith("us-weighs-strikes"))
    upsert_rows(
        connection, SyndicationCluster,
        [{"cluster_key": url_hash(wire), "original_article_id": ids[wire], "original_reason": {"earliest": True}}],
        ["cluster_key"],
    )  # fmt: skip
    cluster_id = connection.execute(sa.select(SyndicationCluster.id)).scalar_one()
    members = [
        {"cluster_id": cluster_id, "article_id": ids[wire], "similarity": 1.0, "is_original": True},
        {"cluster_id": cluster_id, "article_id": ids[copy], "similarity": 0.97, "is_original": False},
    ]
    upsert_rows(connection, SyndicationMember, members, ["article_id"])


def table_contents(engine: sa.Engine) -> dict[str, list[str]]:
    """Every row of every table, without surrogate ids, for comparing two warehouse states."""
    contents = {}
    with engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            columns = [c for c in table.columns if c.name != "id"]
            rows = connection.execute(sa.select(*columns)).all()
            contents[table.name] = sorted(repr(tuple(row)) for row in rows)
    return contents
