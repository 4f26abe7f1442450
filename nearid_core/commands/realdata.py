"""``realdata``: Table 1 on digits (``studies.realdata``) beside the paper's, from the
command line; ``--npz`` writes the embeddings as an example upload for ``compare``."""

from __future__ import annotations

import numpy as np

from nearid_core.cli import UsageError, check_output
from nearid_core.commands.common import _write, run_study, write_json


def cmd_realdata(args) -> int:
    """``python -m nearid_core realdata``: Table 1 on digits beside the paper's."""
    from nearid_core.commands.output import print_realdata
    from nearid_core.studies.realdata import RealDataConfig, run_realdata

    for option, suffix in (("json", ".json"), ("npz", ".npz")):
        if getattr(args, option) is not None:
            check_output(getattr(args, option), suffix, option=f"--{option}", force=args.force)
    try:
        config = RealDataConfig(seeds=args.seeds, seed=args.seed, epochs=args.epochs,
                                clf_epochs=args.clf_epochs)
    except ValueError as err:
        raise UsageError(str(err)) from None
    result = run_study(lambda p: run_realdata(config, on_progress=p), quiet=args.quiet,
                       what="digits study")
    print_realdata(result)
    if args.json:
        write_json(args.json, {"command": "realdata", **result.to_json_dict()},
                   "tables, pair errors and settings")
    if args.npz:
        arrays = result.embeddings_npz_dict() | {"labels": np.asarray(result.y_test, np.int64),
                                                 "test_idx": np.asarray(result.test_idx)}
        _write(args.npz, lambda fh: np.savez(fh, allow_pickle=False, **arrays), "--npz")
        print(f"digit embeddings written to {args.npz} (try: python -m nearid_core compare "
              f"{args.npz}:ae_seed0 {args.npz}:ae_seed1 --labels {args.npz}:labels)")
    return 0
