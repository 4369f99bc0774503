"""Loading into the warehouse: idempotent upserts keyed by natural keys, one transaction per batch.

Loading the same batch twice changes nothing: every statement is an INSERT ... ON CONFLICT keyed by a
natural key (``url_hash``, ``(article_id, content_hash)``, ``slug``...), and an article's current state
only moves forward in fetch time, so replaying an older batch cannot roll it back.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Connection, Table, case, column, func, select, update
from sqlalchemy import table as table_clause
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from pipeline.config import ConfigError, OutletConfig, StoryConfig
from pipeline.normalise.identity import text_hash, url_hash
from schemas.fit import fitted, too_long
from schemas.models import Article, ArticleUrl, ArticleVersion, Base, Outlet, Story
from schemas.records import NormalisedArticle, storable

Row = Mapping[str, Any]


def upsert_rows(
    connection: Connection,
    model: type[Base] | Table,
    rows: Sequence[Row],
    key_columns: Sequence[str],
    update_columns: Sequence[str] | None = None,
    update_where: Any = None,
    update_values: Any = None,
) -> None:
    """INSERT rows; on a natural-key conflict update ``update_columns`` (or do nothing when empty).

    ``update_where`` receives (table, excluded) and returns a condition guarding the update;
    ``update_values`` receives (table, excluded, dialect name) and returns column -> expression
    overrides for some of ``update_columns``.
    """
    if not rows:
        return
    table = model if isinstance(model, Table) else model.__table__
    dialect_insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
    statement = dialect_insert(table)
    if update_columns:
        excluded = statement.excluded
        values = {name: excluded[name] for name in update_columns}
        if update_values:
            values.update(update_values(table, excluded, connection.dialect.name))
        statement = statement.on_conflict_do_update(
            index_elements=list(key_columns),
            set_=values,
            where=update_where(table, excluded) if update_where else None,
        )
    else:
        statement = statement.on_conflict_do_nothing(index_elements=list(key_columns))
    # executemany: one compiled statement, which SQLAlchemy's "insertmanyvalues" sends in batches of
    # multi-row VALUES within each dialect's parameter limit (compiling one huge VALUES list per
    # batch cost more than the database's work). Every value is made storable on the way (records
    # are cleaned where they are built; this is the net under every writer).
    connection.execute(statement, [{name: storable(value) for name, value in row.items()} for row in rows])


# From this many rows on, PostgreSQL gets plain-valued rows by COPY (a bulk index write such as the
# syndication index's ~32 band keys per article); below it one executemany costs less than the staging.
COPY_MIN_ROWS = 2_000


def insert_new_rows(
    connection: Connection, model: type[Base], rows: Sequence[Row], key_columns: Sequence[str]
) -> None:
    """``upsert_rows`` with nothing to update (rows whose key exists are left as they are).

    On PostgreSQL a large batch is COPYed into a temporary table first and inserted from it with one
    INSERT ... SELECT ... ON CONFLICT DO NOTHING: the same rows, a fraction of the statements. Only for
    rows of plain values (numbers, text): COPY skips SQLAlchemy's type processing.
    """
    if connection.dialect.name != "postgresql" or len(rows) < COPY_MIN_ROWS:
        upsert_rows(connection, model, rows, key_columns)
        return
    table = model.__table__
    columns = list(rows[0])
    staged = copy_into_temporary(connection, f"new_{table.name}", table, columns, rows)
    statement = postgresql.insert(table).from_select(columns, select(*(staged.c[c] for c in columns)))
    connection.execute(statement.on_conflict_do_nothing(index_elements=list(key_columns)))


def copy_into_temporary(
    connection: Connection, name: str, like: Table, columns: Sequence[str], rows: Iterable[Row]
) -> Any:
    """A PostgreSQL temporary table ``name`` with ``like``'s ``columns`` (their types, no constraints),
    dropped at commit, filled by COPY from ``rows``; returns it as a lightweight table for queries."""
    column_list = ", ".join(columns)
    connection.exec_driver_sql(f"DROP TABLE IF EXISTS pg_temp.{name}")
    connection.exec_driver_sql(
        f"CREATE TEMPORARY TABLE {name} ON COMMIT DROP AS SELECT {column_list} FROM {like.name} WITH NO DATA"
    )
    # The driver's own connection is the one this transaction runs on: the COPY is part of it.
    driver = connection.connection.driver_connection
    with driver.cursor() as cursor, cursor.copy(f"COPY {name} ({column_list}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(tuple(row[c] for c in columns))
    return table_clause(name, *(column(c) for c in columns))


def outlet_row(outlet: OutletConfig, discovered: bool = False) -> dict[str, Any]:
    return {
        "name": outlet.name,
        "homepage_host": outlet.host,
        "homepage": str(outlet.homepage),
        "language": outlet.language,
        "country": outlet.country,
        "lean": outlet.lean,
        "ownership": outlet.ownership,
        "outlet_type": outlet.outlet_type,
        "discovered": discovered,
    }


def config_overflows(outlets: Iterable[OutletConfig], stories: Iterable[StoryConfig]) -> list[str]:
    """Config values longer than the warehouse column they go to, named as config errors."""
    problems = [
        f"outlets.yaml: outlet {outlet.name!r}: {problem}"
        for outlet in outlets
        for problem in too_long(Outlet, outlet_row(outlet))
    ]
    problems += [
        f"stories/{story.slug}.yaml: {problem}"
        for story in stories
        for problem in too_long(Story, story_row(story))
    ]
    return problems


def check_config_fits(outlets: Iterable[OutletConfig], stories: Iterable[StoryConfig]) -> None:
    """Raise ``ConfigError`` when a config value would not fit its column (``check-config`` and every
    load call this, so such a value is a clear error, not a failed transaction)."""
    problems = config_overflows(outlets, stories)
    if problems:
        raise ConfigError("value too long for the warehouse: " + "; ".join(problems))


def load_outlets(connection: Connection, outlets: Iterable[OutletConfig]) -> None:
    outlets = list(outlets)
    check_config_fits(outlets, ())
    rows = [outlet_row(outlet) for outlet in outlets]
    upsert_rows(connection, Outlet, rows, ["name"], [c for c in rows[0] if c != "name"] if rows else None)


def load_discovered_outlets(connection: Connection, discovered: Iterable[Mapping[str, Any]]) -> list[str]:
    """Outlets found by query discovery: inserted once, never overwriting a configured outlet.

    A discovered outlet is named by its site name (``site_name``, from its pages) when one was read
    and no other outlet has it; otherwise by its host. Its host stays the key its pages refer to it
    by (``outlet_ids``), so a later run that reads the name renames the row found by host. One whose
    name or address does not fit its column is not stored; its names are returned (its articles are
    then quarantined as articles of an unknown outlet).
    """
    refused = []
    for item in discovered:
        row = discovered_outlet_row(item)
        if too_long(Outlet, row):
            refused.append(row["name"])
            continue
        existing = connection.execute(
            select(Outlet.id, Outlet.name).where(
                Outlet.homepage_host == row["homepage_host"], Outlet.discovered.is_(True)
            )
        ).first()
        name = _discovered_name(connection, item, row["homepage_host"])
        if existing is None:
            upsert_rows(connection, Outlet, [fitted(Outlet, {**row, "name": name})], ["name"])
        elif existing.name == row["homepage_host"] and name != row["homepage_host"]:
            connection.execute(update(Outlet).where(Outlet.id == existing.id).values(name=name))
    return refused


def _discovered_name(connection: Connection, item: Mapping[str, Any], host: str) -> str:
    site_name = (item.get("site_name") or "").strip()[:200]
    if not site_name:
        return item["name"]
    taken = connection.execute(
        select(Outlet.homepage_host).where(func.lower(Outlet.name) == site_name.lower())
    ).first()
    return site_name if taken is None or taken.homepage_host == host else item["name"]


def discovered_outlet_row(item: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "name": item["name"],
        "homepage_host": urlsplit(item["homepage"]).netloc.lower(),
        "homepage": item["homepage"],
        "language": item.get("language"),
        "country": item.get("country"),
        "outlet_type": "discovered",
        "discovered": True,
    }


def story_row(story: StoryConfig) -> dict[str, Any]:
    return {"slug": story.slug, "title": story.title, "definition": story.model_dump(mode="json")}


def load_story(connection: Connection, story: StoryConfig, fingerprint: str | None = None) -> int:
    """Upsert the story's definition as configured now (active); ``fingerprint`` is what its decisions
    depend on (``pipeline.match.stories.definition_fingerprint``)."""
    check_config_fits((), [story])
    row = {**story_row(story), "fingerprint": fingerprint, "active": True}
    upsert_rows(connection, Story, [row], ["slug"], ["title", "definition", "fingerprint", "active"])
    return connection.execute(select(Story.id).where(Story.slug == story.slug)).scalar_one()


def outlet_ids(connection: Connection) -> dict[str, int]:
    """Outlet name -> id; a discovered outlet also by its host, the key its pages carry."""
    rows = connection.execute(select(Outlet.name, Outlet.id, Outlet.homepage_host, Outlet.discovered)).all()
    by_host = {row.homepage_host: row.id for row in rows if row.discovered}
    return {**by_host, **{row.name: row.id for row in rows}}


def article_row(article: NormalisedArticle, outlet_id: int, run_id: int | None) -> dict[str, Any]:
    """The ``articles`` row, fitted to its columns: a section too long is cut, a language code too long
    to be one is dropped."""
    return fitted(Article, _article_values(article, outlet_id, run_id), refuse=("language",))


def _article_values(article: NormalisedArticle, outlet_id: int, run_id: int | None) -> dict[str, Any]:
    return {
        "outlet_id": outlet_id,
        "canonical_url": article.canonical_url,
        "url_hash": article.url_hash,
        "headline": article.headline,
        "dek": article.dek,
        "authors": list(article.authors),
        "credited_organisations": list(article.credited_organisations),
        "published_at": article.published_at,
        "published_source": article.sources.get("published_at"),
        "published_confidence": article.sources.get("published_confidence"),
        "modified_at": article.modified_at,
        "modified_source": article.sources.get("modified_at"),
        "language": article.language,
        "section": article.section,
        "body_text": article.body_text,
        "word_count": article.word_count,
        "content_hash": article.content_hash,
        "lead_image": article.lead_image,
        "body_confidence": article.body_confidence,
        "sources": dict(article.sources),
        "first_seen_at": article.fetched_at,
        "last_seen_at": article.fetched_at,
        "first_run_id": run_id,
        "last_run_id": run_id,
    }


# Columns that follow the newest fetch; first_seen_at and first_run_id are kept from the first load.
_ARTICLE_STATE_COLUMNS = [
    "canonical_url", "headline", "dek", "authors", "credited_organisations", "published_at", "published_source", "published_confidence",
    "modified_at",
    "modified_source", "language", "section", "body_text", "word_count", "content_hash", "lead_image",
    "body_confidence", "sources", "last_seen_at", "last_run_id",
]  # fmt: skip


def _newer_fetch(table: Table, excluded: Any) -> Any:
    return excluded.last_seen_at >= table.c.last_seen_at


# A re-fetch that lacks a value the article already has (a page whose date or byline came from a
# feed that answered 304 this time) is missing evidence, not a change: the known value stays.
_KEPT_WHEN_MISSING = ["dek", "language", "section", "lead_image"]
_KEPT_WITH_SOURCE = [("published_at", "published_source"), ("modified_at", "modified_source")]


def _keep_known_values(table: Table, excluded: Any, dialect: str) -> dict[str, Any]:
    values: dict[str, Any] = {
        name: func.coalesce(excluded[name], table.c[name]) for name in _KEPT_WHEN_MISSING
    }
    for moment, source in _KEPT_WITH_SOURCE:
        missing = excluded[moment].is_(None)
        values[moment] = case((missing, table.c[moment]), else_=excluded[moment])
        values[source] = case((missing, table.c[source]), else_=excluded[source])
    # The confidence belongs to the published time it labels: kept or replaced with it.
    missing_date = excluded.published_at.is_(None)
    values["published_confidence"] = case(
        (missing_date, table.c.published_confidence), else_=excluded.published_confidence
    )
    array_length = func.jsonb_array_length if dialect == "postgresql" else func.json_array_length
    # A byline the re-fetch lacks (its feed answered 304) is missing evidence, as a missing date is.
    byline_missing = (array_length(excluded.authors) == 0) & (
        array_length(excluded.credited_organisations) == 0
    )
    for credit in ("authors", "credited_organisations"):
        values[credit] = case((byline_missing, table.c[credit]), else_=excluded[credit])
    return values


def load_articles(
    connection: Connection, articles: Sequence[NormalisedArticle], run_id: int | None
) -> dict[str, int]:
    """Upsert articles with their URL aliases and content versions; return url_hash -> article id."""
    ids_by_outlet = outlet_ids(connection)
    unknown = sorted({a.outlet for a in articles} - ids_by_outlet.keys())
    if unknown:
        raise ValueError(f"articles name outlets missing from the warehouse: {', '.join(unknown)}")
    latest = _latest_per_url(articles)
    rows = [article_row(a, ids_by_outlet[a.outlet], run_id) for a in latest]
    upsert_rows(
        connection, Article, rows, ["url_hash"], _ARTICLE_STATE_COLUMNS, _newer_fetch, _keep_known_values
    )
    ids = article_ids(connection, [a.url_hash for a in latest])
    upsert_rows(connection, ArticleUrl, alias_rows(articles, ids), ["url_hash"])
    upsert_rows(
        connection, ArticleVersion, version_rows(articles, ids, run_id), ["article_id", "content_hash"]
    )
    return ids


def _latest_per_url(articles: Sequence[NormalisedArticle]) -> list[NormalisedArticle]:
    latest: dict[str, NormalisedArticle] = {}
    for article in articles:
        known = latest.get(article.url_hash)
        if known is None or article.fetched_at >= known.fetched_at:
            latest[article.url_hash] = article
    return list(latest.values())


def article_ids(connection: Connection, url_hashes: Sequence[str]) -> dict[str, int]:
    ids: dict[str, int] = {}
    for start in range(0, len(url_hashes), 1000):
        chunk = url_hashes[start : start + 1000]
        ids.update(
            connection.execute(select(Article.url_hash, Article.id).where(Article.url_hash.in_(chunk))).all()
        )
    return ids


def alias_rows(articles: Sequence[NormalisedArticle], ids: Mapping[str, int]) -> list[dict[str, Any]]:
    """``article_urls`` rows: each article's canonical URL and aliases, by url_hash (first one wins)."""
    rows: dict[str, dict[str, Any]] = {}
    for article in articles:
        for alias in (article.canonical_url, *article.aliases):
            kind = "canonical" if alias == article.canonical_url else _alias_kind(alias)
            rows.setdefault(
                url_hash(alias),
                {
                    "url_hash": url_hash(alias),
                    "url": alias,
                    "article_id": ids[article.url_hash],
                    "kind": kind,
                },
            )
    return list(rows.values())


