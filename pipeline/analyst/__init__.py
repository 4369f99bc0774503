"""Analyst: read-only queries over the views (``queries``), the comparison table and exports
(``compare``), the HTML report (``report``, ``report_charts``, ``templates/``), and the story listing."""
