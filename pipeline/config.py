"""Configuration: outlets, stories and crawl settings, as YAML validated on load.

A config directory holds ``outlets.yaml``, ``framewatch.yaml`` and ``stories/<slug>.yaml``. Every
validation error names the file, the entry and the field, so an operator can fix it without reading code.
"""

from __future__ import annotations

import difflib
import hashlib
from collections.abc import Collection
from datetime import datetime
from pathlib import Path
from typing import Annotated, Literal, TypeVar
from urllib.parse import urlsplit

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    HttpUrl,
    ValidationError,
    field_validator,
    model_validator,
)

from schemas.timestamps import as_utc

M = TypeVar("M", bound=BaseModel)

# The checkout or installed tree that holds pipeline/, spiders/ and config/.
PROJECT_ROOT = Path(__file__).resolve().parent.parent


class ConfigError(ValueError):
    """A configuration file is missing, unreadable or invalid; the message says where and why."""


def _lower_code(value: str) -> str:
    return value.strip().lower()


LanguageCode = Annotated[str, Field(pattern=r"^[A-Za-z]{2}$"), AfterValidator(_lower_code)]
CountryCode = Annotated[str, Field(pattern=r"^[A-Za-z]{2}$"), AfterValidator(lambda v: v.strip().upper())]


def _no_credentials(url: HttpUrl) -> HttpUrl:
    # Every request would carry them to the outlet, and fetch logs and tables would store them (issue 20).
    if url.username or url.password:
        raise ValueError("a URL must not carry credentials (user:password@): remove them")
    return url


PublicUrl = Annotated[HttpUrl, AfterValidator(_no_credentials)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class OutletCrawlSettings(Strict):
    download_delay: float | None = Field(default=None, ge=0, le=120)
    concurrency: int | None = Field(default=None, ge=1, le=16)
    max_pages: int | None = Field(default=None, ge=1)
    # This outlet's budgets, when not the crawl's defaults (spiders.budget).
    max_requests: int | None = Field(default=None, ge=1)
    max_seconds: float | None = Field(default=None, gt=0)


class OutletConfig(Strict):
    name: str = Field(min_length=1, max_length=200)
    homepage: PublicUrl
    language: LanguageCode
    country: CountryCode
    lean: str | None = None
    ownership: str | None = None
    outlet_type: Literal[
        "wire", "national", "regional", "local", "aggregator", "international", "digital"
    ] = "national"
    feeds: tuple[PublicUrl, ...] = ()
    sitemaps: tuple[PublicUrl, ...] = ()
    crawl: OutletCrawlSettings = OutletCrawlSettings()

    @property
    def host(self) -> str:
        """host[:port] of the homepage: the outlet's identity on the web (ports matter on loopback)."""
        return urlsplit(str(self.homepage)).netloc.lower()

    @property
    def site_prefix(self) -> str:
        """host[:port] plus the homepage path: two outlets may share a host (bbc.com/news, bbc.com/mundo)."""
        parts = urlsplit(str(self.homepage))
        return parts.netloc.lower() + parts.path.rstrip("/")


class StoryTerms(Strict):
    en: tuple[str, ...] = ()
    es: tuple[str, ...] = ()


class StoryWindow(Strict):
    start: datetime
    end: datetime

    @field_validator("start", "end")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return as_utc(value)

    @model_validator(mode="after")
    def _ordered(self) -> StoryWindow:
        if self.end <= self.start:
            raise ValueError("window end must be after its start")
        return self

    def contains(self, moment: datetime | None) -> bool:
        return moment is None or self.start <= moment <= self.end


class StoryConfig(Strict):
    slug: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,99}$")
    title: str = Field(min_length=1)
    summary: dict[LanguageCode, str]
    window: StoryWindow
    key_terms: StoryTerms
    entities: StoryTerms = StoryTerms()
    # Terms whose presence alone says "a neighbouring story, not this one" (weighs against relevance).
    negative_terms: StoryTerms = StoryTerms()
    subscribers: tuple[EmailStr, ...] = ()
    schedule_minutes: int = Field(default=30, ge=5, le=1440)
    query_discovery: bool = True


