"""``compare``: the paper's Table-1 row for every ordered pair of the user's embeddings, or of
a stored sweep's models.

Order of work, so that a refused command changes nothing: output paths, settings, then every
file loaded on its own (each bad one is one line naming it; all are reported, then exit code
2), then the files checked against each other; only then the comparison, the printout, the
output files and, with ``--save``, the store.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from nearid_core.cli import ProgressPrinter, UsageError, check_output, one_line
from nearid_core.commands.common import _write, open_store
from nearid_core.runs.comparisons import default_model_indices, save_comparison, sweep_embeddings
from nearid_core.runs.embeddings import (
    PROBLEMS,
    Embedding,
    EmbeddingError,
    Limits,
    check_set,
    load_embedding,
    load_factors,
    load_labels,
)

OUTPUTS = (("json", ".json"), ("maps", ".npz"), ("csv", ".csv"))
# Fixes added to an error line where its message does not already say what to do; the
# command line's own words where an option fixes it.
FIXES = {k: PROBLEMS[k] for k in ("unreadable", "too_many_rows", "too_many_cols")} | {
    "npz_key": "name the array as FILE.npz:KEY, or --key KEY for every .npz",
    "three_dim": "add --flatten, or --axis K for the axis that holds the inputs",
    "too_large": "use a smaller file, or raise --max-mb",
    "nonfinite": "fix those values, or add --drop-nonfinite to drop those rows from every file",
}


@dataclass
class Inputs:
    """What is compared: named (n, d) arrays, optional truth, and what loading did."""

    embeddings: dict[str, np.ndarray]
    factors: np.ndarray | None = None
    labels: np.ndarray | None = None
    notes: list[str] = field(default_factory=list)
    source: dict = field(default_factory=dict)  # files, or the sweep and its models
    rows: np.ndarray | None = None  # (n,) the files' rows compared (all but dropped NaN rows)


@dataclass(frozen=True)
class Spec:
    """One ``FILE[:KEY]`` argument: the path, the .npz key, and the label shown for it."""

    text: str
    path: str
    key: str | None
    label: str


def _specs(texts: list[str], default_key: str | None) -> list[Spec]:
    """Split ``PATH.npz:KEY``; label = base name (+ ``:KEY``), the text as typed on a clash."""
    parts = []
    for text in texts:
        path, sep, key = text.rpartition(":")
        own = bool(sep and key and path.lower().endswith(".npz"))
        if not own:
            path, key = text, default_key if text.lower().endswith(".npz") else None
        parts.append((text, path, key, Path(path).name + (f":{key}" if own else "")))
    seen = [label for *_, label in parts]
    specs = [Spec(t, p, k, label if seen.count(label) == 1 else t) for t, p, k, label in parts]
    labels = [s.label for s in specs]
    twice = next((s.text for s in specs if labels.count(s.label) > 1), None)
    if twice is not None:
        raise UsageError(f"{twice} is given twice; compare different files")
    return specs


def _problem(spec: Spec, err: EmbeddingError, *, labels: bool = False) -> str:
    """One line naming the file; the fix unless it would mislead (a path that is not a
    file, or a labels file, whose rules differ from an embedding's)."""
    fix = FIXES.get(err.problem)
    if not Path(spec.path).is_file() or (labels and err.problem != "wrong_type"):
        fix = None
    return f"{spec.label}: {err.detail}" + (f" (to fix: {fix})" if fix else "")


def _fail(lines: list[str]) -> None:
    """Every line but the last now; the last as the UsageError (exit code 2)."""
    for line in lines[:-1]:
        print(f"nearid: error: {one_line(line)}", file=sys.stderr)
    raise UsageError(lines[-1])


def _limits(args) -> Limits:
    try:
        return Limits() if args.max_mb is None else Limits(max_mb=args.max_mb)
    except ValueError as err:  # a garbled $NEARID_MAX_UPLOAD_MB
        raise UsageError(str(err)) from None


def _load_all(args, limits: Limits):
    """Each file on its own: (embeddings, factors, labels); every bad file reported."""
    if len(args.files) < 2:
        raise UsageError(f"compare needs two or more files (got {len(args.files)}), or "
                         "--sweep ID to compare a stored sweep's models")
    specs = _specs(args.files, args.key)
    extra = {k: _specs([getattr(args, k)], None)[0] for k in ("factors", "labels")
             if getattr(args, k)}
    shape = {"axis": args.axis, "flatten": args.flatten, "limits": limits}
    jobs = [(s, load_embedding, shape) for s in specs]
    jobs += [(s, load_factors, shape) for k, s in extra.items() if k == "factors"]
    jobs += [(s, load_labels, {"limits": limits}) for k, s in extra.items() if k == "labels"]
    loaded, errors = [], []
    for spec, loader, kw in jobs:
        try:
            part = loader(spec.path, name=Path(spec.path).name, key=spec.key, **kw)
            loaded.append(replace(part, name=spec.label))
        except EmbeddingError as err:
            errors.append(_problem(spec, err, labels=loader is load_labels))
    if errors:
        _fail(errors)
    embs = loaded[:len(specs)]
    rest = dict(zip(extra, loaded[len(specs):], strict=True))
    return embs, rest.get("factors"), rest.get("labels")


def _checked(embs: list[Embedding], factors, labels, args, source: dict) -> Inputs:
    """The files against each other (rows, NaN, rows per dimension), as ``Inputs``."""
    try:
        ok = check_set(embs, factors=factors, labels=labels, drop_nonfinite=args.drop_nonfinite)
    except EmbeddingError as err:
        fix = FIXES.get(err.problem)
        raise UsageError(f"{err}" + (f" (to fix: {fix})" if fix else "")) from None
    notes = [f"{m.name}: {n}" for m in (*embs, factors, labels) if m is not None for n in m.notes]
    return Inputs({e.name: e.values for e in ok.embeddings},
                  None if ok.factors is None else ok.factors.values,
                  None if ok.labels is None else ok.labels.values,
                  notes + list(ok.notes), source, ok.rows)


def file_inputs(args) -> Inputs:
    if args.models is not None:
        raise UsageError("--models picks models of a stored sweep: use it with --sweep ID")
    embs, factors, labels = _load_all(args, _limits(args))
    files = [{"label": e.name, "file": s, "key": e.source_key, "rows": e.n_rows,
              "dims": e.n_dims} for e, s in zip(embs, args.files, strict=True)]
    return _checked(embs, factors, labels, args, {"files": files})


def sweep_inputs(args) -> Inputs:
    if args.files or args.factors:
        raise UsageError("--sweep compares a stored sweep's models: give no files and no "
                         "--factors (the sweep's ground truth u_test is used)")
    labels = None
    if args.labels:
        spec = _specs([args.labels], None)[0]
        try:
            labels = replace(load_labels(spec.path, name=Path(spec.path).name, key=spec.key,
                                         limits=_limits(args)), name=spec.label)
        except EmbeddingError as err:
            _fail([_problem(spec, err, labels=True)])
    store = open_store(create=False)
    sweep = store.get_sweep(args.sweep)
    indices = args.models or default_model_indices(store.list_runs(sweep["id"]))
    if len(indices) < 2:
        raise UsageError(f"sweep {sweep['id']} has {len(indices)} done model(s) to compare; "
                         "compare needs two (choose them with --models)")
    latents, u = sweep_embeddings(store, sweep["id"], indices)
    embs = [Embedding(name, np.asarray(z, np.float64)) for name, z in latents.items()]
    source = {"sweep": sweep["id"], "models": indices, "default_models": not args.models}
    return _checked(embs, Embedding("u_test", np.asarray(u, np.float64)), labels, args, source)


def _config(args):
    from nearid_core.studies.compare import CompareConfig

    try:
        return CompareConfig(seed=args.seed, n_boot=args.boot, ica_components=args.ica_components,
                             ica_variance=args.ica_variance)
    except ValueError as err:
        raise UsageError(str(err)) from None


def _compare(inputs: Inputs, config, args):
    from nearid_core.engine.lifecycle import handle_signals
    from nearid_core.studies.compare import compare

    printer = ProgressPrinter(quiet=args.quiet)

    def report(fraction: float, message: str) -> None:
        printer(SimpleNamespace(fraction=fraction, message=message))

    with handle_signals():
        try:
            return compare(inputs.embeddings, config, factors=inputs.factors,
                           labels=inputs.labels, on_progress=report, workers=args.workers or 2)
        except ValueError as err:
            raise UsageError(f"cannot compare: {err}") from None
        finally:
            printer.end_line()


def cmd_compare(args) -> int:
    """``python -m nearid_core compare``; see ``commands.options`` for the options."""
    from nearid_core.commands.output import print_compare

    for option, suffix in OUTPUTS:
        if getattr(args, option) is not None:
            check_output(getattr(args, option), suffix, option=f"--{option}", force=args.force)
    config = _config(args)
    inputs = sweep_inputs(args) if args.sweep else file_inputs(args)
    store = open_store(create=True) if args.save is not None else None  # a broken one: now
    t0 = time.perf_counter()
    result = _compare(inputs, config, args)
    seconds = time.perf_counter() - t0
    print_compare(result, inputs, seconds)
    _write_outputs(args, result, inputs, seconds)
    if store is not None:
        cid = save_comparison(store, name=args.save, embeddings=inputs.embeddings,
                              result=result, factors=inputs.factors, labels=inputs.labels)
        print(f"saved as comparison {cid} in {store.home} (`list` shows it, `delete {cid}` "
              "removes it)")
    return 0


def _document(args, result, inputs: Inputs, seconds: float) -> dict:
    from nearid_core.studies._compare_result import json_safe

    settings = {k: getattr(args, k) for k in ("seed", "boot", "ica_components", "ica_variance",
                                              "drop_nonfinite", "flatten", "axis", "key",
                                              "max_mb", "factors", "labels")}
    return json_safe({"command": "compare", **inputs.source, "settings": settings,
                      "table": result.table().to_dict("records"), "notes": result.notes,
                      "loading_notes": inputs.notes, "result": result.to_json_dict(),
                      "seconds": seconds})


def _write_outputs(args, result, inputs: Inputs, seconds: float) -> None:
    from nearid_core.science.kernels import split_fit_eval

    if args.json:
        data = json.dumps(_document(args, result, inputs, seconds), indent=1,
                          allow_nan=False).encode()
        _write(args.json, lambda fh: fh.write(data), "--json")
        print(f"table, notes and settings written to {args.json}")
    if args.maps:
        n = next(iter(inputs.embeddings.values())).shape[0]
        fit, ev = split_fit_eval(n, seed=result.config.seed)
        maps = result.maps_npz_dict() | {"names": np.array(result.names, dtype=str),
                                         "split_fit_idx": fit, "split_eval_idx": ev,
                                         "rows": inputs.rows}
        _write(args.maps, lambda fh: np.savez(fh, allow_pickle=False, **maps), "--maps")
        print(f"fitted maps written to {args.maps} (B rows @ A__B__<group>_matrix + "
              "A__B__<group>_offset land in A's space)")
    if args.csv:
        data = result.table().to_csv(index=False).encode()
        _write(args.csv, lambda fh: fh.write(data), "--csv")
        print(f"table written to {args.csv}")


