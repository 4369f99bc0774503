"""articles.credited_organisations: the agencies and outlets a byline credits

The extraction has kept agencies and outlets out of ``authors`` (people only) since issue 19 and read
them into ``credited_organisations``; they were then dropped before loading. They are now stored beside
the authors (a JSON list, empty when the byline credits no organisation); articles loaded before this
revision have an empty list until they are fetched again.

Revision ID: 0010
Revises: 0009
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JsonDocument = sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.add_column(
        "articles", sa.Column("credited_organisations", JsonDocument, nullable=False, server_default="[]")
    )


def downgrade() -> None:
    op.drop_column("articles", "credited_organisations")
