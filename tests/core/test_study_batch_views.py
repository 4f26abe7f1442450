"""Views of a stored batch study (``views.study_batch``): known answers on hand-built result
documents, where ICA's advantage holds, where it does not, and where it reverses."""

from __future__ import annotations

import pytest

from nearid_core.science.batch_metrics import CONDITION_LABELS, CONDITIONS
from nearid_core.studies.batch import PAPER_TABLES
from nearid_core.views import study_batch as sb

METRICS = ("auroc", "hoyer", "top25")
OFFSET = {"base": 0.0, "pca": 0.01, "pca_ica": 0.02, "pca_rand": 0.03}
BASE = {"auroc": 0.7, "hoyer": 0.3, "top25": 0.6}


def _value(m: str, c: str, p: int) -> float:
    # Distinct per metric, condition and perturbation, so that a swapped cell shows.
    return BASE[m] + OFFSET[c] + 0.1 * p


def _interval(mean: float, lo: float, hi: float, n: int = 3) -> dict:
    return {"mean": mean, "lo": lo, "hi": hi, "per_seed": [lo, mean, hi][:n], "level": 0.95}


def _sweep_row(strength: float, top25: tuple, auroc: tuple) -> dict:
    row = {"strength": strength}
    for m, (d, lo, hi) in (("top25", top25), ("auroc", auroc), ("hoyer", (0.0, -1, 1))):
        row |= {f"{m}_{c}": BASE[m] + OFFSET[c] for c in CONDITIONS}
        row |= {f"{m}_diff": d, f"{m}_lo": lo, f"{m}_hi": hi}
    return row


def make_doc(diffs: dict | None = None, sweep: list | None = None) -> dict:
    """A batch study's result document in the shape ``study_jobs._run_batch`` stores."""
    rows = [{"perturbation": p, "moved": [p, p + 2],
             **{f"{m}_{c}": _value(m, c, p) for m in METRICS for c in CONDITIONS}}
            for p in (1, 2)]
    means = {c: {m: (_value(m, c, 1) + _value(m, c, 2)) / 2 for m in METRICS}
             for c in CONDITIONS}
    paired_means = {c: {m: means[c][m] + 0.5 for m in METRICS} for c in CONDITIONS}
    diffs = diffs or {"auroc": (0.02, -0.01, 0.05), "hoyer": (0.2, 0.1, 0.3),
                      "top25": (0.2, 0.15, 0.25)}
    sweep = [_sweep_row(0.0, (0.1, 0.05, 0.15), (0.01, -0.02, 0.04))] if sweep is None else sweep
    return {"first_screen": {"rows": rows, "means": means, "notes": [], "paper": PAPER_TABLES,
                             "fit": {"ica_converged": True}, "config": {}},
            "paired_difference": {"seeds": [0, 1, 2], "means": paired_means,
                                  "difference": {m: _interval(*diffs[m]) for m in METRICS},
                                  "ica_converged": [True, True, True]},
            "strength_sweep": sweep, "paper": PAPER_TABLES,
            "settings": {"seeds": 3, "strengths": [r["strength"] for r in sweep],
                         "strength_seeds": 3},
            "definitions": "AUROC: control vs perturbation (hand-built definitions)."}


# ---------------------------------------------------------------- tables


def test_tables_hold_the_documents_rows_means_and_the_papers_rows():
    doc = make_doc()
    t = sb.tables(doc)
    assert set(t) == set(METRICS)
    for m in METRICS:
        rows = t[m]
        for p, row in zip((1, 2), rows[:2], strict=True):
            assert row["perturbation"] == str(p)
            assert row["moved factors"] == f"{p}, {p + 2}"
            assert {row[CONDITION_LABELS[c]] for c in CONDITIONS} == {
                _value(m, c, p) for c in CONDITIONS}
            for c in CONDITIONS:
                assert row[CONDITION_LABELS[c]] == _value(m, c, p)  # exact: copied, not redone
        mean, over = rows[2], rows[3]
        assert mean["perturbation"].startswith("mean")
        assert over["perturbation"] == "mean over 3 screens"
        for c in CONDITIONS:
            assert mean[CONDITION_LABELS[c]] == doc["first_screen"]["means"][c][m]
            assert over[CONDITION_LABELS[c]] == doc["paired_difference"]["means"][c][m]
    auroc_paper, top_paper = t["auroc"][-1], t["top25"][-1]
    assert "paper" in auroc_paper["perturbation"] and "EIF3H" in auroc_paper["perturbation"]
    assert "paper" in top_paper["perturbation"]
    for c in CONDITIONS:
        assert auroc_paper[CONDITION_LABELS[c]] == PAPER_TABLES["auroc_eif3h"][c]
        assert top_paper[CONDITION_LABELS[c]] == PAPER_TABLES["top25"][c]
    assert not any("paper" in r["perturbation"] for r in t["hoyer"])  # the paper prints none


