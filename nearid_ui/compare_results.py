"""The Compare page's result section: the Table-1 rows, notes, settings, figures, ground truth,
per-label errors, downloads and saving.

Every cell means what its column says: an error with its interval ("0.104 [0.098, 0.111]"),
the guarded ICA efficiency or "n/a — the reason", never a raw ratio.
"""

from __future__ import annotations

import io
import json
import math

import numpy as np
import pandas as pd
import streamlit as st

from nearid_core.science import efficiency
from nearid_core.studies.compare import CI_LEVEL

from . import compare_figures, render, texts
from .glossary import link, see
from .picker import escape_md

ZERO = 1e-9  # an error below this (in diameters) is an exact fit: ratios over it mean nothing
METRICS = {"mcc": "MCC", "infom": "InfoM", "infoe": "InfoE", "infoc": "InfoC",
           "dci_d": "DCI D", "dci_c": "DCI C", "dci_i": "DCI I"}
HELP = {
    "perm": f"Error after the best {link('signed-permutation', 'signed permutation')}. "
            + texts.ERROR,
    "rigid": f"Error after the best {link('rigid', 'rigid map')} (orthogonal Procrustes). "
             + texts.ERROR,
    "linear": f"Error after the best {link('affine', 'affine map')} (least squares). "
              + texts.ERROR,
    "ICA": f"Error after {link('ica', 'FastICA')} on both sides and a signed permutation, "
           "relative to the diameter of ICA(A). " + texts.ERROR,
    "ICA efficiency": "(perm − ICA) / (perm − rigid): the share of the gap between the best "
                      "raw-axis alignment and the best rigid one that unsupervised ICA closes. "
                      "Shown only where that gap is large enough to mean something (see the "
                      "caption); otherwise n/a with the reason." + see("ica-efficiency"),
    "ICA / linear": "ICA error / linear error: 1 = ICA as good as the best linear map."
                    + see("ica", "affine"),
    "CKA": "Linear CKA on all rows (1 = same up to rotation and isotropic scaling); no map "
           "is fitted." + see("cka"),
    "angle (rad)": "Angular Procrustes distance on all rows (0 = same shape up to rotation, "
                   "scaling and translation; π/2 = unrelated)." + see("procrustes-angle"),
}


def _finite(x) -> bool:
    return x is not None and isinstance(x, (int, float, np.floating)) and math.isfinite(x)


def interval(row: dict, group: str) -> str:
    """'0.104 [0.098, 0.111]', '0.104' without intervals, or 'n/a'."""
    v, lo, hi = row.get(group), row.get(f"{group}_lo"), row.get(f"{group}_hi")
    if not _finite(v):
        return "n/a"
    return f"{v:.3f}" + (f" [{lo:.3f}, {hi:.3f}]" if _finite(lo) and _finite(hi) else "")


def efficiency_text(value, note: str) -> str:
    """The guarded efficiency: '36%' (with what a value above 100% means) or 'n/a — why'."""
    if _finite(value):
        return f"{value:.0%}" + (" (ICA below rigid)" if value > 1 else "")
    note = note or efficiency.MISSING
    return note if note.startswith("n/a") else f"n/a — {note}"


def ratio_text(row: dict) -> str:
    """ICA / linear, or why it is n/a (an exact linear fit makes any ratio meaningless)."""
    ica, lin = row.get("ica"), row.get("linear")
    if not (_finite(ica) and _finite(lin)):
        return "n/a — an error is missing"
    if lin < ZERO:
        return "n/a — the linear error is 0 (an exact linear fit)"
    return f"{ica / lin:.2f}"


def pair_rows(rows: list[dict]) -> pd.DataFrame:
    """The Table-1 view of compare rows, as the page shows it (text cells)."""
    out = []
    for r in rows:
        dims = f"{r['d_a']} / {r['d_b']}" + (f" (top {r['k_common']} PCs for perm, rigid)"
                                             if r["d_a"] != r["d_b"] else "")
        out.append({"A (reference)": r["a"], "B (candidate)": r["b"], "dims A / B": dims,
                    **{k: interval(r, g) for k, g in (("perm", "perm"), ("rigid", "rigid"),
                                                      ("linear", "linear"), ("ICA", "ica"))},
                    "ICA efficiency": efficiency_text(r.get("ica_efficiency"),
                                                      r.get("ica_efficiency_note", "")),
                    "ICA / linear": ratio_text(r),
                    "CKA": f"{r['cka']:.3f}" if _finite(r.get("cka")) else "n/a",
                    "angle (rad)": (f"{r['procrustes_angle']:.3f}"
                                    if _finite(r.get("procrustes_angle")) else "n/a"),
                    "ICA converged": "yes" if r.get("ica_converged") else "no"})
    return pd.DataFrame(out)


