"""The actors of a story whose portrayal the framing stage measures (tone toward actors).

A story names them in its ``actors`` list, each with a label and its names in English and Spanish
(config/stories/*.yaml, validated on load). A story without that list falls back on its ``entities``:
each entity is an actor of its own, its English and Spanish spellings one actor when they fold to the
same word ("Mexico", "México"). Pure functions over the story's configuration or its stored definition.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

from pipeline.config import ActorConfig, StoryConfig, StoryTerms
from pipeline.framing.lexicon import measures_version
from pipeline.framing.tone_model import TONE_MODEL_PATH
from pipeline.text import fold
from schemas.framing_records import StoryActor


def configured_actors(actors: Sequence[ActorConfig]) -> tuple[StoryActor, ...]:
    return tuple(StoryActor(a.label, a.names.en, a.names.es) for a in actors)


def entity_actors(entities: StoryTerms) -> tuple[StoryActor, ...]:
    """Each entity an actor labelled by its first spelling; a name missing in one language is the
    other language's spelling (entities are mostly proper names)."""
    grouped: dict[str, dict[str, list[str]]] = {}
    for language in ("en", "es"):
        for name in getattr(entities, language):
            entry = grouped.setdefault(fold(name), {"label": [name], "en": [], "es": []})
            entry[language].append(name)
    return tuple(
        StoryActor(g["label"][0], tuple(g["en"] or g["es"]), tuple(g["es"] or g["en"]))
        for g in grouped.values()
    )


def story_actors(story: StoryConfig) -> tuple[StoryActor, ...]:
    """The story's actors: its ``actors`` list, or its entities when it has none."""
    return configured_actors(story.actors) if story.actors else entity_actors(story.entities)


def actors_of_definition(definition: Mapping[str, Any]) -> tuple[StoryActor, ...]:
    """The actors of a story as the warehouse stored its definition (``stories.definition``, the
    configuration at its last load); only the parts that name actors are read, so a definition
    stored by an older framewatch still reads."""
    actors = [ActorConfig.model_validate(a) for a in definition.get("actors") or ()]
    if actors:
        return configured_actors(actors)
    return entity_actors(StoryTerms.model_validate(definition.get("entities") or {}))


def actor_tones_key(content_hash: str, actors: Sequence[StoryActor]) -> str:
    """What an article's stored tones toward a story's actors were computed from: its content, the
    actors' names, the framing code and codebooks, and the trained model. A change to any re-measures."""
    canonical = json.dumps(
        [content_hash, measures_version(), tone_model_digest(), [[a.label, a.en, a.es] for a in actors]],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


@lru_cache(maxsize=1)
def tone_model_digest() -> str:
    return hashlib.sha256(TONE_MODEL_PATH.read_bytes()).hexdigest()[:16]
