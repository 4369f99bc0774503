"""Configuration: outlets, stories and crawl settings, as YAML validated on load.

A config directory holds ``outlets.yaml``, ``framewatch.yaml`` and ``stories/<slug>.yaml``. Every
validation error names the file, the entry and the field, so an operator can fix it without reading code.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime
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

M = TypeVar("M", bound=BaseModel)


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
    # This outlet's budgets, when not the crawl's defaults (pipeline.budget).
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
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

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
    # Every outlet's budgets (pipeline.budget): requests and seconds from its first request, and how
    # deep and wide a sitemap index tree is followed.
    outlet_max_requests: int = Field(default=5000, ge=1)
    outlet_max_seconds: float = Field(default=1800, gt=0)
    sitemap_max_depth: int = Field(default=3, ge=0, le=10)
    sitemap_max_children: int = Field(default=500, ge=1)
    # Extract pages in the cores Scrapy leaves idle while it still fetches (pipeline.early).
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


class FramewatchSettings(Strict):
    crawl: CrawlSettings
    alerts: AlertSettings = AlertSettings()
    archive_dir: Path = Path("data/warc")


class Config(Strict):
    directory: Path
    settings: FramewatchSettings
    outlets: tuple[OutletConfig, ...]
    stories: tuple[StoryConfig, ...]

    def story(self, slug: str) -> StoryConfig:
        for story in self.stories:
            if story.slug == slug:
                return story
        known = ", ".join(s.slug for s in self.stories) or "none"
        raise ConfigError(f"no story {slug!r} in {self.directory / 'stories'} (known: {known})")

    def asks_query_api(self, story: StoryConfig, outlet_names: Collection[str]) -> bool:
        """Whether a crawl of ``outlet_names`` (empty: all outlets) runs query discovery.

        When the outlets are split over several crawl processes (shards), only the shard holding the
        first configured outlet asks the query API, so discovered outlets are fetched once per run.
        """
        wanted = not outlet_names or self.outlets[0].name in outlet_names
        return bool(story.query_discovery and self.settings.crawl.query_api and wanted)

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


def load_config(directory: Path | str) -> Config:
    directory = Path(directory)
    if not directory.is_dir():
        raise ConfigError(f"{directory}: config directory not found")
    settings = _validated(directory / "framewatch.yaml", FramewatchSettings)
    outlets = load_outlets(directory / "outlets.yaml")
    stories = tuple(load_story(path) for path in sorted((directory / "stories").glob("*.yaml")))
    if not stories:
        raise ConfigError(f"{directory / 'stories'}: no story files (*.yaml)")
    return Config(directory=directory, settings=settings, outlets=outlets, stories=stories)


def load_outlets(path: Path) -> tuple[OutletConfig, ...]:
    document = _read_yaml(path)
    entries = document.get("outlets") if isinstance(document, dict) else document
    if not isinstance(entries, list) or not entries:
        raise ConfigError(f"{path}: expected a non-empty list of outlets (under an 'outlets:' key)")
    outlets = tuple(_validated_entry(path, index, entry, OutletConfig) for index, entry in enumerate(entries))
    _reject_duplicates(path, [o.name for o in outlets], "name")
    _reject_duplicates(path, [o.site_prefix for o in outlets], "homepage")
    return outlets


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
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc})") from exc


def _validated(path: Path, model: type[M]) -> M:
    document = _read_yaml(path)
    if not isinstance(document, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    try:
        return model.model_validate(document)
    except ValidationError as exc:
        raise ConfigError(f"{path}: {_describe(exc)}") from None


def _validated_entry(path: Path, index: int, entry: object, model: type[M]) -> M:
    label = entry.get("name") if isinstance(entry, dict) else None
    where = f"entry {index + 1}" + (f" ({label!r})" if label else "")
    if not isinstance(entry, dict):
        raise ConfigError(f"{path}: {where}: expected a mapping, got {type(entry).__name__}")
    try:
        return model.model_validate(entry)
    except ValidationError as exc:
        raise ConfigError(f"{path}: {where}: {_describe(exc)}") from None


def _describe(error: ValidationError) -> str:
    parts = []
    for problem in error.errors():
        field = ".".join(str(p) for p in problem["loc"]) or "(top level)"
        parts.append(f"field {field!r}: {problem['msg']}")
    return "; ".join(parts)


def _reject_duplicates(path: Path, values: list[str], what: str) -> None:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise ConfigError(f"{path}: duplicate outlet {what} {value!r}")
        seen.add(value)
