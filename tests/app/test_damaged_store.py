"""Every page under AppTest with a damaged or unusual store: one message, no traceback, no
server path; damaged artefacts mark their run, everything else keeps working."""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
import subprocess
import sys
from functools import partial
from pathlib import Path

import numpy as np
import pytest
from app_helpers import open_app
from streamlit.testing.v1 import AppTest

from nearid_core.config import SweepConfig, sweep_from_dict
from nearid_core.runs.jobs import submit_sweep
from nearid_core.runs.store import DB_NAME, RunStore
from nearid_ui import live

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 60  # torch's import alone exceeds AppTest's 3 s default
HOME = None  # the landing page (app.py's default page)
PAGES = [HOME, "app_pages/data_page.py", "app_pages/train_page.py", "app_pages/bilipschitz_page.py",
         "app_pages/identifiability_page.py", "app_pages/ica_page.py", "app_pages/paper_page.py"]
SWEEP_PAGES = PAGES[2:]  # the pages that show one sweep
HEALTHY_CHARTS = {"app_pages/train_page.py": 1, "app_pages/bilipschitz_page.py": 2,
                  "app_pages/identifiability_page.py": 3, "app_pages/ica_page.py": 6, "app_pages/paper_page.py": 0}
REASON = "interrupted: its process 4242 ended without finishing (killed or crashed)"




def all_text(at: AppTest) -> str:
    """Every element's protobuf as text: markdown, messages, widget labels, table cells."""
    out = []

    def walk(node) -> None:
        proto = getattr(node, "proto", None)
        if proto is not None:
            out.append(str(proto))
        for child in getattr(node, "children", {}).values():
            walk(child)
    walk(at._tree)
    return "\n".join(out)


def messages(at: AppTest) -> list[str]:
    return [str(e.value) for e in [*at.error, *at.warning]]