class CrawlSettings(Strict):
    user_agent: str = Field(min_length=10)
    concurrency: int = Field(default=8, ge=1, le=64)
    concurrency_per_host: int = Field(default=2, ge=1, le=16)
    download_delay: float = Field(default=0.5, ge=0, le=120)
    autothrottle: bool = True
    max_response_bytes: int = Field(default=10_000_000, ge=10_000)
    timeout_seconds: float = Field(default=30, gt=0, le=600)
    max_redirects: int = Field(default=5, ge=0, le=20)
    retry_times: int = Field(default=2, ge=0, le=10)
    query_api: PublicUrl | None = None  # GDELT DOC 2.0 compatible endpoint for query discovery
    max_articles_per_outlet: int = Field(default=500, ge=1)
    # Every outlet's budgets (spiders.budget): requests and seconds from its first request, and how
    # deep and wide a sitemap index tree is followed.
    outlet_max_requests: int = Field(default=5000, ge=1)
    outlet_max_seconds: float = Field(default=1800, gt=0)
    sitemap_max_depth: int = Field(default=3, ge=0, le=10)
    sitemap_max_children: int = Field(default=500, ge=1)
    # Extract pages in the cores Scrapy leaves idle while it still fetches (pipeline.speedup.early_extraction).
    process_while_crawling: bool = True

    @field_validator("user_agent")
    @classmethod
    def _has_contact(cls, value: str) -> str:
        # An honest crawler says who runs it and how to reach them.
        if "+http" not in value and "@" not in value:
            raise ValueError("user_agent must include a contact (a +http URL or an email address)")
        return value


class AlertSettings(Strict):
    sender: EmailStr = "framewatch@localhost"
    outbox: Path | None = None  # write .eml files here instead of SMTP (the demo's default)
    # Where subscribers read a story's report, "{slug}" standing for the story (a link in digests).
    report_url: str | None = Field(default=None, max_length=2000)
    # Who hears of outlet health incidents (issue 16), through the same transports as digests.
    operator: EmailStr | None = None


class FramewatchSettings(Strict):
    crawl: CrawlSettings
    alerts: AlertSettings = AlertSettings()
    archive_dir: Path = Path("data/warc")


class Config(Strict):
    directory: Path
    settings: FramewatchSettings
    outlets: tuple[OutletConfig, ...]
    # The stories whose files are valid: one broken story file never stops the others (its error is
    # in ``story_errors``, by file and field, for `check-config`, the run's log and its outcomes).
    stories: tuple[StoryConfig, ...]
    story_errors: tuple[str, ...] = ()

    def story(self, slug: str) -> StoryConfig:
        for story in self.stories:
            if story.slug == slug:
                return story
        known = ", ".join(s.slug for s in self.stories) or "none"
        raise ConfigError(f"no story {slug!r} in {self.directory / 'stories'} (known: {known})")

    def asks_query_api(self, outlet_names: Collection[str]) -> bool:
        """Whether a crawl of ``outlet_names`` (empty: all outlets) runs query discovery.

        When the outlets are split over several crawl processes (shards), only the shard holding the
        first configured outlet asks the query API, so discovered outlets are fetched once per run.
        """
        wanted = not outlet_names or self.outlets[0].name in outlet_names
        return bool(self.query_stories() and self.settings.crawl.query_api and wanted)

    def query_stories(self) -> tuple[StoryConfig, ...]:
        """The stories that ask the query API for coverage beyond the configured outlets."""
        return tuple(story for story in self.stories if story.query_discovery)

    def outlet_for_url(self, url: str) -> OutletConfig | None:
        """The configured outlet whose homepage is the longest prefix of ``url`` (host and path)."""
        parts = urlsplit(url)
        address = parts.netloc.lower() + parts.path
        matches = [
            o for o in self.outlets if address == o.site_prefix or address.startswith(o.site_prefix + "/")
        ]
        if not matches:
            matches = [o for o in self.outlets if o.host == parts.netloc.lower()]
        return max(matches, key=lambda o: len(o.site_prefix), default=None)


