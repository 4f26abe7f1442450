"""Every page under streamlit.testing's AppTest: empty store, prepared store, interactions."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from app_helpers import open_app, smallest_train_page
from streamlit.testing.v1 import AppTest

from nearid_core.runs.jobs import run_sweep_job
from nearid_core.science.projection import Projection
from nearid_core.views.results import load_view
from nearid_ui import paper

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 60  # torch's import alone exceeds AppTest's 3 s default
PAGES = ["app_pages/data_page.py", "app_pages/train_page.py", "app_pages/bilipschitz_page.py",
         "app_pages/identifiability_page.py", "app_pages/ica_page.py", "app_pages/paper_page.py"]
RESULT_PAGES = PAGES[2:5]




def charts(at: AppTest) -> list:
    return at.get("plotly_chart")


def ok(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def texts_of(elements) -> str:
    return " ".join(str(e.value) for e in elements)


# ---------------------------------------------------------------- empty store

def test_home_empty_store(tmp_path, use_home):
    use_home(tmp_path)
    at = open_app()
    ok(at)
    assert at.title[0].value.startswith("nearid")
    assert at.button[0].label == "Reproduce the paper's warm-up"
    assert "No sweeps yet" in texts_of(at.info)


@pytest.mark.parametrize("page", PAGES)
def test_every_page_loads_with_an_empty_store(page, tmp_path, use_home):
    use_home(tmp_path)
    at = open_app(page)
    ok(at)
    assert not at.error
    if page in RESULT_PAGES:
        assert "no sweeps yet" in texts_of(at.info)
        assert not charts(at)
    if page.endswith("Data.py"):
        assert len(charts(at)) == 2
    if page.endswith("Paper.py"):  # the reported tables need no sweep
        assert len(at.dataframe) == 3


# ---------------------------------------------------------------- prepared store

@pytest.mark.parametrize("page", PAGES)
def test_every_page_loads_with_a_prepared_store(page, prepared, use_home):
    use_home(prepared.home)
    at = open_app(page)
    ok(at)
    assert not at.error, texts_of(at.error)
    expected = {"data_page": 2, "train_page": 1, "bilipschitz_page": 2, "identifiability_page": 3,
                "ica_page": 6, "paper_page": 0}
    assert len(charts(at)) == expected[page.split("/")[1][:-3]]


def test_home_lists_stored_sweeps(prepared, use_home):
    use_home(prepared.home)
    at = open_app()
    ok(at)
    table = at.dataframe[0].value
    assert set(table["sweep"]) == {prepared.tiny, prepared.single_seed, prepared.with_failure}
    assert list(table["status"]) == ["done"] * 3


def test_data_page_measures_an_isometric_generator(tmp_path, use_home):
    use_home(tmp_path)
    at = open_app("app_pages/data_page.py")
    # rolled data are an exact isometry: B(u) = 1 up to float error
    assert at.metric[0].value == "1.0000"
    at.selectbox(key="kind").set_value("square").run()
    ok(at)
    assert len(charts(at)) == 3  # PCA view, B(u) histogram, sample image grid
    at.number_input(key="d_u").set_value(3).run()
    ok(at)
    assert "d_u must be 2 for kind='square'" in texts_of(at.error)


def test_bilipschitz_table_shows_the_stored_numbers(prepared, use_home):
    store = use_home(prepared.home)
    at = open_app("app_pages/bilipschitz_page.py", {"sweep": prepared.tiny})
    ok(at)
    stored = store.get_sweep(prepared.tiny)["analysis"]["per_leak"]
    shown = at.dataframe[0].value
    assert list(shown["leak"]) == [r["leak"] for r in stored]
    assert list(shown["L_max_mean"]) == pytest.approx([r["L_max_mean"] for r in stored])
    # max over seeds of each model's max B − 1 is the largest B at the leak, minus 1
    assert list(shown["L_max_max"]) == pytest.approx([r["B_max"] - 1 for r in stored])
    assert list(shown["bound"]) == pytest.approx([1.0, 4.0])  # (1 - 0.5)^-2
    at.radio(key="bkind").set_value("histogram").run()
    at.checkbox(key="logx").check().run()
    ok(at)
    assert len(charts(at)) == 2


def test_identifiability_fit_matches_the_analysis(prepared, use_home):
    store = use_home(prepared.home)
    at = open_app("app_pages/identifiability_page.py", {"sweep": prepared.tiny})
    ok(at)
    fits = store.get_sweep(prepared.tiny)["analysis"]["fits"]
    table = at.dataframe[0].value
    rigid = table[table["group"] == "rigid"]
    # two leaks cannot carry a fit: the table says why instead of printing c = nan
    assert list(rigid["note"]) == ["no fit: needs errors at ≥ 3 leaks, has 2"] * 2
    assert fits["rigid_vs_L_max_max"]["note"] == rigid["note"].iloc[0]
    assert rigid["L"].iloc[0] == "L_max_max"
    at.radio(key="L").set_value("L_mean").run()
    at.radio(key="Lover").set_value("mean").run()
    assert at.dataframe[0].value["L"].iloc[0] == "L_mean_mean"
    at.radio(key="view").set_value("structural").run()
    ok(at)
    assert len(charts(at)) == 3  # error vs L, reconstruction, efficiency (overlay folded)


def test_identifiability_with_one_seed_explains_the_empty_statistical_view(prepared, use_home):
    use_home(prepared.home)
    at = open_app("app_pages/identifiability_page.py", {"sweep": prepared.single_seed})
    ok(at)
    assert "no pair to compare" in texts_of(at.info)
    at.radio(key="view").set_value("structural").run()
    ok(at)
    assert "no pair to compare" not in texts_of(at.info)
    assert len(charts(at)) == 3  # the overlay is folded until opened


def test_a_link_reproduces_the_view_and_bad_links_are_explained(prepared, use_home):
    use_home(prepared.home)
    at = open_app("app_pages/identifiability_page.py",
                  {"sweep": prepared.single_seed[:6], "view": "structural", "L": "L_mean"})
    ok(at)
    assert at.selectbox(key="sweep").value == prepared.single_seed
    assert at.radio(key="view").value == "structural"
    assert at.radio(key="L").value == "L_mean"
    at = open_app("app_pages/identifiability_page.py", {"sweep": "nope", "view": "sideways"})
    ok(at)
    warnings = texts_of(at.warning)
    assert "sweep=nope" in warnings and "view=sideways" in warnings
    assert at.selectbox(key="sweep").value == prepared.tiny  # the default instead


def test_ica_page_shows_the_stored_scores(prepared, use_home):
    store = use_home(prepared.home)
    at = open_app("app_pages/ica_page.py", {"sweep": prepared.tiny, "model": "2"})
    ok(at)
    run = store.list_runs(prepared.tiny)[2]
    mcc_after = run["metrics"]["after"]["mcc"]
    assert at.metric[0].value == f"{mcc_after:.3f}"
    table = at.dataframe[0].value.set_index("metric")
    assert table.loc["InfoM", "before"] == pytest.approx(run["metrics"]["before"]["infom"])
    at.radio(key="factor").set_value("u2").run()
    at.radio(key="psrc").set_value("after").run()
    at.radio(key="pcolor").set_value("B(z)").run()
    ok(at)


def test_ica_page_umap_runs_in_the_background(prepared, use_home, monkeypatch):
    from nearid_ui import background

    use_home(prepared.home)
    monkeypatch.setattr(background, "umap", lambda key, X: ("running", None))
    at = open_app("app_pages/ica_page.py", {"sweep": prepared.tiny, "proj": "umap"})
    ok(at)
    assert "computed in the background" in texts_of(at.info)
    assert any("PCA projection" in c.proto.spec for c in charts(at))

    view = load_view(use_home(prepared.home), prepared.tiny)
    z = view.done[0].latents

    def done(key, X):
        return "done", Projection(z[:, :2], __import__("numpy").arange(len(z)), "umap",
                                  __import__("numpy").full(2, float("nan")))
    monkeypatch.setattr(background, "umap", done)
    at = open_app("app_pages/ica_page.py", {"sweep": prepared.tiny, "proj": "umap"})
    ok(at)
    assert any("UMAP projection" in c.proto.spec for c in charts(at))


def test_paper_page_labels_reported_and_computed_numbers(prepared, use_home):
    store = use_home(prepared.home)
    at = open_app("app_pages/paper_page.py", {"sweep": prepared.tiny})
    ok(at)
    frames = [d.value for d in at.dataframe]
    reported = frames[0]
    assert set(reported["source"]) == {paper.REPORTED}
    assert reported["rigid"].tolist() == [0.150, 0.109, 0.104, 0.206]
    computed = frames[1]
    assert set(computed["source"]) == {paper.COMPUTED}
    stored = store.get_sweep(prepared.tiny)["analysis"]["per_leak"]
    assert computed["rigid"].tolist() == pytest.approx([r["stat_rigid"] for r in stored])
    # Table 2 beside the paper is by the InfoMEC authors' protocol: per leak, the mean over
    # its models of their per-model InfoM (AE) and of InfoM after ICA (AE + ICA).
    table2 = frames[3]
    assert set(table2["protocol"]) == {"InfoMEC authors'"}
    per_model = store.get_sweep(prepared.tiny)["analysis"]["per_model"]
    leak_of = {str(r["index"]): r["leak"] for r in store.list_runs(prepared.tiny)}
    for k, r in enumerate(stored):
        ms = [m for i, m in per_model.items() if leak_of[i] == r["leak"]]
        for row, when in ((table2.iloc[2 * k], "before"), (table2.iloc[2 * k + 1], "after")):
            assert row["InfoM"] == pytest.approx(
                sum(m[when]["infom_authors"] for m in ms) / len(ms))
        # InfoE cannot change under ICA: carried over, identical
        assert table2.iloc[2 * k]["InfoE"] == table2.iloc[2 * k + 1]["InfoE"]
    assert len(frames) == 6  # T1 x2, T2 x2, T3-4, claims


def test_results_pages_explain_a_running_sweep(prepared, tmp_path, use_home):
    store = use_home(tmp_path)
    at = open_app(query={"preset": "tiny"})
    at.button[0].click().run()
    ok(at)
    sweep = store.list_sweeps()[0]
    assert sweep["name"] == "paper warm-up (tiny preset)"
    assert sweep["config"]["data"]["n"] == 1024 and sweep["status"] == "queued"
    assert "is **queued**" in texts_of(at.info)  # landed on Identifiability, waiting


# ---------------------------------------------------------------- training

def test_train_page_runs_the_smallest_job_to_completion(tmp_path, use_home):
    store = use_home(tmp_path)
    at = smallest_train_page()
    ok(at)
    assert not at.error
    at.button[0].click().run()  # Train
    ok(at)
    (sweep,) = store.list_sweeps()
    assert sweep["status"] == "queued" and sweep["n_runs"] == 2
    assert sweep["config"]["leaks"] == [0.5]
    assert at.selectbox(key="sweep").value == sweep["id"]
    run_sweep_job(store, sweep["id"], executor=ThreadPoolExecutor(1))  # the runner's work
    at.run()
    ok(at)
    assert store.get_sweep(sweep["id"])["status"] == "done"
    assert "Done" in texts_of(at.success)
    assert len(charts(at)) == 1  # loss curves per model
    assert list(at.dataframe[0].value["status"]) == ["done", "done"]


def test_train_page_cancel(tmp_path, use_home):
    store = use_home(tmp_path)
    at = open_app("app_pages/train_page.py")
    at.button[0].click().run()
    sid = store.list_sweeps()[0]["id"]
    cancel = at.button(key=f"cancel_{sid}")
    assert cancel.label == "Cancel"
    cancel.click().run()
    ok(at)
    row = store.get_sweep(sid)
    assert row["status"] == "cancelled" and row["reason"] == "cancelled by the user"
    assert "cancelled" in texts_of(at.warning)


def test_train_page_explains_bad_settings(tmp_path, use_home):
    use_home(tmp_path)
    at = open_app("app_pages/train_page.py")
    at.number_input(key="width").set_value(64).run()  # wider than d_x = 32
    ok(at)
    assert "d_z <= width <= d_x" in texts_of(at.error)
    assert at.button[0].disabled
    at.radio(key="decoder").set_value("free").run()  # a free decoder may be wider
    assert not at.error and not at.button[0].disabled


def test_train_page_shows_a_failed_model_with_its_reason(prepared, use_home):
    use_home(prepared.home)
    at = open_app("app_pages/train_page.py", {"sweep": prepared.with_failure})
    ok(at)
    assert prepared.failed_reason in texts_of(at.error)
    statuses = list(at.dataframe[0].value["status"])
    assert statuses.count("failed") == 1


def test_paper_page_links_every_table_and_figure_to_a_registered_page(prepared, use_home):
    use_home(prepared.home)
    items = " ".join(item for item, *_ in paper.WHERE)
    for name in ("Figure 1", "Figure 2", "A.3", "A.4", "A.5", "Table 1", "Table 2",
                 "Tables 3–4"):
        assert name in items
    registered = (ROOT / "app.py").read_text()
    for _, _, page_file, _, _ in paper.WHERE:
        assert (ROOT / page_file).exists() and f'"{page_file}"' in registered
    at = open_app("app_pages/paper_page.py", {"sweep": prepared.tiny})
    ok(at)
    text = " ".join(m.value for m in at.markdown)
    assert all(f"**{item}**" in text for item, *_ in paper.WHERE)
