"""Headless Chromium for tests that need a real browser: dump the rendered DOM, take a screenshot.

Tests that use it skip when no Chromium is installed (``apt-get install -y chromium``). Chromium is
started with background networking off, and the pages opened are local files only.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "chrome")
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-extensions",
    "--no-first-run",
)
BROWSER_TIMEOUT_SECONDS = 120


def chromium_path() -> str | None:
    return next((found for name in CHROMIUM_NAMES if (found := shutil.which(name))), None)


def require_chromium() -> str:
    path = chromium_path()
    if path is None:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail("CI requires chromium for the browser tests (make test installs it as root)")
        pytest.skip("chromium is not installed (apt-get install -y chromium)")
    return path


def run_chromium(page: Path, *extra: str, profile: Path) -> subprocess.CompletedProcess[str]:
    command = [
        require_chromium(),
        *CHROMIUM_FLAGS,
        f"--user-data-dir={profile}",
        *extra,
        page.resolve().as_uri(),
    ]
    return subprocess.run(
        command, capture_output=True, text=True, timeout=BROWSER_TIMEOUT_SECONDS, check=True
    )


def dump_dom(page: Path, profile: Path) -> str:
    """The DOM after the page loaded (and after any script on it ran), serialised as HTML."""
    return run_chromium(page, "--dump-dom", profile=profile).stdout


def screenshot(page: Path, output: Path, profile: Path, window_size: str = "1280,2000") -> Path:
    run_chromium(page, f"--screenshot={output.resolve()}", f"--window-size={window_size}", profile=profile)
    return output
