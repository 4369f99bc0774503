"""Crawl: run the Scrapy project (``spiders/``) in a subprocess per shard, name the files it leaves
(``workspace``), read its WARC archive back (``archive``), and keep its state in the warehouse
(``state``: the HTTP cache, fetch log, shards)."""