# libyaml's safe loader parses a story file about ten times faster than the pure-Python one; a desk
# with a hundred stories reads them at every stage of every cycle.
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_config(directory: Path | str) -> Config:
    """The validated config of ``directory``; validated once per process for the same file contents
    (the stages of a cycle all read it, and a changed file is read again)."""
    directory = Path(directory)
    if not directory.is_dir():
        raise ConfigError(f"{directory}: config directory not found")
    contents = _config_contents(directory)
    cached = _validated_configs.get(directory.absolute())
    if cached is not None and cached[0] == contents:
        return cached[1].model_copy(update={"directory": directory})
    config = _load_config(directory)
    _validated_configs[directory.absolute()] = (contents, config)
    return config


_validated_configs: dict[Path, tuple[bytes, Config]] = {}


def _config_contents(directory: Path) -> bytes:
    """A digest of every file load_config reads: equal digests, equal configs."""
    digest = hashlib.blake2b()
    for path in sorted(
        [directory / "framewatch.yaml", directory / "outlets.yaml", *(directory / "stories").glob("*")]
    ):
        digest.update(str(path.name).encode())
        try:
            digest.update(path.read_bytes() if path.is_file() else b"(not a file)")
        except OSError:
            digest.update(b"(unreadable)")
    return digest.digest()


def _load_config(directory: Path) -> Config:
    settings = _validated(directory / "framewatch.yaml", FramewatchSettings)
    outlets = load_outlets(directory / "outlets.yaml")
    stories, errors = load_stories(directory / "stories")
    if not stories:
        detail = "; ".join(errors) if errors else "no story files (<slug>.yaml or <slug>.yml)"
        raise ConfigError(f"{directory / 'stories'}: no valid story ({detail})")
    return Config(
        directory=directory, settings=settings, outlets=outlets, stories=stories, story_errors=errors
    )


def load_stories(directory: Path) -> tuple[tuple[StoryConfig, ...], tuple[str, ...]]:
    """Every valid story of ``directory`` and one message per invalid file (a story is independent of
    the others: a mistake in one must not stop the monitoring of the rest)."""
    stories: list[StoryConfig] = []
    errors: list[str] = []
    paths = sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")])
    stems = [path.stem for path in paths]
    for stem in sorted({stem for stem in stems if stems.count(stem) > 1}):
        errors.append(f"{directory}: story {stem!r} is saved as both {stem}.yaml and {stem}.yml: keep one")
    for path in paths:
        if stems.count(path.stem) > 1:
            continue
        try:
            stories.append(load_story(path))
        except ConfigError as exc:
            errors.append(str(exc))
    return tuple(stories), tuple(errors)


def load_outlets(path: Path) -> tuple[OutletConfig, ...]:
    document = _read_yaml(path)
    entries = document.get("outlets") if isinstance(document, dict) else document
    if not isinstance(entries, list) or not entries:
        raise ConfigError(f"{path}: expected a non-empty list of outlets (under an 'outlets:' key)")
    outlets = tuple(_validated_entry(path, index, entry, OutletConfig) for index, entry in enumerate(entries))
    _reject_duplicates(path, [o.name for o in outlets], "name")
    _reject_duplicates(path, [o.site_prefix for o in outlets], "homepage")
    return outlets


def story_files(stories_dir: Path) -> list[Path]:
    """Every story file, ``.yaml`` or ``.yml``; one slug saved under both names is refused, never guessed."""
    paths = sorted([*stories_dir.glob("*.yaml"), *stories_dir.glob("*.yml")])
    stems = [path.stem for path in paths]
    for stem in sorted({stem for stem in stems if stems.count(stem) > 1}):
        raise ConfigError(
            f"{stories_dir}: story {stem!r} is saved as both {stem}.yaml and {stem}.yml: keep one"
        )
    return paths


