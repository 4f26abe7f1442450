"""Read-side views of a stored batch-effect study (the paper's Tables 3–4 analogue).

Everything here reads the study's result document (``runs.study_jobs``: the row's
``analysis``): tables beside the paper's printed numbers, plotly figures, and sentences whose
verdicts are computed from the stored intervals, never written in advance. The HTML report
lays them out with ``views.study_report``. No streamlit: the page (``nearid_ui.batch_study``)
and the report share these builders.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from nearid_core.science.batch_metrics import CONDITION_LABELS, CONDITIONS
from nearid_core.views.plots import style
from nearid_core.views.study_report import html_table, render_study_report

__all__ = ["COLORS", "METRIC_NAMES", "PAIRED_ORDER", "SYNTHETIC", "auroc_figure", "notes",
           "paired_figure", "paired_items", "paired_lines", "report_html", "significance",
           "sparsity_auroc_figure", "strength_figure", "strength_statement", "tables"]

METRIC_NAMES = {"auroc": "held-out AUROC", "top25": "top-25% share",
                "hoyer": "Hoyer sparsity"}
PAIRED_ORDER = ("top25", "auroc", "hoyer")  # the paper's headline (concentration) first
COLORS = {"base": "#7f7f7f", "pca": "#1f77b4", "pca_ica": "#d62728", "pca_rand": "#2ca02c"}
# The paper's row of each table: (key in the document's "paper", label of the row).
PAPER_ROWS = {"auroc": ("auroc_eif3h", "paper: gene EIF3H"),
              "top25": ("top25", "paper: Tables 3–4")}
SYNTHETIC = (
    "A synthetic analogue of cell-microscopy embeddings, not the paper's data: a simulated "
    "screen of wells with sparse perturbation effects on independent biological factors and "
    "batch effects on nuisance factors. The paper's rows are its printed numbers (OpenPhenom "
    "MAE on real cell images), shown for the direction of the comparison: the numbers "
    "themselves are not comparable.")
DIFF = "PCA + ICA − PCA + Rand"


def _moved(row: dict) -> str:
    return ", ".join(str(f) for f in row.get("moved") or ())


def tables(doc: dict) -> dict[str, list[dict]]:
    """The first screen's per-perturbation tables, one per metric, beside the paper's rows.

    Returns
    -------
    {"auroc" | "top25" | "hoyer": rows}; each row has ``perturbation`` (text), ``moved
    factors`` and one column per condition label (``CONDITION_LABELS``). After the
    perturbations: the screen's mean, the mean over the paired-difference screens, and the
    paper's row where it printed one (AUROC: its example gene EIF3H; top-25%: Tables 3–4).

    Notes
    -----
    The paper's rows are different data and, for the top-25% share, a different definition
    (DEFINITIONS): compare the order of the conditions, not the values.
    """
    first, paired = doc["first_screen"], doc.get("paired_difference") or {}
    paper, n = doc.get("paper") or first.get("paper") or {}, len(paired.get("seeds") or ())
    out = {}
    for m in METRIC_NAMES:
        rows = [{"perturbation": str(r["perturbation"]), "moved factors": _moved(r),
                 **{CONDITION_LABELS[c]: r[f"{m}_{c}"] for c in CONDITIONS}}
                for r in first["rows"]]
        rows.append({"perturbation": "mean (this screen)", "moved factors": "",
                     **{CONDITION_LABELS[c]: first["means"][c][m] for c in CONDITIONS}})
        if paired.get("means"):
            rows.append({"perturbation": f"mean over {n} screens", "moved factors": "",
                         **{CONDITION_LABELS[c]: paired["means"][c][m] for c in CONDITIONS}})
        if m in PAPER_ROWS and PAPER_ROWS[m][0] in paper:
            key, label = PAPER_ROWS[m]
            rows.append({"perturbation": label, "moved factors": "",
                         **{CONDITION_LABELS[c]: paper[key].get(c) for c in CONDITIONS}})
        out[m] = rows
    return out


def significance(lo: float, hi: float) -> str:
    """"above" (lo > 0), "below" (hi < 0), "contains" (0 inside), or "none" (not finite)."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return "none"
    return "above" if lo > 0 else "below" if hi < 0 else "contains"


