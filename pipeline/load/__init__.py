"""Load: idempotent upserts into the warehouse keyed by natural keys (``warehouse``), and loading a batch
so that one refused article cannot lose the others (``isolation``)."""
