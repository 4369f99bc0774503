"""Dedupe: MinHash signatures and which copy is original (``copies``, pure), the persisted LSH index
that clusters syndicated copies (``syndication``), and translated copies across languages
(``translation``, ``translation_store``)."""
