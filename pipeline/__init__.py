"""framewatch's pipeline, one folder per stage in the order the data flows:

crawl → extract → normalise → dedupe → match → load, then per story framing → alert, with health
watching the outlets and analyst serving the warehouse to people. ``run`` strings the stages into a
cycle (the CLI and the Airflow DAG call it); ``speedup`` runs a stage's pure work early in idle cores.
``config`` (YAML validated on load), ``text`` (text as a reader sees it, word folding) and ``cli`` are
shared by all.
"""