_VERDICTS = {"above": "significant: the interval is above 0 (PCA + ICA ahead)",
             "below": "significant the other way: the interval is below 0 (PCA + Rand ahead)",
             "contains": "not significant: the interval contains 0",
             "none": "no interval (too few screens or a missing value)"}


def paired_items(doc: dict) -> list[tuple[str, str]]:
    """(verdict, line) per metric for PCA + ICA − PCA + Rand over the seeds; verdict as
    ``significance`` returns it."""
    paired = doc["paired_difference"]
    n, out = len(paired.get("seeds") or ()), []
    for m in PAIRED_ORDER:
        d = paired["difference"][m]
        verdict = significance(float(d["lo"]), float(d["hi"]))
        level = round(100 * float(d.get("level", 0.95)))
        out.append((verdict, f"{_cap(METRIC_NAMES[m])}: {DIFF} = {d['mean']:+.3f}, "
                             f"{level}% interval [{d['lo']:+.3f}, {d['hi']:+.3f}] over {n} "
                             f"screens — {_VERDICTS[verdict]}."))
    return out


def paired_lines(doc: dict) -> list[str]:
    """One line per metric: the mean paired difference, its interval and the verdict."""
    return [line for _, line in paired_items(doc)]


def notes(doc: dict) -> list[str]:
    """Caveats read off the document: FastICA that did not converge, the screen's notes."""
    paired = doc.get("paired_difference") or {}
    bad = [s for s, ok in zip(paired.get("seeds") or (), paired.get("ica_converged") or (),
                              strict=False) if not ok]
    out = list(doc["first_screen"].get("notes") or ())
    if bad:
        out.append(f"FastICA did not converge for screen seed(s) {_join(bad)}; its best "
                   "restart was used (see the fit record in the JSON document).")
    why = auroc_why(doc)
    if why:
        out.append(why)
    return out


def auroc_why(doc: dict) -> str | None:
    """Why PCA + ICA is not significantly ahead on held-out AUROC, read off the document
    (None when it is): the whitened conditions' mean AUROCs, which a linear probe on every
    feature makes nearly rotation-invariant."""
    paired = doc.get("paired_difference") or {}
    d = (paired.get("difference") or {}).get("auroc")
    means = paired.get("means") or {}
    if not d or significance(float(d["lo"]), float(d["hi"])) == "above":
        return None
    try:
        aurocs = {c: float(means[c]["auroc"]) for c in ("pca", "pca_ica", "pca_rand")}
    except (KeyError, TypeError, ValueError):
        return None
    spread = max(aurocs.values()) - min(aurocs.values())
    return ("Why the AUROC advantage does not show: the whitened conditions' mean held-out "
            f"AUROCs are {aurocs['pca']:.3f} (PCA), {aurocs['pca_ica']:.3f} (PCA + ICA) and "
            f"{aurocs['pca_rand']:.3f} (PCA + Rand), {spread:.3f} apart. They differ only by a "
            "rotation, which a linear probe on every feature can undo; only its L1 penalty "
            "favours a code with the effect in few features, so the rotation ICA finds moves "
            "AUROC little while it moves the concentration (top-25% share, Hoyer) a lot.")


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _strengths(values: Sequence[float]) -> str:
    """'strength 0' or 'strengths 0 and 1'."""
    return ("strength " if len(values) == 1 else "strengths ") + _join(values)


def _join(values: Sequence) -> str:
    """'0', '0 and 1', '0, 1 and 2' (numbers with :g)."""
    text = [f"{v:g}" if isinstance(v, float) else str(v) for v in values]
    return text[0] if len(text) == 1 else ", ".join(text[:-1]) + " and " + text[-1]


