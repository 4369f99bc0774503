"""Templates of the replay world: article pages in several markup styles, feeds, sitemaps, robots.txt.

Each function takes plain values and returns text; encoding to bytes happens in sites.py.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from html import escape

from .content import Article, Feed, Outlet

SPANISH_MONTHS = [
    "enero",
    "febrero",
    "marzo",
    "abril",
    "mayo",
    "junio",
    "julio",
    "agosto",
    "septiembre",
    "octubre",
    "noviembre",
    "diciembre",
]
LOCAL_OFFSET = timedelta(hours=-6)  # Mexico City and US Central (CST) in late November
FEED_MIME = {
    "rss2-teaser": "application/rss+xml",
    "rss2-full": "application/rss+xml",
    "atom": "application/atom+xml",
    "jsonfeed": "application/feed+json",
    "rdf": "application/rdf+xml",
}


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _json_script(data: dict) -> str:
    # "</" inside JSON would close the <script> element early (markup-injection fault).
    return json.dumps(data, ensure_ascii=False, indent=1).replace("</", "<\\/")


def spanish_visible_date(moment: datetime) -> str:
    local = moment.astimezone(UTC) + LOCAL_OFFSET
    return f"{local.day} de {SPANISH_MONTHS[local.month - 1]} de {local.year}, {local:%H:%M}"


def english_visible_date(moment: datetime) -> str:
    local = moment.astimezone(UTC) + LOCAL_OFFSET
    hour = local.hour % 12 or 12
    meridiem = "a.m." if local.hour < 12 else "p.m."
    return f"{local:%b}. {local.day}, {local.year}, {hour}:{local:%M} {meridiem} CST"


def byline_text(authors: tuple[str, ...], language: str) -> str:
    if not authors:
        return ""
    conjunction, lead = (" y ", "Por ") if language == "es" else (" and ", "By ")
    names = authors[0] if len(authors) == 1 else ", ".join(authors[:-1]) + conjunction + authors[-1]
    return lead + names


def _person_list(authors) -> list[dict]:
    return [{"@type": "Person", "name": name} for name in authors]


def _news_article_ld(article: Article, outlet: Outlet, url: str, with_body: bool) -> dict:
    data = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "mainEntityOfPage": url,
        "headline": article.headline,
        "description": article.dek,
        "inLanguage": article.language,
        "datePublished": iso(article.published),
        "dateModified": iso(article.modified or article.published),
        "author": _person_list(article.authors),
        "articleSection": article.section,
        "publisher": {"@type": "Organization", "name": outlet.name},
    }
    if with_body:
        data["articleBody"] = "\n\n".join(article.paragraphs)
    return data


def _graph_ld(article: Article, outlet: Outlet, url: str, base: str) -> dict:
    author_ids = [f"{base}/#/person/{i}" for i in range(len(article.authors))]
    return {
        "@context": "https://schema.org",
        "@graph": [
            {"@type": "WebSite", "@id": f"{base}/#website", "name": outlet.name, "url": base + "/"},
            {
                "@type": "WebPage",
                "@id": url,
                "url": url,
                "name": article.headline,
                "isPartOf": {"@id": f"{base}/#website"},
            },
            {
                "@type": "NewsArticle",
                "@id": url + "#article",
                "isPartOf": {"@id": url},
                "headline": article.headline,
                "description": article.dek,
                "datePublished": iso(article.published),
                "dateModified": iso(article.modified or article.published),
                "inLanguage": article.language,
                "author": [{"@id": pid} for pid in author_ids],
                "publisher": {"@id": f"{base}/#org"},
            },
            {"@type": "NewsMediaOrganization", "@id": f"{base}/#org", "name": outlet.name},
            *(
                {"@type": "Person", "@id": pid, "name": name}
                for pid, name in zip(author_ids, article.authors, strict=True)
            ),
        ],
    }


def head_metadata(article: Article, outlet: Outlet, url: str, base: str) -> str:
    """Structured metadata in the page head, by the outlet's markup style."""
    if outlet.markup in ("json-ld-body", "json-ld-nobody"):
        data = _news_article_ld(article, outlet, url, with_body=outlet.markup == "json-ld-body")
        return f'<script type="application/ld+json">{_json_script(data)}</script>'
    if outlet.markup == "json-ld-graph":
        return f'<script type="application/ld+json">{_json_script(_graph_ld(article, outlet, url, base))}</script>'
    if outlet.markup == "opengraph":
        metas = [
            ("property", "og:type", "article"),
            ("property", "og:title", article.headline),
            ("property", "og:description", article.dek),
            ("property", "og:url", url),
            ("property", "og:site_name", outlet.name),
            ("property", "article:published_time", iso(article.published)),
            ("property", "article:modified_time", iso(article.modified or article.published)),
            ("property", "article:section", article.section),
            ("name", "author", ", ".join(article.authors)),
            ("name", "description", article.dek),
        ]
        return "\n".join(f'<meta {attr}="{name}" content="{escape(value)}">' for attr, name, value in metas)
    return f'<meta name="description" content="{escape(article.dek)}">'


