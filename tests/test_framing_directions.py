"""Framing directions (issue 7): the measures differ between the replay world's outlets the way their
texts were written to differ.

The directions come from reading the world's texts (demo/world/content/articles), not from the
measures' output:
- certainty: The Liberty Ledger presents the strikes as imminent and decided ("is about to cross the
  border", "is preparing", "by any measure"); The Metropolitan Chronicle, the Continental Wire and The
  Meridian Review hedge ("weighs options", "possible", "no final decision", "alleged"). In Spanish,
  Periódico Mirador stacks the conditional of rumour ("evaluaría", "estaría evaluando", "podría",
  "eventual") more than El Heraldo Nacional, which reports the plan in the indicative ("prepara").
- loaded terms: the Ledger writes "invasion", "narco-terrorists", "war on cartels"; the Chronicle does
  not. El Heraldo writes "soberanía" and "injerencia" far more than any other Spanish outlet.
- voices: El Heraldo quotes Sheinbaum most; the Ledger quotes (anonymous) administration officials and
  Republican lawmakers, the Chronicle experts and analysts.
- frames: El Heraldo frames the story as external regulation and reputation (sovereignty, foreign
  meddling) more than the Ledger, which frames it as security and defense and as crime
  (narco-terrorists, poison, killing Americans); the Chronicle's Title 50 explainer and "laws of armed
  conflict" make its legality share larger than the Ledger's; the Coronado Sentinel's local story
  (customers, commerce, families across the river) gives economic and quality-of-life cues more room
  than the Ledger.
Run with ``-s`` to see the per-outlet figures.

The first part tests the certainty rules on written sentences (no world needed).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from pipeline.framing.measures import certainty_of
from schemas.database import make_engine

STORY = "mexico-cartel-intervention"
AS_OF = datetime(2025, 11, 28, 12, 0, tzinfo=UTC)
LEDGER, CHRONICLE, WIRE = "The Liberty Ledger", "The Metropolitan Chronicle", "Continental Wire Service"
MERIDIAN, SENTINEL = "The Meridian Review", "The Coronado Border Sentinel"
HERALDO, MIRADOR = "El Heraldo Nacional", "Periódico Mirador"
SPANISH_OUTLETS = (HERALDO, MIRADOR, "Diario del Golfo", "Voz Latina USA")


# --- certainty rules on written sentences -----------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "assertive", "hedged"),
    [
        (
            "en",
            "The offensive is about to begin. The army is preparing the first wave and clearly means it.",
            "The army might begin an offensive, possibly next month; officials are weighing options.",
        ),
        (
            "es",
            "El ejército prepara la ofensiva y sin duda va a comenzar el lunes.",
            "El ejército estaría evaluando una eventual ofensiva, que podría comenzar el lunes.",
        ),
    ],
)
def test_imminence_and_boosters_read_more_certain_than_conditionals(language, assertive, hedged):
    assert certainty_of(assertive, language).score > 0 > certainty_of(hedged, language).score


@pytest.mark.parametrize(
    ("language", "sentence", "cue"),
    [
        ("en", "The ministry has not confirmed the report.", "confirmed (negated)"),
        ("en", "The ministry didn't confirm the report.", "confirm (negated)"),
        ("es", "El ministerio no ha confirmado el reporte.", "confirmado (negated)"),
        ("es", "La Casa Blanca no confirmó la información.", "confirmó (negated)"),
    ],
)
def test_a_negated_confirmation_is_a_hedge(language, sentence, cue):
    certainty = certainty_of(sentence, language)
    assert [tc.term for tc in certainty.hedges] == [cue]
    assert certainty.score == -1.0


@pytest.mark.parametrize(
    ("language", "sentence"),
    [("en", "Mexico will not accept foreign troops."), ("es", "México no va a aceptar tropas extranjeras.")],
)
def test_a_negated_commitment_stays_assertive(language, sentence):
    assert certainty_of(sentence, language).score == 1.0


def test_reported_would_is_not_a_hedge():
    # Bug: "would", mostly the backshifted "will" of reported speech in news, made every report hedged.
    certainty = certainty_of("Officials said the units would operate with the intelligence agency.", "en")
    assert certainty.hedges == () and certainty.score == 0.0


def test_possible_is_a_hedge_in_english_as_in_spanish():
    english = certainty_of("Officials discussed possible raids.", "en")
    spanish = certainty_of("Los funcionarios discutieron posibles incursiones.", "es")
    assert english.score == spanish.score == -1.0


# --- the replay world through the real pipeline -----------------------------------------------------


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    """One cycle of the real pipeline over the replay world into a SQLite warehouse."""
    from demo.world import ReplayWorld
    from demo.world.config import write_demo_config
    from pipeline.run.runner import run_cycle

    directory = tmp_path_factory.mktemp("framing-directions")
    db_url = f"sqlite:///{directory / 'warehouse.sqlite'}"
    with ReplayWorld(base_port=None) as world:
        config_dir = write_demo_config(
            world, directory / "config", directory / "warc", directory / "outbox", stories=[STORY]
        )
        run_cycle(config_dir, db_url, run_key="framing-directions", as_of=AS_OF)
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def outlets(warehouse) -> dict[str, dict]:
    with warehouse.connect() as connection:
        rows = connection.execute(
            sa.text("SELECT * FROM v_outlet_framing WHERE story_slug = :s"), {"s": STORY}
        )
        by_outlet = {row.outlet_name: row._asdict() for row in rows}
    print_outlet_figures(by_outlet)
    return by_outlet


@pytest.fixture(scope="module")
def loaded_terms(warehouse) -> dict[str, Counter[str]]:
    query = """SELECT c.outlet_name, t.term, t.occurrences FROM article_loaded_terms t
               JOIN v_story_coverage c ON c.article_id = t.article_id WHERE c.story_slug = :s"""
    terms: dict[str, Counter[str]] = defaultdict(Counter)
    with warehouse.connect() as connection:
        for outlet, term, occurrences in connection.execute(sa.text(query), {"s": STORY}):
            terms[outlet][term] += occurrences
    return terms


@pytest.fixture(scope="module")
def voice_shares(warehouse) -> dict[str, dict[str, float]]:
    query = """SELECT c.outlet_name, v.voice_kind FROM article_voices v
               JOIN v_story_coverage c ON c.article_id = v.article_id WHERE c.story_slug = :s"""
    kinds: dict[str, Counter[str]] = defaultdict(Counter)
    with warehouse.connect() as connection:
        for outlet, kind in connection.execute(sa.text(query), {"s": STORY}):
            kinds[outlet][kind] += 1
    return {outlet: {k: n / sum(c.values()) for k, n in c.items()} for outlet, c in kinds.items()}


def print_outlet_figures(outlets: dict[str, dict]) -> None:
    print(
        "\noutlet                         lang  n  certainty  tone    security ext.reg legality crime   econ+qol"
    )
    for name, row in sorted(outlets.items()):
        print(
            f"{name[:30]:30} {row['language']:4} {row['articles']:2} {row['mean_certainty']:+9.3f} "
            f"{row['mean_tone']:+6.3f}  {row['frame_security_and_defense']:7.3f} "
            f"{row['frame_external_regulation_and_reputation']:7.3f} "
            f"{row['frame_legality_constitutionality_jurisprudence']:8.3f} {row['frame_crime_and_punishment']:7.3f} "
            f"{row['frame_economic'] + row['frame_quality_of_life']:8.3f}  {row['top_voices']}"
        )


@pytest.mark.slow
@pytest.mark.parametrize("hedging_outlet", [CHRONICLE, WIRE, MERIDIAN])
def test_the_ledger_is_more_certain_than_the_hedging_english_outlets(outlets, hedging_outlet):
    assert outlets[LEDGER]["mean_certainty"] > outlets[hedging_outlet]["mean_certainty"]


@pytest.mark.slow
def test_heraldo_is_more_certain_than_mirador_conditional_of_rumour(outlets):
    assert outlets[HERALDO]["mean_certainty"] > outlets[MIRADOR]["mean_certainty"]


@pytest.mark.slow
def test_the_ledger_writes_invasion_narco_terrorists_and_war_on_cartels_the_chronicle_does_not(loaded_terms):
    ledger_words = {"invasion", "narco-terrorist*", "war on cartels"}
    assert ledger_words <= set(loaded_terms[LEDGER])
    assert not ledger_words & set(loaded_terms[CHRONICLE])


@pytest.mark.slow
def test_heraldo_writes_sovereignty_and_meddling_most_among_spanish_outlets(outlets, loaded_terms):
    def per_article(outlet: str) -> float:
        terms = loaded_terms[outlet]
        return (terms["soberanía"] + terms["injerencia*"]) / outlets[outlet]["articles"]

    assert loaded_terms[HERALDO]["injerencia*"] > 0 == loaded_terms[MIRADOR]["injerencia*"]
    assert all(per_article(HERALDO) > per_article(other) for other in SPANISH_OUTLETS if other != HERALDO)


@pytest.mark.slow
def test_heraldo_gives_the_mexican_government_the_most_voice(outlets, voice_shares):
    assert outlets[HERALDO]["top_voices"].startswith("mexican_government")
    assert voice_shares[HERALDO]["mexican_government"] > voice_shares[LEDGER].get("mexican_government", 0.0)


@pytest.mark.slow
def test_the_ledger_quotes_us_officials_more_than_heraldo(voice_shares):
    assert voice_shares[LEDGER].get("us_government", 0.0) > voice_shares[HERALDO].get("us_government", 0.0)


@pytest.mark.slow
def test_the_chronicle_quotes_experts_more_than_the_ledger(voice_shares):
    assert voice_shares[CHRONICLE].get("expert", 0.0) > voice_shares[LEDGER].get("expert", 0.0)


@pytest.mark.slow
def test_heraldo_frames_external_regulation_and_the_ledger_security(outlets):
    heraldo, ledger = outlets[HERALDO], outlets[LEDGER]
    ext, security = "frame_external_regulation_and_reputation", "frame_security_and_defense"
    assert heraldo[ext] > ledger[ext]
    assert ledger[security] > heraldo[security]


@pytest.mark.slow
def test_the_ledger_frames_crime_more_and_legality_less_than_the_chronicle(outlets):
    ledger, chronicle = outlets[LEDGER], outlets[CHRONICLE]
    legality = "frame_legality_constitutionality_jurisprudence"
    assert ledger["frame_crime_and_punishment"] > chronicle["frame_crime_and_punishment"]
    assert chronicle[legality] > ledger[legality]


@pytest.mark.slow
def test_the_border_paper_gives_local_economy_and_daily_life_more_room_than_the_ledger(outlets):
    def local(row: dict) -> float:
        return row["frame_economic"] + row["frame_quality_of_life"]

    assert local(outlets[SENTINEL]) > local(outlets[LEDGER])
