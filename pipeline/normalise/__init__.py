"""Normalise: canonical URL, aliases and content fingerprints of an extracted article (``canonical``),
and the hashes used as natural keys (``identity``)."""
