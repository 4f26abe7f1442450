"""The Disentanglement page under AppTest: an empty store, a finished tiny study shown by
its link (verdicts, the table beside the paper's, figures, traversal images), and Run
queueing a study for the background runner (which the tests keep off)."""

from __future__ import annotations

import json

import pytest
from app_helpers import finished_study, ok, open_app, text_of

from nearid_core.views.study_disentangle import OURS, PAPER

PAGE = "app_pages/disentangle_page.py"
# Every data set (shapes gives the traversals), 2 seeds, tiny training: seconds in all.
TINY = {"seeds": 2, "epochs": 2, "n": 512, "width": 16, "batch_size": 64}


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> tuple:
    """(home, study id) of a store holding one finished tiny disentangle study."""
    home = tmp_path_factory.mktemp("nearid_disentangle")
    return home, finished_study(home, "disentangle", TINY)


def test_the_page_loads_with_an_empty_store(use_home, tmp_path):
    use_home(tmp_path)
    at = open_app(PAGE)
    ok(at)
    assert "No study of this kind" in text_of(at.info)
    assert "python -m nearid_core disentangle" in text_of(at.caption)


def test_a_linked_study_shows_verdicts_table_and_traversals(use_home, finished):
    home, sid = finished
    doc = use_home(home).get_sweep(sid)["analysis"]
    at = open_app(PAGE, query={"study": sid})
    ok(at)
    assert "not Shapes3D/MPI3D" in text_of(at.info)
    shown = text_of(at.success) + text_of(at.error) + text_of(at.info)
    for v in doc["verdicts"]:
        assert v["text"] in shown
    tables = [df.value for df in at.dataframe if "source" in df.value.columns]
    assert tables and set(tables[0]["source"]) == {OURS, PAPER}
    assert len(tables[0]) == len(doc["table"]) + len(doc["paper_table2"])
    specs = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    heatmaps = [s for s in specs if s["data"][0]["type"] == "heatmap"]
    assert len(specs) == 4 and len(heatmaps) == 2  # means, seed gains; before | after ICA
    at.selectbox(key=f"dis_tr_right_{sid}").set_value("ica_all").run()
    at.selectbox(key=f"dis_tr_seed_{sid}").set_value(1).run()
    ok(at)
    titles = [json.loads(c.proto.spec)["layout"]["title"]["text"]
              for c in at.get("plotly_chart")]
    assert "shapes, seed 1: after ICA (all kept latents)" in titles


def test_run_queues_a_study(use_home, tmp_path):
    store = use_home(tmp_path)  # a fresh store: this test writes
    at = open_app(PAGE)
    at.multiselect(key="dis_data").set_value(["rolled"]).run()
    at.number_input(key="dis_seeds").set_value(1).run()
    at.number_input(key="dis_epochs").set_value(1).run()
    at.number_input(key="dis_n").set_value(512).run()
    assert "--data rolled --seeds 1 --epochs 1 --n 512" in text_of(at.caption)
    at.button(key="run_disentangle").click().run()
    ok(at)
    rows = store.list_sweeps(kind="disentangle")
    assert len(rows) == 1 and rows[0]["status"] == "queued"
    settings = rows[0]["config"]["settings"]
    assert settings["datasets"] == ["rolled"] and settings["seeds"] == 1
    assert "is **queued**" in text_of(at.info)


def test_a_bad_setting_ends_in_one_message(use_home, tmp_path):
    store = use_home(tmp_path)
    at = open_app(PAGE)
    at.number_input(key="dis_levels").set_value(1).run()  # 0 or 2-20
    at.button(key="run_disentangle").click().run()
    ok(at)
    assert "Cannot run these settings" in text_of(at.error) and "levels" in text_of(at.error)
    assert store.list_sweeps(kind="disentangle") == []


def test_the_command_line_shown_runs_the_same_study():
    from nearid_core.__main__ import build_parser
    from nearid_core.commands import disentangle as cmd
    from nearid_core.config import to_dict
    from nearid_core.runs.study_jobs import study_settings
    from nearid_ui.disentangle import command_line

    cfg = {"datasets": ["rolled", "mlp"], "seeds": 2, "epochs": 7, "n": 1024, "seed": 3,
           "weight_decay": 1e-3, "latents_per_factor": 1, "leak": 0.5, "levels": 0,
           "rolled_factors": 3, "mlp_factors": 5}
    words = command_line(cfg).split()
    assert words[:4] == ["python", "-m", "nearid_core", "disentangle"]
    args = build_parser().parse_args(words[3:])
    assert study_settings("disentangle", to_dict(cmd._config(args))) == study_settings(
        "disentangle", cfg)
