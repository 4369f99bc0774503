"""Tone toward actors (issue 21): the sentiment a sentence expresses toward each story actor it names,
per article and per outlet, from the committed model; and the training parts that built that model."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.framing.outlets import actor_tone_by_outlet
from pipeline.framing.tone_model import (
    CLASSES,
    PieceVocabulary,
    ToneModel,
    actor_tones,
    load_tone_model,
    targeted_tone,
)
from pipeline.framing.train import (
    DistilledVectors,
    Mention,
    contributions,
    fit_logistic,
    group_folds,
    macro_f1,
    mention_features,
)
from schemas.framing_records import ActorTone

ACTORS_EN = ("Sheinbaum", "Mexican government", "cartels", "US military")
ACTORS_ES = ("Sheinbaum", "gobierno mexicano", "cárteles", "ejército estadounidense")


def tone_toward(sentence: str, actor: str, language: str = "en") -> ActorTone:
    (tone,) = actor_tones("", sentence, language, (actor,))
    return tone


def test_condemnation_of_an_actor_reads_negative_and_praise_positive():
    condemned = tone_toward(
        "Critics condemned Sheinbaum, accusing her of a corrupt, incompetent and dishonest response.",
        "Sheinbaum",
    )
    praised = tone_toward(
        "Allies praised Sheinbaum for her brilliant, courageous and successful leadership.", "Sheinbaum"
    )
    assert condemned.score < 0 < praised.score
    assert (condemned.negative, praised.positive) == (1, 1)


def test_spanish_sentences_are_read_in_the_same_space():
    condemned = tone_toward(
        "Los críticos condenaron a Sheinbaum y la acusaron de una respuesta corrupta, incompetente y deshonesta.",
        "Sheinbaum",
        "es",
    )
    praised = tone_toward(
        "Sus aliados elogiaron a Sheinbaum por su liderazgo brillante, valiente y exitoso.", "Sheinbaum", "es"
    )
    assert condemned.score < praised.score


def test_the_tone_is_toward_the_mention_not_the_whole_sentence():
    sentence = (
        "The cartels were blamed for the brutal massacre, while the army was praised as heroic and brave."
    )
    cartels, army = (
        targeted_tone(sentence, sentence.index(w), sentence.index(w) + len(w), "en")
        for w in ("cartels", "army")
    )
    assert cartels.score < army.score


def test_each_actor_named_gets_its_mentions_and_evidence_and_unnamed_actors_are_left_out():
    headline = "Sheinbaum rejects US military plans"
    body = "The US military is preparing strikes. Sheinbaum said Mexico would not accept them.\n\nMore later."
    tones = {t.actor: t for t in actor_tones(headline, body, "en", ACTORS_EN)}
    assert set(tones) == {"Sheinbaum", "US military"}
    assert (tones["Sheinbaum"].mentions, tones["US military"].mentions) == (2, 2)
    sheinbaum = tones["Sheinbaum"]
    assert sheinbaum.negative + sheinbaum.neutral + sheinbaum.positive == sheinbaum.mentions
    assert [m.sentence for m in sheinbaum.evidence] == [
        headline,
        "Sheinbaum said Mexico would not accept them.",
    ]
    for mention in sheinbaum.evidence:
        assert mention.mention == "Sheinbaum"
        assert mention.label in CLASSES
        assert abs(sum(mention.probabilities) - 1) < 1e-3
        assert mention.score == pytest.approx(mention.probabilities[2] - mention.probabilities[0], abs=1e-3)
        assert {cue.word for cue in mention.evidence} <= set(
            mention.sentence.lower().replace(".", "").split()
        )


def test_actors_match_by_the_codebook_rules_accents_and_case_folded():
    tones = actor_tones("", "Los CARTELES y el gobierno mexicano negociaron.", "es", ACTORS_ES)
    assert {t.actor for t in tones} == {"cárteles", "gobierno mexicano"}
    (cartels,) = [t for t in tones if t.actor == "cárteles"]
    assert cartels.evidence[0].mention == "CARTELES"


def test_other_languages_are_refused():
    with pytest.raises(ValueError):
        actor_tones("", "Les cartels ont attaqué.", "fr", ("cartels",))


def test_the_committed_model_is_whole():
    model = load_tone_model()
    n = len(model.entries)
    assert n > 50_000  # the encoder's Latin-script pieces plus NewsMTSC's words
    assert model.sentence.shape == model.window.shape == (n, 3)
    assert model.lexicon.shape == (2, 3) and model.bias.shape == (3,)
    assert "▁gobierno" in model.vocabulary.index and "▁government" in model.vocabulary.index


def test_out_of_vocabulary_words_are_their_pieces():
    vocabulary = PieceVocabulary(("▁narco", "terror", "ist", "▁mexico"))
    assert vocabulary.rows_of("mexico") == (3,)
    assert vocabulary.rows_of("narcoterrorist") == (0, 1, 2)
    assert vocabulary.rows_of("zzz") == ()


def test_the_word_table_scores_exactly_as_the_trained_linear_model(tmp_path):
    """The saved contributions are the trained model folded onto words: same logits, word by word."""
    rng = np.random.default_rng(3)
    entries = ("▁rebels", "▁attacked", "▁the", "▁town", "▁praised", "▁army", "▁brave", "ly")
    vectors = rng.normal(size=(len(entries), 8)).astype(np.float32)
    mentions = [
        Mention("a", "The rebels attacked the town", 4, 10, 0),
        Mention("b", "The army praised the brave town", 4, 8, 2),
        Mention("c", "The town bravely praised the army", 4, 8, 1),
        Mention("d", "Rebels attacked the army", 0, 6, 0),
    ]
    distilled = DistilledVectors(entries, vectors)
    features = mention_features(distilled, mentions)
    trained = fit_logistic(features, np.array([m.label for m in mentions]), l2=1.0)
    parts = contributions(vectors, trained)
    model = ToneModel(
        PieceVocabulary(entries), entries, parts["sentence"], parts["window"],
        parts["lexicon"].astype(np.float64), parts["bias"].astype(np.float64),
    )  # fmt: skip
    for m, row in zip(mentions, features, strict=True):
        expected = np.exp(row @ trained.weights + trained.bias)
        tone = targeted_tone(m.sentence, m.start, m.end, "en", model)
        assert tone.probabilities == pytest.approx(tuple(expected / expected.sum()), abs=1e-3)


def test_logistic_regression_learns_a_separable_problem():
    rng = np.random.default_rng(0)
    centres = np.array([[-3.0, 0.0], [0.0, 3.0], [3.0, 0.0]])
    labels = np.repeat(np.arange(3), 40)
    points = centres[labels] + rng.normal(scale=0.5, size=(120, 2))
    train, test = np.arange(120) % 4 != 0, np.arange(120) % 4 == 0
    model = fit_logistic(points[train], labels[train], l2=1.0)
    assert macro_f1(labels[test], model.predict(points[test])) == 1.0


def test_macro_f1_averages_the_classes_f1():
    assert macro_f1(np.array([0, 1, 2]), np.array([0, 1, 2])) == 1.0
    # class 0: tp 1, fp 2 -> F1 0.5; classes 1 and 2 never predicted -> 0
    assert macro_f1(np.array([0, 1, 2]), np.array([0, 0, 0])) == pytest.approx(0.5 / 3)


def test_folds_never_split_a_source():
    groups = ["a", "a", "b", "c", "c", "c", "d", "e"]
    folds = group_folds(groups, 3)
    for group in set(groups):
        assert len({f for g, f in zip(groups, folds, strict=True) if g == group}) == 1
    assert set(folds) == {0, 1, 2}


def test_outlet_portrayal_averages_articles_not_mentions():
    def tone(actor: str, score: float, mentions: int, negative: int) -> ActorTone:
        return ActorTone(actor, mentions, score, negative, mentions - negative, 0, ())

    rows = actor_tone_by_outlet(
        [
            ("wire", [tone("cartels", -0.8, 4, 4), tone("Sheinbaum", 0.1, 1, 0)]),
            ("wire", [tone("cartels", 0.0, 1, 0)]),
            ("daily", [tone("cartels", -0.2, 2, 1)]),
        ]
    )
    assert [(r.outlet, r.actor, r.articles, r.mentions, r.mean_score, r.negative) for r in rows] == [
        ("daily", "cartels", 1, 2, -0.2, 1),
        ("wire", "Sheinbaum", 1, 1, 0.1, 0),
        ("wire", "cartels", 2, 5, -0.4, 4),
    ]
