"""Dedupe stage: exact duplicates, syndicated copies (not rewrites), and the likely original."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bench.memory_index import SyndicationIndex
from pipeline.dedupe.copies import (
    COPY_THRESHOLD,
    LSH_BANDS,
    NUM_PERM,
    copy_differences,
    estimated_jaccard,
    likely_original,
    lsh_band_keys,
    minhash_signature,
    signature_from_bytes,
    signature_to_bytes,
    word_shingles,
)
from pipeline.normalise.canonical import content_hash, normalise_for_hash, word_count
from schemas.records import NormalisedArticle

# --- Written examples: a wire text, a lightly edited copy, and a genuine rewrite ------------------

WIRE_EN_HEADLINE = "US weighs sending special forces into Mexico to strike cartels"
WIRE_EN = """The Trump administration has begun planning a mission that would send US troops and intelligence officers into Mexico to target drug cartels, according to two US officials familiar with the discussions.

The early stages of training for the potential mission are underway, the officials said, though no final decision has been made and the deployment is not imminent.

The plans would involve units from the Joint Special Operations Command working under the authority of the CIA, using a legal framework known as Title 50 that covers covert action.

Much of the work would be carried out by drones operated by the special forces, the officials said, with strikes aimed at cartel leaders and at laboratories that produce fentanyl and methamphetamine.

The administration designated six Mexican cartels, along with the MS-13 street gang and the Venezuelan group Tren de Aragua, as foreign terrorist organizations earlier this year.

"We are prepared to use every element of American power to stop the cartels," a senior administration official said, speaking on condition of anonymity to discuss internal planning.

Mexican President Claudia Sheinbaum has repeatedly said she would not accept any US military intervention on Mexican soil and that cooperation must respect the country's sovereignty.

"It is not going to happen," Sheinbaum told reporters at her morning news conference on Monday, adding that Mexico collaborates with Washington but does not subordinate itself.

The US military has already carried out 15 strikes on boats it says were carrying drugs in the Caribbean and the eastern Pacific near Venezuela, killing at least 64 people.

Legal experts have questioned the basis for those strikes, and several lawmakers from both parties have asked the administration to explain its authority to use lethal force."""

COPY_EN_HEADLINE = "Report: Pentagon plans drone strikes on Mexican cartels"
COPY_EN = """WASHINGTON (AP) — The Trump administration has begun planning a mission that would send US troops and intelligence officers into Mexico to target drug cartels, according to two US officials familiar with the discussions.

The early stages of training for the potential mission are underway, the officials said, though no final decision has been made and the deployment is not imminent.

The plans would involve units from the Joint Special Operations Command working under the authority of the CIA, using a legal framework known as Title 50 that covers covert action.

Much of the work would be carried out by drones operated by the special forces, the officials said, with strikes aimed at cartel leaders and at laboratories that produce fentanyl and methamphetamine.

The administration designated six Mexican cartels, along with the MS-13 street gang and the Venezuelan group Tren de Aragua, as foreign terrorist organizations earlier this year.

"We are prepared to use every element of American power to stop the cartels," a senior administration official said, speaking on condition of anonymity to discuss internal planning.

Mexican President Claudia Sheinbaum has repeatedly said she would not accept any US military intervention on Mexican soil and that cooperation must respect the country's sovereignty.

"It is not going to happen," Sheinbaum told reporters at her morning news conference on Monday, adding that Mexico collaborates with Washington but does not subordinate itself.

In El Paso, local officials said the Border Patrol sector had not been told of any change to its operations along the river.

Copyright 2025 The Associated Press. All rights reserved."""

REWRITE_EN_HEADLINE = "Pentagon readies plans for covert raids on cartels inside Mexico"
REWRITE_EN = """American military planners are preparing options for secret operations on Mexican territory against the criminal organizations that smuggle fentanyl north, two people briefed on the matter told our reporters.

Any raids would rely on elite commando teams attached to the intelligence agency, which would give the White House a covert-action legal basis and keep details away from public view.

Armed drones flown by those teams would hunt for the bosses of the trafficking groups and bomb the clandestine labs where synthetic drugs are cooked, according to the sources.

Officials stressed that the president has not signed off on anything yet and that troops are not about to cross the border.

