"""framing measures version

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 10:19:55.257214
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    with op.batch_alter_table("article_framing", schema=None) as batch_op:
        batch_op.add_column(sa.Column("measures_version", sa.String(length=20), nullable=True))


def downgrade() -> None:

    with op.batch_alter_table("article_framing", schema=None) as batch_op:
        batch_op.drop_column("measures_version")
