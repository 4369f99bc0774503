"""pipeline/speedup/ahead.py: results computed ahead are keyed by every input and the code, and saved whole."""

from __future__ import annotations

from pipeline.speedup.ahead import code_fingerprint, input_key, load_keyed, save_keyed


def test_the_key_changes_with_any_input_or_version_and_only_then() -> None:
    inputs = ("Headline", "Body text.", "en")
    assert input_key(inputs) == input_key(("Headline", "Body text.", "en"))
    assert input_key(inputs) != input_key(("Headline", "Body text!", "en"))
    assert input_key(inputs, "codebook-1") != input_key(inputs, "codebook-2")
    assert input_key(inputs, "codebook-1") != input_key(inputs)
    assert len(code_fingerprint()) == 64  # the source of pipeline/ and schemas/, hashed


def test_saved_results_come_back_and_a_broken_or_missing_file_gives_none(tmp_path) -> None:
    path = tmp_path / "ahead.pickle"
    save_keyed(path, {"k1": ("a", 1), "k2": None})
    assert load_keyed(path) == {"k1": ("a", 1), "k2": None}
    assert not path.with_suffix(".partial").exists()
    path.write_bytes(b"\x80\x05 not a whole pickle")
    assert load_keyed(path) == {}
    assert load_keyed(tmp_path / "missing.pickle") == {}