def _table(result) -> None:
    df = pair_rows(result.rows)
    config = {c: st.column_config.TextColumn(help=HELP.get(c)) for c in df.columns}
    st.dataframe(df, hide_index=True, column_config=config, key="cmp_table",
                 height=render.ROW_PX * (min(len(df), render.MAX_ROWS) + 1) + 3)
    spread = (f"[…]: the {CI_LEVEL:.0%} spread over {result.config.n_boot} re-drawn splits "
              "placed around the value (see the notes)" if result.config.n_boot
              else "no intervals (0 re-drawn splits)")
    noise = (f" and above {efficiency.NOISE_SE:g} standard deviations of perm − rigid over "
             "the re-drawn splits" if result.config.n_boot else "")
    st.caption(f"One row per ordered pair: B mapped onto A. {texts.ERROR} {spread}. ICA "
               f"efficiency is shown only where perm − rigid is at least "
               f"{efficiency.MIN_GAP_SHARE:.0%} of perm{noise}; otherwise n/a with the reason. "
               "Above 100%: ICA beat the rigid fit. ICA / linear: 1 = ICA as good as the best "
               "linear map.")


def _downloads(result, stem: str) -> None:
    c1, c2, c3 = st.columns(3)
    c1.download_button("Table (CSV)", data=lambda: result.table().to_csv(index=False),
                       file_name=f"{stem}.csv", mime="text/csv", key="cmp_dl_csv",
                       on_click="ignore", icon=":material/download:",
                       help="Every number of every ordered pair, with interval ends."
                            + see("alignment-error", "bootstrap"))
    c2.download_button("Result (JSON)",
                       data=lambda: json.dumps(result.to_json_dict(), indent=1, allow_nan=False),
                       file_name=f"{stem}.json", mime="application/json", key="cmp_dl_json",
                       on_click="ignore", icon=":material/download:",
                       help="Rows, notes, settings, ICA details, ground-truth and per-label "
                            "scores (NaN as null)." + see("ica", "factors"))
    c3.download_button("Fitted maps (NPZ)", data=lambda: _npz(result.maps_npz_dict()),
                       file_name=f"{stem}-maps.npz", mime="application/octet-stream",
                       key="cmp_dl_npz", on_click="ignore", icon=":material/download:",
                       help="Per ordered pair and group: matrix and offset mapping raw rows "
                            "of B into A's space (A__B__rigid_matrix ...), and each "
                            "embedding's ICA unmixing (A__ica_matrix ...)."
                            + see("alignment-group", "ica"))


def _npz(arrays: dict) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def _notes(job, result) -> None:
    st.markdown("**Notes**\n" + "\n".join(f"- {escape_md(n)}" for n in
                                          [*job.inputs.notes, *result.notes]))
    saved = job.inputs.extra.get("rows")
    if saved:
        same = all(_close(a, b) for a, b in zip(saved, result.rows, strict=False))
        st.caption("Opened from the store: the numbers recomputed here "
                   + ("equal the saved ones." if same and len(saved) == len(result.rows)
                      else "differ from the saved ones (nearid's code changed since)."))


def _close(saved: dict, row: dict) -> bool:
    for g in ("perm", "rigid", "linear", "ica"):
        a, b = saved.get(g), row.get(g)
        if _finite(b) != (a is not None) or (a is not None and not math.isclose(
                a, b, rel_tol=1e-9, abs_tol=1e-12)):
            return False
    return True


