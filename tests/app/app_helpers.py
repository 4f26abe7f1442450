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


def smallest_train_page() -> AppTest:
    """The Train page set to the smallest sweep that still has a seed pair (one leak)."""
    at = open_app("app_pages/train_page.py")
    at.number_input(key="n").set_value(512).run()
    at.radio(key="leakmode").set_value("single leak").run()
    at.number_input(key="seeds").set_value(2).run()
    at.number_input(key="epochs").set_value(1).run()
    at.number_input(key="batch").set_value(128).run()
    return at


def ok(at: AppTest) -> None:
    """The script ran without an exception (their messages, if not)."""
    assert not at.exception, [e.value for e in at.exception]


def text_of(elements) -> str:
    return " ".join(str(e.value) for e in elements)


def finished_study(home: Path, kind: str, settings: dict, name: str = "tiny") -> str:
    """A study run to the end in ``home``'s store (in this process, one thread); its id."""
    from concurrent.futures import ThreadPoolExecutor

    from nearid_core.runs.store import RunStore
    from nearid_core.runs.study_jobs import run_study_job, submit_study

    store = RunStore(home)
    sid = submit_study(store, kind, settings, name=name)
    with ThreadPoolExecutor(1) as ex:
        run_study_job(store, sid, executor=ex)
    assert store.get_sweep(sid)["status"] == "done"
    return sid
