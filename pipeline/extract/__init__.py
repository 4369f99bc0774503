"""Extract: one fetched HTML page → an ``ExtractedArticle`` (``page``): body (``body``), field parsers
(``fields``), how far its date can be trusted (``date_confidence``), and pages that are not articles
(``page_kind``: consent, paywall, challenge, login, error)."""