def visible_byline_and_date(article: Article, outlet: Outlet) -> str:
    """What readers see under the headline; microdata and plain pages carry their metadata here."""
    byline = escape(byline_text(article.authors, article.language))
    if outlet.markup == "microdata":
        people = " y ".join(
            f'<span itemprop="author" itemscope itemtype="https://schema.org/Person">'
            f'<span itemprop="name">{escape(name)}</span></span>'
            for name in article.authors
        )
        return (
            f'<p class="byline">Por {people}</p>\n<p class="fecha"><time itemprop="datePublished" '
            f'datetime="{iso(article.published)}">{spanish_visible_date(article.published)}</time></p>'
        )
    if outlet.markup == "plain" and article.language == "es":
        return (
            f'<p class="autor">{byline}</p>\n<p class="fecha">{spanish_visible_date(article.published)}</p>'
        )
    if outlet.markup == "plain":
        return f'<div class="byline">{byline}<br>Published {english_visible_date(article.published)}</div>'
    return (
        f'<p class="byline">{byline}</p>\n<time class="published" datetime="{iso(article.published)}">'
        f"{article.published:%B %d, %Y %H:%M} UTC</time>"
    )


def _headline_html(article: Article, outlet: Outlet) -> str:
    # The Liberty Ledger's CMS does not escape headlines (markup-injection fault); everyone else does.
    text = article.headline if outlet.slug == "liberty-ledger" else escape(article.headline)
    itemprop = ' itemprop="headline"' if outlet.markup == "microdata" else ""
    return f"<h1{itemprop}>{text}</h1>"


def _body_html(article: Article, outlet: Outlet) -> str:
    paragraphs = list(article.paragraphs)
    if article.dateline and paragraphs:
        paragraphs[0] = f"{article.dateline} {paragraphs[0]}"
    itemprop = ' itemprop="articleBody"' if outlet.markup == "microdata" else ""
    inner = "\n".join(f"<p>{escape(p)}</p>" for p in paragraphs)
    return f'<div class="article-body"{itemprop}>\n{inner}\n</div>'


def _boilerplate_top(outlet: Outlet, language: str) -> str:
    cookie = (
        "Usamos cookies para mejorar tu experiencia. <button>Aceptar</button>"
        if language == "es"
        else "We use cookies to improve your experience. <button>Accept all</button>"
    )
    sections = (
        "Portada Nacional Internacional Deportes Opinión"
        if language == "es"
        else "Home World Politics Business Sports Opinion"
    ).split()
    nav = " ".join(f'<a href="/section/{s.lower()}">{s}</a>' for s in sections)
    return (
        f'<div id="cookie-banner" class="cookie-consent">{cookie}</div>\n'
        f'<header><a class="logo" href="/">{escape(outlet.name)}</a><nav>{nav}</nav>'
        f'<p class="tagline">{escape(outlet.tagline)}</p></header>'
    )


