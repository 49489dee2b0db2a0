"""scripts/screenshots.py, the README's screens from the live demo: it runs to the end with
no console error or CSP violation, and writes every screenshot the README links to."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent


def test_the_script_writes_every_screenshot_the_readme_shows(tmp_path):
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "screenshots.py"), "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=400,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    linked = set(re.findall(r"docs/screenshots/([\w-]+\.png)", (ROOT / "README.md").read_text()))
    assert {"inbox.png", "linkedin-thread.png", "phone-thread.png"} <= linked, linked
    written = {p.name for p in tmp_path.glob("*.png")}
    assert linked <= written, linked - written
    for name in linked:
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
        assert (tmp_path / name).stat().st_size > 10_000, name  # a page, not a blank
