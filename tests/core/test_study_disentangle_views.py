"""Views of a stored disentanglement study: known answers read back from the document and
the traversal arrays of a tiny study run through the store, and from hand-built arrays."""

from __future__ import annotations

import html
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from nearid_core.runs.store import RunStore
from nearid_core.runs.study_jobs import load_traversals, run_study_job, submit_study
from nearid_core.views.study_disentangle import (
    GAP,
    OURS,
    PAPER,
    dataset_notes,
    report_html,
    seed_gain_figure,
    table2_figure,
    table_rows,
    traversal_figure,
    verdict_lines,
)

# Every data set (shapes gives the traversals), 2 seeds, tiny training: seconds in all.
TINY = {"seeds": 2, "epochs": 2, "n": 512, "width": 16, "batch_size": 64}
LABELS = {"infom": "InfoM", "infoe": "InfoE", "infoc": "InfoC", "mcc": "MCC", "dci_d": "DCI D"}


@pytest.fixture(scope="module")
def study(tmp_path_factory) -> tuple[dict, dict]:
    """(the stored row, its traversal arrays) of a finished tiny study."""
    store = RunStore(tmp_path_factory.mktemp("nearid_dis_views"))
    sid = submit_study(store, "disentangle", TINY, name="tiny")
    run_study_job(store, sid, executor=ThreadPoolExecutor(1))
    row = store.get_sweep(sid)
    assert row["status"] == "done"
    return row, load_traversals(store, sid)


def test_table_rows_hold_every_row_of_ours_then_the_papers(study):
    doc = study[0]["analysis"]
    rows = table_rows(doc)
    assert len(rows) == len(doc["table"]) + len(doc["paper_table2"])
    ours, paper = rows[:len(doc["table"])], rows[len(doc["table"]):]
    assert {r["source"] for r in ours} == {OURS} and {r["source"] for r in paper} == {PAPER}
    for got, want in zip(ours, doc["table"], strict=True):
        assert (got["data"], got["code"]) == (want["scope"], want["method"])
        for m, label in LABELS.items():
            assert got[label] == want[m] and got[f"{label} sd"] == want.get(f"{m}_std")
    for got, want in zip(paper, doc["paper_table2"], strict=True):
        assert (got["data"], got["code"]) == (want["scope"], want["method"])
        assert [got["InfoM"], got["InfoE"], got["InfoC"]] == [want["infom"], want["infoe"],
                                                              want["infoc"]]
        assert got["MCC"] is None and got["DCI D"] is None  # the paper printed neither


def test_table2_bars_are_the_documents_numbers(study):
    doc = study[0]["analysis"]
    bars = {t.name: t for t in table2_figure(doc).data}
    scope = doc["table"][0]["scope"]  # ours: the mean over every data set run
    for r in (r for r in doc["table"] if r["scope"] == scope):
        bar = bars.pop(f"{OURS}: {r['method']}")
        assert list(bar.x) == list(LABELS.values())
        assert list(bar.y) == [r[m] for m in LABELS]
    mean = doc["paper_table2"][0]["scope"]
    for method in ("AE", "AE + ICA"):
        want = next(r for r in doc["paper_table2"] if r["scope"] == mean
                    and r["method"] == method)
        bar = bars.pop(f"{PAPER}: {method}")
        assert list(bar.x) == ["InfoM", "InfoE", "InfoC"]
        assert list(bar.y) == [want["infom"], want["infoe"], want["infoc"]]
    assert not bars  # nothing else drawn


def test_seed_gains_are_the_per_seed_differences(study):
    doc = study[0]["analysis"]
    fig = seed_gain_figure(doc)
    names = doc["config"]["datasets"]
    assert list(fig.layout.xaxis.ticktext) == ["shapes", "rolled", "mlp (control)"]
    assert len(fig.data) == 4  # (InfoM, MCC) x (ICA k, ICA all)
    for trace in fig.data:
        metric = "infom" if trace.xaxis == "x" else "mcc"
        method = "ica_k" if trace.legendgroup == "ica_k" else "ica_all"
        want, symbols = [], []
        for name in names:
            d = doc["datasets"][name]
            for rec in d["per_seed"]:
                s = rec["scores"]
                want.append(s[method][metric] - s["ae"][metric])
                symbols.append("circle-open" if name == "mlp" else "circle")
            # the seed mean of the gains is the table's difference of means (float rounding)
            rows = {r["key"]: r for r in d["rows"]}
            gains = [s["scores"][method][metric] - s["scores"]["ae"][metric]
                     for s in d["per_seed"]]
            assert np.mean(gains) == pytest.approx(rows[method][metric] - rows["ae"][metric],
                                                   abs=1e-12)
        np.testing.assert_array_equal(trace.y, want)
        assert list(trace.marker.symbol) == symbols


