"""The app's rough edges (issue 8): reuse of identical sweeps, rename and delete, labels
that tell sweeps apart and stay fresh, partial sweeps on every result page, ICA deltas at
the shown precision, hostile links, measured time claims."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from app_helpers import open_app, smallest_train_page
from streamlit.testing.v1 import AppTest

from nearid_core.config import DataConfig, SweepConfig, TrainConfig, config_id, sweep_from_dict
from nearid_core.runs.jobs import submit_sweep
from nearid_core.runs.store import RunStore
from nearid_ui import jobs, manage, numbers, routing

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 60  # torch's import alone exceeds AppTest's 3 s default
RESULT_PAGES = ["app_pages/bilipschitz_page.py", "app_pages/identifiability_page.py", "app_pages/ica_page.py",
                "app_pages/paper_page.py"]
CANCELLED = "cancelled by the user"
SMALL = SweepConfig(data=DataConfig(n=512), train=TrainConfig(epochs=1, batch_size=128),
                    leaks=(0.5,), seeds=2)  # queued only, never trained here




def ok(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def text_of(elements) -> str:
    return " ".join(str(e.value) for e in elements)


def copy_store(prepared, tmp_path: Path) -> Path:
    home = tmp_path / "store"
    shutil.copytree(prepared.home, home, ignore=shutil.ignore_patterns("runner.*"))
    return home


def partial_sweep(store: RunStore, sid: str, *, trained_leaks: int) -> None:
    """Make a trained sweep look cancelled before its analysis, with only the models of
    its first ``trained_leaks`` leaks finished (the others stopped)."""
    store.set_sweep_status(sid, "cancelled", reason=CANCELLED)
    store.set_sweep_analysis(sid, None)
    leaks = sorted({r["leak"] for r in store.list_runs(sid)})[:trained_leaks]
    for r in store.list_runs(sid):
        if r["leak"] not in leaks:
            store.set_run_status(r["id"], "cancelled", reason=CANCELLED)


# ---------------------------------------------------------------- 1. reuse, no doubles

def test_start_or_reuse_reuses_done_follows_live_and_trains_again_on_request(prepared,
                                                                             tmp_path,
                                                                             use_home):
    store = use_home(copy_store(prepared, tmp_path))
    tiny = sweep_from_dict(store.get_sweep(prepared.tiny)["config"])
    before = len(store.list_sweeps())
    sid, reused = manage.start_or_reuse(store, tiny, "again?")
    assert reused and sid == prepared.tiny  # the newest identical done sweep
    new, reused = manage.start_or_reuse(store, tiny, "again", again=True)
    assert not reused and new != prepared.tiny
    # A double click: the identical sweep is queued now, so it is followed, even with again.
    assert manage.start_or_reuse(store, tiny, "again") == (new, True)
    assert manage.start_or_reuse(store, tiny, "again", again=True) == (new, True)
    assert len(store.list_sweeps()) == before + 1
    other = SweepConfig(data=tiny.data, train=tiny.train, leaks=tiny.leaks, seeds=2, seed=1)
    assert config_id(other) != config_id(tiny)
    assert manage.start_or_reuse(store, other)[1] is False  # another master seed: new


def test_warmup_button_opens_an_identical_done_sweep_with_an_explicit_train_again(
        prepared, tmp_path, use_home, monkeypatch):
    store = use_home(copy_store(prepared, tmp_path))
    tiny = sweep_from_dict(store.get_sweep(prepared.tiny)["config"])
    monkeypatch.setitem(jobs.PRESETS, "tiny", tiny)  # what the prepared store trained
    n = len(store.list_sweeps())
    at = open_app(query={"preset": "tiny"})
    ok(at)
    assert "Trained before with these exact settings" in text_of(at.caption)
    at.button[0].click().run()  # Reproduce the paper's warm-up
    ok(at)
    assert len(store.list_sweeps()) == n  # nothing retrained
    assert at.query_params["sweep"] == prepared.tiny
    at = open_app(query={"preset": "tiny"})
    at.button(key="warmup_again").click().run()
    ok(at)
    assert len(store.list_sweeps()) == n + 1
    queued = store.list_sweeps()[0]
    assert queued["status"] == "queued" and config_id(tiny) == manage.row_config_id(queued)
    at = open_app(query={"preset": "tiny"})
    assert "is queued" in text_of(at.caption)
    at.button[0].click().run()  # pressed again while it waits: followed, not doubled
    ok(at)
    assert len(store.list_sweeps()) == n + 1
    assert at.query_params["sweep"] == queued["id"]


def test_train_twice_queues_once_then_opens_the_finished_sweep_until_train_again(
        tmp_path, use_home):
    from concurrent.futures import ThreadPoolExecutor

    from nearid_core.runs.jobs import run_sweep_job

    store = use_home(tmp_path)
    at = smallest_train_page()
    at.button[0].click().run()  # Train
    at.button[0].click().run()  # ... and a second click before the first has trained
    ok(at)
    (sweep,) = store.list_sweeps()  # one sweep, followed by both clicks
    assert at.selectbox(key="sweep").value == sweep["id"]
    assert "is queued" in text_of(at.caption)
    run_sweep_job(store, sweep["id"], executor=ThreadPoolExecutor(1))
    at.run()
    assert "Trained before with these exact settings" in text_of(at.caption)
    assert "s training +" in text_of(at.caption)  # its measured timings, not a fixed text
    at.button[0].click().run()  # Train: opens the finished sweep
    ok(at)
    assert len(store.list_sweeps()) == 1
    at.button(key="train_again").click().run()
    ok(at)
    new = store.list_sweeps()[0]
    assert len(store.list_sweeps()) == 2 and new["status"] == "queued"
    assert at.selectbox(key="sweep").value == new["id"]


# ---------------------------------------------------------------- 2. rename, delete

def test_rename_then_delete_after_a_confirmation(prepared, tmp_path, use_home):
    store = use_home(copy_store(prepared, tmp_path))
    sid = prepared.single_seed
    at = open_app("app_pages/train_page.py", {"sweep": sid})
    at.text_input(key=f"rename_{sid}").set_value("renamed here")
    at.button(key=f"do_rename_{sid}").click().run()
    ok(at)
    assert store.get_sweep(sid)["name"] == "renamed here"
    at.button(key=f"delete_{sid}").click().run()
    ok(at)
    assert "cannot be undone" in text_of(at.warning)
    at.button(key=f"keep_{sid}").click().run()
    assert store.get_sweep(sid)  # kept
    at.button(key=f"delete_{sid}").click().run()
    at.button(key=f"yes_delete_{sid}").click().run()
    ok(at)
    assert sid not in {r["id"] for r in store.list_sweeps()}
    assert not (store.artefacts_dir / sid).exists()


def test_home_selection_offers_rename_and_delete(prepared, tmp_path, use_home):
    store = use_home(copy_store(prepared, tmp_path))
    at = open_app()
    at.session_state["sweeps_table"] = {"selection": {"rows": [0], "columns": []}}
    at.run()
    ok(at)
    sid = store.list_sweeps()[0]["id"]
    assert at.button(key=f"delete_{sid}").label == "Delete…"
    at.button(key=f"delete_{sid}").click().run()
    at.button(key=f"yes_delete_{sid}").click().run()
    ok(at)
    assert sid not in set(at.dataframe[0].value["sweep"])
    assert sid not in {r["id"] for r in store.list_sweeps()}


def test_delete_of_a_live_sweep_says_cancel_it_first(tmp_path, use_home):
    store = use_home(tmp_path)
    sid = submit_sweep(store, SMALL)
    at = open_app("app_pages/train_page.py", {"sweep": sid})
    ok(at)
    assert at.button(key=f"delete_{sid}").disabled
    assert "cancel it first" in text_of(at.caption)
    assert store.get_sweep(sid)["status"] == "queued"


# ---------------------------------------------------------------- 3. what tells sweeps apart

def test_home_table_shows_the_settings_and_labels_are_short(prepared, use_home):
    use_home(prepared.home)
    at = open_app()
    table = at.dataframe[0].value
    for col in ("data", "n", "d_u", "leaks", "seeds", "epochs", "decoder", "master seed"):
        assert col in table.columns
    row = table.set_index("sweep").loc[prepared.tiny]
    assert (row["n"], row["epochs"], row["seeds"], row["master seed"]) == (512, 2, 2, 0)
    at = open_app("app_pages/bilipschitz_page.py")
    labels = at.selectbox(key="sweep").options
    assert all(len(label) <= 28 for label in labels), labels  # the sidebar shows ~30
    assert any(prepared.tiny[:6] in label for label in labels)
    assert prepared.tiny in text_of(at.sidebar.caption)  # the full details under it


def test_a_sweep_name_is_shown_literally(prepared, tmp_path, use_home):
    store = use_home(copy_store(prepared, tmp_path))
    store.rename_sweep(prepared.tiny, "![x](http://example.com/x.png)")
    at = open_app("app_pages/bilipschitz_page.py", {"sweep": prepared.tiny})
    ok(at)
    details = text_of(at.sidebar.caption)
    assert "example" in details and "![" not in details and "](" not in details


# ---------------------------------------------------------------- 4. fresh labels

def test_follow_reruns_the_page_when_the_status_moves_on(tmp_path, use_home):
    store = use_home(tmp_path)
    sid = submit_sweep(store, SMALL)
    assert store.start_sweep(sid)  # running now; a page drawn a moment ago said queued

    def page(sweep_id: str) -> None:
        import streamlit as st

        from nearid_ui import live

        st.session_state["runs"] = st.session_state.get("runs", 0) + 1
        live.follow(sweep_id, shown="queued" if st.session_state["runs"] == 1 else None)

    at = AppTest.from_function(page, args=(sid,), default_timeout=TIMEOUT)
    at.run()
    ok(at)
    assert at.session_state["runs"] == 2  # the stale page was redrawn, labels included
    assert "is **running**" in text_of(at.info)


def test_cancel_shows_stopping_runs_and_dashes_for_unmeasured_metrics(tmp_path, use_home):
    store = use_home(tmp_path)
    sid = submit_sweep(store, SMALL)
    assert store.start_sweep(sid)  # running, owned by this live process
    at = open_app("app_pages/train_page.py", {"sweep": sid})
    ok(at)
    runs = at.dataframe[0].value
    assert set(runs["status"]) == {"running"}
    assert set(runs["recon_mse"]) == {"—"} and set(runs["L_max"]) == {"—"}  # never "None"
    assert "so far" in at.get("progress")[0].proto.text  # measured time, not a frozen 0%
    at.button(key=f"cancel_{sid}").click().run()
    ok(at)
    assert store.get_sweep(sid)["status"] == "cancelled"
    # The owner records how its runs ended within a second; until then they are stopping.
    assert set(at.dataframe[0].value["status"]) == {"stopping (cancelled)"}


# ---------------------------------------------------------------- 5. partial sweeps

@pytest.mark.parametrize("page", RESULT_PAGES)
def test_a_cancelled_sweep_opens_on_every_result_page_with_a_banner(page, prepared, tmp_path,
                                                                    use_home):
    store = use_home(copy_store(prepared, tmp_path))
    partial_sweep(store, prepared.tiny, trained_leaks=1)
    at = open_app(page, {"sweep": prepared.tiny})
    ok(at)
    banner = text_of(at.warning)
    assert "was **cancelled**" in banner and "1 of 2 leaks trained (2 of 4 models)" in banner
    assert "no analysis" in banner
    charts = len(at.get("plotly_chart"))
    if page.endswith("Identifiability.py"):
        assert "need the sweep's analysis" in text_of(at.info) and charts == 0
    if page.endswith("Bi-Lipschitz.py"):
        assert charts == 2  # B(z) per leak of the finished models, and the B(z) map
        assert list(at.dataframe[0].value["leak"]) == [0.0, 0.0]
    if page.endswith("ICA.py"):
        assert "has no scores" in text_of(at.info)
        assert charts >= 2 and not at.metric  # latents and |corr| before ICA; no scores


def test_a_sweep_without_finished_models_still_explains_itself(tmp_path, use_home):
    store = use_home(tmp_path)
    sid = submit_sweep(store, SMALL)
    store.request_cancel(sid)
    at = open_app("app_pages/bilipschitz_page.py", {"sweep": sid})
    ok(at)
    assert "was **cancelled**" in text_of(at.warning) and not at.get("plotly_chart")


# ---------------------------------------------------------------- 6. ICA deltas

def test_ica_deltas_are_rounded_to_the_shown_precision(prepared, use_home, monkeypatch):
    from nearid_core.views import results

    use_home(prepared.home)
    scores = {"mcc": (0.5, 0.6), "infom": (0.3, 0.25), "infoe": (0.71, 0.71 - 1.426e-7),
              "infoc": (0.2, 0.2004), "dci_d": (0.1, 0.1)}
    monkeypatch.setattr(results, "model_scores", lambda v, i: scores)
    at = open_app("app_pages/ica_page.py", {"sweep": prepared.tiny})
    ok(at)
    deltas = {m.label.split()[0]: m for m in at.metric}
    assert deltas["MCC"].delta == "+0.100 vs before"
    assert deltas["InfoM"].delta == "-0.050 vs before"
    for name in ("InfoE", "InfoC", "DCI"):  # unchanged at 3 decimals: no red arrow
        assert deltas[name].delta == "no change vs before"
        assert deltas[name].proto.color != deltas["InfoM"].proto.color
    change = at.dataframe[0].value.set_index("metric")["change"]
    assert change["InfoE"] == 0.0 and change["MCC"] == pytest.approx(0.1)


def test_change_is_exact_at_the_shown_precision():
    assert numbers.change(0.71, 0.71 - 1.426e-7) == 0.0
    assert str(numbers.change(0.71, 0.71 - 1.426e-7)) == "0.0"  # not -0.0
    assert numbers.change(0.5, 0.6) == 0.1
    assert numbers.delta(0.3, 0.3)["delta_color"] == "off"


# ---------------------------------------------------------------- 7. hostile links

def test_a_huge_link_parameter_is_not_echoed(prepared, use_home):
    use_home(prepared.home)
    at = open_app(query={"sweep": "x" * 5000})  # app.py checks the link before any page
    ok(at)
    warnings = text_of(at.warning)
    assert "5,000 characters" in warnings
    assert "x" * (routing.ECHO + 1) not in warnings and len(warnings) < 300
    at.switch_page("app_pages/bilipschitz_page.py").run()
    ok(at)
    assert at.selectbox(key="sweep").value == prepared.tiny  # the default instead


@pytest.mark.parametrize("page", ["app_pages/bilipschitz_page.py", "app_pages/ica_page.py"])
def test_an_unknown_model_in_a_link_is_warned_about(page, prepared, use_home):
    use_home(prepared.home)
    at = open_app(page, {"sweep": prepared.tiny, "model": "99999"})
    ok(at)
    assert "model=99999" in text_of(at.warning)


def test_unknown_paths_go_to_the_not_found_page():
    # The browser test opens /nonexistentpage for real (AppTest cannot load a URL path).
    known = {"", "Data", "ICA"}
    assert routing.target("nonexistentpage", known) == routing.NOT_FOUND
    assert routing.target("ica", known) == routing.NOT_FOUND  # paths are case-sensitive
    assert routing.target("ICA", known) is None and routing.target("", known) is None
    assert routing.target("home", known) == ""  # the default page's own name: Home


def test_preset_labels_keep_their_text_while_the_machine_load_moves(tmp_path, use_home,
                                                                       monkeypatch):
    # The time claim beside each preset follows the load average; a radio option whose text
    # changed between two reruns could no longer be matched to the choice made (AppTest
    # raised "not in list"), and on screen it flickered.
    from nearid_core.engine import budget

    use_home(tmp_path)
    load = iter([0.0, 40.0, 80.0, 120.0])
    monkeypatch.setattr(budget.os, "getloadavg", lambda: (next(load, 160.0), 0.0, 0.0))
    at = open_app()
    first = list(at.radio(key="preset").options)
    at.run()
    at.run()
    assert list(at.radio(key="preset").options) == first
