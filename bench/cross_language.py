"""Cross-language story matching (#17, deliverable 3): does the encoder's evidence find a story's
coverage in a language its definition is not written in, without admitting its neighbours?

Each story is matched three ways: as configured (English and Spanish), defined in English only, and
defined in Spanish only (summary, key terms, entities and negative terms of the other language dropped),
each with the terms alone (``pipeline.match.relevance``'s rules, the decision before this issue) and with
the encoder's evidence (``pipeline.match.encoder_evidence``). Precision and recall are over every
article of the set against every story of it; "other language" counts only the articles written in a
language the one-language definition lacks, where the evidence can act.

Sets:
- ``world``: the replay world's 53 hand-written articles and its four stories (the truth file's labels;
  the margin was chosen here);
- ``held-out``: ``bench/heldout/relevance_*.yaml``, stories and articles written apart from the world and
  from the code (coverage in both languages, hard negatives sharing one side of each story), never used
  to choose anything.

It also prints, for every article-story pair the evidence would judge (article in a language the
definition lacks, naming one of its entities, in its window), three candidate measures and how well
each separates coverage from the rest: key-term affinity alone, minus the entities' affinity, minus the
negative terms' affinity (the one kept).

Usage: .venv/bin/python bench/cross_language.py [--json PATH] [--report] [--cycle SCALE]
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.measure import print_report  # noqa: E402
from demo.world.content import load_articles  # noqa: E402
from demo.world.truth import FIRST_STORY  # noqa: E402
from pipeline import encoder  # noqa: E402
from pipeline.config import StoryConfig, StoryTerms, load_story  # noqa: E402
from pipeline.match import encoder_evidence  # noqa: E402
from pipeline.match.stories import compile_stories, match_article  # noqa: E402
from schemas.records import NormalisedArticle  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
HELDOUT_DIR = ROOT / "bench" / "heldout"
FETCHED = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class LabelledSet:
    name: str
    stories: tuple[StoryConfig, ...]
    articles: tuple[NormalisedArticle, ...]
    relevant: frozenset[tuple[str, str]]  # (story slug, article url_hash)


def normalised(identifier: str, outlet: str, language: str, headline: str, dek, paragraphs, published):
    return NormalisedArticle(
        outlet=outlet, canonical_url=f"https://{outlet}.example/{identifier}", url_hash=identifier,
        aliases=(), headline=headline, dek=dek, authors=(), published_at=published, modified_at=None,
        language=language, section=None, body_text="\n\n".join(paragraphs), word_count=0,
        content_hash=identifier, fetched_at=FETCHED,
    )  # fmt: skip


def world_set() -> LabelledSet:
    stories = tuple(load_story(path) for path in sorted((ROOT / "config" / "stories").glob("*.yaml")))
    articles, relevant = [], set()
    for article in load_articles():
        if article.syndicates or article.only_in_state:
            continue  # a copy reads as its original; a state-only article is a variant of one
        articles.append(
            normalised(article.id, article.outlet, article.language, article.headline, article.dek,
                       article.paragraphs, article.published)
        )  # fmt: skip
        for slug in ([FIRST_STORY] if article.kind == "story" else []) + list(article.stories):
            relevant.add((slug, article.id))
    return LabelledSet("world", stories, tuple(articles), frozenset(relevant))


def heldout_set() -> LabelledSet | None:
    files = sorted(HELDOUT_DIR.glob("relevance_*.yaml"))
    if not files:
        return None
    stories, articles, relevant = [], [], set()
    for path in files:
        for entry in yaml.safe_load(path.read_text(encoding="utf-8"))["stories"]:
            definition = dict(entry["story"])
            if isinstance(definition.get("title"), dict):  # a title per language: the config takes one
                definition["title"] = definition["title"].get("en") or next(
                    iter(definition["title"].values())
                )
            story = StoryConfig.model_validate(definition)
            stories.append(story)
            for item in entry["articles"]:
                published = datetime.fromisoformat(str(item["published"]).replace("Z", "+00:00"))
                articles.append(
                    normalised(item["id"], item["outlet"], item["language"], item["headline"],
                               item.get("dek"), item["paragraphs"], published)
                )  # fmt: skip
                if item["relevant"]:
                    relevant.add((story.slug, item["id"]))
    return LabelledSet("held-out", tuple(stories), tuple(articles), frozenset(relevant))


def one_language(story: StoryConfig, language: str) -> StoryConfig:
    def only(terms: StoryTerms) -> StoryTerms:
        return StoryTerms(**{language: getattr(terms, language)})

    return story.model_copy(
        update={
            "summary": {language: story.summary[language]},
            "key_terms": only(story.key_terms),
            "entities": only(story.entities),
            "negative_terms": only(story.negative_terms),
        }
    )


def decide(stories, articles) -> tuple[set, set, int]:
    """The relevant pairs by the terms alone and with the cross-language evidence (a decision the
    evidence made carries it; the terms alone found such an article not relevant), and how many
    article leads the encoder read."""
    encoder.clear_cache()
    matcher = compile_stories(stories)
    by_terms, with_cross = set(), set()
    for article in articles:
        for decision in match_article(matcher, article):
            if decision.is_relevant:
                with_cross.add((decision.story_slug, decision.url_hash))
                if "encoder" not in decision.evidence:
                    by_terms.add((decision.story_slug, decision.url_hash))
    return by_terms, with_cross, encoder.cached_texts()


def scores(found: set, expected: set, universe: set) -> dict:
    found, expected = found & universe, expected & universe
    hits = found & expected
    return {
        "precision": len(hits) / len(found) if found else 1.0,
        "recall": len(hits) / len(expected) if expected else 1.0,
        "found": len(found),
        "expected": len(expected),
        "false": sorted(found - expected),
        "missed": sorted(expected - found),
    }


def evaluate(labelled: LabelledSet) -> list[dict]:
    rows = []
    pairs = {(s.slug, a.url_hash) for s in labelled.stories for a in labelled.articles}
    language_of = {a.url_hash: a.language for a in labelled.articles}
    for variant in ("both", "en", "es"):
        stories = (
            labelled.stories if variant == "both" else [one_language(s, variant) for s in labelled.stories]
        )
        other = {p for p in pairs if variant != "both" and language_of[p[1]] != variant}
        started = time.process_time()
        by_terms, with_cross, encoded = decide(stories, labelled.articles)
        cpu = time.process_time() - started
        for method, found in (("terms only", by_terms), ("terms + cross-language", with_cross)):
            rows.append(
                {
                    "set": labelled.name,
                    "definition": variant,
                    "method": method,
                    "all": scores(found, set(labelled.relevant), pairs),
                    "other_language": scores(found, set(labelled.relevant), other) if other else None,
                    "cpu_s": round(cpu, 2),
                    "leads_encoded": encoded,
                }
            )
    return rows


def measure_separation(labelled: LabelledSet) -> dict:
    """For the pairs the evidence judges, each candidate measure's values on coverage and on the rest."""
    measures = {"key terms": [], "key terms - entities": [], "key terms - negative terms": []}
    for variant in ("en", "es"):
        for story in (one_language(s, variant) for s in labelled.stories):
            key_vector = encoder.encode([", ".join(getattr(story.key_terms, variant))])[0]
            entity_vector = encoder.encode([", ".join(getattr(story.entities, variant))])[0]
            negative_vector = encoder.encode([", ".join(getattr(story.negative_terms, variant))])[0]
            for article in labelled.articles:
                if article.language == variant or not story.window.contains(article.published_at):
                    continue
                lead = encoder_evidence.lead_vector(article.headline, article.dek, article.body_text)
                label = (story.slug, article.url_hash) in labelled.relevant
                key = float(lead @ key_vector)
                measures["key terms"].append((key, label))
                measures["key terms - entities"].append((key - float(lead @ entity_vector), label))
                measures["key terms - negative terms"].append((key - float(lead @ negative_vector), label))
    summary = {}
    for name, values in measures.items():
        coverage = sorted(v for v, label in values if label)
        rest = sorted(v for v, label in values if not label)
        summary[name] = {
            "coverage_min": round(coverage[0], 3) if coverage else None,
            "coverage_p10": round(coverage[len(coverage) // 10], 3) if coverage else None,
            "rest_max": round(rest[-1], 3) if rest else None,
            "rest_p99": round(rest[int(len(rest) * 0.99)], 3) if rest else None,
            "auc": round(_auc(coverage, rest), 4),
            "pairs": len(values),
        }
    return summary


def _auc(positives: list[float], negatives: list[float]) -> float:
    if not positives or not negatives:
        return float("nan")
    wins = sum((p > n) + 0.5 * (p == n) for p in positives for n in negatives)
    return wins / (len(positives) * len(negatives))


def run_cycles(scale: int, seed: int = 7) -> dict:
    """The cost in a cycle: one framewatch cycle (``bench.framewatch_cycle``) of the replay world scaled
    to ``scale`` with the four stories as configured, then one with them defined in English only (every
    Spanish article naming an entity is read by the encoder), each into a fresh SQLite warehouse, in
    alternating order twice; the process stage's seconds and the relevant decisions each stored."""
    import subprocess
    import tempfile

    import sqlalchemy as sa

    from bench.replay import write_bench_config
    from demo.world import ReplayWorld

    slugs = [path.stem for path in sorted((ROOT / "config" / "stories").glob("*.yaml"))]
    figures: dict[str, list] = {"both": [], "en": []}
    with ReplayWorld(base_port=None, scale=scale, seed=seed) as world:
        for attempt, variant in enumerate(["both", "en", "en", "both"]):
            with tempfile.TemporaryDirectory() as directory:
                config = write_bench_config(world, Path(directory) / "config", stories=slugs)
                if variant != "both":
                    for path in (config / "stories").glob("*.yaml"):
                        story = one_language(load_story(path), variant)
                        path.write_text(
                            yaml.safe_dump(story.model_dump(mode="json"), allow_unicode=True),
                            encoding="utf-8",
                        )
                db_url = f"sqlite:///{Path(directory) / 'warehouse.sqlite'}"
                command = [sys.executable, "-m", "bench.framewatch_cycle", "--config", str(config),
                           "--db", db_url, "--run-key", f"cross-{attempt}"]  # fmt: skip
                output = subprocess.run(command, cwd=ROOT, check=True, capture_output=True, text=True).stdout
                stages = json.loads(output.strip().splitlines()[-1])["stages"]
                engine = sa.create_engine(db_url)
                with engine.connect() as connection:
                    relevant = connection.execute(
                        sa.text("SELECT COUNT(*) FROM story_articles WHERE is_relevant")
                    ).scalar_one()
                engine.dispose()
                figures[variant].append({"process_s": stages["process"], "relevant": relevant})
    both = sum(f["process_s"] for f in figures["both"]) / len(figures["both"])
    english = sum(f["process_s"] for f in figures["en"]) / len(figures["en"])
    return {"scale": scale, "runs": figures, "process_ratio_en_only": round(english / both, 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", type=Path, help="write the figures here as well")
    parser.add_argument("--cycle", type=int, metavar="SCALE", help="measure the cost in cycles instead")
    parser.add_argument("--report", action="store_true", help="end with a JSON report (for bench/all.py)")
    args = parser.parse_args()
    if args.cycle is not None:
        cycles = run_cycles(args.cycle)
        print(json.dumps(cycles, indent=2))
        return
    sets = [world_set()] + [s for s in [heldout_set()] if s]
    results = {"rows": [], "separation": {}, "min_margin": encoder_evidence.MIN_AFFINITY_MARGIN}
    for labelled in sets:
        results["rows"] += evaluate(labelled)
        results["separation"][labelled.name] = measure_separation(labelled)
    results["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    print(f"margin {encoder_evidence.MIN_AFFINITY_MARGIN}; peak RSS {results['peak_rss_mb']} MB\n")
    print(
        "| set | definition | method | P / R, all articles | P / R, other language | CPU s, leads encoded |"
    )
    print("|---|---|---|---|---|---|")
    for row in results["rows"]:
        other = row["other_language"]
        other_text = f"{other['precision']:.3f} / {other['recall']:.3f}" if other else "-"
        print(
            f"| {row['set']} | {row['definition']} | {row['method']} | "
            f"{row['all']['precision']:.3f} / {row['all']['recall']:.3f} | {other_text} | {row['cpu_s']}, {row['leads_encoded']} |"
        )
    print("\nSeparation of the candidate measures (pairs the evidence judges):")
    for name, by_measure in results["separation"].items():
        for measure, figures in by_measure.items():
            print(f"  {name:9s} {measure:28s} {figures}")
    for row in results["rows"]:
        if row["method"] == "terms + cross-language" and (row["all"]["false"] or row["all"]["missed"]):
            print(
                f"\n{row['set']} / {row['definition']}: false {row['all']['false']} missed {row['all']['missed']}"
            )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str), encoding="utf-8")
    if args.report:
        print_report({"rows": results["rows"], "peak_rss_mb": results["peak_rss_mb"]})


if __name__ == "__main__":
    main()
