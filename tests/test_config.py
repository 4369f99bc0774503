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
    with pytest.raises(ConfigError, match="'feed': Extra inputs are not permitted"):
        load_outlets(path)


def test_broken_yaml_is_reported_with_its_file(tmp_path: Path) -> None:
    path = tmp_path / "outlets.yaml"
    path.write_text("outlets: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_outlets(path)


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


def refused_story(config_dir: Path, file_name: str) -> str:
    """The message of a story file that does not validate; the other stories load all the same."""
    config = load_config(config_dir)
    shipped = sorted(path.name for path in (SHIPPED / "stories").glob("*.yaml"))
    assert len(config.stories) == len(shipped) - 1  # every other story is still watched
    [message] = config.story_errors
    assert file_name in message
    return message


def test_a_broken_story_never_stops_the_others_and_check_config_names_it(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from pipeline.cli import app

    config_dir = tmp_path / "config"
    shutil.copytree(SHIPPED, config_dir)
    (config_dir / "stories" / "broken.yaml").write_text("slug: broken\ntitle: [unclosed\n", encoding="utf-8")
    assert "not valid YAML" in refused_story_with_extra(config_dir, "broken.yaml")
    result = CliRunner().invoke(app, ["check-config", "--config", str(config_dir)])
    assert result.exit_code == 2
    assert "broken.yaml" in result.output and "mexico-cartel-intervention" in result.output


def refused_story_with_extra(config_dir: Path, file_name: str) -> str:
    config = load_config(config_dir)
    assert {s.slug for s in config.stories} == {p.stem for p in (SHIPPED / "stories").glob("*.yaml")}
    [message] = config.story_errors
    assert file_name in message
    return message
