"""crawl_shards: each crawl process's working directory, instead of crawl_runs.warc_paths

A run's crawl processes (shards) each leave their files in a directory of their own
(``pipeline.crawl.workspace``). Until now the paths went into a JSON list on the run, one dict per shard;
they are now rows of ``crawl_shards`` (run, shard, directory, outlets, whether a WARC was written). The
upgrade moves every recorded entry into a row (the directory is the one its manifest was in) and drops
the column; the downgrade writes the entries back.

Revision ID: 0009
Revises: 0008
"""

import json
from collections.abc import Sequence
from pathlib import PurePath

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JsonDocument = sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")

crawl_runs = sa.table(
    "crawl_runs",
    sa.column("id", BigId),
    sa.column("run_key", sa.String),
    sa.column("warc_paths", JsonDocument),
)
crawl_shards = sa.table(
    "crawl_shards",
    sa.column("run_id", BigId),
    sa.column("shard", sa.String),
    sa.column("directory", sa.Text),
    sa.column("outlets", JsonDocument),
    sa.column("has_warc", sa.Boolean),
)  # fmt: skip


def upgrade() -> None:
    op.create_table(
        "crawl_shards",
        sa.Column("id", BigId, nullable=False),
        sa.Column("run_id", BigId, nullable=False),
        sa.Column("shard", sa.String(length=40), nullable=False),
        sa.Column("directory", sa.Text(), nullable=False),
        sa.Column("outlets", JsonDocument, nullable=False),
        sa.Column("has_warc", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["crawl_runs.id"], name=op.f("fk_crawl_shards_run_id_crawl_runs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crawl_shards")),
        sa.UniqueConstraint("run_id", "shard", name=op.f("uq_crawl_shards_run_id_shard")),
    )
    connection = op.get_bind()
    rows = [
        row
        for run_id, entries in connection.execute(sa.select(crawl_runs.c.id, crawl_runs.c.warc_paths))
        for row in _shard_rows(run_id, _as_list(entries))
    ]
    if rows:
        connection.execute(crawl_shards.insert(), rows)
    # SQLite (3.35+) drops a column in place; the views that read crawl_runs do not use this one.
    op.drop_column("crawl_runs", "warc_paths")


def _as_list(entries: object) -> list:
    return json.loads(entries) if isinstance(entries, str) else list(entries or [])


def _shard_rows(run_id: int, entries: list) -> list[dict]:
    """One row per recorded shard; entries without a manifest named nothing to read and are dropped."""
    rows = {}
    for entry in entries:
        if isinstance(entry, dict) and entry.get("manifest"):
            shard = str(entry.get("shard") or "all")
            rows[shard] = {
                "run_id": run_id,
                "shard": shard,
                "directory": str(PurePath(entry["manifest"]).parent),
                "outlets": [],
                "has_warc": bool(entry.get("warc")),
            }
    return list(rows.values())


def downgrade() -> None:
    op.add_column("crawl_runs", sa.Column("warc_paths", JsonDocument, nullable=True))
    connection = op.get_bind()
    runs = dict(connection.execute(sa.select(crawl_runs.c.id, crawl_runs.c.run_key)).all())
    entries: dict[int, list] = {run_id: [] for run_id in runs}
    shards = sa.select(
        crawl_shards.c.run_id, crawl_shards.c.shard, crawl_shards.c.directory, crawl_shards.c.has_warc
    )
    for run_id, shard, directory, has_warc in connection.execute(shards):
        folder = PurePath(directory)
        entries[run_id].append({
            "shard": shard,
            "warc": [str(folder / f"{runs[run_id]}.warc.gz")] if has_warc else [],
            "manifest": str(folder / "manifest.jsonl"),
            "fetch_log": str(folder / "fetch_log.jsonl"),
            "http_cache": str(folder / "http_cache_updates.json"),
        })  # fmt: skip
    for run_id, listed in entries.items():
        connection.execute(crawl_runs.update().where(crawl_runs.c.id == run_id).values(warc_paths=listed))
    op.drop_table("crawl_shards")