def test_verdict_lines_follow_the_document(study):
    doc = study[0]["analysis"]
    lines = verdict_lines(doc)
    assert lines == [(v["passed"], v["text"]) for v in doc["verdicts"]]
    assert len(lines) == 4 and all(p in (True, False, None) for p, _ in lines)
    assert verdict_lines({"verdicts": [{"passed": None, "text": "n/a"}]}) == [(None, "n/a")]


def test_dataset_notes_name_every_data_set(study):
    doc = study[0]["analysis"]
    notes = dataset_notes(doc)
    assert [n.split(":")[0] for n in notes] == doc["config"]["datasets"]
    assert all(f"{len(d['per_seed'])} model(s)" in n
               for n, d in zip(notes, (doc["datasets"][k] for k in doc["config"]["datasets"]),
                               strict=True))


def test_traversal_figure_tiles_hand_built_images():
    images = np.arange(3 * 2 * 4 * 4, dtype=np.float32).reshape(3, 2, 4, 4)
    arrays = {"shapes_0_before": images, "values": np.array([0.05, 0.95])}
    fig = traversal_figure(arrays, "shapes", 0, "before")
    z = np.array(fig.data[0].z, dtype=float)
    assert z.shape == (3 * 4 + 2 * GAP, 2 * 4 + GAP)
    for r in range(3):
        for c in range(2):
            tile = z[r * (4 + GAP):r * (4 + GAP) + 4, c * (4 + GAP):c * (4 + GAP) + 4]
            np.testing.assert_array_equal(tile, images[r, c])  # exact: a copy, no resampling
    assert np.isnan(z).sum() == z.size - images.size  # only the gaps are empty
    assert list(fig.layout.yaxis.ticktext) == ["latent 0", "latent 1", "latent 2"]
    assert list(fig.layout.xaxis.ticktext) == ["q 5%", "q 95%"]


def test_traversal_figure_of_the_study_equals_its_arrays(study):
    arrays = study[1]
    images = arrays["shapes_1_ica_k"]  # (k, steps, s, s)
    fig = traversal_figure(arrays, "shapes", 1, "ica_k")
    z = np.array(fig.data[0].z, dtype=float)
    s = images.shape[-1]
    np.testing.assert_array_equal(z[:s, :s], images[0, 0])
    np.testing.assert_array_equal(z[-s:, -s:], images[-1, -1])
    assert list(fig.layout.yaxis.ticktext) == [f"source {i}" for i in range(len(images))]


@pytest.mark.parametrize("dataset, seed, code", [("shapes", 9, "before"),
                                                 ("rolled", 0, "before"),
                                                 ("shapes", 0, "pca")])
def test_a_missing_traversal_is_a_clear_value_error(study, dataset, seed, code):
    with pytest.raises(ValueError, match=f"no traversal images '{dataset}_{seed}_{code}'"):
        traversal_figure(study[1], dataset, seed, code)
    with pytest.raises(ValueError, match="only the shapes data set"):
        traversal_figure({}, dataset, seed, code)


def test_the_report_is_self_contained_and_holds_the_numbers(study):
    row, arrays = study
    doc = row["analysis"]
    text = report_html(row, arrays)
    assert text.count("plotly.js v") == 1  # the library inlined once, for every figure
    assert "<script src=" not in text  # nothing fetched: opens offline
    assert "synthetic analogue" in text and "as printed" in text
    for r in doc["table"]:
        for m in LABELS:
            assert f"<td>{r[m]:.3f}</td>" in text
    for r in doc["paper_table2"]:
        assert f"<td>{r['infom']:.3f}</td>" in text
    for v in doc["verdicts"]:
        assert html.escape(v["text"]) in text
    # (the template's heatmap defaults also say "heatmap": count the image grids' own key)
    grids = '"hoverongaps":false'
    assert text.count(grids) == 3  # shapes seed 0: before, ICA (k), ICA (all)
    assert grids not in report_html(row, {})


def test_a_report_without_results_says_why():
    row = {"id": "abc", "name": "x", "status": "failed", "reason": "ValueError: boom",
           "config": {"study": "disentangle", "settings": {}}, "analysis": None}
    text = report_html(row, {})
    assert "failed" in text and "boom" in text
