"""Health: each outlet's measures per cycle (``measures``), drift against its own baseline and the
incidents it opens and closes (``drift``), the warehouse side (``store``), the operator's emails
(``notice``) and ``framewatch health``'s table (``listing``)."""
