"""Issue 23: in the analyst's outputs a country, an outlet or an agency is not a named person, and a
role is a role. Sentences from the replay world's coverage, with the voice the sourcing measure stored."""

from __future__ import annotations

import pytest

from pipeline.framing.voice_review import ReviewedVoice, clean_role, review_voice

OUTLETS = ("The Liberty Ledger", "Periódico Mirador")


@pytest.mark.parametrize(
    ("stored", "evidence", "shown"),
    [
        (("Mexico", None, "named_person"), "She says Mexico cooperates with Washington but does not accept intervention.",
         ("(none)", "Mexico", "mexican_government")),
        (("Washington", "Washington", "named_person"), "ataques que, según Washington, transportaban droga.",
         ("(none)", "Washington", "us_government")),
        (("Oklahoma", None, "named_person"), "Senator Wade Barrow of Oklahoma said in a statement that cartels kill.",
         ("Senator Wade Barrow", None, "named_person")),
        (("Texas", None, "named_person"), '"We have been playing defense," said Texas state Sen. Rory Pruitt at a news conference.',
         ("Sen. Rory Pruitt", None, "named_person")),
        (("Tamaulipas", None, "named_person"), "El gobierno de Tamaulipas informó que mantiene coordinación.",
         ("(none)", "gobierno de Tamaulipas", "other")),
        (("EU", "medios de EU", "named_person"), "Washington evaluaría operaciones, según medios de EU",
         ("(none)", "medios de EU", "other_media")),
        (("Periódico Mirador", None, "other_media"), "Fuentes consultadas por Periódico Mirador indicaron que no.",
         ("(none)", "Periódico Mirador", "other_media")),
        (("Pentagon", "figures released by the Pentagon", "us_government"), "according to figures released by the Pentagon",
         ("(none)", "Pentagon", "us_government")),
        ((None, "day after US officials", "anonymous"), "a day after US officials said the administration had begun",
         ("(none)", "US officials", "anonymous")),
        ((None, "Officials have", "anonymous"), "Officials have said the first strikes could come within weeks.",
         ("(none)", "Officials", "anonymous")),
        ((None, "dos funcionarios estadounidenses que pidieron el anonimato", "anonymous"), "dijeron dos funcionarios",
         ("(none)", "dos funcionarios estadounidenses", "anonymous")),
        (("Claudia Sheinbaum", "presidenta", "mexican_government"), "dijo la presidenta Claudia Sheinbaum",
         ("Claudia Sheinbaum", "presidenta", "mexican_government")),
    ],
)  # fmt: skip
def test_a_voice_is_shown_as_what_it_is(stored, evidence, shown):
    name, role, kind = shown
    expected = ReviewedVoice(None if name == "(none)" else name, role, kind)
    assert review_voice(*stored, evidence, OUTLETS, own_outlet="El Heraldo Nacional") == expected


@pytest.mark.parametrize(
    ("stored", "evidence"),
    [
        ((None, "planning", "us_government"), "The White House has not confirmed the planning."),
        ((None, "reports", "us_government"), "The White House has not publicly confirmed the reports."),
    ],
)
def test_the_object_of_a_verb_is_not_a_voice(stored, evidence):
    assert review_voice(*stored, evidence, OUTLETS) is None


def test_an_outlet_is_not_a_voice_in_its_own_article():
    evidence = "The Pentagon has finalized targets, officials told The Liberty Ledger on Thursday."
    assert (
        review_voice("Liberty Ledger", None, "us_government", evidence, OUTLETS, "The Liberty Ledger") is None
    )
    assert review_voice(
        "Liberty Ledger", None, "us_government", evidence, OUTLETS, "Headline Hub"
    ) == ReviewedVoice(None, "Liberty Ledger", "other_media")


def test_a_plain_role_is_kept():
    assert clean_role("former special operations officer") == "former special operations officer"
    assert clean_role(None) is None
