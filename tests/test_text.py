"""pipeline.text: the regex accent stripper removes exactly what unicodedata.combining names."""

import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from pipeline.framing_lexicon import find_terms
from pipeline.text import strip_accents


def _per_character(decomposed: str) -> str:
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def test_spanish_and_french_accents_go_and_base_letters_stay():
    decomposed = unicodedata.normalize("NFD", "México, ñandú, Über, garçon, Sheinbaum")
    assert strip_accents(decomposed) == "Mexico, nandu, Uber, garcon, Sheinbaum"


@given(st.text(max_size=60))
def test_same_result_as_the_per_character_definition(text):
    for form in ("NFD", "NFKD"):
        decomposed = unicodedata.normalize(form, text)
        assert strip_accents(decomposed) == _per_character(decomposed)


def test_a_term_whose_required_word_is_absent_is_not_matched_and_one_present_is():
    # find_terms skips a term's regex when its longest word is not in the text: the skip must not
    # lose a hyphenated or accented occurrence of a multi-word term.
    text = "La intervención militar en México; the war-on-cartels rhetoric"
    hits = {term for _, _, term in find_terms(text, ("intervencion militar", "war on cartels", "invasion"))}
    assert hits == {"intervencion militar", "war on cartels"}