def _boilerplate_bottom(outlet: Outlet, language: str, related: list[tuple[str, str]]) -> str:
    heading, comments = (
        ("Notas relacionadas", "Comentarios") if language == "es" else ("Related coverage", "Comments")
    )
    links = "\n".join(f'<li><a href="{escape(u)}">{escape(t)}</a></li>' for t, u in related)
    return (
        f'<aside class="related"><h2>{heading}</h2><ul>\n{links}\n</ul></aside>\n'
        f'<section class="comments"><h2>{comments} (2)</h2>'
        '<div class="comment"><b>reader_1987</b>: First!</div>'
        '<div class="comment"><b>viewfromthevalley</b>: Who is paying for all this?</div></section>\n'
        f"<footer><p>&copy; 2025 {escape(outlet.name)}. All rights reserved.</p>"
        '<a href="/privacy">Privacy</a> <a href="/terms">Terms</a> <a href="/contact">Contact</a></footer>'
    )


def freshness_widget(article: Article, state: int) -> str:
    """Share count and "updated N minutes ago": a trivial change when the article is labelled so."""
    trivial = bool(article.state2.get("trivial"))
    minutes, shares = ((47, 3877) if state == 2 else (5, 1204)) if trivial else (None, 311)
    updated = f'<span class="updated">Updated {minutes} minutes ago</span> ' if minutes else ""
    return f'<div class="share-bar">{updated}<span class="shares">{shares:,} shares</span></div>'


def article_page(
    article: Article,
    outlet: Outlet,
    *,
    url: str,
    base: str,
    state: int,
    charset: str,
    amp_url: str | None,
    related: list[tuple[str, str]],
    feed_links: str,
) -> str:
    charset_meta = {
        "header": f'<meta charset="{charset}">',
        "none": "",
        "meta": f'<meta http-equiv="Content-Type" content="text/html; charset={charset}">',
    }
    amp_link = f'<link rel="amphtml" href="{escape(amp_url)}">' if amp_url else ""
    scope = ' itemscope itemtype="https://schema.org/NewsArticle"' if outlet.markup == "microdata" else ""
    return f"""<!DOCTYPE html>
<html lang="{article.language}">
<head>
{charset_meta[article.charset_declared]}
<title>{escape(article.headline)} | {escape(outlet.name)}</title>
<link rel="canonical" href="{escape(url)}">
{amp_link}
{feed_links}
{head_metadata(article, outlet, url, base)}
<script>window.dataLayer = window.dataLayer || []; dataLayer.push({{"page": "article"}});</script>
</head>
<body>
{_boilerplate_top(outlet, article.language)}
<main>
<article{scope}>
{_headline_html(article, outlet)}
<p class="dek">{escape(article.dek)}</p>
{visible_byline_and_date(article, outlet)}
{_body_html(article, outlet)}
{freshness_widget(article, state)}
</article>
{_boilerplate_bottom(outlet, article.language, related)}
</main>
</body>
</html>
"""


def amp_page(article: Article, outlet: Outlet, *, canonical_url: str, base: str) -> str:
    return f"""<!doctype html>
<html amp lang="{article.language}">
<head>
<meta charset="utf-8">
<title>{escape(article.headline)}</title>
<link rel="canonical" href="{escape(canonical_url)}">
<meta name="viewport" content="width=device-width,minimum-scale=1,initial-scale=1">
{head_metadata(article, outlet, canonical_url, base)}
<style amp-boilerplate>body{{visibility:hidden}}</style>
</head>
<body>
<header><a href="/">{escape(outlet.name)}</a></header>
<article>
<h1>{escape(article.headline)}</h1>
<p class="dek">{escape(article.dek)}</p>
{visible_byline_and_date(article, outlet)}
{_body_html(article, outlet)}
</article>
</body>
</html>
"""


def feed_autodiscovery(outlet: Outlet, base: str) -> str:
    return "\n".join(
        f'<link rel="alternate" type="{FEED_MIME[f.kind]}" title="{escape(outlet.name)}" '
        f'href="{base}{f.path}">'
        for f in outlet.feeds
    )


