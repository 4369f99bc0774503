"""Speed-ups, kept apart from the stages they serve: worker pools for pure CPU-bound work (``workers``),
and results computed ahead in idle cores (``ahead``: one mechanism; ``early_extraction`` feeds it while
the crawl fetches). A stage never depends on them: it computes whatever it does not find."""