def _strength_sentence(sweep: list[dict], m: str) -> str:
    """Where PCA + ICA's advantage on metric ``m`` is significant along the strengths."""
    rows = sorted(sweep, key=lambda r: r["strength"])
    s = [r["strength"] for r in rows]
    v = [significance(float(r[f"{m}_lo"]), float(r[f"{m}_hi"])) for r in rows]
    above = [x for x, k in zip(s, v, strict=True) if k == "above"]
    below = [x for x, k in zip(s, v, strict=True) if k == "below"]
    head = f"{_cap(METRIC_NAMES[m])}: PCA + ICA's advantage over PCA + Rand"
    if len(above) == len(s):
        text = f"{head} is significant at every strength tested ({_join(s)})"
    elif not above:
        text = f"{head} is significant at no strength tested ({_join(s)})"
    else:
        text = (f"{head} is significant at {_strengths(above)}, not at "
                f"{_join([x for x in s if x not in above])}")
        last = max(i for i, k in enumerate(v) if k == "above")
        if last < len(s) - 1:
            text += (f"; it vanishes from strength {s[last + 1]:g} on (mean difference "
                     f"{rows[-1][f'{m}_diff']:+.3f} at strength {s[-1]:g})")
    if below:
        text += f"; PCA + Rand is significantly ahead at {_strengths(below)}"
    return text + "."


def strength_statement(doc: dict) -> str:
    """Sentences, computed from the strength sweep's intervals, on where ICA's advantage on
    the top-25% share and on the held-out AUROC is significant and where it vanishes."""
    sweep = doc.get("strength_sweep") or []
    if not sweep:
        return "No strength sweep was run (no strengths were given)."
    n = (doc.get("settings") or {}).get("strength_seeds")
    tail = (f" Significant: the 95% interval over {n} screens per strength excludes 0."
            if n else " Significant: the 95% interval over the screens excludes 0.")
    return " ".join(_strength_sentence(sweep, m) for m in ("top25", "auroc")) + tail


def _perturbation_labels(doc: dict) -> list[str]:
    return [f"{r['perturbation']} (moves {_moved(r)})" for r in doc["first_screen"]["rows"]]


def auroc_figure(doc: dict) -> go.Figure:
    """Held-out AUROC per perturbation, one dot per condition, with the 0.5 chance line."""
    rows, x = doc["first_screen"]["rows"], _perturbation_labels(doc)
    fig = go.Figure([go.Scatter(
        x=x, y=[r[f"auroc_{c}"] for r in rows], name=CONDITION_LABELS[c], mode="markers",
        marker={"color": COLORS[c], "size": 11},
        hovertemplate="perturbation %{x}<br>AUROC %{y:.3f}<extra>" + CONDITION_LABELS[c]
        + "</extra>") for c in CONDITIONS])
    fig.add_hline(y=0.5, line_dash="dash", line_color="grey", annotation_text="chance")
    return style(fig, title="Held-out AUROC, control vs perturbation (one synthetic screen)",
                 scattermode="group", xaxis_title="perturbation (moved factors)",
                 yaxis_title="AUROC on held-out batches")


def sparsity_auroc_figure(doc: dict) -> go.Figure:
    """Hoyer sparsity of the effect (x) against held-out AUROC (y), a point per perturbation
    and condition, coloured by condition."""
    rows = doc["first_screen"]["rows"]
    fig = go.Figure([go.Scatter(
        x=[r[f"hoyer_{c}"] for r in rows], y=[r[f"auroc_{c}"] for r in rows],
        text=[str(r["perturbation"]) for r in rows], name=CONDITION_LABELS[c],
        mode="markers", marker={"color": COLORS[c], "size": 10},
        hovertemplate="perturbation %{text}<br>Hoyer %{x:.3f}<br>AUROC %{y:.3f}<extra>"
        + CONDITION_LABELS[c] + "</extra>") for c in CONDITIONS])
    fig.add_hline(y=0.5, line_dash="dash", line_color="grey")
    return style(fig, title="Sparser effect, better held-out classification?",
                 xaxis_title="Hoyer sparsity of the standardised effect (1 = one feature)",
                 yaxis_title="held-out AUROC")


def paired_figure(doc: dict) -> go.Figure:
    """PCA + ICA − PCA + Rand per metric: each screen's difference and the mean with its
    interval, beside a zero line."""
    diff = doc["paired_difference"]["difference"]
    names = [METRIC_NAMES[m] for m in PAIRED_ORDER]
    fig = go.Figure()
    for m, name in zip(PAIRED_ORDER, names, strict=True):
        fig.add_trace(go.Scatter(x=[name] * len(diff[m]["per_seed"]), y=diff[m]["per_seed"],
                                 mode="markers", marker={"color": "lightgrey", "size": 8},
                                 name="one screen", legendgroup="seed",
                                 showlegend=m == PAIRED_ORDER[0]))
    fig.add_trace(go.Scatter(
        x=names, y=[diff[m]["mean"] for m in PAIRED_ORDER], mode="markers", name="mean, 95% "
        "interval", marker={"color": COLORS["pca_ica"], "size": 12},
        error_y={"type": "data", "symmetric": False,
                 "array": [diff[m]["hi"] - diff[m]["mean"] for m in PAIRED_ORDER],
                 "arrayminus": [diff[m]["mean"] - diff[m]["lo"] for m in PAIRED_ORDER]}))
    fig.add_hline(y=0.0, line_color="black", line_width=1)
    return style(fig, title=f"{DIFF} over the screens", yaxis_title="difference")


