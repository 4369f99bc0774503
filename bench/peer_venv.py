"""news-please's own virtualenv for the peer benchmark: made on first use, reused after.

The peer is never installed into the project's environment (its pins would fight framewatch's lock);
``python3 -m venv bench/.peer-venv`` plus pip from the package index, and a marker file once it works.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

PEER_REQUIREMENT = "news-please==1.6.16"
PEER_VENV = Path(__file__).resolve().parent / ".peer-venv"
READY_MARKER = PEER_VENV / f".ready-{PEER_REQUIREMENT}"


def peer_python() -> Path:
    """The peer venv's interpreter, creating and installing the venv when it is not ready yet."""
    if not READY_MARKER.exists():
        _create()
    return PEER_VENV / "bin" / "python"


def _create() -> None:
    shutil.rmtree(PEER_VENV, ignore_errors=True)
    base_python = shutil.which("python3") or sys.executable
    print(f"installing {PEER_REQUIREMENT} into {PEER_VENV} (first run only)", file=sys.stderr, flush=True)
    subprocess.run([base_python, "-m", "venv", str(PEER_VENV)], check=True)
    pip = [str(PEER_VENV / "bin" / "python"), "-m", "pip", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, "install", PEER_REQUIREMENT], check=True)
    subprocess.run([str(PEER_VENV / "bin" / "python"), "-c", "import newsplease"], check=True)
    READY_MARKER.touch()