def load_story(path: Path) -> StoryConfig:
    story = _validated(path, StoryConfig)
    if story.slug != path.stem:
        raise ConfigError(f"{path}: slug {story.slug!r} must match the file name {path.stem!r}")
    return story


def _read_yaml(path: Path) -> object:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read ({exc})") from exc
    try:
        return yaml.load(text, Loader=SAFE_LOADER)  # noqa: S506 - a safe loader, libyaml's when present
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {_yaml_problem(exc)}") from None


def _yaml_problem(error: yaml.YAMLError) -> str:
    """The parser's complaint with the line and column in the file (its own text says "<unicode string>")."""
    mark = getattr(error, "problem_mark", None)
    problem = getattr(error, "problem", None) or str(error)
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
    context = getattr(error, "context", None)
    return f"{where}{problem}" + (f" ({context})" if context else "")


def _validated(path: Path, model: type[M]) -> M:
    document = _read_yaml(path)
    if not isinstance(document, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    return _validated_mapping(f"{path}", document, model)


def _validated_entry(path: Path, index: int, entry: object, model: type[M]) -> M:
    label = entry.get("name") if isinstance(entry, dict) else None
    where = f"{path}: entry {index + 1}" + (f" ({label!r})" if label else "")
    if not isinstance(entry, dict):
        raise ConfigError(f"{where}: expected a mapping, got {type(entry).__name__}")
    return _validated_mapping(where, entry, model)


def _validated_mapping(where: str, document: dict, model: type[M]) -> M:
    """The document as ``model``; a validation error names ``where`` (the file, and the entry in it)."""
    try:
        return model.model_validate(document)
    except ValidationError as exc:
        raise ConfigError(f"{where}: {_describe(exc, model)}") from None


# Plain words for the patterns of the code fields, by field name (pydantic would print the regex).
PATTERN_MEANING = {
    "language": "a two-letter language code such as en or es",
    "country": "a two-letter country code such as US or MX",
    "slug": "lower-case letters, digits and hyphens, 2 to 100 characters, as in the file name",
}


def _describe(error: ValidationError, model: type[BaseModel] | None = None) -> str:
    parts = []
    for problem in error.errors():
        field = ".".join(str(p) for p in problem["loc"]) or "(top level)"
        parts.append(f"field {field!r}: {_plain_message(problem, model)}")
    return "; ".join(parts)


def _plain_message(problem: dict, model: type[BaseModel] | None) -> str:
    location = [str(part) for part in problem["loc"]]
    if problem["type"] == "extra_forbidden":
        known = _field_names(model, location[:-1])
        guess = difflib.get_close_matches(location[-1], known, n=1, cutoff=0.6)
        hint = f"did you mean {guess[0]!r}?" if guess else f"the fields here are {', '.join(sorted(known))}"
        return f"unknown field ({hint})" if known else "unknown field"
    if problem["type"] == "string_pattern_mismatch":
        # A key of a mapping by language (summary: {en: ...}) is reported at [..., "summary", key, "[key]"].
        name = next((part for part in reversed(location) if part in PATTERN_MEANING), None)
        if name is None and "summary" in location:
            name = "language"
        if name:
            return f"{problem.get('input')!r} is not {PATTERN_MEANING[name]}"
    if problem["type"] == "missing":
        return "required, and missing"
    return problem["msg"]


def _field_names(model: type[BaseModel] | None, location: list[str]) -> list[str]:
    """The field names of the (nested) model at ``location``, or [] when it cannot be followed."""
    for part in location:
        if model is None or part not in model.model_fields:
            return []
        annotation = model.model_fields[part].annotation
        model = annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None
    return list(model.model_fields) if model is not None else []


def _reject_duplicates(path: Path, values: list[str], what: str) -> None:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise ConfigError(f"{path}: duplicate outlet {what} {value!r}")
        seen.add(value)
