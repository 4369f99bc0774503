"""Load benchmark (``make bench-load``): ``pipeline.load.warehouse.load_articles`` beside a raw COPY of the same rows.

10,000 synthetic ``NormalisedArticle`` records go into a fresh warehouse schema with ``load_articles``
(upserts of articles, URL aliases and versions, one transaction); then the very rows it wrote (article,
alias and version rows, the same ids) are COPYed into plain tables of the same columns (``CREATE TABLE
... (LIKE ...)``: no keys, no indexes) in another fresh schema, in the same run. Target: load_articles
at least half COPY's speed. SQLite's load_articles figure is printed for reference.

Usage: .venv/bin/python bench/load.py [--articles 10000] [--pg-url URL]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sqlalchemy as sa  # noqa: E402

from bench.measure import print_report  # noqa: E402
from pipeline.config import OutletConfig  # noqa: E402
from pipeline.load import warehouse as load  # noqa: E402
from pipeline.normalise.canonical import content_hash  # noqa: E402
from pipeline.normalise.identity import url_hash  # noqa: E402
from schemas.database import make_engine, upgrade_database  # noqa: E402
from schemas.models import Article, ArticleUrl, ArticleVersion  # noqa: E402
from schemas.records import NormalisedArticle  # noqa: E402

DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
OUTLETS = [f"Bench Outlet {n}" for n in range(10)]
WORDS = [
    "cartel",
    "border",
    "sovereignty",
    "strike",
    "officials",
    "reportedly",
    "government",
    "drone",
    "security",
    "report",
]


# --- Synthetic articles ------------------------------------------------------------------------


def synthetic_articles(count: int, seed: int = 11) -> list[NormalisedArticle]:
    rng = random.Random(seed)
    fetched = datetime(2025, 11, 20, tzinfo=UTC)
    return [synthetic_article(rng, index, fetched + timedelta(seconds=index)) for index in range(count)]


def synthetic_article(rng: random.Random, index: int, fetched_at: datetime) -> NormalisedArticle:
    outlet = OUTLETS[index % len(OUTLETS)]
    url = f"https://outlet{index % len(OUTLETS)}.example/news/2025/11/story-{index:06d}"
    headline = " ".join(rng.choices(WORDS, k=9)).capitalize()
    body = "\n\n".join(" ".join(rng.choices(WORDS, k=60)) + "." for _ in range(8))
    return NormalisedArticle(
        outlet=outlet, canonical_url=url, url_hash=url_hash(url), aliases=(url, url + "?utm_source=feed"),
        headline=headline, dek=body[:120], authors=("Pat Moreno",), published_at=fetched_at - timedelta(hours=2),
        modified_at=None, language="en", section="World", body_text=body, word_count=len(body.split()),
        content_hash=content_hash(headline, body), fetched_at=fetched_at, body_confidence=0.9,
        sources={"headline": "og:title", "published_at": "json-ld"},
    )  # fmt: skip


def bench_outlets() -> list[OutletConfig]:
    return [
        OutletConfig(name=name, homepage=f"https://outlet{n}.example/", language="en", country="US")
        for n, name in enumerate(OUTLETS)
    ]


# --- Fresh databases ---------------------------------------------------------------------------


@contextmanager
def fresh_postgres_schema(server_url: str) -> Iterator[tuple[str, str]]:
    """(url whose search_path is a new schema, schema name); the schema is dropped afterwards."""
    schema = f"fw_bench_{uuid.uuid4().hex[:10]}"
    admin = make_engine(server_url)
    with admin.begin() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield (
            sa.engine.make_url(server_url)
            .update_query_dict({"options": f"-csearch_path={schema}"})
            .render_as_string(hide_password=False),
            schema,
        )
    finally:
        with admin.begin() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def postgres_reachable(server_url: str) -> str | None:
    """None when PostgreSQL answers, else the reason it does not."""
    engine = make_engine(server_url)
    try:
        with engine.connect():
            return None
    except Exception as exc:  # any connection failure means "skip PostgreSQL", with the reason printed
        return f"{type(exc).__name__}: {str(exc).splitlines()[0]}"
    finally:
        engine.dispose()


# --- The two loads -----------------------------------------------------------------------------


def timed_load_articles(db_url: str, articles: list[NormalisedArticle]) -> tuple[float, dict[str, int]]:
    """Seconds for load_articles into a freshly migrated warehouse (outlets loaded first, not timed)."""
    upgrade_database(db_url)
    engine = make_engine(db_url)
    try:
        with engine.begin() as connection:
            load.load_outlets(connection, bench_outlets())
        started = time.perf_counter()
        with engine.begin() as connection:
            ids = load.load_articles(connection, articles, None)
        return time.perf_counter() - started, ids
    finally:
        engine.dispose()


def warehouse_rows(
    articles: list[NormalisedArticle], ids: dict[str, int], outlet_ids: dict[str, int]
) -> dict:
    """The rows load_articles wrote, per table, with the ids it gave them."""
    latest = {a.url_hash: a for a in articles}.values()
    article_rows = [
        {"id": ids[a.url_hash], **load.article_row(a, outlet_ids[a.outlet], None)} for a in latest
    ]
    return {
        Article.__tablename__: article_rows,
        # The loader's own row builders, so COPY writes exactly what the upserts wrote.
        ArticleUrl.__tablename__: load.alias_rows(articles, ids),
        ArticleVersion.__tablename__: load.version_rows(articles, ids, None),
    }


def timed_copy(db_url: str, rows_by_table: dict[str, list[dict]], like_schema: str) -> float:
    """Seconds to COPY the rows into plain tables shaped like the warehouse's (no keys, no indexes)."""
    engine = make_engine(db_url)
    try:
        with engine.begin() as connection:
            for table in rows_by_table:
                connection.execute(
                    sa.text(
                        f'CREATE TABLE "{table}" (LIKE "{like_schema}"."{table}" INCLUDING DEFAULTS INCLUDING IDENTITY)'
                    )
                )
        started = time.perf_counter()
        with engine.begin() as connection:
            cursor = connection.connection.driver_connection.cursor()
            for table, rows in rows_by_table.items():
                copy_rows(cursor, table, rows)
        return time.perf_counter() - started
    finally:
        engine.dispose()