def homepage(
    outlet: Outlet,
    *,
    base: str,
    clock: datetime,
    charset: str,
    teasers: list[tuple[str, str, str]],
    extra_links: list[tuple[str, str]],
) -> str:
    items = "\n".join(
        f'<li class="teaser"><a href="{escape(u)}">{escape(t)}</a><p>{escape(d)}</p></li>'
        for t, u, d in teasers
    )
    extras = "\n".join(f'<li><a href="{escape(u)}">{escape(t)}</a></li>' for t, u in extra_links)
    return f"""<!DOCTYPE html>
<html lang="{outlet.language}">
<head>
<meta charset="{charset}">
<title>{escape(outlet.name)} - {escape(outlet.tagline)}</title>
<link rel="canonical" href="{base}/">
{feed_autodiscovery(outlet, base)}
</head>
<body>
{_boilerplate_top(outlet, outlet.language)}
<main>
<p class="edition">Edition of {clock:%A, %d %B %Y}</p>
<ul class="top-stories">
{items}
</ul>
<ul class="more">
{extras}
</ul>
</main>
{_boilerplate_bottom(outlet, outlet.language, [])}
</body>
</html>
"""


def robots_txt(outlet: Outlet, base: str, sitemap_paths: list[str]) -> str:
    lines = [
        "User-agent: *",
        *(f"Disallow: {path}" for path in outlet.robots_disallow),
        "",
        "User-agent: GPTBot",
        "Disallow: /",
        "",
    ]
    lines += [f"Sitemap: {base}{path}" for path in sitemap_paths]
    return "\n".join(lines) + "\n"


# Feeds: each item is (article, link) where link may carry tracking parameters.


def _rfc822(moment: datetime) -> str:
    return format_datetime(moment.astimezone(UTC), usegmt=True)


def rss2(outlet: Outlet, feed: Feed, base: str, clock: datetime, items, encoding: str) -> str:
    full = feed.kind == "rss2-full"
    entries = []
    for article, link in items:
        creators = "".join(f"<dc:creator>{escape(a)}</dc:creator>" for a in article.authors)
        body = "".join(f"<p>{escape(p)}</p>" for p in article.paragraphs)
        content = f"<content:encoded><![CDATA[{body}]]></content:encoded>" if full else ""
        entries.append(
            f"<item><title>{escape(article.headline)}</title><link>{escape(link)}</link>"
            f'<guid isPermaLink="false">{escape(outlet.slug)}:{escape(article.id)}</guid>'
            f"<pubDate>{_rfc822(article.published)}</pubDate>{creators}"
            f"<category>{escape(article.section)}</category>"
            f"<description>{escape(article.dek)}</description>{content}</item>"
        )
    return (
        f'<?xml version="1.0" encoding="{encoding}"?>\n'
        '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:atom="http://www.w3.org/2005/Atom">\n<channel>'
        f"<title>{escape(outlet.name)}</title><link>{base}/</link>"
        f"<description>{escape(outlet.tagline)}</description><language>{feed.language or outlet.language}</language>"
        f'<atom:link href="{base}{feed.path}" rel="self" type="application/rss+xml"/>'
        f"<lastBuildDate>{_rfc822(clock)}</lastBuildDate>\n" + "\n".join(entries) + "\n</channel>\n</rss>\n"
    )


def atom(outlet: Outlet, feed: Feed, base: str, clock: datetime, items, encoding: str) -> str:
    entries = []
    for article, link in items:
        authors = "".join(f"<author><name>{escape(a)}</name></author>" for a in article.authors)
        entries.append(
            f"<entry><id>tag:{outlet.slug}.example,2025:{escape(article.id)}</id>"
            f"<title>{escape(article.headline)}</title>"
            f'<link rel="alternate" type="text/html" href="{escape(link)}"/>'
            f"<published>{iso(article.published)}</published>"
            f"<updated>{iso(article.modified or article.published)}</updated>{authors}"
            f"<summary>{escape(article.dek)}</summary></entry>"
        )
    return (
        f'<?xml version="1.0" encoding="{encoding}"?>\n<feed xmlns="http://www.w3.org/2005/Atom" '
        f'xml:lang="{feed.language or outlet.language}">'
        f"<id>{base}/</id><title>{escape(outlet.name)}</title><updated>{iso(clock)}</updated>"
        f'<link rel="self" href="{base}{feed.path}"/><link rel="alternate" href="{base}/"/>\n'
        + "\n".join(entries)
        + "\n</feed>\n"
    )


