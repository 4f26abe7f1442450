"""Text output of the study commands: ``compare``'s rows and notes, ``realdata``'s tables."""

from __future__ import annotations

import math
import time

from nearid_core.cli import format_table
from nearid_core.science import efficiency
from nearid_core.studies._compare_config import CI_LEVEL

TINY_LINEAR = 1e-4  # a linear error below this (in diameters) is round-off: no ICA/lin ratio
LEGEND = ("ICA eff = (perm − ICA) / (perm − rigid), shown only where the notes' guard allows, "
          "else n/a with the reason (axes: the raw axes are already as good as a rotation); "
          f"ICA/lin = ICA error / linear error (n/a where linear < {TINY_LINEAR:g}); CKA: "
          "linear CKA; angle: Procrustes angle in radians (0 = same shape).")
GROUP_HEADS = (("perm", "perm"), ("rigid", "rigid"), ("linear", "linear"), ("ica", "ICA"))
TRUTH = (("mcc", "MCC"), ("infom", "InfoM"), ("dci_d", "DCI-D"))


def _ok(value) -> bool:
    return value is not None and math.isfinite(value)  # saved results hold None for NaN


def _num(value, spec: str) -> str:
    return format(value, spec) if _ok(value) else "-"


def _eff(r: dict) -> str:
    value = r["ica_efficiency"]
    return efficiency.short(value if _ok(value) else math.nan, r["ica_efficiency_note"] or "")


def _with_interval(r: dict, g: str) -> str:
    point, lo, hi = r[g], r[f"{g}_lo"], r[f"{g}_hi"]
    if not _ok(point):
        return "-"
    if not (_ok(lo) and _ok(hi)):
        return f"{point:.4f}"
    return f"{point:.4f} [{lo:.4f}, {hi:.4f}]"


def _pair_rows(rows: list[dict]) -> list[dict]:
    out = []
    for r in rows:
        tiny = not (_ok(r["linear"]) and r["linear"] >= TINY_LINEAR)  # a ratio of round-offs
        line = {"a": r["a"], "b": r["b"], "eff": _eff(r),
                "ica_lin": "n/a" if tiny else _num(r["ica_vs_linear"], ".2f"),
                "cka": _num(r["cka"], ".3f"), "angle": _num(r["procrustes_angle"], ".3f")}
        out.append(line | {g: _with_interval(r, g) for g, _ in GROUP_HEADS})
    return out


def _print_table(rows: list[dict], n_boot: int) -> None:
    spread = (f"; [{CI_LEVEL:.0%} interval over {n_boot} re-drawn splits]" if n_boot else "")
    print(f"\nTable 1 per ordered pair: l2 error / diameter of the reference A, on "
          f"{rows[0]['n_eval']} eval rows{spread}")
    cols = [("a", "reference A", ""), ("b", "candidate B", ""),
            *[(g, head, "") for g, head in GROUP_HEADS], ("eff", "ICA eff", ""),
            ("ica_lin", "ICA/lin", ""), ("cka", "CKA", ""), ("angle", "angle", "")]
    print(format_table(_pair_rows(rows), cols))
    print(LEGEND)
    for r in rows:
        if not _eff(r).endswith("%"):
            print(f"  {r['a']} -> {r['b']}: {r['ica_efficiency_note']}")


def _print_truth(result) -> None:
    rows = []
    for name, t in result.truth.items():
        row = {"name": name, "k": t.get("ica_components", "-")}
        for key, _ in TRUTH:
            before, after = t["before"].get(key, math.nan), t["after"].get(key, math.nan)
            row[key] = f"{_num(before, '.3f')} -> {_num(after, '.3f')}"
        rows.append(row)
    print("\nagainst the ground-truth factors, raw axes -> ICA sources:")
    print(format_table(rows, [("name", "embedding", ""), ("k", "ICA comps", ""),
                              *[(k, head, "") for k, head in TRUTH]]))


def _print_labels(result) -> None:
    rows = [r | {g: _num(r[g], ".4f") for g, _ in GROUP_HEADS} for r in result.per_label]
    print("\nper label (the main split's maps, the eval rows of each label, same diameter):")
    print(format_table(rows, [("a", "reference A", ""), ("b", "candidate B", ""),
                              ("label", "label", ""), ("n_eval", "eval rows", ""),
                              *[(g, head, "") for g, head in GROUP_HEADS]]))


def _diameters(rows: list[dict]) -> str:
    seen = {}
    for r in rows:
        exact = "exact" if r["diameter_exact"] else "estimate"
        seen.setdefault(r["a"], f"{r['a']} {_num(r['diameter'], '.4g')} ({exact})")
    return "Diameters of the references' eval rows (the divisors): " + ", ".join(seen.values())


