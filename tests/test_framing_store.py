"""The framing stage in the warehouse (issue 7): measures stored per article, detail rows, distinctive
terms per outlet; only changed articles are re-framed and a re-run changes nothing."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
import sqlalchemy as sa

from pipeline.analyst.report_charts import VOICE_COLOURS
from pipeline.framing.lexicon import measures_version
from pipeline.framing.measures import article_framing, warehouse_fields
from pipeline.framing.store import (
    articles_to_frame,
    compute_story_framing,
    measure,
    measure_inputs,
    measures_key,
    story_id_of,
)
from pipeline.load.warehouse import load_articles
from pipeline.speedup import workers as worker_pool
from pipeline.speedup.ahead import computing_ahead, results_ahead
from schemas.models import Article, ArticleFrame, ArticleFraming, ArticleLoadedTerm, ArticleVoice
from tests.framing_warehouse import (
    ARTICLES,
    DAY,
    SLUG,
    article_by_headline,
    build_warehouse,
    normalised,
    table_contents,
    url_of,
)

LEDGER = article_by_headline("Pentagon confirms it will strike cartels in Mexico")
DIARIO = article_by_headline("Sheinbaum rechaza la invasión y defiende la soberanía")


@pytest.fixture
def framed(warehouse: sa.Engine) -> dict[str, int]:
    ids = build_warehouse(warehouse)
    with warehouse.begin() as connection:
        compute_story_framing(connection, SLUG)
    return ids


def outlet_framing(engine: sa.Engine) -> dict[str, dict]:
    with engine.connect() as connection:
        rows = connection.execute(
            sa.text("SELECT * FROM v_outlet_framing WHERE story_slug = :s"), {"s": SLUG}
        )
        return {row["outlet_name"]: dict(row) for row in rows.mappings()}


def test_outcomes_are_counted_and_other_languages_are_skipped(warehouse: sa.Engine) -> None:
    build_warehouse(warehouse)
    with warehouse.begin() as connection:
        first = compute_story_framing(connection, SLUG)
    relevant = sum(1 for article in ARTICLES if article.relevant)
    french = sum(1 for article in ARTICLES if article.relevant and article.language == "fr")
    assert first["framed"] == relevant - french and first["unsupported-language"] == french
    assert first["unchanged"] == 0 and first["distinctive-terms"] > 0
    with warehouse.connect() as connection:
        framed_languages = connection.execute(
            sa.select(Article.language).join(ArticleFraming, ArticleFraming.article_id == Article.id)
        ).scalars()
        assert set(framed_languages) == {"en", "es"}


def test_running_twice_changes_nothing(framed: dict[str, int], warehouse: sa.Engine) -> None:
    before = table_contents(warehouse)
    with warehouse.begin() as connection:
        again = compute_story_framing(connection, SLUG)
    assert again["framed"] == 0 and again["unchanged"] > 0
    assert table_contents(warehouse) == before


def test_irrelevant_articles_are_not_framed(framed: dict[str, int], warehouse: sa.Engine) -> None:
    irrelevant = [framed[url_of(a)] for a in ARTICLES if not a.relevant]
    with warehouse.connect() as connection:
        rows = connection.execute(sa.select(ArticleFraming).where(ArticleFraming.article_id.in_(irrelevant)))
        assert rows.all() == []


def test_hedged_outlets_are_less_certain_than_assertive_ones(framed, warehouse: sa.Engine) -> None:
    outlets = outlet_framing(warehouse)
    assert outlets["Continental Wire"]["mean_certainty"] < outlets["Capital Ledger"]["mean_certainty"]
    assert outlets["Noticias Globales"]["mean_certainty"] < outlets["Diario del Norte"]["mean_certainty"]


def test_top_voices_show_who_each_outlet_quotes(framed, warehouse: sa.Engine) -> None:
    outlets = outlet_framing(warehouse)
    assert outlets["Diario del Norte"]["top_voices"].startswith("mexican_government (")
    assert outlets["Capital Ledger"]["top_voices"].startswith("us_government (")
    assert outlets["Continental Wire"]["top_voices"].startswith("anonymous (")
    assert outlets["Noticias Globales"]["top_voices"].startswith("anonymous (")


def test_frame_shares_of_a_framed_outlet_sum_to_one(framed, warehouse: sa.Engine) -> None:
    for outlet, row in outlet_framing(warehouse).items():
        total = sum(value for key, value in row.items() if key.startswith("frame_"))
        expected = 0.0 if outlet == "Le Monde Fictif" else 1.0  # French is not framed
        assert total == pytest.approx(expected, abs=1e-3), outlet
    assert outlet_framing(warehouse)["Diario del Norte"]["frame_external_regulation_and_reputation"] > 0


def test_detail_rows_use_the_framing_module_names(framed, warehouse: sa.Engine) -> None:
    with warehouse.connect() as connection:
        kinds = set(connection.execute(sa.select(ArticleVoice.voice_kind)).scalars())
        frames = connection.execute(sa.select(ArticleFrame.share, ArticleFrame.matched_terms)).all()
    assert kinds <= set(VOICE_COLOURS) and "mexican_government" in kinds
    assert frames and all(share > 0 and terms for share, terms in frames)


def test_loaded_terms_and_voices_of_the_mexican_article(framed, warehouse: sa.Engine) -> None:
    article_id = framed[url_of(DIARIO)]
    with warehouse.connect() as connection:
        terms = dict(
            connection.execute(
                sa.select(ArticleLoadedTerm.term, ArticleLoadedTerm.occurrences).where(
                    ArticleLoadedTerm.article_id == article_id, ArticleLoadedTerm.language == "es"
                )
            ).all()
        )
        voices = connection.execute(
            sa.select(ArticleVoice.ordinal, ArticleVoice.name, ArticleVoice.voice_kind)
            .where(ArticleVoice.article_id == article_id).order_by(ArticleVoice.ordinal)
        ).all()  # fmt: skip
    assert terms["invasión"] >= 2 and terms["soberanía"] >= 2
    assert [v.ordinal for v in voices] == list(range(1, len(voices) + 1))
    assert any(v.name and "Sheinbaum" in v.name and v.voice_kind == "mexican_government" for v in voices)


def test_an_edited_article_is_framed_again_and_its_rows_replaced(framed, warehouse: sa.Engine) -> None:
    article_id = framed[url_of(LEDGER)]
    # The Ledger rewrites its assertive, on-the-record story into a hedged, anonymously sourced one.
    rewrite = normalised(LEDGER, body=ANONYMOUS_EN_BODY, fetched=DAY + timedelta(days=3))
    with warehouse.begin() as connection:
        load_articles(connection, [rewrite], run_id=None)
        outcome = compute_story_framing(connection, SLUG)
    assert outcome["framed"] == 1
    with warehouse.connect() as connection:
        stored = connection.execute(
            sa.select(ArticleFraming.content_hash, ArticleFraming.certainty).where(
                ArticleFraming.article_id == article_id
            )
        ).one()
        kinds = set(
            connection.execute(
                sa.select(ArticleVoice.voice_kind).where(ArticleVoice.article_id == article_id)
            ).scalars()
        )
    assert stored.content_hash == rewrite.content_hash
    assert stored.certainty < 0
    assert kinds == {"anonymous"}


def test_an_article_whose_language_becomes_unsupported_loses_its_measures(framed, warehouse) -> None:
    article_id = framed[url_of(LEDGER)]
    french = normalised(
        replace(LEDGER, language="fr"), body="Le Pentagone confirme.", fetched=DAY + timedelta(days=3)
    )
    with warehouse.begin() as connection:
        load_articles(connection, [french], run_id=None)
        outcome = compute_story_framing(connection, SLUG)
    assert outcome["unsupported-language"] == 2 and outcome["framed"] == 0
    with warehouse.connect() as connection:
        for model in (ArticleFraming, ArticleFrame, ArticleVoice):
            assert connection.execute(sa.select(model).where(model.article_id == article_id)).all() == []


ANONYMOUS_EN_BODY = (
    "Officials said on condition of anonymity that strikes could reportedly begin, but no final decision "
    "has been made."
)


def test_distinctive_terms_per_outlet(framed, warehouse: sa.Engine) -> None:
    with warehouse.connect() as connection:
        rows = connection.execute(
            sa.text(
                "SELECT o.name, t.term, t.z_score, t.rank FROM outlet_story_terms t "
                "JOIN outlets o ON o.id = t.outlet_id ORDER BY o.name, t.rank"
            )
        ).all()
    by_outlet: dict[str, list] = {}
    for name, term, z, rank in rows:
        by_outlet.setdefault(name, []).append((term, z, rank))
    assert "soberanía" in [term for term, _, _ in by_outlet["Diario del Norte"]]
    assert "reportedly" in [term for term, _, _ in by_outlet["Continental Wire"]]
    # Syndicated copy and an outlet alone in its language have nothing of their own to compare.
    assert "Harbor Post" not in by_outlet and "Le Monde Fictif" not in by_outlet
    for terms in by_outlet.values():
        assert [rank for _, _, rank in terms] == list(range(1, len(terms) + 1)) and len(terms) <= 20
        assert all(z > 0 for _, z, _ in terms)
        assert [z for _, z, _ in terms] == sorted((z for _, z, _ in terms), reverse=True)


def test_an_unknown_story_is_a_lookup_error(warehouse: sa.Engine) -> None:
    with pytest.raises(LookupError, match="no story"), warehouse.begin() as connection:
        compute_story_framing(connection, "no-such-story")


def test_measures_from_an_older_codebook_are_computed_again(
    framed: dict[str, int], warehouse: sa.Engine
) -> None:
    # Changing a codebook or the scoring code changes measures_version; stored measures then go stale.
    with warehouse.begin() as connection:
        connection.execute(sa.update(ArticleFraming).values(measures_version="older-codebook"))
        again = compute_story_framing(connection, SLUG)
    assert again["framed"] > 0 and again["unchanged"] == 0
    with warehouse.connect() as connection:
        versions = set(connection.execute(sa.select(ArticleFraming.measures_version)).scalars())
    assert versions == {measures_version()}


def stored_measures(engine: sa.Engine, article_id: int) -> dict:
    with engine.connect() as connection:
        row = connection.execute(
            sa.select(ArticleFraming.tone, ArticleFraming.certainty, ArticleFraming.primary_frame,
                      ArticleFraming.loaded_terms).where(ArticleFraming.article_id == article_id)
        ).one()  # fmt: skip
    return dict(row._mapping)


def measured_fields(framing) -> dict:
    fields = warehouse_fields(framing)
    return {name: fields[name] for name in ("tone", "certainty", "primary_frame", "loaded_terms")}


def test_measures_computed_ahead_are_stored_as_if_computed_here(warehouse: sa.Engine) -> None:
    # What the process stage measures while it loads: the stored articles' own texts.
    build_warehouse(warehouse)
    with warehouse.connect() as connection:
        pending = articles_to_frame(connection, story_id_of(connection, SLUG))
    inputs = [measure_inputs(a.headline, a.body_text, a.language) for a in pending.articles]
    framable = [text for text in inputs if text]  # French is not framed
    ahead = {measures_key(text): article_framing(*text) for text in framable}  # wire copies share a key
    with warehouse.begin() as connection:
        with_ahead = compute_story_framing(connection, SLUG, ahead)
    contents = table_contents(warehouse)
    # The same articles measured by the framing stage itself store the same rows.
    with warehouse.begin() as connection:
        connection.execute(sa.update(ArticleFraming).values(measures_version="older-codebook"))
        measured_here = compute_story_framing(connection, SLUG)
    assert with_ahead["framed"] == measured_here["framed"] == len(framable) > 0
    assert table_contents(warehouse) == contents


def test_a_measure_computed_ahead_is_taken_only_for_the_same_inputs(warehouse: sa.Engine) -> None:
    ids = build_warehouse(warehouse)
    ledger = measure_inputs(LEDGER.headline, LEDGER.body, LEDGER.language)
    diario = measure_inputs(DIARIO.headline, DIARIO.body, DIARIO.language)
    other_framing = article_framing(*diario)
    ahead = {
        measures_key(ledger): other_framing,  # the Ledger's exact inputs: taken as given
        measures_key((DIARIO.headline, DIARIO.body + " Editado.", "es")): article_framing(
            *ledger
        ),  # not its text
    }
    with warehouse.begin() as connection:
        compute_story_framing(connection, SLUG, ahead)
    assert stored_measures(warehouse, ids[url_of(LEDGER)]) == measured_fields(other_framing)
    assert stored_measures(warehouse, ids[url_of(DIARIO)]) == measured_fields(other_framing)  # its own
    assert measured_fields(other_framing) != measured_fields(article_framing(*ledger))


def test_measures_computed_ahead_come_back_and_a_broken_file_gives_none(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(worker_pool, "MIN_PAGES_FOR_WORKERS", 1)
    inputs = [measure_inputs(a.headline, a.body, a.language) for a in (LEDGER, DIARIO)]
    framings = [article_framing(*text) for text in inputs]
    path = tmp_path / "measured-ahead.pickle"
    with computing_ahead(measure, inputs, measures_key, path, workers=1):
        pass
    assert results_ahead([path]) == {measures_key(t): f for t, f in zip(inputs, framings, strict=True)}
    path.write_bytes(b"not a pickle")
    assert results_ahead([path]) == {}
    assert results_ahead([tmp_path / "missing.pickle"]) == {}
    assert measure_inputs("Titre", "Texte", "fr") is None  # framing is undefined for French
