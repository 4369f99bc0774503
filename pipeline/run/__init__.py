"""Run: one cycle as separate idempotent stages (``cycle``; the Airflow DAG calls them one task each),
the whole cycle from the terminal (``runner``), the process stage's composition of extract, normalise and
match over a run's pages (``process``), failed runs (``status``) and stopping on SIGTERM (``termination``)."""