def print_compare(result, inputs, seconds: float) -> None:
    """The rows of every ordered pair, then truth and labels when given, then the notes."""
    first = result.rows[0]
    widths = ", ".join(f"{name} ({X.shape[1]} dims)" for name, X in inputs.embeddings.items())
    print(f"compared {len(result.names)} embeddings of {first['n_fit'] + first['n_eval']} "
          f"rows in {seconds:.1f} s: {widths}")
    if "sweep" in inputs.source:
        chosen = "the default choice" if inputs.source["default_models"] else "--models"
        print(f"models of sweep {inputs.source['sweep']} ({chosen}); its ground truth u_test "
              "is the factors")
    _print_table(result.rows, result.config.n_boot)
    if result.truth:
        _print_truth(result)
    if result.per_label:
        _print_labels(result)
    print("\nnotes:")
    for note in [*inputs.notes, *result.notes, _diameters(result.rows)]:
        print(f"  - {note}")


def print_comparisons(store) -> None:
    """The saved comparisons as a table (nothing when there are none), for ``list``."""
    from nearid_core.runs.comparisons import list_comparisons

    saved = list_comparisons(store)
    if not saved:
        return
    rows = [{"id": c["id"], "name": c["name"] or "-", "rows": c["n_rows"],
             "created": time.strftime("%Y-%m-%d %H:%M", time.localtime(c["created_at"])),
             "embeddings": _short(", ".join(f"{n} ({d})" for n, d in zip(
                 c["names"], c["dims"], strict=True)))} for c in saved]
    print("\nsaved comparisons (`show ID` prints one, `delete ID` removes it):")
    print(format_table(rows, [(k, k, "") for k in ("id", "created", "rows", "name",
                                                   "embeddings")]))


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[:limit - 3] + "..."


def print_saved(store, cid: str) -> None:
    """A saved comparison's table and notes (its files are read, so damage shows here)."""
    from nearid_core.runs.comparisons import load_comparison

    c = load_comparison(store, cid)
    doc, shapes = c.result, ", ".join(f"{n} ({X.shape[1]} dims)" for n, X in c.embeddings.items())
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(c.created_at))
    n_rows = next(iter(c.embeddings.values())).shape[0]
    print(f"saved comparison {cid} {c.name!r} ({when}), {n_rows} rows: {shapes}")
    _print_table(doc["rows"], doc["config"]["n_boot"])
    print("\nnotes:")
    for note in [*doc["notes"], _diameters(doc["rows"])]:
        print(f"  - {note}")


# ---------------------------------------------------------------- realdata


def _pm(row: dict, g: str) -> str:
    mean, std = row.get(g), row.get(f"{g}_std")
    if mean is None or not math.isfinite(mean):
        return "-"
    return f"{mean:.3f}" + (f" ± {std:.3f}" if std is not None and math.isfinite(std) else "")


def print_realdata(result) -> None:
    """The paper's Table 1 and ours, the regime statements and the timings."""
    from nearid_core.studies._realdata_summary import PAPER_SOURCE, REGIME_RULE

    table = result.table(include_paper=True).to_dict("records")
    for r in table:
        r["eff"] = efficiency.short(r["ica_efficiency"], str(r["ica_efficiency_note"]))
        r |= {g: _pm(r, g) for g, _ in GROUP_HEADS}
    cols = [("model", "model", ""), *[(g, head, "") for g, head in GROUP_HEADS],
            ("eff", "ICA eff", ""), ("regime", "regime", "")]
    paper = [r for r in table if r["source"] == PAPER_SOURCE]
    ours = [r for r in table if r["source"] != PAPER_SOURCE]
    print("Table 1, paper (pretrained models): l2 error / latent diameter, as printed")
    print(format_table(paper, cols))
    n_pairs = result.config.seeds * (result.config.seeds - 1) // 2
    print(f"\nTable 1, ours (digits): mean ± std over {n_pairs} seed pair(s) of "
          f"{result.config.seeds} seeds, on {len(result.test_idx)} held-out digits")
    print(format_table(ours, cols + [("B_median", "B med", ".3f"),
                                     ("test_accuracy", "accuracy", ".3f"),
                                     ("recon_mse", "recon MSE", ".2e")]))
    print(f"\nregimes ({REGIME_RULE})")
    for r in ours + paper:
        print(f"  {r['source']}, {r['model']}: {r['statement']}")
    times = ", ".join(f"{name} train {f.train_s:.1f} s + align {f.align_s:.1f} s"
                      for name, f in result.families.items())
    print(f"\ntimings: {times}; {result.seconds:.1f} s in all")