Washington this year placed six of Mexico's criminal groups, plus MS-13 and Tren de Aragua, on its list of terrorist organizations, opening the door to military tools.

Mexico's leader rejected the idea outright. "It is not going to happen," Sheinbaum said on Monday, insisting her government works with the United States only as an equal partner.

Since September, American forces have destroyed 15 vessels accused of running narcotics off the coast of Venezuela, leaving 64 people dead, a campaign that critics in Congress say lacks a clear legal foundation."""

WIRE_ES_HEADLINE = "EE.UU. planea enviar fuerzas especiales a México contra los cárteles"
WIRE_ES = """El gobierno de Estados Unidos comenzó a planear una misión que enviaría tropas y agentes de inteligencia a territorio mexicano para atacar a los cárteles de la droga, según dos funcionarios estadounidenses que conocen las conversaciones.

Las primeras etapas de entrenamiento para la posible misión ya están en marcha, dijeron los funcionarios, aunque no se ha tomado una decisión final y el despliegue no es inminente.

Los planes incluirían unidades del Comando Conjunto de Operaciones Especiales bajo la autoridad de la CIA, con un marco legal conocido como Título 50 que regula las acciones encubiertas.

Gran parte del trabajo se haría con drones operados por las fuerzas especiales, con ataques dirigidos contra líderes de los cárteles y contra laboratorios que producen fentanilo y metanfetamina.

Washington designó este año a seis cárteles mexicanos, junto con la pandilla MS-13 y el grupo venezolano Tren de Aragua, como organizaciones terroristas extranjeras.

La presidenta de México, Claudia Sheinbaum, ha dicho en repetidas ocasiones que no aceptará ninguna intervención militar estadounidense en suelo mexicano y que la cooperación debe respetar la soberanía del país.

"No va a ocurrir", dijo Sheinbaum en su conferencia de prensa matutina del lunes, y añadió que México colabora con Washington pero no se subordina.

El ejército estadounidense ya realizó 15 ataques contra embarcaciones que, según afirma, transportaban drogas en el Caribe y el Pacífico oriental cerca de Venezuela, con al menos 64 muertos.

Expertos en derecho han cuestionado la base legal de esos ataques, y legisladores de ambos partidos han pedido al gobierno que explique su autoridad para usar fuerza letal."""

COPY_ES_HEADLINE = "Alistan en EE.UU. operación con drones contra cárteles en México"
COPY_ES = """CIUDAD DE MÉXICO (EFE).— El gobierno de Estados Unidos comenzó a planear una misión que enviaría tropas y agentes de inteligencia a territorio mexicano para atacar a los cárteles de la droga, según dos funcionarios estadounidenses que conocen las conversaciones.

Las primeras etapas de entrenamiento para la posible misión ya están en marcha, dijeron los funcionarios, aunque no se ha tomado una decisión final y el despliegue no es inminente.

Los planes incluirían unidades del Comando Conjunto de Operaciones Especiales bajo la autoridad de la CIA, con un marco legal conocido como Título 50 que regula las acciones encubiertas.

Gran parte del trabajo se haría con drones operados por las fuerzas especiales, con ataques dirigidos contra líderes de los cárteles y contra laboratorios que producen fentanilo y metanfetamina.

Washington designó este año a seis cárteles mexicanos, junto con la pandilla MS-13 y el grupo venezolano Tren de Aragua, como organizaciones terroristas extranjeras.

En Sinaloa, el gobierno estatal informó que no ha recibido notificación alguna de las autoridades federales sobre cambios en la seguridad.

La presidenta de México, Claudia Sheinbaum, ha dicho en repetidas ocasiones que no aceptará ninguna intervención militar estadounidense en suelo mexicano y que la cooperación debe respetar la soberanía del país.

"No va a ocurrir", dijo Sheinbaum en su conferencia de prensa matutina del lunes, y añadió que México colabora con Washington pero no se subordina.

El ejército estadounidense ya realizó 15 ataques contra embarcaciones que, según afirma, transportaban drogas en el Caribe y el Pacífico oriental cerca de Venezuela, con al menos 64 muertos."""

REWRITE_ES_HEADLINE = "Washington prepara incursiones secretas contra el narco en suelo mexicano"
REWRITE_ES = """Estrategas militares estadounidenses preparan opciones para realizar operaciones secretas dentro de México contra las organizaciones criminales que trafican fentanilo hacia el norte, revelaron dos fuentes informadas sobre el asunto.

