"""The Batch effects page under AppTest: an empty store, a finished tiny study shown by its
link (paired-difference lines, tables beside the paper's, figures, strength statement), and
Run queueing a study for the background runner (which the tests keep off)."""

from __future__ import annotations

import json

import pytest
from app_helpers import finished_study, ok, open_app, text_of

from nearid_core.runs.study_jobs import BATCH_DEFAULTS, study_settings
from nearid_core.views import study_batch
from nearid_ui.batch_study import parse_strengths

PAGE = "app_pages/batch_page.py"
# 2 perturbations, 4 batches (2 held out), 10 wells, 5 latent factors: 60 training rows, at
# least the 2 x 16 FastICA needs; 2 screens and 2 strengths x 2 screens run in seconds.
TINY = {"screen": {"perturbations": 2, "batches": 4, "wells": 10, "k_bio": 3, "k_nuis": 2,
                   "d_x": 12, "effect": 1.5, "nuisance": "laplace"},
        "seeds": 2, "strengths": [0.0, 2.0], "strength_seeds": 2}


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> tuple:
    """(home, study id) of a store holding one finished tiny batch study."""
    home = tmp_path_factory.mktemp("nearid_batch")
    return home, finished_study(home, "batch", TINY)


def test_the_page_loads_with_an_empty_store(use_home, tmp_path):
    use_home(tmp_path)
    at = open_app(PAGE)
    ok(at)
    assert not at.error
    assert "No study of this kind" in text_of(at.info)
    assert "python -m nearid_core batch --perturbations 6" in text_of(at.caption)
    assert "synthetic analogue" in text_of(at.caption)


def test_run_with_the_default_widgets_queues_the_cores_default_settings(use_home, tmp_path):
    store = use_home(tmp_path)
    at = open_app(PAGE)
    strengths = ", ".join(f"{s:g}" for s in BATCH_DEFAULTS["strengths"])
    assert at.text_input(key="bat_strengths").value == strengths
    caption = text_of(at.caption)
    assert "--held-out 2 --wells 40 --strength 1 --embedding observations --seed 0" in caption
    at.button(key="run_batch").click().run()
    ok(at)
    rows = store.list_sweeps(kind="batch")
    # Every widget at its default gives exactly ScreenConfig's, BatchConfig's and
    # BATCH_DEFAULTS' values: the same settings as an empty dict.
    assert len(rows) == 1 and rows[0]["config"]["settings"] == study_settings("batch", {})


def test_a_linked_study_shows_lines_tables_figures_and_statement(use_home, finished):
    home, sid = finished
    doc = use_home(home).get_sweep(sid)["analysis"]
    at = open_app(PAGE, query={"study": sid})
    ok(at)
    assert "not the paper's data" in text_of(at.info)
    shown = text_of(at.success) + text_of(at.warning)
    for line in study_batch.paired_lines(doc):
        assert line in shown
    assert study_batch.strength_statement(doc) in text_of(at.markdown)
    tables = [df.value for df in at.dataframe if "perturbation" in df.value.columns]
    assert len(tables) == 3  # AUROC, top-25% share, Hoyer
    expected = study_batch.tables(doc)
    for df, m in zip(tables, ("auroc", "top25", "hoyer"), strict=True):
        assert list(df["perturbation"]) == [r["perturbation"] for r in expected[m]]
        assert list(df["PCA + ICA"]) == pytest.approx([r["PCA + ICA"] for r in expected[m]])
    assert "paper: gene EIF3H" in set(tables[0]["perturbation"])
    specs = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    assert len(specs) == 4  # paired, AUROC, sparsity-AUROC, strength


def test_run_queues_a_study(use_home, tmp_path):
    store = use_home(tmp_path)  # a fresh store: this test writes
    at = open_app(PAGE)
    at.number_input(key="bat_perturbations").set_value(2).run()
    at.number_input(key="bat_batches").set_value(4).run()
    at.number_input(key="bat_wells").set_value(10).run()
    at.number_input(key="bat_seeds").set_value(2).run()
    at.text_input(key="bat_strengths").set_value("2, 0").run()
    assert "--perturbations 2 --batches 4 --held-out 2 --wells 10" in text_of(at.caption)
    at.button(key="run_batch").click().run()
    ok(at)
    rows = store.list_sweeps(kind="batch")
    assert len(rows) == 1 and rows[0]["status"] == "queued"
    settings = rows[0]["config"]["settings"]
    assert settings["screen"]["perturbations"] == 2 and settings["held_out"] == [2, 3]
    assert settings["strengths"] == [0.0, 2.0] and settings["seeds"] == 2
    assert "is **queued**" in text_of(at.info)


def test_a_bad_strength_ends_in_a_message_and_queues_nothing(use_home, tmp_path):
    store = use_home(tmp_path)
    at = open_app(PAGE)
    at.text_input(key="bat_strengths").set_value("0, two").run()
    ok(at)
    assert "'two' is not a number" in text_of(at.error)
    at.button(key="run_batch").click().run()
    ok(at)
    assert "Cannot run these settings" in text_of(at.error)
    assert store.list_sweeps(kind="batch") == []


@pytest.mark.parametrize("text, values, error", [
    ("0, 1, 2", [0.0, 1.0, 2.0], ""), ("2 0.5;2", [0.5, 2.0], ""), ("", [], ""),
    ("1, x", ["1", "x"], "'x' is not a number"), ("11", [11.0], "outside [0, 10]"),
    (", ".join(["1"] * 13), [1.0] * 13, "at most 12")])
def test_parse_strengths(text, values, error):
    got, message = parse_strengths(text)
    assert got == values
    assert (error in message) if error else message == ""


def test_the_command_line_shown_runs_the_same_study():
    from nearid_core.commands import batch as cmd
    from nearid_ui.batch_study import command_line

    cfg = study_settings("batch", {"screen": {"perturbations": 4, "batches": 5, "wells": 12,
                                              "strength": 2.5, "seed": 7},
                                   "held_out": [3, 4], "embedding": "autoencoder",
                                   "seeds": 3, "strengths": [0.0, 3.0],
                                   "strength_seeds": 2})
    words = command_line(cfg).split()
    assert words[:4] == ["python", "-m", "nearid_core", "batch"]
    from nearid_core.__main__ import build_parser

    args = build_parser().parse_args(words[3:])
    assert study_settings("batch", cmd.study_settings(args, cmd._config(args))) == cfg