def snapshot(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


# ---------------------------------------------------------------- damaging a store

def _copy(prepared, tmp: Path) -> Path:
    home = tmp / "home"
    shutil.copytree(prepared.home, home, ignore=shutil.ignore_patterns("runner.*"))
    return home


def _drop_wal(home: Path) -> None:
    for suffix in ("-wal", "-shm"):
        (home / (DB_NAME + suffix)).unlink(missing_ok=True)


def _checkpointed(prepared, tmp: Path) -> Path:
    """A copy whose database holds everything in its main file (no WAL to replay)."""
    home = _copy(prepared, tmp)
    with sqlite3.connect(home / DB_NAME) as c:
        c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    _drop_wal(home)
    return home


def _run_dir(home: Path, sweep: str, index: int) -> Path:
    run = next(r for r in RunStore(home).list_runs(sweep) if r["index"] == index)
    return home / "artefacts" / sweep / run["id"]


def home_is_a_file(prepared, tmp):
    (tmp / "store").write_text("not a folder")
    return tmp / "store", {}


def home_under_a_file(prepared, tmp):
    (tmp / "plain").write_text("a file")
    return tmp / "plain" / "store", {}


def home_in_proc(prepared, tmp):
    return Path("/proc/1"), {}


def random_bytes(prepared, tmp):
    home = _checkpointed(prepared, tmp)
    (home / DB_NAME).write_bytes(np.random.default_rng(0).bytes(64 * 1024))
    return home, {}


def garbled_header(prepared, tmp):
    home = _checkpointed(prepared, tmp)
    with open(home / DB_NAME, "r+b") as f:
        f.write(b"\xff" * 16)
    return home, {}


def newer_schema(prepared, tmp):
    home = _checkpointed(prepared, tmp)
    with sqlite3.connect(home / DB_NAME) as c:
        c.execute("UPDATE meta SET value = '999' WHERE key = 'schema_version'")
    return home, {}


def empty_db_beside_artefacts(prepared, tmp):
    home = _copy(prepared, tmp)
    _drop_wal(home)
    (home / DB_NAME).write_bytes(b"")
    return home, {}


def damaged_runs(prepared, tmp):
    """Model #1's heldout.npz cut in half, model #2's ica.npz garbled (the default sweep)."""
    home = _copy(prepared, tmp)
    held = _run_dir(home, prepared.tiny, 1) / "heldout.npz"
    held.write_bytes(held.read_bytes()[: held.stat().st_size // 2])
    ica = _run_dir(home, prepared.tiny, 2) / "ica.npz"
    data = bytearray(ica.read_bytes())
    data[:64] = np.random.default_rng(1).bytes(64)
    ica.write_bytes(bytes(data))
    return home, {"sweep": prepared.tiny}


def missing_data(prepared, tmp):
    home = _copy(prepared, tmp)
    (home / "artefacts" / prepared.tiny / "data.npz").unlink()
    return home, {"sweep": prepared.tiny}


def interrupted(prepared, tmp):
    home = _copy(prepared, tmp)
    RunStore(home).set_sweep_status(prepared.single_seed, "interrupted", reason=REASON)
    return home, {"sweep": prepared.single_seed}


UNUSABLE = [home_is_a_file, home_under_a_file, home_in_proc, random_bytes, garbled_header,
            newer_schema, empty_db_beside_artefacts]
SWEEP_DAMAGE = [damaged_runs, missing_data, interrupted]


def expected_messages(case, page: str | None) -> int:
    if case in UNUSABLE:
        return 1  # one error (the Data page: one warning, and it goes on)
    return 1 if page in SWEEP_PAGES else 0


@pytest.mark.parametrize("case", UNUSABLE + SWEEP_DAMAGE, ids=lambda c: c.__name__)
@pytest.mark.parametrize("page", PAGES, ids=lambda p: "Home" if p is None else p[6:-3])
def test_every_page_survives_a_damaged_store(page, case, prepared, tmp_path, monkeypatch):
    home, query = case(prepared, tmp_path)
    monkeypatch.setenv("NEARID_HOME", str(home))
    monkeypatch.setenv("NEARID_APP_RUNNER", "0")
    at = open_app(page, query)
    assert not at.exception, [e.value for e in at.exception]
    shown = messages(at)
    assert len(shown) == expected_messages(case, page), shown
    text = all_text(at)
    assert str(tmp_path) not in text and str(home) not in text
    assert "Traceback" not in text
    if case in UNUSABLE and page == "app_pages/data_page.py":
        assert at.warning and len(at.get("plotly_chart")) == 2  # the preview needs no store
    elif case in UNUSABLE:
        assert "NEARID_HOME" in shown[0]
    if case is damaged_runs and page in SWEEP_PAGES:
        assert "damaged" in shown[0]
        assert len(at.get("plotly_chart")) == HEALTHY_CHARTS[page]  # the other models
        if page == "app_pages/identifiability_page.py":  # and their overlay, once opened
            at.session_state["ov_open"] = True
            at.run()
            assert not at.exception
            assert len(at.get("plotly_chart")) == HEALTHY_CHARTS[page] + 1
    if case is interrupted and page in SWEEP_PAGES:
        assert "was **interrupted**: its process 4242 ended" in at.error[0].value


def test_an_empty_database_beside_artefacts_is_refused_and_left_alone(prepared, tmp_path,
                                                                      monkeypatch):
    home, _ = empty_db_beside_artefacts(prepared, tmp_path)
    before = snapshot(home)
    monkeypatch.setenv("NEARID_HOME", str(home))
    monkeypatch.setenv("NEARID_APP_RUNNER", "0")
    for page in PAGES:
        at = open_app(page)
        assert not at.exception
        assert "will not start a new store" in messages(at)[0]
    assert snapshot(home) == before
    assert (home / DB_NAME).stat().st_size == 0


def test_damaged_models_are_listed_and_left_out(prepared, tmp_path, use_home):
    home, query = damaged_runs(prepared, tmp_path)
    use_home(home)
    at = open_app("app_pages/train_page.py", query)
    assert not at.exception
    table = at.dataframe[0].value.set_index("model")
    assert table.loc[1, "damaged"] and table.loc[2, "damaged"]
    assert not table.loc[0, "damaged"] and not table.loc[3, "damaged"]
    assert list(table["status"]) == ["done"] * 4
    at = open_app("app_pages/ica_page.py", query)
    assert at.selectbox(key="model").options == ["#0 · leak 0 · seed 0", "#3 · leak 0.5 · seed 1"]
    at = open_app("app_pages/ica_page.py", {**query, "model": "1"})  # a link to a damaged model
    assert not at.exception and at.selectbox(key="model").value == 3


def test_damaged_weights_only_cost_the_b_map(prepared, tmp_path, use_home):
    home = _copy(prepared, tmp_path)
    weights = _run_dir(home, prepared.tiny, 2) / "state_dict.pt"
    weights.write_bytes(weights.read_bytes()[:100])
    use_home(home)
    at = open_app("app_pages/bilipschitz_page.py", {"sweep": prepared.tiny, "model": "2"})
    assert not at.exception
    (error,) = at.error
    assert error.value.startswith("Cannot show the B(z) map") and "damaged" in error.value
    assert str(home) not in all_text(at)
    assert len(at.get("plotly_chart")) == 1  # the B(z) distributions still draw


def test_an_interrupted_sweep_can_be_resubmitted(prepared, tmp_path, use_home):
    home, query = interrupted(prepared, tmp_path)
    store = use_home(home)
    at = open_app("app_pages/train_page.py", query)
    old = store.get_sweep(prepared.single_seed)
    at.button(key=f"resubmit_{old['id']}").click().run()
    assert not at.exception
    new = store.list_sweeps()[0]
    assert new["id"] != old["id"] and new["status"] == "queued"
    assert new["name"] == old["name"]
    assert sweep_from_dict(new["config"]) == sweep_from_dict(old["config"])
    assert at.selectbox(key="sweep").value == new["id"]


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_running_sweep_whose_owner_died_reads_as_interrupted(tmp_path, use_home):
    store = use_home(tmp_path)
    sid = submit_sweep(store, SweepConfig(leaks=(0.5,), seeds=1))
    assert store.start_sweep(sid)  # running, owned by this (live) process
    at = open_app("app_pages/train_page.py", {"sweep": sid})
    assert not at.exception
    assert "running" in at.get("progress")[0].proto.text and "ETA n/a" in at.get(
        "progress")[0].proto.text
    with sqlite3.connect(tmp_path / DB_NAME) as c:
        c.execute("UPDATE sweeps SET pid = ? WHERE id = ?", (_dead_pid(), sid))
    at.run()  # what the live panel's next tick does
    assert not at.exception
    assert "was **interrupted**" in at.error[0].value
    assert at.button(key=f"resubmit_{sid}")
    at = open_app("app_pages/identifiability_page.py", {"sweep": sid})
    assert "was **interrupted**" in at.error[0].value


def test_a_read_only_store_is_listed_shown_and_exported(prepared, tmp_path, use_home,
                                                        monkeypatch):
    from nearid_ui import cache

    home = _copy(prepared, tmp_path)
    queued = submit_sweep(RunStore(home), sweep_from_dict(
        RunStore(home).get_sweep(prepared.tiny)["config"]), name="waiting")
    use_home(home)
    monkeypatch.setattr(cache, "RunStore", partial(RunStore, readonly=True))
    at = open_app(None)
    assert not at.exception and not at.error
    assert len(at.dataframe[0].value) == 4
    assert at.button[0].disabled  # the warm-up cannot be written
    at = open_app("app_pages/identifiability_page.py", {"sweep": prepared.tiny, "ova": "-1"})
    assert not at.exception and not at.error
    assert len(at.get("plotly_chart")) == 4  # with the overlay picture, which the link opens
    assert {"Sweep numbers (JSON)", "Latents (NPZ)"} <= {b.label for b in at.get(
        "download_button")}
    at = open_app("app_pages/train_page.py", {"sweep": queued})
    assert not at.exception
    assert at.button(key=f"cancel_{queued}").disabled
    assert RunStore(home).get_sweep(queued)["status"] == "queued"


@pytest.mark.parametrize(("progress", "started", "expected"), [
    (0.0, 100.0, "ETA n/a"), (0.02, 100.0, "ETA n/a"), (0.5, None, "ETA n/a"),
    (0.5, 100.0, "ETA 1 min 00 s"), (0.25, 100.0, "ETA 3 min 00 s"),
    (0.1, 0.0, "ETA 2 h 15 min")])
def test_eta_extrapolates_from_started_at(progress, started, expected):
    now = 160.0 if started == 100.0 else 900.0
    row = {"status": "running", "progress": progress, "started_at": started}
    assert live.eta_text(row, now=now) == expected


def test_eta_is_not_given_for_a_queued_sweep():
    assert live.eta_text({"status": "queued", "progress": 0.5, "started_at": 1.0}) == "ETA n/a"

