"""Views of a stored disentanglement study (Table 2's analogue): the table beside the
paper's rows, its figures, the verdicts, traversal image grids and the HTML report.

Every function reads the study's result document (``DisentangleResult.to_json_dict()``, a
row's ``analysis``) or its traversal arrays (``runs.study_jobs.load_traversals``) and returns
rows, lines, a figure or HTML; none draws on screen or imports streamlit. Our numbers come
from synthetic data sets with known factors, the paper's from Shapes3D, MPI3D, Falcor3D and
Isaac3D: compare the direction of change (AE -> AE + ICA), not the values.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from nearid_core.studies._disentangle_config import ISOMETRIC, METHOD_LABELS, METRIC_LABELS
from nearid_core.views.plots import style
from nearid_core.views.study_report import html_table, render_study_report

__all__ = ["GAP", "OURS", "PAPER", "SYNTHETIC_NOTE", "dataset_notes", "report_html",
           "seed_gain_figure", "table2_figure", "table_rows", "traversal_figure",
           "verdict_lines"]

OURS = "ours (synthetic analogue)"
PAPER = "paper (as printed)"
SYNTHETIC_NOTE = (
    "Our rows are synthetic analogues (a soft-square image, rolled factors, a random-MLP "
    "control), not Shapes3D, MPI3D, Falcor3D or Isaac3D; the paper's rows are its Table 2 as "
    "printed. Compare the direction of change from AE to AE + ICA, not the values.")
METRICS = ("infom", "infoe", "infoc", "mcc", "dci_d")
PAPER_METRICS = ("infom", "infoe", "infoc")  # the paper printed no MCC or DCI
GAP = 2  # pixels between the tiles of a traversal grid (NaN: drawn as a gap)
_COLORS = {"ae": "#7f7f7f", "ica_k": "#9467bd", "ica_all": "#17becf"}
_PAPER_KEYS = {"AE": "ae", "AE + ICA": "ica_k"}  # the paper's rows drawn, and their colour
_CODE_AXES = {"before": "latent", "ica_k": "source", "ica_all": "source"}
_CODE_TITLES = {"before": "before ICA (latents)", "ica_k": "after ICA (k sources)",
                "ica_all": "after ICA (all kept latents)"}


def table_rows(doc: dict) -> list[dict]:
    """Ours (the document's table), then the paper's Table 2, as rows for a dataframe.

    Returns
    -------
    rows with ``source`` (``OURS`` or ``PAPER``), ``data``, ``code`` and one column per
    metric label (InfoM, InfoE, InfoC, MCC, DCI D; None where the paper printed nothing),
    then ``<label> sd``: the standard deviation over seeds (per-data-set rows only).
    """
    stds = any(f"{m}_std" in r for r in doc["table"] for m in METRICS)
    out = []
    for source, rows in ((OURS, doc["table"]), (PAPER, doc["paper_table2"])):
        for r in rows:
            row = {"source": source, "data": r["scope"], "code": r["method"]}
            row.update({METRIC_LABELS[m]: r.get(m) for m in METRICS})
            if stds:
                row.update({f"{METRIC_LABELS[m]} sd": r.get(f"{m}_std") for m in METRICS})
            out.append(row)
    return out


def _aggregate(doc: dict) -> list[dict]:
    """Our first aggregate scope's rows (the mean over every data set run)."""
    scope = doc["table"][0]["scope"]
    return [r for r in doc["table"] if r["scope"] == scope]


def table2_figure(doc: dict) -> go.Figure:
    """Grouped bars: per metric, our AE and AE + ICA (both codes), mean over the data sets
    run, beside the paper's AE and AE + ICA, mean over its four data sets (InfoM, InfoE,
    InfoC only: the paper printed no MCC or DCI). Ours solid, the paper's hatched."""
    ours = _aggregate(doc)
    metrics = [m for m in METRICS if any(r.get(m) is not None for r in ours)]
    labels = [METRIC_LABELS[m] for m in metrics]
    fig = go.Figure()
    for r in ours:
        fig.add_bar(x=labels, y=[r.get(m) for m in metrics], name=f"{OURS}: {r['method']}",
                    marker_color=_COLORS.get(r["key"], "#333333"),
                    hovertemplate="%{x}: %{y:.3f}<extra>" + r["scope"] + "</extra>")
    scope = doc["paper_table2"][0]["scope"]
    for r in doc["paper_table2"]:
        if r["scope"] != scope or r["method"] not in _PAPER_KEYS:
            continue
        fig.add_bar(x=[METRIC_LABELS[m] for m in PAPER_METRICS],
                    y=[r[m] for m in PAPER_METRICS], name=f"{PAPER}: {r['method']}",
                    marker={"color": "white", "line": {"color": _COLORS[_PAPER_KEYS[
                        r["method"]]], "width": 2}, "pattern": {"shape": "/", "fgcolor":
                        _COLORS[_PAPER_KEYS[r["method"]]]}},
                    hovertemplate="%{x}: %{y:.2f}<extra>" + scope + "</extra>")
    fig.update_layout(barmode="group", yaxis={"range": [0, 1.05], "title": "score (1 best)"})
    return style(fig, title=f"Table 2: {ours[0]['scope']} (solid) vs the paper's mean over "
                 "its four image data sets (hatched)", height=430)


def _names(doc: dict) -> list[str]:
    """The data sets in the order they were run (a JSON round trip may sort the keys)."""
    order = [n for n in (doc.get("config") or {}).get("datasets", []) if n in doc["datasets"]]
    return order + [n for n in doc["datasets"] if n not in order]


def _gains(doc: dict, method: str, metric: str) -> list[tuple[str, int, float, float, float]]:
    """(data set, seed index, AE, method, method - AE) per data set and seed."""
    out = []
    for name in _names(doc):
        d = doc["datasets"][name]
        for k, rec in enumerate(d["per_seed"]):
            ae, ica = rec["scores"]["ae"][metric], rec["scores"][method][metric]
            out.append((name, k, ae, ica, ica - ae))
    return out


def seed_gain_figure(doc: dict) -> go.Figure:
    """Per data set and seed, the gain of AE + ICA over AE on InfoM (left) and MCC (right):
    one dot per model, both ICA codes; filled dots for the isometric data sets, open dots
    for the non-isometric control. Above the zero line, ICA helped that model."""
    names = _names(doc)
    fig = make_subplots(rows=1, cols=2, subplot_titles=("InfoM gain", "MCC gain"),
                        horizontal_spacing=0.1)
    for col, metric in enumerate(("infom", "mcc"), start=1):
        for i, method in enumerate(("ica_k", "ica_all")):
            pts = _gains(doc, method, metric)
            seeds = max((k for _, k, *_ in pts), default=0) + 1
            x = [names.index(n) + (i - 0.5) * 0.3 + (k - (seeds - 1) / 2) * 0.2 / seeds
                 for n, k, *_ in pts]
            fig.add_scatter(
                x=x, y=[g for *_, g in pts], mode="markers", name=METHOD_LABELS[method],
                legendgroup=method, showlegend=col == 1,
                marker={"color": _COLORS[method], "size": 10, "line": {"width": 2,
                        "color": _COLORS[method]}, "symbol": ["circle" if n in ISOMETRIC
                                                              else "circle-open"
                                                              for n, *_ in pts]},
                customdata=[[n, k, a, b] for n, k, a, b, _ in pts],
                hovertemplate="%{customdata[0]}, seed %{customdata[1]}: "
                              f"{METRIC_LABELS[metric]} " + "%{customdata[2]:.3f} -> "
                              "%{customdata[3]:.3f} (%{y:+.3f})<extra>"
                              + METHOD_LABELS[method] + "</extra>", row=1, col=col)
        fig.add_hline(y=0, line={"color": "black", "width": 1}, row=1, col=col)
    ticks = [n if n in ISOMETRIC else f"{n} (control)" for n in names]
    fig.update_xaxes(tickvals=list(range(len(names))), ticktext=ticks,
                     range=[-0.6, len(names) - 0.4])
    fig.update_yaxes(title_text="AE + ICA minus AE", col=1)
    return style(fig, title="Every seed: gain of AE + ICA over AE (filled: isometric data; "
                 "open: the non-isometric control)", height=420)


def verdict_lines(doc: dict) -> list[tuple[bool | None, str]]:
    """(passed, text) per acceptance check: True passed, False failed, None not measured."""
    return [(v.get("passed"), v["text"]) for v in doc.get("verdicts", [])]


def dataset_notes(doc: dict) -> list[str]:
    """Per data set: what it is, factors and latents, the generator's measured B, the
    held-out reconstruction error and how many FastICA fits did not converge."""
    out = []
    for name in _names(doc):
        d = doc["datasets"][name]
        seeds = d["per_seed"]
        not_k = sum(not s["ica_k"]["ica_converged"] for s in seeds)
        not_all = sum(not s["ica_all"]["ica_converged"] for s in seeds)
        rel = float(np.mean(d["recon_mse"]) / d["x_var"]) if d["x_var"] else float("nan")
        geo = d["geometry"]
        out.append(f"{name}: {d['text']}; {d['n_factors']} factors, {d['n_latents']} latents, "
                   f"{len(seeds)} model(s); generator B median {geo['B_median']:.2f}, max "
                   f"{geo['B_max']:.2f}; held-out reconstruction error {rel:.1%} of the "
                   f"variance; FastICA not converged: (k) {not_k}, (all) {not_all} of "
                   f"{len(seeds)}")
    return out


def _tile(images: np.ndarray) -> np.ndarray:
    """(axes, steps, s, s) images -> one (axes*(s+GAP)-GAP, steps*(s+GAP)-GAP) array, NaN
    in the gaps."""
    a, t, s, _ = images.shape
    out = np.full((a * (s + GAP) - GAP, t * (s + GAP) - GAP), np.nan)
    for r in range(a):
        for c in range(t):
            out[r * (s + GAP):r * (s + GAP) + s, c * (s + GAP):c * (s + GAP) + s] = images[r, c]
    return out


def traversal_figure(arrays: dict[str, np.ndarray], dataset: str, seed_index: int,
                     code: str) -> go.Figure:
    """One model's latent traversals as an image grid: rows the axes (latents before ICA,
    sources after), columns the steps from the 5% to the 95% quantile of that axis.

    Parameters
    ----------
    arrays : the study's traversal arrays; ``f"{dataset}_{seed_index}_{code}"`` -> (axes,
        steps, s, s) images, and ``values`` (steps,) the quantile levels.
    code : "before", "ica_k" or "ica_all".

    Notes
    -----
    A picture, not a metric: a disentangled axis changes one factor along its row.
    """
    key = f"{dataset}_{seed_index}_{code}"
    if key not in arrays:
        have = sorted(k for k in arrays if k != "values")
        raise ValueError(f"no traversal images {key!r} in this study (it has: "
                         f"{', '.join(have) or 'none; only the shapes data set has them'})")
    images = np.asarray(arrays[key], dtype=float)  # (axes, steps, s, s)
    a, t, s, _ = images.shape
    axis = _CODE_AXES.get(code, "axis")
    fig = go.Figure(go.Heatmap(z=_tile(images), colorscale="gray", zmin=0.0, zmax=1.0,
                               showscale=False, hoverongaps=False,
                               hovertemplate="%{z:.2f}<extra></extra>"))
    values = arrays.get("values")
    cols = ([f"q {v:.0%}" for v in values] if values is not None and len(values) == t
            else [str(c) for c in range(t)])
    fig.update_xaxes(tickvals=[c * (s + GAP) + (s - 1) / 2 for c in range(t)], ticktext=cols,
                     showgrid=False, zeroline=False, side="top", ticks="")
    fig.update_yaxes(tickvals=[r * (s + GAP) + (s - 1) / 2 for r in range(a)],
                     ticktext=[f"{axis} {r}" for r in range(a)], autorange="reversed",
                     scaleanchor="x", showgrid=False, zeroline=False, ticks="")
    return style(fig, title=f"{dataset}, seed {seed_index}: {_CODE_TITLES.get(code, code)}",
                 height=min(800, max(220, 60 + a * (s + GAP) * 3)))


def _verdict_text(doc: dict) -> list[str]:
    word = {True: "PASS", False: "FAIL", None: "not measured"}
    return [f"{word[p]}: {t}" for p, t in verdict_lines(doc)]


def report_html(row: dict, arrays: dict[str, np.ndarray] | None = None) -> str:
    """The study as one self-contained HTML page: verdicts, the table beside the paper's
    rows, the figures, codes and data-set notes, and (when the study has them) seed 0's
    shapes traversals before and after ICA; plotly.js inlined once."""
    doc: dict[str, Any] | None = row.get("analysis")
    title = f"Disentanglement (Table 2 analogue): {row.get('name') or row.get('id', '')}"
    settings = (row.get("config") or {}).get("settings", {})
    if not doc:
        return render_study_report(title, f"No results: the study is {row.get('status')}. "
                                   f"{row.get('reason') or ''}", [], settings)
    cols = [("source", "source", ""), ("data", "data", ""), ("code", "code", "")]
    cols += [(METRIC_LABELS[m], METRIC_LABELS[m], ".3f") for m in METRICS]
    blocks: list[tuple[str, Any]] = [
        ("Verdicts", _verdict_text(doc)),
        ("Table 2: ours (synthetic analogue) and the paper's (as printed)",
         html_table(table_rows(doc), cols)),
        ("Means, ours beside the paper's", table2_figure(doc)),
        ("Every seed", seed_gain_figure(doc)),
        ("Codes", [f"{k}: {v}" for k, v in doc.get("methods", {}).items()]),
        ("Data sets", dataset_notes(doc))]
    arrays = arrays or {}
    for code in ("before", "ica_k", "ica_all"):
        if f"shapes_0_{code}" in arrays:
            blocks.append((f"Traversals, shapes seed 0, {_CODE_TITLES[code]}",
                           traversal_figure(arrays, "shapes", 0, code)))
    intro = (f"{SYNTHETIC_NOTE} Study {row.get('id', '')}, {doc.get('seconds', 0):.0f} s.")
    return render_study_report(title, intro, blocks, settings)
