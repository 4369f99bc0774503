"""The replay world's truth file: what a correct crawl of the world must find, derived from its content.

Keyed by canonical URL; every value is derived from the same data the server renders, so it cannot drift.
"""

from __future__ import annotations

import re

from .content import STATE_CLOCK, Article, load_outlets
from .render import iso

SCRIPT_ELEMENT = re.compile(r"<script\b.*?</script>", re.IGNORECASE | re.DOTALL)
NEVER_STORED_FAULTS = ("not-found", "redirect-to-internal", "huge-page", "robots-disallowed")
FIRST_STORY = "mexico-cartel-intervention"  # the story that ``kind: story`` articles cover


def expected_headline(raw: str) -> str:
    """The headline a careful pipeline stores: script elements gone, whitespace (CR/LF too) collapsed."""
    return " ".join(SCRIPT_ELEMENT.sub("", raw).split())


def _body_change(article: Article) -> str:
    if "add_paragraph" in article.state2:
        return "material"
    return "trivial" if article.state2.get("trivial") else "none"


def _versions(article: Article) -> dict:
    versions = {}
    for state in (1, 2):
        if article.exists_in(state):
            served = article.in_state(state)
            versions[str(state)] = {
                "headline": expected_headline(served.headline),
                "body_change": "none" if state == 1 else _body_change(article),
                "headline_changed": state == 2 and served.headline != article.headline,
            }
    return versions


def _syndication_groups(articles) -> dict[str, str]:
    copied = {a.syndicates for a in articles if a.syndicates}
    return {a.id: a.syndicates or a.id for a in articles if a.syndicates or a.id in copied}


def story_slugs(article: Article) -> list[str]:
    """Every story the article is coverage of: the first story for ``kind: story``, then its listed ones."""
    first = [FIRST_STORY] if article.kind == "story" else []
    return list(dict.fromkeys(first + list(article.stories)))


def _article_truth(catalogue, article: Article, groups: dict[str, str]) -> dict:
    outlet = catalogue.outlets[article.outlet]
    url = catalogue.url_of(article)
    aliases = [url, catalogue.feed_link_of(article)]
    aliases += [
        u
        for u in (
            catalogue.amp_url_of(article),
            catalogue.bases[outlet.slug] + article.old_path if article.old_path else None,
        )
        if u
    ]
    fault = catalogue.fault_for(article.id)
    return {
        "id": article.id,
        "outlet": outlet.name,
        "outlet_configured": outlet.configured,
        "language": article.language,
        "kind": article.kind,
        "is_story": article.kind == "story",
        "stories": story_slugs(article),
        "syndication_group": groups.get(article.id),
        "syndicates": article.syndicates,
        "translates": article.translates,
        "canonical_url": url,
        "amp_url": catalogue.amp_url_of(article),
        "aliases": list(dict.fromkeys(aliases)),
        "expected_headline": expected_headline(article.headline),
        "dek": article.dek,
        "authors": list(article.authors),
        "published": iso(article.published),
        "section": article.section,
        "charset_declared": article.charset_declared if outlet.encoding != "utf-8" else "header",
        "in_query_api": article.in_gdelt,
        "fault": fault["id"] if fault else None,
        "versions": _versions(article),
    }


def _fault_truth(catalogue, fault: dict) -> dict:
    base = catalogue.bases[fault["outlet"]]
    if "article" in fault:
        article = next(a for a in catalogue.articles if a.id == fault["article"])
        url = (
            base + (article.old_path or catalogue.path_of(article))
            if fault["kind"] == "moved-permanently"
            else catalogue.url_of(article)
        )
    else:
        url = base + fault.get("path", fault.get("feed", "/"))
    return {**fault, "outlet": catalogue.outlets[fault["outlet"]].name, "url": url}


def _outlet_truth(world, outlet) -> dict:
    base = world.bases[outlet.slug]
    catalogue = world.catalogue
    return {
        "slug": outlet.slug,
        "base_url": base,
        "configured": outlet.configured,
        "language": outlet.language,
        "country": outlet.country,
        "outlet_type": outlet.outlet_type,
        "lean": outlet.lean,
        "markup": outlet.markup,
        "encoding": outlet.encoding,
        "amp": outlet.amp,
        "visible_dates_timezone": outlet.timezone_note,
        "robots_disallow": list(outlet.robots_disallow),
        "feeds": [
            {
                "kind": f.kind,
                "url": base + f.path,
                "language": f.language or outlet.language,
                "truncated": f.truncated,
            }
            for f in outlet.feeds
        ],
        "sitemaps": [
            {
                "kind": "index" if p.endswith("_index.xml") else "news" if "news" in p else "urlset",
                "url": base + p,
            }
            for p in catalogue.sitemap_paths(outlet)
        ],
        "feeds_listed_in_config": outlet.config_lists_feeds,
    }


def _state_changes(catalogue) -> dict:
    def urls(predicate):
        return sorted(catalogue.url_of(a) for a in catalogue.articles if predicate(a))

    return {
        "headline_edited": urls(lambda a: "headline" in a.state2),
        "paragraph_added": urls(lambda a: "add_paragraph" in a.state2),
        "trivial_only": urls(lambda a: a.state2.get("trivial") and len(a.state2) == 1),
        "new_in_state_2": urls(lambda a: a.only_in_state == 2),
    }


def build_truth(world) -> dict:
    catalogue = world.catalogue
    articles = list(catalogue.articles)
    if catalogue.scale:
        articles += [catalogue.scale.article(i) for i in range(catalogue.scale.size)]
    groups = _syndication_groups(articles)
    faults = [_fault_truth(catalogue, f) for f in catalogue.faults]
    return {
        "world": {
            "scale": world.scale,
            "seed": world.seed,
            "outlets": world.outlets,
            "discovered_outlets": world.discovered_outlets,
            "query_api": world.gdelt_url,
            "internal_url": world.internal_url,
            "clock": {str(s): iso(t) for s, t in STATE_CLOCK.items()},
        },
        "articles": {catalogue.url_of(a): _article_truth(catalogue, a, groups) for a in articles},
        "faults": faults,
        "never_in_warehouse": [
            {"url": f["url"], "fault": f["id"]} for f in faults if f["kind"] in NEVER_STORED_FAULTS
        ]
        + [{"url": world.internal_url + "/admin/export?all=1", "fault": "redirect-to-internal"}],
        "outlets": {o.name: _outlet_truth(world, o) for o in load_outlets()},
        "state_changes": _state_changes(catalogue),
    }
