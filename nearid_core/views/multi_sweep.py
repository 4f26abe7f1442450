"""Several stored sweeps side by side: what differs between them, overlays of their B(z) and
ℓ2-error curves (one colour per sweep), and a self-contained HTML report.

Every number drawn or tabled here is the single-sweep view's own (``results.b_by_leak``,
``ident_views.error_curves``, ``ident_views.ident_table``): nothing is recomputed across
sweeps, so an overlay shows exactly what each sweep's own page shows.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.colors import qualitative

from nearid_core.config import json_safe
from nearid_core.runs.store import RunStore
from nearid_core.science import efficiency
from nearid_core.views.ident_views import ErrorCurves, error_curves, ident_table
from nearid_core.views.plots import GROUP_NAMES, style
from nearid_core.views.plots_ident import L_TITLES
from nearid_core.views.results import SweepView, b_by_leak, load_view

__all__ = ["b_overlay", "compare_sweeps_html", "compare_sweeps_report", "differing_settings",
           "error_overlay", "load_views", "summary_rows", "sweep_colors", "sweep_labels"]

COLORS = qualitative.Dark24  # distinct hues, none of them pale: readable on white
LABEL_SETTINGS = 3  # settings named in a legend label; more are cut to "…"
QUANTILES = {"median": (0.5, "solid"), "90%": (0.9, "dash")}
MISSING = "–"  # a setting absent from a sweep's stored config (an older nearid)
_ABSENT = object()


# ---------------------------------------------------------------- what differs

def _flatten(config: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in config.items():
        if isinstance(v, dict):
            out.update(_flatten(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = tuple(v) if isinstance(v, list) else v
    return out


def _text(value) -> str:
    if value is None:
        return MISSING
    if isinstance(value, tuple):
        return ", ".join(_text(v) for v in value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _differing(configs: dict[str, dict]) -> dict[str, dict]:
    """Flattened key -> {sweep id: value} for the keys whose values are not all equal
    (a key one config lacks counts as differing; its value is None)."""
    flat = {sid: _flatten(c) for sid, c in configs.items()}
    keys = list(dict.fromkeys(k for f in flat.values() for k in f))  # first-seen order
    out = {}
    for key in keys:
        values = [f.get(key, _ABSENT) for f in flat.values()]
        if any(v is _ABSENT or v != values[0] for v in values):
            out[key] = {sid: f.get(key) for sid, f in flat.items()}
    return out


def differing_settings(configs: dict[str, dict]) -> list[dict]:
    """The settings whose values differ between sweeps, one row per setting.

    Parameters
    ----------
    configs : sweep id -> its stored (nested) sweep config, ``store.get_sweep(id)["config"]``.

    Returns
    -------
    Rows ``{"setting": "model.decoder", <id>: "free", ...}``, one column per sweep, in the
    configs' own key order; values as text (a setting one sweep lacks reads "–").

    Notes
    -----
    Only the stored settings are compared: two sweeps with equal settings can still differ
    in what produced them (another nearid version, another machine's float round-off).
    """
    return [{"setting": key, **{sid: _text(v) for sid, v in values.items()}}
            for key, values in _differing(configs).items()]


def _short_names(keys: list[str]) -> dict[str, str]:
    """``data.kind`` -> ``kind``, unless two differing keys share their last part."""
    last = [k.rsplit(".", 1)[-1] for k in keys]
    return {k: s if last.count(s) == 1 else k for k, s in zip(keys, last, strict=True)}


def sweep_labels(configs: dict[str, dict], names: dict[str, str] | None = None
                 ) -> dict[str, str]:
    """A short, unique legend label per sweep naming the settings that differ.

    E.g. ``"decoder=free, kind=mlp"``; at most ``LABEL_SETTINGS`` settings (then "…").
    When nothing differs, the sweep's name (``names``), else its id; any label that two
    sweeps would share gets the sweep's short id added.
    """
    diff = _differing(configs)
    short = _short_names(list(diff))
    labels = {}
    for sid in configs:
        parts = [f"{short[k]}=" + (f"[{_text(v[sid])}]" if isinstance(v[sid], tuple)
                                   else _text(v[sid])) for k, v in diff.items()]
        text = ", ".join(parts[:LABEL_SETTINGS]) + (", …" if len(parts) > LABEL_SETTINGS else "")
        labels[sid] = text or (names or {}).get(sid) or sid
    taken = list(labels.values())
    return {sid: t if taken.count(t) == 1 else f"{t} ({sid[:6]})" for sid, t in labels.items()}


def sweep_colors(ids: Sequence[str]) -> dict[str, str]:
    """One colour per sweep, in the order given."""
    return {sid: COLORS[k % len(COLORS)] for k, sid in enumerate(ids)}


# ---------------------------------------------------------------- overlays

def _b_quantiles(view: SweepView) -> tuple[list[float], dict[str, list[float]]]:
    """Leaks with B(z) values, and per quantile name its value at each of them."""
    by_leak = b_by_leak(view)
    leaks = [a for a in sorted(by_leak) if by_leak[a].size]
    return leaks, {name: [float(np.quantile(by_leak[a], q)) for a in leaks]
                   for name, (q, _) in QUANTILES.items()}


def b_overlay(views: Sequence[SweepView], labels: dict[str, str]) -> go.Figure:
    """Median and 90% quantile of B(z) against the leak, one colour per sweep.

    Parameters
    ----------
    views : the sweeps, each as ``results.load_view`` gives it.
    labels : sweep id -> legend label (``sweep_labels``).

    Notes
    -----
    Each value is the quantile over every held-out point of the sweep's finished models at
    that leak (``results.b_by_leak``, what its violins draw). B is estimated at samples,
    not certified; sweeps on different data compare decoders on different inputs.
    """
    colors = sweep_colors([v.id for v in views])
    fig = go.Figure()
    for v in views:
        leaks, values = _b_quantiles(v)
        for name, (_, dash) in QUANTILES.items():
            fig.add_trace(go.Scatter(
                x=leaks, y=values[name], mode="lines+markers", name=f"{labels[v.id]} · {name}",
                legendgroup=v.id, meta=v.id, line={"color": colors[v.id], "dash": dash},
                hovertemplate=f"{labels[v.id]}<br>leak %{{x:g}}<br>{name} B %{{y:.4f}}"
                              "<extra></extra>"))
    style(fig, title="B(z) per leak, sweep by sweep (solid: median, dashed: 90% quantile)",
          height=460, xaxis={"title": "leak α"},
          yaxis={"title": "B(z) = max(σ₁, 1/σ_d); 1 = locally isometric"},
          legend={"orientation": "h", "y": -0.25, "x": 0.0})
    return fig


def _fit_trace(fig: go.Figure, c: ErrorCurves, group: str, v: SweepView, label: str,
               color: str) -> None:
    f = c.fits[group]["leak"]
    if not f.ok:  # a legend entry that says why, as the single-sweep chart does
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="lines", legendgroup=v.id,
                                 line={"color": color, "dash": "dash"},
                                 name=f"{label}: no fit ({f.reason})"))
        return
    top = float(np.nanmax(c.L)) if np.isfinite(c.L).any() else 1.0
    grid = np.linspace(0.0, top, 100)
    fig.add_trace(go.Scatter(x=grid, y=f.c * np.sqrt(2 * grid + grid**2), mode="lines",
                             legendgroup=v.id, meta=v.id, hoverinfo="skip",
                             line={"color": color, "dash": "dash", "width": 1.5},
                             name=f"{label}: fit c={f.c:.3g} [{f.c_low:.3g}, {f.c_high:.3g}]"))


def error_overlay(views: Sequence[SweepView], labels: dict[str, str], group: str = "rigid",
                  L_kind: str = "L_max_max", kind: str = "statistical", *,
                  curves: dict[str, ErrorCurves] | None = None,
                  show_fit: bool = True) -> go.Figure:
    """ℓ2 error of one alignment group against L, one colour per sweep.

    Parameters
    ----------
    group : "perm", "rigid", "linear" or "ica".
    L_kind, kind : as ``ident_views.error_curves``.
    curves : sweep id -> its ``ErrorCurves`` when already computed (e.g. cached); the rest
        are computed here.
    show_fit : also draw each sweep's Theorem-1 fit over leaks, ``c * sqrt(2L + L^2)``
        (dashed), or a legend entry saying why there is none.

    Notes
    -----
    Lines are each leak's mean over seed pairs (or models), bars ± one standard deviation.
    Theorem 1 bounds the rigid error only; its constant is fitted per sweep, not predicted.
    """
    if group not in GROUP_NAMES:
        raise ValueError(f"group must be one of {tuple(GROUP_NAMES)}, got {group!r}")
    colors = sweep_colors([v.id for v in views])
    fig = go.Figure()
    for v in views:
        c = (curves or {}).get(v.id) or error_curves(v, kind=kind, L_kind=L_kind)
        order = np.argsort(np.asarray(c.L, float), kind="stable")
        fig.add_trace(go.Scatter(
            x=c.L[order], y=c.mean[group][order], mode="lines+markers", name=labels[v.id],
            legendgroup=v.id, meta=v.id, line={"color": colors[v.id]}, marker={"size": 8},
            error_y={"type": "data", "array": c.std[group][order], "visible": True},
            customdata=c.leaks[order],
            hovertemplate=f"{labels[v.id]}<br>leak %{{customdata:g}}<br>L %{{x:.3f}}"
                          "<br>error %{y:.4f}<extra></extra>"))
        if show_fit:
            _fit_trace(fig, c, group, v, labels[v.id], colors[v.id])
    covered = "" if group == "rigid" else " (not covered by Theorem 1)"
    style(fig, title=f"{kind.capitalize()} {GROUP_NAMES[group]} error against L, sweep by "
                     f"sweep{covered}", height=500,
          xaxis={"title": L_TITLES.get(L_kind, L_kind)},
          yaxis={"title": "ℓ2 error / latent diameter", "rangemode": "tozero"},
          legend={"orientation": "h", "y": -0.25, "x": 0.0})
    return fig


# ---------------------------------------------------------------- tables, loading, report

SUMMARY_KEYS = ("leak", "L_max_max", "perm", "rigid", "linear", "ica")


def summary_rows(views: Sequence[SweepView], labels: dict[str, str],
                 kind: str = "statistical") -> list[dict]:
    """Per sweep and leak: L_max_max and the four errors (``ident_views.ident_table``),
    the guarded ICA efficiency as text ("85%" or why there is none) and its note."""
    rows = []
    for v in views:
        for r in ident_table(v, kind):
            rows.append({"sweep": labels[v.id], "id": v.id, **{k: r[k] for k in SUMMARY_KEYS},
                         "ica_eff": efficiency.short(r["ica_efficiency"],
                                                     r["ica_efficiency_note"] or ""),
                         "ica_efficiency_note": r["ica_efficiency_note"] or ""})
    return rows


def load_views(store: RunStore, ids: Sequence[str]) -> list[SweepView]:
    """The views of two or more distinct, analysed sweeps (ids or unique prefixes).

    Raises StoreError for an unknown or ambiguous id, ValueError (one line) for a study,
    a sweep without analysis, or fewer than two distinct sweeps.
    """
    rows = {}
    for ref in ids:
        row = store.get_sweep(ref)
        if row.get("kind", "sweep") != "sweep":
            raise ValueError(f"{row['id']} is a {row['kind']} study, not a sweep: "
                             "compare-sweeps compares leak × seed sweeps")
        if not row["analysis"]:
            why = ("it is done but has no analysis" if row["status"] == "done"
                   else f"it is {row['status']}")
            raise ValueError(f"sweep {row['id']} has no analysis to compare: {why}")
        rows.setdefault(row["id"], row)
    if len(rows) < 2:
        raise ValueError(f"compare-sweeps needs two or more different sweeps (got "
                         f"{len(rows)}: {', '.join(rows) or 'none'})")
    return [load_view(store, sid) for sid in rows]


def _columns(views: Sequence[SweepView]) -> list[tuple[str, str, str]]:
    return [("setting", "setting", "")] + [(v.id, f"{v.id} {v.name}".strip(), "")
                                           for v in views]


SUMMARY_COLUMNS = [("sweep", "sweep", ""), ("leak", "leak α", ".2f"),
                   ("L_max_max", "L_max_max", ".3f"), ("perm", "perm", ".4f"),
                   ("rigid", "rigid", ".4f"), ("linear", "linear", ".4f"), ("ica", "ICA", ".4f"),
                   ("ica_eff", "ICA efficiency", "")]
INTRO = ("Several stored sweeps side by side. Each number is the sweep's own, as its single-"
         "sweep report shows it: B(z) = max(σ₁, 1/σ_d) of the decoder Jacobian at held-out "
         "latents; L_max_max = B_max − 1 at the leak; errors are statistical (between seeds "
         "at the same leak), mean ‖A − h(B)‖ / diameter(A) on the evaluation half. Legends "
         "name the settings that differ between the sweeps. " + efficiency.LEGEND)


def compare_sweeps_html(views: Sequence[SweepView]) -> str:
    """The side-by-side report of already loaded, analysed views, as one HTML string."""
    from nearid_core.views.study_report import html_table, render_study_report

    configs = {v.id: v.config_dict for v in views}
    labels = sweep_labels(configs, {v.id: v.name for v in views})
    diff = differing_settings(configs)
    sweeps = [{"id": v.id, "name": v.name, "label": labels[v.id], "models": len(v.models),
               "leaks": _text(tuple(v.leaks))} for v in views]
    blocks = [("Sweeps", html_table(sweeps, [(k, k, "") for k in sweeps[0]])),
              ("What differs", html_table(diff, _columns(views)) if diff
               else ["Every stored setting is the same in these sweeps."]),
              ("B(z) per leak", b_overlay(views, labels))]
    curves = {v.id: error_curves(v, L_kind="L_max_max") for v in views}
    blocks += [(f"{GROUP_NAMES[g][0].upper()}{GROUP_NAMES[g][1:]} error against L_max_max",
                error_overlay(views, labels, g, curves=curves)) for g in ("rigid", "ica")]
    blocks.append(("Per sweep and leak", html_table(summary_rows(views, labels),
                                                    SUMMARY_COLUMNS)))
    return render_study_report(f"nearid: {len(views)} sweeps side by side", INTRO, blocks,
                               json_safe({v.id: v.config_dict for v in views}))


def compare_sweeps_report(store: RunStore, ids: Sequence[str]) -> str:
    """A self-contained HTML report comparing the sweeps ``ids`` (see ``load_views``)."""
    return compare_sweeps_html(load_views(store, ids))