def copy_rows(cursor, table: str, rows: list[dict]) -> None:
    columns = list(rows[0])
    column_list = ", ".join(f'"{c}"' for c in columns)
    with cursor.copy(f'COPY "{table}" ({column_list}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row([_copy_value(row[c]) for c in columns])


def _copy_value(value):
    # JSON columns travel as text; COPY parses them into jsonb as the upsert's parameters are.
    return json.dumps(value) if isinstance(value, dict | list) else value


def outlet_ids_of(db_url: str) -> dict[str, int]:
    engine = make_engine(db_url)
    try:
        with engine.connect() as connection:
            return load.outlet_ids(connection)
    finally:
        engine.dispose()


# --- Reporting ---------------------------------------------------------------------------------


def bench_postgres(server_url: str, articles: list[NormalisedArticle]) -> dict[str, float]:
    with fresh_postgres_schema(server_url) as (warehouse_url, warehouse_schema):
        load_seconds, ids = timed_load_articles(warehouse_url, articles)
        rows = warehouse_rows(articles, ids, outlet_ids_of(warehouse_url))
        with fresh_postgres_schema(server_url) as (plain_url, _):
            copy_seconds = timed_copy(plain_url, rows, warehouse_schema)
    return {"load_articles_per_s": len(articles) / load_seconds, "copy_per_s": len(articles) / copy_seconds}


def bench_sqlite(articles: list[NormalisedArticle]) -> float:
    with tempfile.TemporaryDirectory() as directory:
        seconds, _ = timed_load_articles(f"sqlite:///{directory}/bench.sqlite", articles)
    return len(articles) / seconds


def print_table(count: int, figures: dict) -> None:
    print(f"\n## Load: {count} synthetic articles (articles + URL aliases + versions), one transaction\n")
    print("| load | articles/s | target | met |\n|---|---|---|---|")
    if "copy_per_s" in figures:
        ratio = figures["load_articles_per_s"] / figures["copy_per_s"]
        print(
            f"| PostgreSQL load_articles (fresh schema) | {figures['load_articles_per_s']:.0f} | >= 0.5x COPY | {ratio:.2f}x: {'met' if ratio >= 0.5 else 'missed'} |"
        )
        print(f"| PostgreSQL raw COPY, plain tables | {figures['copy_per_s']:.0f} | | |")
    else:
        print(f"| PostgreSQL | skipped: {figures['postgres_skipped']} | | |")
    print(f"| SQLite load_articles (reference) | {figures['sqlite_load_articles_per_s']:.0f} | | |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--pg-url", default=os.environ.get("FRAMEWATCH_TEST_PG_URL", DEFAULT_PG_URL))
    options = parser.parse_args()
    articles = synthetic_articles(options.articles)
    figures: dict = {"articles": options.articles}
    unreachable = postgres_reachable(options.pg_url)
    if unreachable:
        figures["postgres_skipped"] = unreachable
    else:
        figures |= bench_postgres(options.pg_url, articles)
        figures["ratio"] = figures["load_articles_per_s"] / figures["copy_per_s"]
    figures["sqlite_load_articles_per_s"] = bench_sqlite(articles)
    print_table(options.articles, figures)
    print_report(figures)


if __name__ == "__main__":
    main()