def _alias_kind(url: str) -> str:
    path = urlsplit(url).path
    return "amp" if "/amp" in path or path.endswith(".amp") else "alias"


def version_rows(
    articles: Sequence[NormalisedArticle], ids: Mapping[str, int], run_id: int | None
) -> list[dict[str, Any]]:
    """``article_versions`` rows: one per (article, content hash), from its earliest fetch."""
    rows: dict[tuple[int, str], dict[str, Any]] = {}
    for article in sorted(articles, key=lambda a: a.fetched_at):
        key = (ids[article.url_hash], article.content_hash)
        rows.setdefault(
            key,
            {
                "article_id": key[0],
                "content_hash": article.content_hash,
                "headline": article.headline,
                "body_hash": text_hash(article.body_text),
                "body_text": article.body_text,
                "fetched_at": article.fetched_at,
                "run_id": run_id,
            },
        )
    return list(rows.values())


# What a statement can fail with on a value the records did not foresee: the database's refusal, or the
# driver's when it cannot encode a value.
LOAD_ERRORS = (SQLAlchemyError, UnicodeError, ValueError)


@dataclass(frozen=True)
class RefusedArticle:
    """An article the warehouse would not take, with the error, for the quarantine."""

    article: NormalisedArticle
    error: str


def load_articles_isolated(
    connection: Connection, articles: Sequence[NormalisedArticle], run_id: int | None
) -> tuple[dict[str, int], list[RefusedArticle]]:
    """``load_articles``, with a failing article isolated so the others load.

    The batch is tried in one savepoint; when a statement fails, the savepoint is rolled back and each
    article (with the other fetches of its URL) is loaded in a savepoint of its own. Those that still
    fail are returned with their error, and so are articles of an outlet the warehouse does not have.
    """
    known = outlet_ids(connection)
    refused = [RefusedArticle(a, f"unknown outlet {a.outlet!r}") for a in articles if a.outlet not in known]
    loadable = [a for a in articles if a.outlet in known]
    try:
        with connection.begin_nested():
            return load_articles(connection, loadable, run_id), refused
    except LOAD_ERRORS:
        pass  # one of them: find it
    ids: dict[str, int] = {}
    for group in _by_url_hash(loadable):
        try:
            with connection.begin_nested():
                ids.update(load_articles(connection, group, run_id))
        except LOAD_ERRORS as exc:
            error = storable(f"{type(exc).__name__}: {exc}")[:2000]
            refused += [RefusedArticle(article, error) for article in group]
    return ids, refused


def _by_url_hash(articles: Sequence[NormalisedArticle]) -> list[list[NormalisedArticle]]:
    groups: dict[str, list[NormalisedArticle]] = {}
    for article in articles:
        groups.setdefault(article.url_hash, []).append(article)
    return list(groups.values())