def _settings(result) -> None:
    c = result.config
    ica = (f"{c.ica_components} principal components (capped by each width)"
           if c.ica_components else f"enough principal components for {c.ica_variance:.0%} "
           f"of the variance, at most {c.max_pcs}")
    with st.expander("Settings of this result"):
        st.markdown(f"Seed **{c.seed}** · **{c.n_boot}** re-drawn splits · ICA on {ica}; "
                    f"{c.ica_restarts} FastICA starts of up to {c.ica_max_iter} iterations "
                    f"on at most {c.ica_max_rows:,} fit rows.")
        st.dataframe([{"embedding": name, "ICA components": d["k"], "on": d["input"],
                       "variance kept": f"{d['explained']:.1%}", "why": d["rule"],
                       "converged": {True: "yes", False: "no"}.get(d["converged"], "n/a")}
                      for name, d in result.ica_details.items()], hide_index=True,
                     key="cmp_ica_details")


def truth_table(truth: dict) -> pd.DataFrame:
    """MCC, InfoMEC and DCI of each embedding's raw axes and of its ICA sources."""
    out = []
    for name, t in truth.items():
        for key, label in METRICS.items():
            before, after = t["before"].get(key, np.nan), t["after"].get(key, np.nan)
            out.append({"embedding": name, "metric": label, "before ICA": before,
                        "after ICA": after,
                        "change": after - before if _finite(after) and _finite(before)
                        else np.nan})
    return pd.DataFrame(out)


def _truth(result) -> None:
    if not result.truth:
        return
    st.subheader("Against the ground-truth factors")
    st.caption(f"{texts.MCC} {texts.INFOMEC} {texts.DCI} After ICA: on each embedding's ICA "
               "sources (n/a when ICA could not run).")
    render.table(truth_table(result.truth), key="cmp_truth", name="nearid-compare-truth",
                 formats={"before ICA": "%.3f", "after ICA": "%.3f", "change": "%+.3f"})


def _per_label(result) -> None:
    if not result.per_label:
        return
    st.subheader("Errors per label")
    st.caption("Each ordered pair's errors on the eval rows of one label: the maps are fitted "
               "on all labels, and the normaliser is the diameter of all of A's eval rows, so "
               "these compare with the table above.")
    df = pd.DataFrame(result.per_label).rename(columns={"a": "A (reference)",
                                                        "b": "B (candidate)"})
    render.table(df, key="cmp_labels", name="nearid-compare-per-label",
                 formats={g: "%.3f" for g in ("perm", "rigid", "linear", "ica")})


def _save(job, result) -> None:
    if job.inputs.source not in ("upload", "digits"):
        return
    from nearid_core.runs.comparisons import save_comparison
    from nearid_core.runs.store import StoreError

    from . import cache

    readonly = cache.readonly()
    st.subheader("Keep this comparison")
    c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
    name = c1.text_input("Name", max_chars=200, key="cmp_save_name",
                         placeholder=", ".join(result.names)[:80], disabled=readonly)
    go = c2.button("Save to store", key="cmp_save", icon=":material/save:", disabled=readonly,
                   help=render.READONLY if readonly else "Keeps the arrays, settings and "
                   "numbers in the run store; reopen them from the Saved comparisons tab."
                   + see("run-store"))
    if go:
        inputs = job.inputs
        try:
            cid = save_comparison(cache.store(), name=name.strip() or ", ".join(result.names)[:200],
                                  embeddings=inputs.embeddings, result=result,
                                  factors=inputs.factors, labels=inputs.labels)
        except (StoreError, ValueError) as err:
            st.error(f"Could not save the comparison: {render.scrub(getattr(err, 'message', None) or str(err))}")
            return
        st.success(f"Saved as comparison {cid}: find it under **Saved comparisons**.")


def show(job, result) -> None:
    """Every part of a finished comparison."""
    names = ", ".join(f"{n} ({d})" for n, d in zip(
        result.names, [job.inputs.embeddings[n].shape[1] for n in result.names], strict=True))
    st.subheader(f"Results — {job.title}")
    st.caption(f"{job.inputs.n_rows:,} rows; embeddings (width): {names}. Computed in the "
               f"background in {job.seconds():.1f} s (waiting for a worker included); the "
               "same inputs and settings are shown again at once.")
    _table(result)
    _downloads(result, "nearid-compare")
    _notes(job, result)
    _settings(result)
    compare_figures.heatmaps(result)
    compare_figures.overlay_section(job, result)
    _truth(result)
    _per_label(result)
    _save(job, result)