def strength_figure(doc: dict) -> go.Figure:
    """PCA + ICA − PCA + Rand on the top-25% share and on AUROC against batch strength, with
    the 95% interval as error bars and a zero line."""
    rows = sorted(doc.get("strength_sweep") or [], key=lambda r: r["strength"])
    x = [r["strength"] for r in rows]
    fig = make_subplots(rows=1, cols=2, subplot_titles=(
        f"top-25% share: {DIFF}", f"held-out AUROC: {DIFF}"))
    for col, m in enumerate(("top25", "auroc"), start=1):
        fig.add_trace(go.Scatter(
            x=x, y=[r[f"{m}_diff"] for r in rows], mode="lines+markers",
            name=METRIC_NAMES[m], marker={"color": COLORS["pca_ica"]},
            error_y={"type": "data", "symmetric": False,
                     "array": [r[f"{m}_hi"] - r[f"{m}_diff"] for r in rows],
                     "arrayminus": [r[f"{m}_diff"] - r[f"{m}_lo"] for r in rows]},
            hovertemplate="strength %{x:g}<br>difference %{y:+.3f}<extra></extra>"),
            row=1, col=col)
        fig.add_hline(y=0.0, line_color="black", line_width=1, row=1, col=col)
        fig.update_xaxes(title_text="batch-effect strength", row=1, col=col)
    return style(fig, title="ICA's advantage against batch-effect strength (95% intervals)",
                 showlegend=False)


def _table_html(rows: list[dict]) -> str:
    cols = [("perturbation", "perturbation", ""), ("moved factors", "moved factors", "")]
    return html_table(rows, cols + [(CONDITION_LABELS[c], CONDITION_LABELS[c], ".3f")
                                    for c in CONDITIONS])


def _blocks(doc: dict) -> list[tuple[str, object]]:
    t, paper = tables(doc), doc.get("paper") or {}
    n = len(doc["paired_difference"].get("seeds") or ())
    return [
        (f"{DIFF} over {n} screens", paired_lines(doc) + notes(doc)),
        ("Paired difference per screen", paired_figure(doc)),
        ("Held-out AUROC beside the paper's example gene EIF3H", _table_html(t["auroc"])),
        ("Top-25% share beside the paper's Tables 3–4", _table_html(t["top25"])),
        ("Hoyer sparsity (the paper prints none)", _table_html(t["hoyer"])),
        ("Held-out AUROC per perturbation", auroc_figure(doc)),
        ("Sparsity against AUROC", sparsity_auroc_figure(doc)),
        ("Batch-effect strength", strength_figure(doc)),
        ("What the strength sweep shows", [strength_statement(doc)]),
        ("Definitions", [doc.get("definitions", ""),
                         f"Paper rows: {paper.get('source', 'the paper, Tables 3–4')}."]),
    ]


def report_html(row: dict, arrays: dict | None = None) -> str:
    """The study's self-contained HTML report (plotly.js inlined once).

    row : the store's row of the study (``store.get_sweep``); arrays : unused (the batch
    study stores none), accepted for the shared ``studies.manage`` signature.
    """
    doc = row.get("analysis") or {}
    title = ("Batch effects, a synthetic analogue of the paper's Tables 3–4: "
             f"{row.get('name') or row.get('id', '')}")
    if "first_screen" in doc:
        blocks = _blocks(doc)
    else:
        blocks = [("No results", [f"This study has no results (status: "
                                  f"{row.get('status', 'unknown')})."])]
    settings = (row.get("config") or {}).get("settings") or {}
    return render_study_report(title, SYNTHETIC, blocks, settings)
