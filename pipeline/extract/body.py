"""Article body: trafilatura candidates, structured-data fallbacks, and boilerplate cleaning.

trafilatura is run in its precision mode first, as it keeps related-link lists and sign-up boxes
out; its balanced mode is the evidence that precision mode did not throw the article away. A
JSON-LD ``articleBody`` or a feed's full text stand in only when the page itself yields nothing,
since those copies are often truncated teasers.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from html import unescape

import trafilatura
from lxml.html import HtmlElement

from pipeline.text import strip_tags, visible_line

_WORD = re.compile(r"\w+")
# When precision mode keeps less than this share of the balanced text, it dropped the article.
MIN_PRECISION_SHARE = 0.25
# Below this many words precision mode may have lost the article, so the balanced run is consulted.
CONFIRM_BELOW_WORDS = 150
MIN_BODY_WORDS = 25


@dataclass(frozen=True)
class BodyChoice:
    paragraphs: tuple[str, ...]
    confidence: float
    source: str


def choose_body(
    page: HtmlElement | str,
    url: str,
    jsonld_articles: tuple[Mapping, ...] = (),
    feed_content: str | None = None,
    headline: str | None = None,
    description: str | None = None,
) -> BodyChoice:
    precise = _precise_paragraphs(page, url)
    balanced = _trafilatura_paragraphs(page, url) if _needs_confirmation(precise) else None
    chosen = precise
    if balanced is not None and _word_count(precise) < MIN_PRECISION_SHARE * _word_count(balanced):
        chosen = balanced
    if isinstance(page, HtmlElement):
        chosen = add_linked_paragraphs(page, add_sibling_chunks(page, chosen))
        chosen = add_standfirst(page, chosen, description)
    cleaned = clean_paragraphs(chosen, headline)
    if _word_count(cleaned) >= MIN_BODY_WORDS:
        return BodyChoice(cleaned, _confidence(cleaned, precise, balanced), "trafilatura")
    return _fallback_body(cleaned, jsonld_articles, feed_content, headline)


def _needs_confirmation(paragraphs: tuple[str, ...]) -> bool:
    return _word_count(paragraphs) < CONFIRM_BELOW_WORDS


def _precise_paragraphs(page: HtmlElement | str, url: str) -> tuple[str, ...]:
    """trafilatura's precision mode, its comparison with readability and jusText only for a short text.

    That comparison (a third of trafilatura's time) replaces trafilatura's own text when it is empty,
    short or structurally thin, or when readability finds over twice as much; on the 330 pages of
    the two benchmark sets it never changed a text of ``CONFIRM_BELOW_WORDS`` words or more. A
    short text is what the comparison and the balanced run are for, so it is extracted again in full.
    """
    paragraphs = _trafilatura_paragraphs(page, url, favor_precision=True, fast=True)
    if _needs_confirmation(paragraphs):
        return _trafilatura_paragraphs(page, url, favor_precision=True)
    return paragraphs


def _trafilatura_paragraphs(page: HtmlElement | str, url: str, **settings) -> tuple[str, ...]:
    """The main text trafilatura finds, comments apart.

    Comments are extracted (and so kept out of the text) rather than switched off: with comments
    off, trafilatura first deletes every element whose class or id mentions comments, and on
    layouts that name the article's own wrapper that way ("article-comments-enabled") the body
    goes with them. Left-out-publisher folds showed it on publishers the rules were not written on.
    The other way round, a layout whose article sits in a comment-like block comes back as a short
    text beside long "comments": then the article is that block, and comments are switched off.
    trafilatura copies a parsed tree before cleaning it, so the caller's tree stays intact.
    """
    document = trafilatura.bare_extraction(page, url=url or None, include_comments=True, **settings)
    text, comments = (document.text or "", document.comments or "") if document is not None else ("", "")
    if len(comments) > len(text):
        text = trafilatura.extract(page, url=url or None, include_comments=False, **settings) or ""
    return tuple(p.strip() for p in text.split("\n") if p.strip())


def _fallback_body(cleaned, jsonld_articles, feed_content, headline) -> BodyChoice:
    for body_text, source in ((_jsonld_body(jsonld_articles), "json-ld"), (feed_content, "feed")):
        paragraphs = clean_paragraphs(split_paragraphs(body_text or ""), headline)
        if _word_count(paragraphs) > _word_count(cleaned):
            return BodyChoice(paragraphs, 0.5 if _word_count(paragraphs) >= MIN_BODY_WORDS else 0.2, source)
    confidence = 0.2 if cleaned else 0.0
    return BodyChoice(cleaned, confidence, "trafilatura")


def _jsonld_body(articles: tuple[Mapping, ...]) -> str | None:
    bodies = [obj.get("articleBody") for obj in articles if isinstance(obj.get("articleBody"), str)]
    return max(bodies, key=len) if bodies else None


def split_paragraphs(text: str) -> tuple[str, ...]:
    """Paragraphs of a JSON-LD articleBody or a feed's content: HTML in a string, so its tags end
    paragraphs and its entities are decoded, once, after the tags are gone ("&lt;b&gt;" is text)."""
    text = unescape(strip_tags(text, "\n"))
    return tuple(p.strip() for p in re.split(r"\n+", text) if p.strip())


def _word_count(paragraphs: tuple[str, ...] | None) -> int:
    return sum(len(_WORD.findall(p)) for p in paragraphs or ())


def _confidence(cleaned, precise, balanced) -> float:
    """Share of the balanced run the chosen text agrees with, scaled down for very short bodies."""
    length_factor = min(1.0, _word_count(cleaned) / 150)
    if balanced is None:
        return round(0.9 * length_factor + 0.1, 3)  # long precision-mode text: strong on its own
    agreement = _word_count(precise) / max(1, _word_count(balanced))
    return round(min(1.0, agreement) * length_factor, 3)


# ---------------------------------------------------------------- paragraphs with links

# trafilatura's precision mode deletes every <div> shorter than 200 characters that holds a link
# and any child element, whatever share of its text the link is (balanced mode: under 100
# characters and at least three children). Layouts that wrap each paragraph in its own <div> (a
# "text block") so lose every short paragraph with an inline link, in the middle of the article.
# Leave-publisher-out folds showed it as recall lost to trafilatura's balanced mode.
# A dropped block comes back when it lies between blocks that were kept, has the markup of a kept
# block (the article's own paragraph layout, not an embed's consent notice or a newsletter box)
# and holds a link that is not all of its text. Link lines ("Read more: <headline>") are almost
# all link and stay out; the page's edges (breadcrumbs, bios, copyright, comment prompts), where
# the rule's deletions are right, are never reached.
# The link share was chosen by leave-publisher-out folds (bench/body_tuning.py): each fold held out
# in turn, the share that scores best on the other four is 0.9, the same for every fold.
MAX_RECOVERED_LINK_SHARE = 0.9
# A text block is the innermost <p> or <div>: nothing block-level inside it, only text and inline
# markup. trafilatura's paragraphs are these blocks' texts (or a part of one, split at <br>).
_BLOCK_TAGS = ("p", "div", "section", "article", "ul", "ol", "li", "table", "blockquote", "figure")
_BLOCK_TAGS += ("h1", "h2", "h3", "h4", "h5", "h6", "header", "footer", "aside", "nav", "form")


def add_linked_paragraphs(tree: HtmlElement, paragraphs: tuple[str, ...]) -> tuple[str, ...]:
    """``paragraphs`` with the partly linked blocks precision mode dropped between them put back."""
    if len(paragraphs) < 2:
        return paragraphs
    normalised = [_normalise(p) for p in paragraphs]
    kept_shingles = {s for text in normalised for s in _shingles(text)}
    blocks = _text_blocks(tree)
    placed = _place_blocks(blocks, normalised, kept_shingles)
    if len(placed) < 2:
        return paragraphs
    inserts = _dropped_between(blocks, placed, kept_shingles)
    merged: list[str] = []
    for index, paragraph in enumerate(paragraphs):
        merged.append(paragraph)
        merged.extend(inserts.get(index, ()))
    return tuple(merged)


def _dropped_between(
    blocks: list[tuple[HtmlElement, str]], placed: dict[int, int], kept_shingles: set[tuple[str, ...]]
) -> dict[int, list[str]]:
    """{paragraph number: the dropped blocks to put after it}, from the first kept block to the last."""
    kept_markup = {_markup(blocks[number][0]) for number in placed}
    inserts: dict[int, list[str]] = {}
    kept_before = placed[min(placed)]
    for number in range(min(placed), max(placed)):
        element, text = blocks[number]
        if number in placed:
            kept_before = placed[number]
        elif (
            _markup(element) in kept_markup
            and _partly_linked(element)
            and not _already_kept(_normalise(text), kept_shingles)
        ):
            inserts.setdefault(kept_before, []).append(" ".join(text.split()))
    return inserts


def _text_blocks(tree: HtmlElement) -> list[tuple[HtmlElement, str]]:
    """(block, its text) for every innermost <p> or <div> with text, in document order.

    Every ancestor of a block-level element is marked once (the climb stops at a marked one), so
    the page is walked twice however deep it nests."""
    outer: set[HtmlElement] = set()
    for element in tree.iter(_BLOCK_TAGS):
        for ancestor in element.iterancestors():
            if ancestor in outer:
                break
            outer.add(ancestor)
    blocks = []
    for element in tree.iter("p", "div"):
        if element not in outer and not (text := element.text_content()).isspace() and text:
            blocks.append((element, text))
    return blocks


def _place_blocks(
    blocks: list[tuple[HtmlElement, str]], normalised: list[str], kept_shingles: set[tuple[str, ...]]
) -> dict[int, int]:
    """{block number: paragraph number} for the blocks whose text is a kept paragraph or part of
    one, matched in document order (a paragraph number never goes back). A block whose first three
    words are nowhere in the kept text is passed over without a search (most of a page's blocks);
    a block of one or two words is placed only as a whole kept paragraph of its own (a short
    heading, or a line of text written without spaces)."""
    placed: dict[int, int] = {}
    position = 0
    for number, (_, text) in enumerate(blocks):
        opening = _opening(text)
        if not opening or opening not in kept_shingles:
            continue
        whole = _normalise(text)
        index = next((i for i in range(position, len(normalised)) if whole in normalised[i]), None)
        if index is not None:
            placed[number] = position = index
    return placed


def _markup(element: HtmlElement) -> tuple:
    parent = element.getparent()
    return element.tag, element.get("class"), parent.tag, parent.get("class")


def _shingles(normalised: str) -> set[tuple[str, ...]]:
    words = normalised.split()
    return {tuple(words[i : i + 3]) for i in range(max(1, len(words) - 2))} if words else set()


_OPENING_CHARS = 200


def _opening(text: str) -> tuple[str, ...]:
    """A block's first three words, read from its first characters: most blocks are never read whole."""
    words = _normalise(text[:_OPENING_CHARS]).split(maxsplit=3)
    if len(words) < 4 and len(text) > _OPENING_CHARS:  # the cut may have split the third word
        words = _normalise(text).split(maxsplit=3)
    return tuple(words[:3])


def _already_kept(normalised: str, kept_shingles: set[tuple[str, ...]]) -> bool:
    """Most of the block is in the kept text already (split over lines, or spelled apart by inline
    markup): putting it back would repeat it."""
    own = _shingles(normalised)
    return len(own & kept_shingles) >= 0.5 * len(own)


def _partly_linked(element: HtmlElement) -> bool:
    link_chars = sum(len(" ".join(link.text_content().split())) for link in element.iter("a"))
    return 0 < link_chars <= MAX_RECOVERED_LINK_SHARE * len(" ".join(element.text_content().split()))


# ---------------------------------------------------------------- chunked layouts

# Some layouts split one article into sibling blocks of identical markup (a body chunk, an ad rail,
# the next body chunk); trafilatura keeps the first. Siblings are accepted only when they hold
# prose (long paragraphs), so lists of teasers sharing a layout class stay out.
MIN_CHUNK_PARAGRAPH_WORDS = 35
MAX_CHUNK_LEVELS = 3
_OUTSIDE_PROSE = ("aside", "figure", "figcaption", "nav", "footer")


def add_sibling_chunks(tree: HtmlElement, paragraphs: tuple[str, ...]) -> tuple[str, ...]:
    container = _body_container(tree, paragraphs)
    chunks = _same_markup_siblings(container) if container is not None else []
    if len(chunks) < 2:
        return paragraphs
    seen = {_normalise(p) for p in paragraphs}
    extra = {id(chunk): _prose_paragraphs(chunk, seen) for chunk in chunks if chunk is not container}
    added = [p for texts in extra.values() for p in texts]
    if not added or _word_count(tuple(added)) / len(added) < MIN_CHUNK_PARAGRAPH_WORDS:
        return paragraphs
    merged: list[str] = []
    for chunk in chunks:
        merged.extend(paragraphs if chunk is container else extra[id(chunk)])
    return tuple(merged)


def _body_container(tree: HtmlElement, paragraphs: tuple[str, ...]) -> HtmlElement | None:
    """The closest classed ancestor of the body's first and last paragraphs that repeats as a sibling."""
    if not paragraphs:
        return None
    first, last = _paragraph_elements(tree, paragraphs[0], paragraphs[-1])
    if first is None or last is None:
        return None
    last_ancestors = set(last.iterancestors())
    container = next((a for a in first.iterancestors() if a in last_ancestors), None)
    for _ in range(MAX_CHUNK_LEVELS):
        if container is None or container.getparent() is None:
            return None
        if container.get("class") and len(_same_markup_siblings(container)) >= 2:
            return container
        container = container.getparent()
    return None


def _same_markup_siblings(element: HtmlElement) -> list[HtmlElement]:
    signature = (element.tag, element.get("class"))
    return [s for s in element.getparent() if (s.tag, s.get("class")) == signature]


def _paragraph_elements(
    tree: HtmlElement, first_paragraph: str, last_paragraph: str
) -> tuple[HtmlElement | None, HtmlElement | None]:
    """The first <p> holding each of the two paragraphs: one walk over the page's paragraphs."""
    wanted_first, wanted_last = _normalise(first_paragraph), _normalise(last_paragraph)
    first = last = None
    for element in tree.iter("p"):
        text = _normalise(element.text_content())
        first = element if first is None and text == wanted_first else first
        last = element if last is None and text == wanted_last else last
        if first is not None and last is not None:
            break
    return first, last


def _prose_paragraphs(chunk: HtmlElement, seen: set[str]) -> list[str]:
    texts = []
    for p in chunk.iter("p"):
        if any(a.tag in _OUTSIDE_PROSE for a in p.iterancestors()):
            continue
        text = " ".join(p.text_content().split())
        if text and _normalise(text) not in seen:
            seen.add(_normalise(text))
            texts.append(text)
    return texts


# ---------------------------------------------------------------- standfirst

# trafilatura's precision mode drops the article's <header>, and with it the standfirst many
# layouts put under the headline: the first prose paragraph of the <header> that holds the page's
# <h1> is the article's lead when the page's own description confirms it (a disclaimer or a teaser
# there does not match it). Leave-publisher-out folds showed the loss; bylines, dates and captions
# share that header, so those are passed over by their class and length.
MIN_STANDFIRST_WORDS = 12
MAX_LINK_SHARE = 0.3
_HEADER_FURNITURE = ("author", "byline", "date", "time", "meta", "credit", "caption")


def add_standfirst(
    tree: HtmlElement, paragraphs: tuple[str, ...], description: str | None
) -> tuple[str, ...]:
    header = _article_header(tree)
    if header is None or not paragraphs or not description:
        return paragraphs
    lead = next((text for text in map(_standfirst_text, header.iter("p")) if text), None)
    if lead is None or not _same_opening(lead, description):
        return paragraphs
    if _normalise(lead) in {_normalise(p) for p in paragraphs}:
        return paragraphs
    return (lead, *paragraphs)


def _same_opening(text: str, description: str) -> bool:
    """One text opens the other: descriptions are often the standfirst cut short."""
    left, right = _normalise(text), _normalise(description)
    shorter, longer = sorted((left, right), key=len)
    return len(shorter.split()) >= MIN_STANDFIRST_WORDS and longer.startswith(shorter)


def _article_header(tree: HtmlElement) -> HtmlElement | None:
    headline = next(tree.iter("h1"), None)
    if headline is None:
        return None
    return next((a for a in headline.iterancestors() if a.tag == "header"), None)


def _standfirst_text(paragraph: HtmlElement) -> str | None:
    classes = (paragraph.get("class") or "").lower()
    if any(word in classes for word in _HEADER_FURNITURE):
        return None
    text = " ".join(paragraph.text_content().split())
    links = sum(len(link.text_content()) for link in paragraph.iter("a"))
    if len(_WORD.findall(text)) < MIN_STANDFIRST_WORDS or links > MAX_LINK_SHARE * len(text):
        return None
    return text


# ---------------------------------------------------------------- cleaning

# Paragraphs that are navigation or calls to action, whatever the site: "Read more: ...",
# "Related: ...", "3 comments", "Share this", newsletter sign-ups. Written for the languages of
# the monitored coverage (English, Spanish, Portuguese).
_LINK_PREFIXES = re.compile(
    r"^(?:read more|read also|also read|see more|see also|related|related post|related articles?|more|"
    r"recommended|watch|watch more|also on [\w.]+|lee también|lea también|leer más|te puede interesar|"
    r"ver también|más información|relacionad[oa]s?|leia também|veja também|saiba mais)\s*[:|>»-]",
    re.IGNORECASE,
)
_BOILERPLATE_LINES = re.compile(
    r"^(?:\d+\s+comments?|comments?|no comments|tags?:?|share( this( article| story)?)?|"
    r"advertisement|publicidad|anuncio|don'?t miss:?|you may also like:?|continue reading|"
    r"like this story\? share it with a friend!|tell us what you think\.*|"
    r"you must log in to post a comment\.?|sign up.*newsletter.*|subscribe.*newsletter.*)$",
    re.IGNORECASE,
)
# "Headline of another story [VIDEO]": teaser links tagged with their kind.
_TAGGED_TEASER = re.compile(r"\[[A-Z][A-Z ]{2,}\]\s*\|?$")
# "Follow us on Twitter", "Email Jane at jane@outlet.com or follow her @jane": contact footers.
_CONTACT_FOOTER = re.compile(
    r"^(?:follow\b.*\b(?:twitter|facebook|instagram|youtube)\b|(?:email|write to|reach|contact)\b.*(?:@|\btwitter\b))",
    re.IGNORECASE,
)
MAX_FOOTER_WORDS = 40
_NEWSLETTER = re.compile(r"\b(newsletter|inbox|sign up|subscribe|suscr[ií]b)", re.IGNORECASE)
_TRAILING_SHARE = re.compile(r"\s*Click To Tweet$")


def clean_paragraphs(paragraphs: tuple[str, ...], headline: str | None = None) -> tuple[str, ...]:
    kept: list[str] = []
    in_link_list = False  # bullet lines right after "Related:" are that list's links
    for paragraph in _drop_leading_headline(paragraphs, headline):
        text = visible_line(_TRAILING_SHARE.sub("", paragraph)) or ""
        if in_link_list and text.startswith(("- ", "• ")):
            continue
        in_link_list = bool(_LINK_PREFIXES.match(text))
        if text and not is_boilerplate(text):
            kept.append(text)
    return tuple(kept)


def is_boilerplate(paragraph: str) -> bool:
    text = paragraph.strip()
    if _BOILERPLATE_LINES.match(text) or _LINK_PREFIXES.match(text) or _TAGGED_TEASER.search(text):
        return True
    words = len(_WORD.findall(text))
    if words <= MAX_FOOTER_WORDS and _CONTACT_FOOTER.match(text):
        return True
    return words <= 30 and len(_NEWSLETTER.findall(text)) >= 2


def _drop_leading_headline(paragraphs: tuple[str, ...], headline: str | None) -> tuple[str, ...]:
    if not headline or not paragraphs:
        return paragraphs
    title = _normalise(headline)
    start = 0
    while start < min(2, len(paragraphs)) and _normalise(paragraphs[start]) == title:
        start += 1
    return paragraphs[start:]


def _normalise(text: str) -> str:
    if not text.isascii():
        text = _INVISIBLE.sub("", text)
    return " ".join(_WORD.findall(text.casefold()))


# soft hyphens and zero-width characters split a word in the markup, not on the screen
_INVISIBLE = re.compile("[\u00ad\u200b\u200c\u200d\u2060\ufeff]")
