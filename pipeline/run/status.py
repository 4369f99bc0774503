"""A run that does not finish is marked ``failed``, never left ``running``.

``framewatch run`` calls ``mark_run_failed`` when a stage raises or the process is stopped
(``pipeline.run.termination``); the stages' own transactions have rolled back what they had not committed.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import update

from schemas.database import make_engine
from schemas.models import CrawlRun
from schemas.records import storable_text


def failure_text(error: BaseException) -> str:
    if isinstance(error, SystemExit):
        return f"stopped (exit code {error.code})"
    return storable_text(f"{type(error).__name__}: {error}")[:1000]


def mark_run_failed(db_url: str, run_key: str, error: BaseException, at: datetime | None = None) -> bool:
    """Set a running run to ``failed`` with the error in its counts (``counts["failure"]``); True when a
    running run was marked. A warehouse that cannot be reached leaves it as it is (nothing to do)."""
    engine = make_engine(db_url)
    try:
        with engine.begin() as connection:
            row = (
                connection.execute(
                    CrawlRun.__table__.select().where(
                        CrawlRun.run_key == run_key, CrawlRun.status == "running"
                    )
                )
                .mappings()
                .first()
            )
            if row is None:
                return False
            counts = {**(row["counts"] or {}), "failure": failure_text(error)}
            connection.execute(
                update(CrawlRun)
                .where(CrawlRun.id == row["id"])
                .values(status="failed", finished_at=at or datetime.now(UTC), counts=counts)
            )
        return True
    except Exception:  # the warehouse is gone too: the original error is what the caller reports
        return False
    finally:
        engine.dispose()
