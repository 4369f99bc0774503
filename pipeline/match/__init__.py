"""Match: each new or changed article decided against every story at once (``stories``), the evidence
rules (``relevance``), and the decisions, backfill and re-match in the warehouse (``store``)."""