# ---------------------------------------------------------------- figures


def test_auroc_figure_has_one_trace_per_condition_with_the_docs_numbers_and_chance_line():
    doc = make_doc()
    fig = sb.auroc_figure(doc)
    assert [tr.name for tr in fig.data] == [CONDITION_LABELS[c] for c in CONDITIONS]
    for tr, c in zip(fig.data, CONDITIONS, strict=True):
        assert list(tr.y) == [_value("auroc", c, p) for p in (1, 2)]
    assert [s.y0 for s in fig.layout.shapes] == [0.5]


def test_sparsity_auroc_figure_puts_hoyer_on_x_and_auroc_on_y():
    doc = make_doc()
    fig = sb.sparsity_auroc_figure(doc)
    assert len(fig.data) == len(CONDITIONS)
    for tr, c in zip(fig.data, CONDITIONS, strict=True):
        assert tr.name == CONDITION_LABELS[c]
        assert list(tr.x) == [_value("hoyer", c, p) for p in (1, 2)]
        assert list(tr.y) == [_value("auroc", c, p) for p in (1, 2)]


def test_paired_figure_carries_each_screen_and_the_mean_with_its_interval():
    doc = make_doc()
    fig = sb.paired_figure(doc)
    mean = fig.data[-1]
    diff = doc["paired_difference"]["difference"]
    order = list(sb.PAIRED_ORDER)
    assert list(mean.y) == [diff[m]["mean"] for m in order]
    assert list(mean.error_y.array) == pytest.approx([diff[m]["hi"] - diff[m]["mean"]
                                                      for m in order])
    assert list(mean.error_y.arrayminus) == pytest.approx([diff[m]["mean"] - diff[m]["lo"]
                                                           for m in order])
    assert [list(tr.y) for tr in fig.data[:-1]] == [diff[m]["per_seed"] for m in order]


def test_strength_figure_plots_the_differences_and_intervals_sorted_by_strength():
    sweep = [_sweep_row(2.0, (0.1, -0.1, 0.3), (0.0, -0.1, 0.1)),
             _sweep_row(0.0, (0.2, 0.1, 0.3), (0.05, 0.01, 0.09))]
    fig = sb.strength_figure(make_doc(sweep=sweep))
    top, auroc = fig.data
    assert list(top.x) == [0.0, 2.0] and list(auroc.x) == [0.0, 2.0]
    assert list(top.y) == [0.2, 0.1] and list(auroc.y) == [0.05, 0.0]
    assert list(top.error_y.array) == pytest.approx([0.1, 0.2])
    assert list(top.error_y.arrayminus) == pytest.approx([0.1, 0.2])
    assert list(auroc.error_y.arrayminus) == pytest.approx([0.04, 0.1])
    assert [s.y0 for s in fig.layout.shapes] == [0.0, 0.0]  # a zero line in each panel


# ---------------------------------------------------------------- computed statements


@pytest.mark.parametrize("lo, hi, verdict", [(0.01, 0.2, "above"), (-0.2, -0.01, "below"),
                                             (-0.1, 0.1, "contains"), (0.0, 0.1, "contains"),
                                             (float("nan"), 0.1, "none")])
def test_significance_reads_the_interval(lo, hi, verdict):
    assert sb.significance(lo, hi) == verdict


def test_paired_lines_say_above_contains_and_below_as_the_intervals_are():
    doc = make_doc({"top25": (0.2, 0.15, 0.25), "auroc": (0.02, -0.01, 0.05),
                    "hoyer": (-0.2, -0.3, -0.1)})
    top, auroc, hoyer = sb.paired_lines(doc)
    assert top.startswith("Top-25% share") and "+0.200" in top and "[+0.150, +0.250]" in top
    assert "significant: the interval is above 0" in top
    assert auroc.startswith("Held-out AUROC")
    assert "not significant: the interval contains 0" in auroc
    assert "interval is below 0" in hoyer and "PCA + Rand ahead" in hoyer
    assert all("over 3 screens" in line for line in (top, auroc, hoyer))
    assert [v for v, _ in sb.paired_items(doc)] == ["above", "contains", "below"]