def json_feed(outlet: Outlet, feed: Feed, base: str, clock: datetime, items, encoding: str) -> str:
    data = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": outlet.name,
        "home_page_url": base + "/",
        "feed_url": base + feed.path,
        "language": feed.language or outlet.language,
        "items": [
            {
                "id": f"{outlet.slug}:{a.id}",
                "url": link,
                "title": a.headline,
                "summary": a.dek,
                "date_published": iso(a.published),
                "date_modified": iso(a.modified or a.published),
                "authors": [{"name": name} for name in a.authors],
                "tags": [a.section],
            }
            for a, link in items
        ],
    }
    return json.dumps(data, ensure_ascii=False, indent=1)


def rdf(outlet: Outlet, feed: Feed, base: str, clock: datetime, items, encoding: str) -> str:
    seq = "".join(f'<rdf:li rdf:resource="{escape(link)}"/>' for _, link in items)
    entries = "\n".join(
        f'<item rdf:about="{escape(link)}"><title>{escape(a.headline)}</title><link>{escape(link)}</link>'
        f"<description>{escape(a.dek)}</description><dc:date>{iso(a.published)}</dc:date>"
        + "".join(f"<dc:creator>{escape(name)}</dc:creator>" for name in a.authors)
        + f"<dc:language>{a.language}</dc:language></item>"
        for a, link in items
    )
    return (
        f'<?xml version="1.0" encoding="{encoding}"?>\n'
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/">\n'
        f'<channel rdf:about="{base}{feed.path}"><title>{escape(outlet.name)}</title><link>{base}/</link>'
        f"<description>{escape(outlet.tagline)}</description><dc:date>{iso(clock)}</dc:date>"
        f"<items><rdf:Seq>{seq}</rdf:Seq></items></channel>\n{entries}\n</rdf:RDF>\n"
    )


FEED_RENDERERS = {"rss2-teaser": rss2, "rss2-full": rss2, "atom": atom, "jsonfeed": json_feed, "rdf": rdf}


def news_sitemap(outlet: Outlet, entries, encoding: str) -> str:
    urls = "\n".join(
        f"<url><loc>{escape(url)}</loc><lastmod>{iso(a.modified or a.published)}</lastmod><news:news>"
        f"<news:publication><news:name>{escape(outlet.name)}</news:name><news:language>{a.language}"
        f"</news:language></news:publication><news:publication_date>{iso(a.published)}"
        f"</news:publication_date><news:title>{escape(a.headline)}</news:title></news:news></url>"
        for a, url in entries
    )
    return (
        f'<?xml version="1.0" encoding="{encoding}"?>\n<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
        f'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">\n{urls}\n</urlset>\n'
    )


def url_sitemap(entries, encoding: str) -> str:
    urls = "\n".join(
        f"<url><loc>{escape(url)}</loc><lastmod>{iso(a.modified or a.published)}</lastmod></url>"
        for a, url in entries
    )
    return (
        f'<?xml version="1.0" encoding="{encoding}"?>\n'
        f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n{urls}\n</urlset>\n'
    )


def sitemap_index(sitemap_urls: list[str], clock: datetime) -> str:
    maps = "\n".join(
        f"<sitemap><loc>{escape(u)}</loc><lastmod>{iso(clock)}</lastmod></sitemap>" for u in sitemap_urls
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n{maps}\n</sitemapindex>\n'
    )


# Broken pages (state 3, content/breaks.yaml): what real sites serve when they break for a crawler.


