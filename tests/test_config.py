"""Config files are validated on load and errors name the file, the entry and the field."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pipeline.config import ConfigError, load_config, load_outlets

SHIPPED = Path(__file__).resolve().parents[1] / "config"


def test_the_shipped_config_is_valid_and_lists_at_least_30_real_outlets() -> None:
    config = load_config(SHIPPED)
    assert len(config.outlets) >= 30
    assert {o.language for o in config.outlets} >= {"en", "es"}
    assert {o.country for o in config.outlets} >= {"US", "MX"}
    assert any(o.outlet_type == "wire" for o in config.outlets)
    assert config.story("mexico-cartel-intervention").subscribers


def test_outlets_sharing_a_host_are_told_apart_by_path() -> None:
    config = load_config(SHIPPED)
    assert config.outlet_for_url("https://www.bbc.com/mundo/articles/c1").name == "BBC News Mundo"
    assert config.outlet_for_url("https://www.bbc.com/news/world-123").name == "BBC News"
    assert config.outlet_for_url("https://unknown.example/") is None


def test_an_invalid_outlet_names_file_entry_and_field(tmp_path: Path) -> None:
    path = tmp_path / "outlets.yaml"
    path.write_text(
        "outlets:\n  - name: Diario Uno\n    homepage: not a url\n    language: es\n    country: MX\n"
    )
    with pytest.raises(ConfigError) as error:
        load_outlets(path)
    message = str(error.value)
    assert str(path) in message and "entry 1 ('Diario Uno')" in message and "'homepage'" in message


def test_an_unknown_field_is_refused_rather_than_ignored(tmp_path: Path) -> None:
    path = tmp_path / "outlets.yaml"
    path.write_text(
        "- name: X\n  homepage: http://x.test/\n  language: en\n  country: US\n  feed: http://x.test/rss\n"
    )
    with pytest.raises(ConfigError, match=r"field 'feed': unknown field \(did you mean 'feeds'\?\)"):
        load_outlets(path)


def test_broken_yaml_is_reported_with_its_file(tmp_path: Path) -> None:
    path = tmp_path / "outlets.yaml"
    path.write_text("outlets: [unclosed\n")
    with pytest.raises(ConfigError) as error:
        load_outlets(path)
    # Issue 23: the parser's own text named "<unicode string>" instead of the file.
    assert str(error.value).startswith(f"{path}: not valid YAML: line 2, column 1: ")
    assert "<unicode string>" not in str(error.value)


def test_a_story_whose_slug_differs_from_its_file_name_is_refused(tmp_path: Path) -> None:
    config_dir = tmp_path / "config"
    shutil.copytree(SHIPPED, config_dir)
    (config_dir / "stories" / "mexico-cartel-intervention.yaml").rename(config_dir / "stories" / "other.yaml")
    assert "must match the file name" in refused_story(config_dir, "other.yaml")


def test_a_user_agent_without_contact_is_refused(tmp_path: Path) -> None:
    config_dir = tmp_path / "config"
    shutil.copytree(SHIPPED, config_dir)
    settings = config_dir / "framewatch.yaml"
    text = settings.read_text()
    start = text.index("user_agent:")
    end = text.index("\n", start)
    settings.write_text(text[:start] + 'user_agent: "framewatch crawler 0.1"' + text[end:])
    with pytest.raises(ConfigError, match="crawl.user_agent"):
        load_config(config_dir)


def test_a_story_window_must_end_after_it_starts(tmp_path: Path) -> None:
    config_dir = tmp_path / "config"
    shutil.copytree(SHIPPED, config_dir)
    story = config_dir / "stories" / "mexico-cartel-intervention.yaml"
    story.write_text(story.read_text().replace("end: 2025-12-31T23:59:59Z", "end: 2025-11-01T00:00:00Z"))
    assert "window" in refused_story(config_dir, "mexico-cartel-intervention.yaml")


def refused_story(config_dir: Path, file_name: str, others_lost: int = 1) -> str:
    """The message of a story file that does not validate; every other story loads all the same (the
    refused file was one of the shipped stories: ``others_lost`` of them are missing)."""
    config = load_config(config_dir)
    shipped = sorted(path.name for path in (SHIPPED / "stories").glob("*.yaml"))
    assert len(config.stories) == len(shipped) - others_lost
    [message] = config.story_errors
    assert file_name in message
    return message


def test_a_broken_story_never_stops_the_others_and_check_config_names_it(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from pipeline.cli import app

    config_dir = tmp_path / "config"
    shutil.copytree(SHIPPED, config_dir)
    (config_dir / "stories" / "broken.yaml").write_text("slug: broken\ntitle: [unclosed\n", encoding="utf-8")
    assert "not valid YAML" in refused_story(config_dir, "broken.yaml", others_lost=0)
    result = CliRunner().invoke(app, ["check-config", "--config", str(config_dir)])
    assert result.exit_code == 2
    assert "broken.yaml" in result.output and "mexico-cartel-intervention" in result.output


def shipped_copy(tmp_path: Path) -> Path:
    config_dir = tmp_path / "config"
    shutil.copytree(SHIPPED, config_dir)
    return config_dir


def test_a_story_saved_as_yml_is_read(tmp_path: Path) -> None:
    """Issue 23: a story saved as .yml was ignored while check-config passed."""
    config_dir = shipped_copy(tmp_path)
    before = [s.slug for s in load_config(config_dir).stories]
    story = config_dir / "stories" / "mexico-cartel-intervention.yaml"
    second = story.read_text().replace("slug: mexico-cartel-intervention", "slug: second-story")
    (config_dir / "stories" / "second-story.yml").write_text(second)
    assert [s.slug for s in load_config(config_dir).stories] == sorted([*before, "second-story"])


def test_one_story_saved_as_both_yaml_and_yml_is_refused(tmp_path: Path) -> None:
    config_dir = shipped_copy(tmp_path)
    story = config_dir / "stories" / "mexico-cartel-intervention.yaml"
    shutil.copy(story, story.with_suffix(".yml"))
    message = refused_story(config_dir, "mexico-cartel-intervention")
    assert "saved as both mexico-cartel-intervention.yaml and mexico-cartel-intervention.yml" in message


def test_a_misspelt_nested_field_gets_a_suggestion(tmp_path: Path) -> None:
    path = tmp_path / "outlets.yaml"
    path.write_text(
        "- name: X\n  homepage: http://x.test/\n  language: en\n  country: US\n  crawl: {max_page: 3}\n"
    )
    with pytest.raises(
        ConfigError, match=r"field 'crawl.max_page': unknown field \(did you mean 'max_pages'\?\)"
    ):
        load_outlets(path)


def test_an_unknown_field_with_no_near_name_lists_the_known_ones(tmp_path: Path) -> None:
    path = tmp_path / "outlets.yaml"
    path.write_text("- name: X\n  homepage: http://x.test/\n  language: en\n  country: US\n  website: blue\n")
    with pytest.raises(
        ConfigError, match=r"field 'website': unknown field \(the fields here are country, crawl, feeds"
    ):
        load_outlets(path)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        (
            "language",
            "english",
            "field 'language': 'english' is not a two-letter language code such as en or es",
        ),
        ("country", "USA", "field 'country': 'USA' is not a two-letter country code such as US or MX"),
    ],
)
def test_a_bad_code_is_explained_in_plain_words(tmp_path: Path, field: str, value: str, message: str) -> None:
    path = tmp_path / "outlets.yaml"
    entry = {"name": "X", "homepage": "http://x.test/", "language": "en", "country": "US", field: value}
    path.write_text("- " + "\n  ".join(f"{key}: {item}" for key, item in entry.items()) + "\n")
    with pytest.raises(ConfigError) as error:
        load_outlets(path)
    assert message in str(error.value) and "^[A-Za-z]" not in str(error.value)


def test_a_bad_summary_language_and_a_missing_field_are_explained(tmp_path: Path) -> None:
    config_dir = shipped_copy(tmp_path)
    story = config_dir / "stories" / "mexico-cartel-intervention.yaml"
    text = story.read_text().replace("\n  en:", "\n  english:", 1)
    start = text.index("title:")
    story.write_text(text[:start] + text[text.index("\n", start) + 1 :])
    message = refused_story(config_dir, str(story))
    assert "field 'title': required, and missing" in message
    assert "'english' is not a two-letter language code such as en or es" in message
