"""v_headline_changes gets story_slug

A headline edit belongs to every story the article is relevant to, as the coverage does in
v_story_coverage: the view now has one row per story and edit, so an analyst filters it by story like
the other two views. Columns as in 0003 with ``story_slug`` first.

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHANGES = """
FROM article_versions v
JOIN article_versions prev
  ON prev.article_id = v.article_id
 AND prev.fetched_at = (
        SELECT MAX(p.fetched_at) FROM article_versions p
        WHERE p.article_id = v.article_id AND p.fetched_at < v.fetched_at
     )
JOIN articles a ON a.id = v.article_id
JOIN outlets o ON o.id = a.outlet_id
"""
COLUMNS = """
    a.id AS article_id,
    o.name AS outlet_name,
    a.canonical_url AS canonical_url,
    prev.headline AS old_headline,
    v.headline AS new_headline,
    v.fetched_at AS changed_at
"""
CHANGED = "WHERE COALESCE(prev.headline, '') <> COALESCE(v.headline, '')"

# (1=1) is TRUE on PostgreSQL and 1 on SQLite, as in 0003.
V_HEADLINE_CHANGES = f"""
CREATE VIEW v_headline_changes AS
SELECT
    s.slug AS story_slug,{COLUMNS}{CHANGES}JOIN story_articles sa ON sa.article_id = a.id AND sa.is_relevant = (1=1)
JOIN stories s ON s.id = sa.story_id
{CHANGED}
"""

V_HEADLINE_CHANGES_0003 = f"""
CREATE VIEW v_headline_changes AS
SELECT{COLUMNS}{CHANGES}{CHANGED}
"""


def upgrade() -> None:
    op.execute("DROP VIEW IF EXISTS v_headline_changes")
    op.execute(V_HEADLINE_CHANGES)


def downgrade() -> None:
    op.execute("DROP VIEW IF EXISTS v_headline_changes")
    op.execute(V_HEADLINE_CHANGES_0003)
