"""A self-contained HTML report of a stored sweep: figures, tables and the settings.

plotly.js is inlined once, so the file opens offline and can be mailed as it is.
"""

from __future__ import annotations

import html
import json
import os
from pathlib import Path

import plotly.graph_objects as go

from ._files import atomic_write
from .plots import b_distribution
from .plots_ident import error_vs_L, ica_efficiency, metric_by_leak, recon_vs_L
from .results import b_by_leak, error_curves, leak_bounds, load_view
from .store import RunStore

TABLE_COLUMNS = [
    ("leak", "leak α", "{:.2f}"), ("L_max", "L_max", "{:.3f}"), ("L_mean", "L_mean", "{:.3f}"),
    ("recon_mse", "recon MSE", "{:.2e}"), ("stat_perm", "perm", "{:.4f}"),
    ("stat_rigid", "rigid", "{:.4f}"), ("stat_linear", "linear", "{:.4f}"),
    ("stat_ica", "ICA", "{:.4f}"), ("ica_efficiency", "ICA efficiency", "{:.2f}"),
    ("mcc_before", "MCC", "{:.3f}"), ("mcc_after", "MCC after ICA", "{:.3f}"),
    ("infom_before", "InfoM", "{:.3f}"), ("infom_after", "InfoM after ICA", "{:.3f}"),
]

NOTES = (
    "Leak α: every hidden activation is LeakyReLU with negative slope 1 − α (α = 0 linear, "
    "α = 1 ReLU). B(z) = max(σ₁, 1/σ_d) of the decoder Jacobian at held-out latents; "
    "L_max = max B − 1, L_mean = mean B − 1 (estimated at samples, not certified). "
    "Errors: mean ‖A − h(B)‖ / diameter(A) on the evaluation half, h fitted on the other "
    "half; statistical = between seeds at the same leak. Theorem 1 predicts the rigid error "
    "proportional to √(2L + L²); its constant is fitted, not predicted."
)


def figures(store: RunStore, sweep_id: str) -> list[tuple[str, go.Figure]]:
    """The report's figures, titled, for a sweep that has been analysed."""
    view = load_view(store, sweep_id)
    rows = view.per_leak
    return [
        ("B(z) per leak", b_distribution(b_by_leak(view), bounds=leak_bounds(view),
                                         log_x=True)),
        ("l2 error against L_max", error_vs_L(error_curves(view, L_kind="L_max"))),
        ("l2 error against L_mean", error_vs_L(error_curves(view, L_kind="L_mean"))),
        ("Reconstruction against L", recon_vs_L(rows)),
        ("ICA efficiency", ica_efficiency(rows)),
        ("MCC before and after ICA", metric_by_leak(rows, "mcc")),
    ]


def _table(rows: list[dict]) -> str:
    def cell(r, key, fmt):
        v = r.get(key)
        return "–" if v is None or (isinstance(v, float) and v != v) else fmt.format(v)

    head = "".join(f"<th>{html.escape(h)}</th>" for _, h, _ in TABLE_COLUMNS)
    body = "".join("<tr>" + "".join(f"<td>{cell(r, k, f)}</td>" for k, _, f in TABLE_COLUMNS)
                   + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def render(store: RunStore, sweep_id: str) -> str:
    """The report as one HTML string."""
    sweep = store.get_sweep(sweep_id)
    if not sweep["analysis"]:
        raise ValueError(f"sweep {sweep['id']} has no analysis yet (status {sweep['status']})")
    parts = []
    for k, (title, fig) in enumerate(figures(store, sweep["id"])):
        div = fig.to_html(include_plotlyjs=(k == 0), full_html=False)
        parts.append(f"<h2>{html.escape(title)}</h2>{div}")
    fits = sweep["analysis"]["fits"]
    fit_text = "; ".join(f"L = {lk}: c = {fits[f'rigid_vs_{lk}']['c']:.4f}, "
                         f"R² = {fits[f'rigid_vs_{lk}']['r2']:.3f}" for lk in ("L_max", "L_mean"))
    settings = html.escape(json.dumps(sweep["config"], indent=1))
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>nearid sweep {sweep['id']}</title><style>body{{font-family:sans-serif;"
        "max-width:1100px;margin:auto}} td,th{{padding:2px 8px;text-align:right}}"
        "table{{border-collapse:collapse}} tr:nth-child(even){{background:#f4f4f4}}</style>"
        f"</head><body><h1>nearid sweep {sweep['id']} {html.escape(sweep['name'])}</h1>"
        f"<p>{html.escape(NOTES)}</p><h2>Per leak</h2>{_table(sweep['analysis']['per_leak'])}"
        f"<p>Theorem-1 fit of the rigid error: {html.escape(fit_text)}.</p>"
        + "".join(parts) + f"<h2>Settings</h2><pre>{settings}</pre></body></html>"
    )


def write_report(store: RunStore, sweep_id: str, path: str | os.PathLike) -> None:
    """Write the report atomically (temporary file, then rename)."""
    data = render(store, sweep_id).encode("utf-8")
    atomic_write(Path(path), lambda fh: fh.write(data))