def app_shell_article_page(
    article: Article,
    outlet: Outlet,
    *,
    url: str,
    charset: str,
    related: list[tuple[str, str]],
    feed_links: str,
) -> str:
    """A redesign that moves the body into a script data island a browser renders into a new container,
    and drops every date (no structured data, no ``<time>``): what a crawler reading HTML gets of it."""
    island = {
        "story": {"id": article.id, "blocks": [{"type": "paragraph", "text": p} for p in article.paragraphs]}
    }
    byline = escape(byline_text(article.authors, article.language))
    return f"""<!DOCTYPE html>
<html lang="{article.language}">
<head>
<meta charset="{charset}">
<title>{escape(article.headline)} | {escape(outlet.name)}</title>
<link rel="canonical" href="{escape(url)}">
{feed_links}
<meta name="description" content="{escape(article.dek)}">
<script src="/static/story-v2.js" defer></script>
</head>
<body>
{_boilerplate_top(outlet, article.language)}
<main>
<div id="story-root" class="story-v2" data-layout="v2">
<h1 class="story-v2__headline">{escape(article.headline)}</h1>
<p class="story-v2__dek">{escape(article.dek)}</p>
<p class="story-v2__byline">{byline}</p>
<div class="story-v2__body" data-hydrate="story"></div>
</div>
<script id="__STORY_STATE__" type="application/json">{_json_script(island)}</script>
{_boilerplate_bottom(outlet, article.language, related)}
</main>
</body>
</html>
"""


CHALLENGE_TEXT = {
    "en": ("Just a moment...", "Checking your browser before accessing {host}.",
           "This process is automatic. Your browser will redirect to your requested content shortly.",
           "Please enable JavaScript and cookies to continue."),
    "es": ("Un momento...", "Comprobando su navegador antes de acceder a {host}.",
           "Este proceso es automático. Su navegador le llevará al contenido solicitado en breve.",
           "Habilite JavaScript y las cookies para continuar."),
}  # fmt: skip


def challenge_page(outlet: Outlet, host: str, ray: str) -> str:
    """A bot-management challenge answered with status 200 instead of the article."""
    title, checking, automatic, enable = CHALLENGE_TEXT[outlet.language]
    return f"""<!DOCTYPE html>
<html lang="{outlet.language}">
<head><meta charset="utf-8"><title>{title}</title><meta name="robots" content="noindex,nofollow"></head>
<body>
<div class="main-wrapper" role="main"><div class="main-content">
<h1 class="zone-name-title">{escape(host)}</h1>
<h2 class="challenge-title">{checking.format(host=escape(host))}</h2>
<p>{automatic}</p>
<noscript><p class="challenge-error">{enable}</p></noscript>
<div id="challenge-stage"></div>
</div></div>
<div class="footer">Ray ID: <code>{ray}</code> &middot; Performance &amp; security by EdgeShield</div>
<script>(function(){{window._cf_chl_opt={{cRay: "{ray}"}};}})();</script>
</body>
</html>
"""


CONSENT_TEXT = {
    "en": ("Before you continue", "We value your privacy",
           "We and our 142 partners store and/or access information on a device, such as cookies, and "
           "process personal data, such as unique identifiers and standard information sent by a device, "
           "for personalised advertising and content, audience measurement and product development.",
           "You can accept all cookies, reject them, or change your privacy choices at any time from the "
           "cookie settings link at the foot of every page.",
           ("Accept all cookies", "Reject all", "Cookie settings")),
    "es": ("Antes de continuar", "Valoramos tu privacidad",
           "Nosotros y nuestros 142 socios almacenamos o accedemos a información en un dispositivo, como "
           "las cookies, y tratamos datos personales, como identificadores únicos e información estándar "
           "enviada por un dispositivo, para publicidad y contenido personalizados y medición de audiencias.",
           "Puedes aceptar todas las cookies, rechazarlas o cambiar tus preferencias de privacidad en "
           "cualquier momento desde el enlace de configuración de cookies al pie de cada página.",
           ("Aceptar todas las cookies", "Rechazar todas", "Configuración de cookies")),
}  # fmt: skip


def consent_page(outlet: Outlet) -> str:
    """A cookie-consent interstitial served instead of the article to a client without consent."""
    title, heading, partners, choices, buttons = CONSENT_TEXT[outlet.language]
    controls = "\n".join(f'<button type="button">{label}</button>' for label in buttons)
    return f"""<!DOCTYPE html>
<html lang="{outlet.language}">
<head><meta charset="utf-8"><title>{title} | {escape(outlet.name)}</title></head>
<body class="consent-wall">
<div class="consent-dialog" role="dialog" aria-modal="true">
<a class="logo" href="/">{escape(outlet.name)}</a>
<h1>{heading}</h1>
<p>{partners}</p>
<p>{choices}</p>
{controls}
</div>
</body>
</html>
"""
