"""Framing measures (issue 7): tone, frames, certainty, sourcing, loaded terms, distinctive terms,
and the per-outlet aggregations, on short written examples in English and Spanish."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.analyst.compare import as_csv, as_json, as_rich_table
from pipeline.framing.lexicon import (
    MFC_FRAMES,
    FramesCodebook,
    FramingConfigError,
    LoadedTermsCodebook,
    count_terms,
    load_frames,
    load_yaml_model,
    split_sentences,
)
from pipeline.framing.measures import (
    article_framing,
    certainty_of,
    frame_shares,
    loaded_terms_in,
    warehouse_fields,
)
from pipeline.framing.outlets import (
    distinctive_terms,
    first_coverage,
    headlines_side_by_side,
    lede_of,
    ngrams,
    syndication_by_outlet,
)
from pipeline.framing.sources import voices_in
from pipeline.framing.tone import article_tone, spanish_rules
from schemas.framing_records import CoverageRow, OutletComparison, TermCount

HEDGED_EN = (
    "The administration could reportedly send troops, according to sources. No final decision has been "
    "made and officials may still change course."
)
ASSERTIVE_EN = (
    "The president ordered the strikes, which will begin on Monday. The Pentagon confirmed the plan."
)
HEDGED_ES = "Según fuentes, el gobierno podría enviar tropas. Presuntamente no se ha tomado una decisión."
ASSERTIVE_ES = "El presidente ordenó los ataques. El Pentágono confirmó que va a desplegar drones."


# --- tone -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "negative", "positive"),
    [
        ("en", "A brutal attack killed civilians and spread terror.", "The agreement brings peace and hope."),
        ("es", "Un ataque brutal mató a civiles y sembró el terror.", "El acuerdo trae paz y esperanza."),
    ],
)
def test_tone_is_negative_for_violence_and_positive_for_peace(language, negative, positive):
    bad, good = article_tone("", negative, language), article_tone("", positive, language)
    assert bad.compound < 0 < good.compound
    assert -1 <= bad.compound <= 1 and -1 <= good.compound <= 1


def test_tone_names_the_words_behind_the_score_in_both_languages():
    english = article_tone("Attack", "Terror in the streets.", "en")
    spanish = article_tone("Ataque", "Terror en las calles.", "es")
    assert {"attack", "terror"} <= {cue.word for cue in english.cues}
    assert {"ataque", "terror"} <= {cue.word for cue in spanish.cues}
    assert english.method == "vader-en" and spanish.method == "vader-es-adapted"


def test_spanish_negation_flips_the_tone_as_vader_does():
    plain = article_tone("", "La situación es buena.", "es").compound
    negated = article_tone("", "La situación no es buena.", "es").compound
    assert plain > 0 > negated


def test_spanish_booster_strengthens_the_tone():
    plain = article_tone("", "Es peligroso.", "es").compound
    boosted = article_tone("", "Es muy peligroso.", "es").compound
    assert boosted < plain < 0


def test_sin_embargo_is_a_contrast_not_a_negation():
    # "pero"/"sin embargo" weigh the clause after them more (VADER's "but" rule); "sin" must not negate.
    tone = article_tone("", "Hubo violencia, sin embargo la paz es un éxito.", "es").compound
    assert tone > 0


def test_spanish_and_english_translations_land_near_each_other():
    english = article_tone("", "The attack was a terrible tragedy.", "en").compound
    spanish = article_tone("", "El ataque fue una terrible tragedia.", "es").compound
    assert english < 0 and spanish < 0
    assert abs(english - spanish) < 0.35


def test_every_spanish_gloss_is_a_vader_word():
    rules = spanish_rules()
    assert len(rules.valence_by_stem) > 100
    assert all(-4 <= v <= 4 for v in rules.valence_by_stem.values())


def test_unsupported_language_is_a_clear_error():
    with pytest.raises(ValueError, match="support"):
        article_framing("Titre", "Le texte.", "fr")


# --- frames -----------------------------------------------------------------------------------------


def test_frames_cover_the_fifteen_mfc_dimensions_and_shares_sum_to_one():
    frames = frame_shares("Drone strikes by the military target the cartel's fentanyl labs.", "en")
    assert tuple(f.frame for f in frames) == MFC_FRAMES
    assert sum(f.share for f in frames) == pytest.approx(1.0, abs=1e-3)


def test_security_text_is_framed_as_security_with_its_terms_as_evidence():
    framing = article_framing(
        "Pentagon plans strikes", "Special forces and the military prepare drone strikes.", "en"
    )
    assert framing.primary_frame == "security_and_defense"
    security = next(f for f in framing.frames if f.frame == "security_and_defense")
    assert {"military", "special forces"} <= {tc.term for tc in security.terms}


def test_spanish_sovereignty_text_is_framed_as_external_relations():
    framing = article_framing(
        "Defensa de la soberanía", "La cancillería rechazó la injerencia y pidió cooperación bilateral.", "es"
    )
    assert framing.primary_frame == "external_regulation_and_reputation"


def test_economic_text_is_framed_as_economic_in_spanish():
    frames = frame_shares("Los aranceles y las remesas golpean la economía y el comercio.", "es")
    assert max(frames, key=lambda f: f.share).frame == "economic"


def test_no_frame_cue_means_no_primary_frame():
    framing = article_framing("Hola", "Nada que ver aquí.", "es")
    assert framing.primary_frame is None
    assert all(f.share == 0 for f in framing.frames)


def test_frames_codebook_missing_a_dimension_is_rejected(tmp_path: Path):
    broken = tmp_path / "frames.yaml"
    broken.write_text("version: 1\nframes:\n  economic:\n    label: E\n    description: d\n"
                      "    terms: {en: [cost], es: [costo]}\n")  # fmt: skip
    with pytest.raises(FramingConfigError, match="15 MFC dimensions"):
        load_yaml_model(broken, FramesCodebook)


def test_shipped_codebook_has_terms_in_both_languages():
    for key, entry in load_frames().frames.items():
        assert entry.terms.en and entry.terms.es, key


# --- certainty --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "hedged", "assertive"), [("en", HEDGED_EN, ASSERTIVE_EN), ("es", HEDGED_ES, ASSERTIVE_ES)]
)
def test_hedged_text_scores_less_certain_than_assertive_text(language, hedged, assertive):
    assert certainty_of(hedged, language).score < 0 < certainty_of(assertive, language).score


def test_certainty_lists_the_matched_cues():
    english = certainty_of(HEDGED_EN, "en")
    spanish = certainty_of(HEDGED_ES, "es")
    assert {"reportedly", "no final decision", "according to sources"} <= {tc.term for tc in english.hedges}
    assert {"según fuentes", "podría", "presuntamente", "no se ha tomado una decisión"} <= {
        tc.term for tc in spanish.hedges
    }
    assert {"ordered", "will", "confirmed"} <= {tc.term for tc in certainty_of(ASSERTIVE_EN, "en").assertions}


def test_cues_match_without_accents_too():
    assert certainty_of("El gobierno podria actuar.", "es").score == -1.0


# --- loaded terms -----------------------------------------------------------------------------------


def test_spanish_loaded_terms_are_listed_with_counts():
    text = "Sheinbaum habló de invasión. La soberanía no se negocia; defender la soberanía es un deber."
    counts = {tc.term: tc.count for tc in loaded_terms_in(text, "es")}
    assert counts["invasión"] == 1
    assert counts["soberanía"] == 2


def test_english_loaded_terms_take_the_longest_phrase():
    counts = {
        tc.term: tc.count for tc in loaded_terms_in("A military intervention, not boots on the ground.", "en")
    }
    # "military intervention" is counted once, not also as "intervention"
    assert counts == {"military intervention": 1, "boots on the ground": 1}
    spanish = {tc.term for tc in loaded_terms_in("Rechaza la intervención militar.", "es")}
    assert spanish == {"intervención militar"}


def test_term_wildcards_and_hyphens_match_variants():
    hits = {
        tc.term: tc.count
        for tc in count_terms("Narco-terrorists and narco terrorist cells.", ["narco-terrorist*"])
    }
    assert hits == {"narco-terrorist*": 2}


# --- sourcing ---------------------------------------------------------------------------------------


def test_sheinbaum_quote_is_mexican_government_in_both_languages():
    english = voices_in("", '"There will be no invasion," Sheinbaum said on Tuesday.', "en")
    spanish = voices_in("", '"No habrá invasión", dijo Claudia Sheinbaum en Palacio Nacional.', "es")
    assert [(v.name, v.voice_kind) for v in english] == [("Sheinbaum", "mexican_government")]
    assert [(v.name, v.voice_kind) for v in spanish] == [("Claudia Sheinbaum", "mexican_government")]


def test_named_us_official_with_role():
    (voice,) = voices_in("", '"We will act," said Pete Hegseth, the secretary of war.', "en")
    assert voice.name == "Pete Hegseth"
    assert voice.role == "secretary of war"
    assert voice.voice_kind == "us_government"
    assert voice.evidence.startswith('"We will act,"')


def test_anonymous_officials_are_detected_in_both_languages():
    english = voices_in(
        "",
        "Strikes are being planned, according to two U.S. officials who spoke on condition of anonymity.",
        "en",
    )
    spanish = voices_in("", "Según fuentes anónimas, el Pentágono prepara ataques.", "es")
    assert [v.voice_kind for v in english] == ["anonymous"]
    assert english[0].name is None
    assert [v.voice_kind for v in spanish] == ["anonymous"]


def test_experts_and_other_media_are_told_apart():
    voices = voices_in(
        "",
        "El analista Raúl Benítez, investigador de la UNAM, señaló que sería ilegal. Según el diario Reforma, hubo ataques.",
        "es",
    )
    assert [(v.name, v.voice_kind) for v in voices] == [
        ("Raúl Benítez", "expert"),
        ("Reforma", "other_media"),
    ]


def test_pronoun_speakers_are_not_voices():
    assert voices_in("", '"It is over," he said.', "en") == ()


# --- the whole article ------------------------------------------------------------------------------


def test_article_framing_carries_every_measure():
    framing = article_framing(
        "EE.UU. prepara intervención militar en México",
        "Según fuentes anónimas, el Pentágono podría atacar a narcoterroristas. "
        '"Rechazamos la injerencia", afirmó Sheinbaum.',
        "es",
    )
    assert framing.language == "es"
    assert framing.certainty.score < 0
    assert {"intervención militar", "injerencia*", "narcoterroris*"} <= {
        tc.term for tc in framing.loaded_terms
    }
    assert {v.voice_kind for v in framing.voices} == {"anonymous", "mexican_government"}
    assert framing.primary_frame is not None


def test_sentence_splitting_keeps_abbreviations_whole():
    assert split_sentences("Gen. Dan Caine spoke. U.S. officials agreed.") == [
        "Gen. Dan Caine spoke.",
        "U.S. officials agreed.",
    ]


# --- per outlet -------------------------------------------------------------------------------------


def test_log_odds_finds_the_word_one_outlet_prefers():
    outlet = ["The invasion of Mexico looms.", "Critics call it an invasion.", "An invasion, they say."]
    rest = [
        "The intervention in Mexico looms.",
        "Critics call it an intervention.",
        "Officials discuss Mexico.",
    ]
    terms = distinctive_terms(outlet, rest, "en", top_n=None)
    assert terms[0].term == "invasion"
    assert terms[0].z_score > 1.5
    assert terms[-1].term == "intervention" and terms[-1].z_score < 0
    shared = next(t for t in terms if t.term == "mexico")
    assert abs(shared.z_score) < terms[0].z_score


def test_log_odds_in_spanish_drops_stop_words_and_counts_bigrams():
    outlet = ["La soberanía nacional no se negocia.", "Defender la soberanía nacional."]
    rest = ["La cooperación bilateral avanza.", "Más cooperación bilateral."]
    terms = distinctive_terms(outlet, rest, "es", top_n=3)
    assert "soberanía nacional" in {t.term for t in terms}
    assert not {"la", "se", "no"} & {t.term for t in distinctive_terms(outlet, rest, "es", top_n=None)}


def test_ngrams_skip_bigrams_across_stop_words():
    assert "boots ground" not in ngrams("boots on the ground", "en")


def _row(outlet, hash_, when, syndicated_from=None, headline="H"):
    return CoverageRow(outlet, hash_, headline, "Lede.", when, "en", "US", syndicated_from)


def test_original_share_and_first_coverage():
    day = datetime(2025, 11, 10, tzinfo=UTC)
    rows = [
        _row("Wire", "a", day.replace(hour=9)),
        _row("Daily", "b", day.replace(hour=11), syndicated_from="a"),
        _row("Daily", "c", day.replace(hour=8)),
        _row("Daily", "d", None),
    ]
    shares = {s.outlet: s for s in syndication_by_outlet(rows)}
    assert (shares["Daily"].original, shares["Daily"].syndicated) == (2, 1)
    assert shares["Daily"].original_share == pytest.approx(2 / 3, abs=1e-3)
    assert shares["Wire"].original_share == 1.0
    firsts = first_coverage(rows)
    assert [(f.outlet, f.url_hash) for f in firsts] == [("Daily", "c"), ("Wire", "a")]
    assert [r.url_hash for r in headlines_side_by_side(rows)] == ["c", "a", "b", "d"]


def test_lede_is_the_first_sentence():
    assert lede_of("Mexico rejects the plan. Officials met later.") == "Mexico rejects the plan."
    assert lede_of("") == ""


# --- comparison formatting --------------------------------------------------------------------------


def _compared():
    """Rows as ``pipeline.analyst.queries.comparison`` gives them from v_outlet_framing."""
    return (
        OutletComparison(
            outlet="=Daily", country="US", language="en", articles=1, original_share=1.0, mean_tone=-0.4,
            mean_certainty=0.5, primary_frame="security_defense", top_loaded_terms=("invasion",),
            voice_kinds=(TermCount("us_official", 1),),
        ),
        OutletComparison(
            outlet="Diario", country="MX", language="es", articles=1, original_share=0.0, mean_tone=0.1,
            mean_certainty=0.0, primary_frame="sovereignty", top_loaded_terms=("invasión", "soberanía"),
            voice_kinds=(TermCount("mexican_government", 1),),
        ),
    )  # fmt: skip


def test_comparison_as_csv_json_and_table():
    rows = _compared()
    csv_text = as_csv(rows)
    assert csv_text.splitlines()[0].startswith("outlet,country,language,articles")
    assert "'=Daily" in csv_text  # a formula-like cell is neutralised for spreadsheets
    parsed = json.loads(as_json(rows))
    assert [r["outlet"] for r in parsed] == ["=Daily", "Diario"]
    assert parsed[1]["voice_kinds"] == {"mexican_government": 1}
    table = as_rich_table(rows)
    assert table.row_count == 2 and len(table.columns) == 11  # with translations_of (issue 17)


# --- robustness -------------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(headline=st.text(max_size=80), body=st.text(max_size=400), language=st.sampled_from(["en", "es"]))
def test_any_text_gives_scores_in_range(headline, body, language):
    framing = article_framing(headline, body, language)
    assert -1 <= framing.tone.compound <= 1
    assert -1 <= framing.certainty.score <= 1
    assert (
        sum(f.share for f in framing.frames) == pytest.approx(1.0, abs=1e-3) or framing.primary_frame is None
    )


def test_loaded_terms_file_without_notes_is_rejected(tmp_path: Path):
    broken = tmp_path / "loaded_terms.yaml"
    broken.write_text("version: 1\nterms:\n  en:\n    - {term: invasion}\n")
    with pytest.raises(FramingConfigError, match="note"):
        load_yaml_model(broken, LoadedTermsCodebook)


def test_curly_apostrophes_match_codebook_terms():
    (voice,) = voices_in("", "Juan Pérez, Mexico’s president, said no.", "en")
    assert voice.voice_kind == "mexican_government"


def test_warehouse_fields_are_json_ready_and_keep_the_evidence():
    framing = article_framing("Invasión", "El gobierno podría actuar contra la soberanía.", "es")
    fields = warehouse_fields(framing)
    json.dumps(fields)
    assert fields["loaded_terms"] == {"invasión": 1, "soberanía": 1}
    assert fields["evidence"]["hedges"] == {"podría": 1}
    assert fields["tone_method"] == "vader-es-adapted"
    assert sum(fields["frame_shares"].values()) == pytest.approx(1.0, abs=1e-3)
