"""A second reading of stored voices before an analyst sees them (issue 23).

The sourcing measure (``pipeline.framing.sources``) finds speakers by capitalisation and word lists, so a
place, an outlet or an agency can come out as a "named person", and the word after "confirmed the" as a
role. These rules correct what the analyst's outputs show, from the stored voice and its sentence
alone; they never change the stored measure:

- a country or capital as speaker stands for its government (Bell 1991: "Washington said");
  another place is not a person: "Senator X of Oklahoma said" names X, "el gobierno de Tamaulipas
  informó" is a government, not a person called Tamaulipas;
- an outlet is other media, never a person; an agency ("Pentagon", "State Department") is an
  organisation: it is shown as a role, not as a name;
- a role is cut to the speaker ("a day after US officials" -> "US officials", "Officials have" ->
  "Officials"); a one-word "role" that is the object of a verb ("has not confirmed the planning")
  is not a voice at all.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from functools import lru_cache

from babel import Locale

from pipeline.text import fold

# A country or capital speaking is its government; the kinds are those of config/framing/voices.yaml.
GOVERNMENT_OF_PLACE = {
    "mexico": "mexican_government", "mexico city": "mexican_government", "ciudad de mexico": "mexican_government",
    "united states": "us_government", "estados unidos": "us_government", "washington": "us_government",
    "us": "us_government", "u.s.": "us_government", "eu": "us_government", "ee. uu.": "us_government",
    "eeuu": "us_government", "ee.uu.": "us_government",
}  # fmt: skip
US_STATES = (
    "Alabama Alaska Arizona Arkansas California Colorado Connecticut Delaware Florida Georgia Hawaii Idaho "
    "Illinois Indiana Iowa Kansas Kentucky Louisiana Maine Maryland Massachusetts Michigan Minnesota "
    "Mississippi Missouri Montana Nebraska Nevada Ohio Oklahoma Oregon Pennsylvania Tennessee Texas Utah "
    "Vermont Virginia Wisconsin Wyoming|New Hampshire|New Jersey|New Mexico|New York|North Carolina|"
    "North Dakota|Rhode Island|South Carolina|South Dakota|West Virginia"
)
MEXICAN_STATES = (
    "Aguascalientes Campeche Chiapas Chihuahua Coahuila Colima Durango Guanajuato Guerrero Hidalgo Jalisco "
    "Michoacán Morelos Nayarit Oaxaca Puebla Querétaro Sinaloa Sonora Tabasco Tamaulipas Tlaxcala Veracruz "
    "Yucatán Zacatecas|Baja California|Baja California Sur|Estado de México|Nuevo León|Quintana Roo|"
    "San Luis Potosí"
)
# Words that make a name an organisation rather than a person.
INSTITUTION_WORDS = (
    "department", "ministry", "pentagon", "white house", "casa blanca", "secretaria", "embassy", "embajada",
    "command", "comando", "agency", "agencia", "office", "oficina", "government", "gobierno",
    "administration", "administracion", "congress", "congreso", "senate", "senado", "cancilleria", "sedena",
    "semar", "cia", "dea", "fbi", "jsoc", "army", "ejercito", "navy", "marina", "pentagono", "council",
    "consejo", "police", "policia", "guard", "guardia", "court", "corte", "tribunal",
)  # fmt: skip
MEDIA_WORDS = (
    "medios",
    "media",
    "prensa",
    "press",
    "newspaper",
    "periodico",
    "diario",
    "reportes",
    "reports",
)
# Verbs that take an object: "confirmed the planning" names what was confirmed, not who spoke.
OBJECT_VERBS = (
    "confirmed", "denied", "reported", "posted", "wrote", "claimed", "published", "confirmo", "nego",
    "publico", "escribio", "reporto", "informo",
)  # fmt: skip
TRAILING_AUXILIARIES = {"have", "has", "had", "are", "were", "is", "was", "han", "ha", "habian", "habia"}
CLAUSE_OPENERS = {"after", "before", "but", "when", "while", "as", "tras", "pero"}
RELATIVE_PRONOUNS = {"who", "which", "that", "que", "quien", "quienes"}


@dataclass(frozen=True)
class ReviewedVoice:
    name: str | None
    role: str | None
    voice_kind: str


@lru_cache(maxsize=1)
def place_names() -> frozenset[str]:
    """Folded names of countries and regions (CLDR, in English and Spanish) and of US and Mexican states."""

    names = {fold(name) for code in ("en", "es") for name in Locale(code).territories.values()}
    for listing in (US_STATES, MEXICAN_STATES):
        one_word, *several_words = listing.split("|")
        names.update(fold(name) for name in one_word.split())
        names.update(fold(name) for name in several_words)
    return frozenset(names | set(GOVERNMENT_OF_PLACE))


def is_place(name: str) -> bool:
    folded = fold(name).strip()
    return folded in place_names() or folded.strip(".") in place_names()


def review_voice(
    name: str | None,
    role: str | None,
    kind: str,
    evidence: str,
    outlets: Collection[str] = (),
    own_outlet: str | None = None,
) -> ReviewedVoice | None:
    """The voice as the analyst's outputs show it, or None when it is not a voice at all.

    ``outlets`` are the names of every known outlet, ``own_outlet`` the one that published the
    article: "officials told The Liberty Ledger" in the Ledger's own article names the Ledger as the
    listener, not as a voice.
    """  # fmt: skip
    role = clean_role(role)
    if name is None:
        if role and is_object_of_verb(role, evidence):
            return None
        return ReviewedVoice(None, role, kind)
    if own_outlet and outlet_key(name) == outlet_key(own_outlet):
        return None
    if outlet_key(name) in {outlet_key(outlet) for outlet in outlets}:
        return ReviewedVoice(None, role or name, "other_media")
    if is_place(name):
        return place_voice(name, role, kind, evidence)
    if any(re.search(rf"\b{re.escape(word)}\b", fold(name)) for word in INSTITUTION_WORDS):
        return ReviewedVoice(None, name, kind)  # the agency is who spoke: shown as the role
    return ReviewedVoice(name, role, kind)


def outlet_key(name: str) -> str:
    folded = fold(name).strip()
    return folded.removeprefix("the ").removeprefix("el ").removeprefix("la ")


def place_voice(place: str, role: str | None, kind: str, evidence: str) -> ReviewedVoice:
    if kind not in ("named_person", "other"):  # the kind came from the context: the place was not the speaker
        return ReviewedVoice(None, role, kind)
    person = person_beside_place(place, evidence)
    if person:
        return ReviewedVoice(person, role, kind)
    government = re.search(rf"\b(?:gobierno|government)\s+(?:de|of)\s+{re.escape(place)}\b", evidence)
    if government:
        return ReviewedVoice(None, government.group(0), "other" if kind == "named_person" else kind)
    if role and any(re.search(rf"\b{word}\b", fold(role)) for word in MEDIA_WORDS):
        return ReviewedVoice(None, role, "other_media")
    return ReviewedVoice(None, role or place, GOVERNMENT_OF_PLACE.get(fold(place), "other"))


def person_beside_place(place: str, evidence: str) -> str | None:
    """ "Senator Wade Barrow of Oklahoma said" and "said Texas state Sen. Rory Pruitt" name a person."""
    words = r"[A-Z][\w'’.\-]*(?:\s+[A-Z][\w'’.\-]*){1,4}"
    before = re.search(rf"({words})\s+(?:of|from|de)\s+{re.escape(place)}\b", evidence)
    after = re.search(rf"\b{re.escape(place)}\s+(?:[a-z]+\s+){{0,2}}({words})", evidence)
    for found in (before, after):
        if found and not is_place(found.group(1)):
            return found.group(1)
    return None


def clean_role(role: str | None) -> str | None:
    """The speaker part of a role: clause openers before it and auxiliaries after it removed."""
    words = (role or "").split()
    openers = [i for i, word in enumerate(words) if fold(word) in CLAUSE_OPENERS]
    if openers and openers[-1] < len(words) - 1:
        words = words[openers[-1] + 1 :]
    if words and words[0].lower() in ("day", "a"):
        words = words[1:]
    relative = next((i for i, word in enumerate(words) if i > 0 and fold(word) in RELATIVE_PRONOUNS), None)
    words = words[:relative]
    while words and fold(words[-1]) in TRAILING_AUXILIARIES:
        words = words[:-1]
    return " ".join(words) or None


def is_object_of_verb(role: str, evidence: str) -> bool:
    if " " in role.strip():
        return False
    verbs = "|".join(OBJECT_VERBS)
    return bool(
        re.search(rf"\b(?:{verbs})\s+(?:the|el|la|los|las)\s+{re.escape(fold(role))}\b", fold(evidence))
    )
