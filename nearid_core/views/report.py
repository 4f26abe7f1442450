"""A self-contained HTML report of a stored sweep: figures, tables and the settings.

plotly.js is inlined once, so the file opens offline and can be mailed as it is.
"""

from __future__ import annotations

import html
import json
import os
from pathlib import Path

import plotly.graph_objects as go

from nearid_core.runs._files import atomic_write
from nearid_core.runs.store import RunStore
from nearid_core.science import efficiency
from nearid_core.views.ident_views import claims, error_curves, fit_rows, l_drivers
from nearid_core.views.plots import b_distribution
from nearid_core.views.plots_ident import error_vs_L, ica_efficiency, metric_by_leak, recon_vs_L
from nearid_core.views.results import b_by_leak, leak_bounds, load_view

TABLE_COLUMNS = [
    ("leak", "leak α", "{:.2f}"), ("L_max_max", "L_max_max", "{:.3f}"),
    ("L_max_mean", "L_max_mean", "{:.3f}"), ("L_mean_mean", "L_mean_mean", "{:.3f}"),
    ("recon_mse", "recon MSE", "{:.2e}"), ("stat_perm", "perm", "{:.4f}"),
    ("stat_rigid", "rigid", "{:.4f}"), ("stat_linear", "linear", "{:.4f}"),
    ("stat_ica", "ICA", "{:.4f}"), ("ica_efficiency", "ICA efficiency", None),
    ("ica_vs_linear", "ICA/lin", "{:.2f}"),
    ("mcc_before", "MCC", "{:.3f}"), ("mcc_after", "MCC after ICA", "{:.3f}"),
    ("infom_before", "InfoM", "{:.3f}"), ("infom_after", "InfoM after ICA", "{:.3f}"),
]
FIT_COLUMNS = [("L", "L", "{}"), ("fit over", "fit over", "{}"), ("c", "c", "{:.4f}"),
               ("c_low", "95% low", "{:.4f}"), ("c_high", "95% high", "{:.4f}"),
               ("r2", "R² √(2L+L²)", "{:.3f}"), ("r2_line", "R² a+bL", "{:.3f}"),
               ("shapes", "shapes", "{}"), ("note", "note", "{}")]

NOTES = (
    "Leak α: every hidden activation is LeakyReLU with negative slope 1 − α (α = 0 linear, "
    "α = 1 ReLU). B(z) = max(σ₁, 1/σ_d) of the decoder Jacobian at held-out latents; per "
    "model L_max = max B − 1 and L_mean = mean B − 1; per leak L_max_max / L_max_mean = the "
    "max / mean of the models' L_max over seeds (L_max_max = B_max − 1), the same for L_mean "
    "(estimated at samples, not certified). Errors: mean ‖A − h(B)‖ / diameter(A) on the "
    "evaluation half, h fitted on the other half; statistical = between seeds at the same "
    "leak. Theorem 1 predicts the rigid error proportional to √(2L + L²); its constant is "
    "fitted, not predicted. " + efficiency.LEGEND
)


def figures(store: RunStore, sweep_id: str) -> list[tuple[str, go.Figure]]:
    """The report's figures, titled, for a sweep that has been analysed."""
    return _figures(load_view(store, sweep_id))


def _figures(view) -> list[tuple[str, go.Figure]]:
    rows = view.per_leak
    return [
        ("B(z) per leak", b_distribution(b_by_leak(view), bounds=leak_bounds(view),
                                         log_x=True)),
        ("l2 error against L_max_max", error_vs_L(error_curves(view, L_kind="L_max_max"))),
        ("l2 error against L_mean_mean", error_vs_L(error_curves(view, L_kind="L_mean_mean"))),
        ("Reconstruction against L", recon_vs_L(rows)),
        ("ICA efficiency", ica_efficiency(rows)),
        ("MCC before and after ICA", metric_by_leak(rows, "mcc")),
    ]


def _cell(r: dict, key: str, fmt: str | None) -> str:
    v = r.get(key)
    if fmt is None:  # the efficiency: a percentage, or why there is none
        return html.escape(efficiency.short(v, r.get("ica_efficiency_note", "")))
    if v is None or (isinstance(v, float) and v != v):
        return "–"
    return html.escape(fmt.format(v))


def _table(rows: list[dict], columns=TABLE_COLUMNS) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for _, h, _ in columns)
    body = "".join("<tr>" + "".join(f"<td>{_cell(r, k, f)}</td>" for k, _, f in columns)
                   + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _findings(view) -> str:
    """Efficiency notes, the Theorem-1 fits, the claims and why L falls, as HTML."""
    notes = [f"α = {r['leak']:g}: {r['ica_efficiency_note']}" for r in view.per_leak
             if r.get("ica_efficiency_note")]
    fits = [row for lk in ("L_max_max", "L_max_mean", "L_mean_mean")
            for row in fit_rows(error_curves(view, L_kind=lk))]
    seen, unique = set(), []
    for row in fits:  # the fit over pairs is the same for both seed summaries
        key = (row["fit over"], row["L"])
        if key not in seen:
            seen.add(key)
            unique.append(row)
    items = "".join(f"<li>{html.escape(c['claim'])}: {html.escape(c['verdict'])}</li>"
                    for c in claims(view, extra=True))
    dips = "".join(f"<p>{html.escape(t)}</p>" for t in l_drivers(view)[1])
    return ("<h2>ICA efficiency notes</h2><ul>" + "".join(
        f"<li>{html.escape(n)}</li>" for n in notes) + "</ul>"
        "<h2>Theorem-1 fit of the rigid error</h2>" + _table(unique, FIT_COLUMNS)
        + "<h2>The warm-up's claims on this sweep</h2><ul>" + items + "</ul>"
        + (f"<h2>Why L falls between some leaks</h2>{dips}" if dips else ""))


def render(store: RunStore, sweep_id: str) -> str:
    """The report as one HTML string."""
    sweep = store.get_sweep(sweep_id)
    if not sweep["analysis"]:
        raise ValueError(f"sweep {sweep['id']} has no analysis yet (status {sweep['status']})")
    view = load_view(store, sweep["id"])
    parts = []
    for k, (title, fig) in enumerate(_figures(view)):
        div = fig.to_html(include_plotlyjs=(k == 0), full_html=False)
        parts.append(f"<h2>{html.escape(title)}</h2>{div}")
    settings = html.escape(json.dumps(sweep["config"], indent=1))
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>nearid sweep {sweep['id']}</title><style>body{{font-family:sans-serif;"
        "max-width:1100px;margin:auto}} td,th{{padding:2px 8px;text-align:right}}"
        "table{{border-collapse:collapse}} tr:nth-child(even){{background:#f4f4f4}}</style>"
        f"</head><body><h1>nearid sweep {sweep['id']} {html.escape(sweep['name'])}</h1>"
        f"<p>{html.escape(NOTES)}</p><h2>Per leak</h2>{_table(view.per_leak)}"
        + _findings(view) + "".join(parts) + f"<h2>Settings</h2><pre>{settings}</pre>"
        "</body></html>"
    )


def write_report(store: RunStore, sweep_id: str, path: str | os.PathLike) -> None:
    """Write the report atomically (temporary file, then rename)."""
    data = render(store, sweep_id).encode("utf-8")
    atomic_write(Path(path), lambda fh: fh.write(data))