def test_notes_name_the_seeds_where_fastica_did_not_converge():
    doc = make_doc()
    only_why = [] if sb.auroc_why(doc) is None else [sb.auroc_why(doc)]
    assert sb.notes(doc) == only_why
    doc["paired_difference"]["ica_converged"] = [True, False, False]
    assert "seed(s) 1 and 2" in sb.notes(doc)[0]


YES, NO = (0.2, 0.1, 0.3), (0.05, -0.05, 0.15)


def test_strength_statement_where_the_advantage_appears_and_vanishes():
    # The measured pattern: significant at 0 and 1, not at 0.5 nor from 2 on.
    tops = {0.0: YES, 0.5: NO, 1.0: YES, 2.0: NO, 4.0: NO, 8.0: (0.01, -0.1, 0.12)}
    sweep = [_sweep_row(s, t, NO) for s, t in tops.items()]
    text = sb.strength_statement(make_doc(sweep=sweep))
    top, auroc = text.split(". ")[:2]
    assert "significant at strengths 0 and 1, not at 0.5, 2, 4 and 8" in top
    assert "vanishes from strength 2 on" in top and "+0.010 at strength 8" in top
    assert auroc.startswith("Held-out AUROC") and "significant at no strength tested" in auroc


def test_strength_statement_when_the_advantage_always_holds_or_never_shows():
    always = sb.strength_statement(make_doc(sweep=[_sweep_row(s, YES, YES)
                                                   for s in (4.0, 0.0, 1.0)]))
    assert always.count("significant at every strength tested (0, 1 and 4)") == 2
    assert "vanishes" not in always
    never = sb.strength_statement(make_doc(sweep=[_sweep_row(s, NO, NO) for s in (0.0, 1.0)]))
    assert never.count("significant at no strength tested (0 and 1)") == 2


def test_strength_statement_says_when_the_random_rotation_is_ahead():
    sweep = [_sweep_row(0.0, YES, YES), _sweep_row(8.0, (-0.2, -0.3, -0.1), NO)]
    text = sb.strength_statement(make_doc(sweep=sweep))
    assert "significant at strength 0, not at 8" in text
    assert "PCA + Rand is significantly ahead at strength 8" in text
    assert ("Held-out AUROC: PCA + ICA's advantage over PCA + Rand is significant at strength "
            "0, not at 8; it vanishes from strength 8 on") in text


def test_strength_statement_without_a_sweep():
    assert "No strength sweep" in sb.strength_statement(make_doc(sweep=[]))


# ---------------------------------------------------------------- HTML report


def test_report_html_holds_the_numbers_labels_and_plotly_once():
    doc = make_doc()
    row = {"id": "abc123", "name": "tiny", "status": "done", "analysis": doc,
           "config": {"study": "batch", "settings": {"seeds": 3}}}
    text = sb.report_html(row, {})
    assert "synthetic analogue" in text and "not the paper&#x27;s data" in text
    for c in CONDITIONS:
        assert format(doc["first_screen"]["means"][c]["top25"], ".3f") in text
        assert format(PAPER_TABLES["top25"][c], ".3f") in text
        assert format(PAPER_TABLES["auroc_eif3h"][c], ".3f") in text
    assert "EIF3H" in text and "[+0.150, +0.250]" in text
    assert "hand-built definitions" in text
    assert text.count("plotly.js v") == 1  # the library inlined once
    assert text.count("Plotly.newPlot") == 4  # paired, AUROC, sparsity and strength figures


def test_report_html_of_a_study_without_results():
    row = {"id": "abc123", "name": "", "status": "failed", "analysis": None,
           "config": {"study": "batch", "settings": {}}}
    text = sb.report_html(row, {})
    assert "no results" in text and "failed" in text


def _auroc_doc(lo: float, hi: float) -> dict:
    means = {c: {"auroc": a} for c, a in (("base", 0.70), ("pca", 0.78), ("pca_ica", 0.80),
                                          ("pca_rand", 0.77))}
    return {"paired_difference": {"means": means, "difference": {
        "auroc": {"mean": (lo + hi) / 2, "lo": lo, "hi": hi}}}}


def test_auroc_why_explains_only_an_advantage_that_does_not_show():
    from nearid_core.views.study_batch import auroc_why

    assert auroc_why(_auroc_doc(0.01, 0.05)) is None  # significant: nothing to explain
    text = auroc_why(_auroc_doc(-0.01, 0.05))
    assert "0.780 (PCA), 0.800 (PCA + ICA) and 0.770 (PCA + Rand), 0.030 apart" in text
    assert auroc_why(_auroc_doc(-0.05, -0.01)) is not None  # behind: explained too