Las incursiones dependerían de equipos de comandos de élite adscritos a la agencia de inteligencia, lo que daría a la Casa Blanca una base jurídica de acción encubierta y mantendría los detalles lejos del escrutinio público.

Aviones no tripulados armados buscarían a los jefes de los grupos de traficantes y bombardearían los laboratorios clandestinos donde se cocinan drogas sintéticas, de acuerdo con las fuentes.

Los funcionarios subrayaron que el mandatario aún no ha autorizado nada y que los soldados no están a punto de cruzar la frontera.

Este año Washington incluyó a seis grupos criminales mexicanos, además de la MS-13 y el Tren de Aragua, en su lista de organizaciones terroristas, lo que abre la puerta a herramientas militares.

La mandataria mexicana rechazó la idea de inmediato. "No va a ocurrir", dijo Sheinbaum el lunes, e insistió en que su gobierno trabaja con Estados Unidos solo como socio en igualdad.

Desde septiembre, las fuerzas estadounidenses han destruido 15 lanchas acusadas de transportar narcóticos frente a las costas de Venezuela, con un saldo de 64 muertos, una campaña que críticos en el Congreso consideran sin fundamento legal claro."""


def article(
    url_hash: str,
    headline: str,
    body: str,
    *,
    outlet: str = "Replay Herald",
    authors: tuple[str, ...] = (),
    published_at: datetime | None = None,
) -> NormalisedArticle:
    return NormalisedArticle(
        outlet=outlet,
        canonical_url=f"http://127.0.0.1:8001/{url_hash}",
        url_hash=url_hash,
        aliases=(f"http://127.0.0.1:8001/{url_hash}",),
        headline=headline,
        dek=None,
        authors=authors,
        published_at=published_at,
        modified_at=None,
        language=None,
        section=None,
        body_text=body,
        word_count=word_count(body),
        content_hash=content_hash(headline, body),
        fetched_at=datetime(2025, 11, 24, tzinfo=UTC),
    )


WIRE_EN_ARTICLE = article(
    "wire-en",
    WIRE_EN_HEADLINE,
    WIRE_EN,
    outlet="Replay Wire",
    authors=("Associated Press",),
    published_at=datetime(2025, 11, 24, 10, tzinfo=UTC),
)
COPY_EN_ARTICLE = article(
    "copy-en",
    COPY_EN_HEADLINE,
    COPY_EN,
    outlet="El Paso Sun",
    published_at=datetime(2025, 11, 24, 11, tzinfo=UTC),
)
REWRITE_EN_ARTICLE = article(
    "rewrite-en",
    REWRITE_EN_HEADLINE,
    REWRITE_EN,
    outlet="Capital Post",
    published_at=datetime(2025, 11, 24, 9, tzinfo=UTC),
)
WIRE_ES_ARTICLE = article(
    "wire-es",
    WIRE_ES_HEADLINE,
    WIRE_ES,
    outlet="Agencia Réplica",
    authors=("EFE",),
    published_at=datetime(2025, 11, 24, 10, tzinfo=UTC),
)
COPY_ES_ARTICLE = article(
    "copy-es",
    COPY_ES_HEADLINE,
    COPY_ES,
    outlet="Diario del Pacífico",
    published_at=datetime(2025, 11, 24, 12, tzinfo=UTC),
)
REWRITE_ES_ARTICLE = article("rewrite-es", REWRITE_ES_HEADLINE, REWRITE_ES, outlet="La Jornada Réplica")

LANGUAGES = pytest.mark.parametrize(
    ("wire", "copy", "rewrite"),
    [
        (WIRE_EN_ARTICLE, COPY_EN_ARTICLE, REWRITE_EN_ARTICLE),
        (WIRE_ES_ARTICLE, COPY_ES_ARTICLE, REWRITE_ES_ARTICLE),
    ],
    ids=["en", "es"],
)


# --- Signatures and band keys ------------------------------------------------------------------


def test_word_shingles_are_five_lowercased_words_with_accents_kept():
    assert word_shingles("La Presidenta de México dijo hoy") == {
        "la presidenta de méxico dijo",
        "presidenta de méxico dijo hoy",
    }


def test_word_shingles_of_a_short_text_is_the_whole_text():
    assert word_shingles("Sheinbaum: no") == {"sheinbaum no"}


def test_minhash_signature_has_one_value_per_permutation():
    assert minhash_signature(WIRE_EN).shape == (NUM_PERM,)


def test_minhash_signature_is_deterministic():
    assert np.array_equal(minhash_signature(WIRE_ES), minhash_signature(WIRE_ES))


def test_minhash_signature_rejects_text_without_words():
    with pytest.raises(ValueError, match="without words"):
        minhash_signature(" — … ")


def test_signature_survives_storage_as_bytes():
    signature = minhash_signature(WIRE_EN)
    assert np.array_equal(signature_from_bytes(signature_to_bytes(signature)), signature)


def test_signature_from_bytes_rejects_a_truncated_value():
    with pytest.raises(ValueError, match="expected"):
        signature_from_bytes(signature_to_bytes(minhash_signature(WIRE_EN))[:-4])


def test_lsh_band_keys_give_one_key_per_band():
    keys = lsh_band_keys(minhash_signature(WIRE_EN))
    assert [band for band, _ in keys] == list(range(LSH_BANDS))
    assert all(isinstance(key, str) and key for _, key in keys)


@given(st.text(alphabet="abcdefg hijk", min_size=30))
def test_identical_texts_share_every_band_key(text):
    if not word_shingles(text):
        return
    assert lsh_band_keys(minhash_signature(text)) == lsh_band_keys(minhash_signature(" ".join(text.split())))


@given(
    st.lists(
        st.sampled_from(["cartel", "méxico", "sheinbaum", "drones", "cia", "soberanía", "tropas", "64"]),
        min_size=5,
        max_size=60,
    )
)
def test_estimated_jaccard_is_one_for_the_same_words_and_in_range(words):
    text = " ".join(words)
    signature = minhash_signature(text)
    assert estimated_jaccard(signature, minhash_signature(text.upper())) == 1.0
    assert 0.0 <= estimated_jaccard(signature, minhash_signature(WIRE_EN)) <= 1.0


# --- Copies versus rewrites ---------------------------------------------------------------------


@LANGUAGES
def test_an_edited_copy_is_similar_and_a_rewrite_is_not(wire, copy, rewrite):
    wire_signature = minhash_signature(wire.body_text)
    assert estimated_jaccard(wire_signature, minhash_signature(copy.body_text)) >= COPY_THRESHOLD
    assert estimated_jaccard(wire_signature, minhash_signature(rewrite.body_text)) < COPY_THRESHOLD


@LANGUAGES
def test_index_finds_the_copy_but_not_the_rewrite(wire, copy, rewrite):
    index = SyndicationIndex()
    for member in (wire, rewrite):
        index.add(member.url_hash, minhash_signature(member.body_text))
    assert [url_hash for url_hash, _ in index.similar(minhash_signature(copy.body_text))] == [wire.url_hash]


def test_index_adds_an_article_once():
    index = SyndicationIndex()
    signature = minhash_signature(WIRE_EN)
    index.add("a", signature)
    index.add("a", signature)
    assert len(index) == 1 and index.candidates(signature) == {"a"}


def test_index_returns_every_article_sharing_a_bucket():
    index = SyndicationIndex()
    for url_hash in ("a", "b", "c"):
        index.add(url_hash, minhash_signature(WIRE_ES))
    index.add("other", minhash_signature(REWRITE_ES))
    assert index.candidates(minhash_signature(WIRE_ES)) == {"a", "b", "c"}
    assert [similarity for _, similarity in index.similar(minhash_signature(WIRE_ES))] == [1.0, 1.0, 1.0]


# --- Differences between a copy and its original ----------------------------------------------


def test_copy_differences_in_english():
    differences = copy_differences(WIRE_EN, COPY_EN, WIRE_EN_HEADLINE, COPY_EN_HEADLINE)
    assert differences["headline_changed"]
    assert differences["dateline_added"] == "WASHINGTON (AP) —"
    assert [p[:20] for p in differences["paragraphs_trimmed_at_end"]] == [
        "The US military has ",
        "Legal experts have q",
    ]
    assert differences["paragraphs_added"] == [
        "In El Paso, local officials said the Border Patrol sector had not been told of any change to its "
        "operations along the river."
    ]
    assert differences["copyright_lines_added"] == [
        "Copyright 2025 The Associated Press. All rights reserved."
    ]
    assert differences["paragraphs_removed"] == []


def test_copy_differences_in_spanish():
    differences = copy_differences(WIRE_ES, COPY_ES, WIRE_ES_HEADLINE, COPY_ES_HEADLINE)
    assert differences["dateline_added"] == "CIUDAD DE MÉXICO (EFE).—"
    assert [p[:25] for p in differences["paragraphs_trimmed_at_end"]] == ["Expertos en derecho han c"]
    assert [p[:10] for p in differences["paragraphs_added"]] == ["En Sinaloa"]
    assert differences["copyright_lines_added"] == []


DISTINCT_PARAGRAPHS = st.lists(
    st.text(alphabet="abcdefghij ", min_size=3, max_size=40)
    .map(str.strip)
    .filter(lambda p: normalise_for_hash(p) != ""),
    min_size=2,
    max_size=8,
    unique_by=normalise_for_hash,
)


@given(DISTINCT_PARAGRAPHS, st.integers(min_value=1, max_value=3), st.booleans())
def test_copy_differences_finds_a_trimmed_ending(paragraphs, trimmed, local_paragraph):
    trimmed = min(trimmed, len(paragraphs) - 1)
    kept = paragraphs[:-trimmed]
    copy = kept + (["Local officials in Sinaloa said nothing changed."] if local_paragraph else [])
    differences = copy_differences("\n\n".join(paragraphs), "\n\n".join(copy))
    assert differences["paragraphs_trimmed_at_end"] == paragraphs[-trimmed:]
    assert differences["paragraphs_removed"] == []


def test_copy_differences_of_an_identical_text_are_empty():
    differences = copy_differences(WIRE_EN, WIRE_EN, WIRE_EN_HEADLINE, WIRE_EN_HEADLINE.upper())
    assert not differences["headline_changed"] and differences["dateline_added"] is None
    assert differences["paragraphs_added"] == differences["paragraphs_removed"] == []
    assert differences["paragraphs_trimmed_at_end"] == []


# --- Likely original ---------------------------------------------------------------------------


def test_likely_original_prefers_a_wire_outlet_over_an_earlier_copy():
    early_copy = article("early", "x", WIRE_EN, published_at=datetime(2025, 11, 24, 8, tzinfo=UTC))
    wire = article(
        "wire", "x", COPY_EN, outlet="Replay Wire", published_at=datetime(2025, 11, 24, 9, tzinfo=UTC)
    )
    assert likely_original([early_copy, wire], wire_outlets={"Replay Wire"}) == (wire, "wire outlet")


def test_likely_original_falls_back_to_the_earliest_publication():
    first = article("b-first", "x", COPY_EN, published_at=datetime(2025, 11, 24, 8, tzinfo=UTC))
    later = article("a-later", "x", WIRE_EN, published_at=datetime(2025, 11, 24, 9, tzinfo=UTC))
    assert likely_original([later, first]) == (first, "earliest publication")


def test_likely_original_then_takes_the_longest_text():
    longer = article("z-long", "x", WIRE_EN)
    shorter = article("a-short", "x", "\n\n".join(WIRE_EN.split("\n\n")[:5]))
    assert likely_original([shorter, longer]) == (longer, "longest text")


def test_likely_original_breaks_a_full_tie_by_url_hash():
    chosen, reason = likely_original([article("b", "x", WIRE_EN), article("a", "x", WIRE_EN)])
    assert chosen.url_hash == "a" and reason == "lowest url hash (tie)"


def test_likely_original_of_nothing_is_an_error():
    with pytest.raises(ValueError):
        likely_original([])


# --- Exact duplicates --------------------------------------------------------------------------


def test_exact_duplicates_group_by_content_hash_despite_trivial_differences():
    rerendered = article(
        "again", WIRE_EN_HEADLINE.upper(), "Updated 3 minutes ago\n\n" + WIRE_EN.replace("'", "’")
    )
    assert rerendered.content_hash == WIRE_EN_ARTICLE.content_hash != COPY_EN_ARTICLE.content_hash
