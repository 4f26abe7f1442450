"""Both study pages follow a running study live (progress bar, Cancel) and show why a study
stopped; Cancel marks it cancelled in the store, as the command line's ``cancel`` does."""

from __future__ import annotations

import pytest
from app_helpers import open_app

from nearid_core.runs.store import RunStore
from nearid_core.runs.study_jobs import submit_study

PAGES = {"disentangle": "app_pages/disentangle_page.py", "batch": "app_pages/batch_page.py"}


@pytest.mark.parametrize("kind", sorted(PAGES))
def test_a_running_study_shows_progress_and_cancel_stops_it(kind, tmp_path, use_home):
    store = use_home(tmp_path)
    sid = submit_study(store, kind, {}, claim=True)  # running, owned by this live process
    store.set_runs_progress(sid, 0.4, {}, message="shapes: training")
    at = open_app(PAGES[kind], {"study": sid})
    assert not at.exception
    assert any("is **running**" in i.value for i in at.info)
    cancel = next(b for b in at.button if b.key == f"cancel_{sid}")
    cancel.click().run()
    assert not at.exception
    row = RunStore(tmp_path).get_sweep(sid)
    assert row["status"] == "cancelled" and row["reason"] == "cancelled by the user"


@pytest.mark.parametrize("kind", sorted(PAGES))
def test_a_study_whose_owner_died_reads_interrupted_with_the_reason(kind, tmp_path, use_home):
    store = use_home(tmp_path)
    sid = submit_study(store, kind, {}, claim=True)
    with store._write() as c:  # its owner: a process that has ended
        c.execute("UPDATE sweeps SET pid = 2147483646 WHERE id = ?", (sid,))
    at = open_app(PAGES[kind], {"study": sid})
    assert not at.exception
    text = " ".join(e.value for e in at.error)
    assert f"Study {sid} was **interrupted**" in text
    assert RunStore(tmp_path).get_sweep(sid)["status"] == "interrupted"
