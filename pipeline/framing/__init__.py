"""Framing: the measures of one article (``measures``: tone, frames, certainty, sources, loaded terms),
their codebooks (``lexicon``), tone (``tone``, ``tone_model``), voices (``sources``, ``voice_review``),
per-outlet comparisons (``outlets``), the warehouse side (``store``) and the model's training (``train``)."""
