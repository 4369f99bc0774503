"""analyst views: v_story_coverage, v_headline_changes, v_outlet_framing

The views are the analysts' stable contract (documented in docs/warehouse.md). Their SQL is frozen
here; a later change to a view is a new migration that drops and recreates it.

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FRAMES = (
    "economic", "capacity_and_resources", "morality", "fairness_and_equality",
    "legality_constitutionality_jurisprudence", "policy_prescription_and_evaluation", "crime_and_punishment",
    "security_and_defense", "health_and_safety", "quality_of_life", "cultural_identity", "public_opinion",
    "political", "external_regulation_and_reputation", "other",
)  # fmt: skip

# (1=1) is TRUE on PostgreSQL and 1 on SQLite: each dialect's own spelling of a true boolean.
V_STORY_COVERAGE = """
CREATE VIEW v_story_coverage AS
SELECT
    s.slug AS story_slug,
    a.id AS article_id,
    o.name AS outlet_name,
    o.country AS outlet_country,
    o.outlet_type AS outlet_type,
    a.language AS language,
    a.canonical_url AS canonical_url,
    a.headline AS headline,
    a.dek AS dek,
    a.authors AS authors,
    a.published_at AS published_at,
    a.first_seen_at AS first_seen_at,
    a.last_seen_at AS last_seen_at,
    a.word_count AS word_count,
    sa.relevance_score AS relevance_score,
    sm.cluster_id AS syndication_cluster,
    CASE WHEN sm.id IS NULL THEN (1=1) ELSE sm.is_original END AS is_original,
    orig.canonical_url AS original_url,
    (SELECT COUNT(*) FROM article_versions v WHERE v.article_id = a.id) AS version_count
FROM story_articles sa
JOIN stories s ON s.id = sa.story_id
JOIN articles a ON a.id = sa.article_id
JOIN outlets o ON o.id = a.outlet_id
LEFT JOIN syndication_members sm ON sm.article_id = a.id
LEFT JOIN syndication_clusters sc ON sc.id = sm.cluster_id
LEFT JOIN articles orig ON orig.id = sc.original_article_id
WHERE sa.is_relevant = (1=1)
"""

V_HEADLINE_CHANGES = """
CREATE VIEW v_headline_changes AS
SELECT
    a.id AS article_id,
    o.name AS outlet_name,
    a.canonical_url AS canonical_url,
    prev.headline AS old_headline,
    v.headline AS new_headline,
    v.fetched_at AS changed_at
FROM article_versions v
JOIN article_versions prev
  ON prev.article_id = v.article_id
 AND prev.fetched_at = (
        SELECT MAX(p.fetched_at) FROM article_versions p
        WHERE p.article_id = v.article_id AND p.fetched_at < v.fetched_at
     )
JOIN articles a ON a.id = v.article_id
JOIN outlets o ON o.id = a.outlet_id
WHERE COALESCE(prev.headline, '') <> COALESCE(v.headline, '')
"""


def _string_agg(expression: str, order: str, dialect: str) -> str:
    if dialect == "postgresql":
        return f"string_agg({expression}, ', ' ORDER BY {order})"
    return f"group_concat({expression}, ', ')"  # SQLite keeps the subquery's order


def v_outlet_framing(dialect: str) -> str:
    frame_columns = ",\n    ".join(
        f"AVG(COALESCE((SELECT f.share FROM article_frames f WHERE f.article_id = c.article_id "
        f"AND f.frame = '{frame}'), 0)) AS frame_{frame}"
        for frame in FRAMES
    )
    voices = _string_agg("t.voice_kind || ' (' || t.n || ')'", "t.n DESC, t.voice_kind", dialect)
    terms = _string_agg("d.term", "d.rank", dialect)
    return f"""
CREATE VIEW v_outlet_framing AS
SELECT
    c.story_slug AS story_slug,
    c.outlet_name AS outlet_name,
    c.outlet_country AS outlet_country,
    MIN(c.language) AS language,
    COUNT(*) AS articles,
    AVG(CASE WHEN c.is_original = (1=1) THEN 1.0 ELSE 0.0 END) AS original_share,
    MIN(COALESCE(c.published_at, c.first_seen_at)) AS first_coverage_at,
    AVG(fr.tone) AS mean_tone,
    AVG(fr.certainty) AS mean_certainty,
    {frame_columns},
    (SELECT {voices} FROM (
        SELECT av.voice_kind AS voice_kind, COUNT(*) AS n
        FROM article_voices av
        JOIN v_story_coverage c2 ON c2.article_id = av.article_id
        WHERE c2.story_slug = c.story_slug AND c2.outlet_name = c.outlet_name
        GROUP BY av.voice_kind ORDER BY n DESC, av.voice_kind LIMIT 5) t) AS top_voices,
    (SELECT {terms} FROM (
        SELECT ost.term AS term, ost.rank AS rank
        FROM outlet_story_terms ost
        JOIN stories st ON st.id = ost.story_id
        JOIN outlets ot ON ot.id = ost.outlet_id
        WHERE st.slug = c.story_slug AND ot.name = c.outlet_name
        ORDER BY ost.rank LIMIT 10) d) AS distinctive_terms
FROM v_story_coverage c
LEFT JOIN article_framing fr ON fr.article_id = c.article_id
GROUP BY c.story_slug, c.outlet_name, c.outlet_country
"""


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.execute(V_STORY_COVERAGE)
    op.execute(V_HEADLINE_CHANGES)
    op.execute(v_outlet_framing(dialect))


def downgrade() -> None:
    op.execute("DROP VIEW IF EXISTS v_outlet_framing")
    op.execute("DROP VIEW IF EXISTS v_headline_changes")
    op.execute("DROP VIEW IF EXISTS v_story_coverage")
