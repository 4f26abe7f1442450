"""Helpers shared by the AppTest files: open the app (optionally on a page, with a link)."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 60  # torch's import alone exceeds AppTest's 3 s default


def open_app(page: str | None = None, query: dict | None = None) -> AppTest:
    """Run Home (which sets up navigation), then switch to ``page`` if given."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    at.query_params.update(query or {})
    at.run()
    if page is not None:
        at.switch_page(page).run()
    return at
