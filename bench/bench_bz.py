"""B(z) Jacobians of a large ensemble: the batched product per model against the broadcast
matmul it replaced (``w[:, None] @ jac``, which copies every weight matrix once per point).

    python bench/bench_bz.py            # 48 models, 6 factors, width 128, d_x 128, 1,638 points

Each variant runs in a fresh process (so its peak RSS is its own), three times alternating;
prints medians of the time and the peak RSS, the ratio, and the largest difference of the
Jacobians (float32 rounding).
"""

from __future__ import annotations

import json
import signal
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _dies_with_us() -> None:
    """In the child: SIGTERM when this script ends, however it ends (a sweep then records
    itself interrupted and stops its workers)."""
    from nearid_core.engine.lifecycle import die_with_parent

    die_with_parent(signal.SIGTERM)

CHILD = r"""
import json, os, resource, sys, time
os.environ["OMP_NUM_THREADS"] = "1"
import numpy as np, torch
torch.set_num_threads(1)
from nearid_core.config import DataConfig, ModelConfig
from nearid_core.science import lipschitz
from nearid_core.science.models import EnsembleAE

variant, m, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
data, model_cfg = DataConfig(d_u=6, d_x=128), ModelConfig(width=128)
torch.manual_seed(0)
model = EnsembleAE(model_cfg, data, [k / (m - 1) for k in range(m)], list(range(m)))
z = np.random.default_rng(0).normal(size=(m, n, 6)).astype(np.float32)
if variant == "broadcast":
    def apply(w, jac):
        return w.unsqueeze(1) @ jac
    lipschitz._apply = apply
t = time.perf_counter()
jac = lipschitz.decoder_jacobians(model, z)
seconds = time.perf_counter() - t
np.save(sys.argv[4], jac[:2, :50].numpy())
print(json.dumps({"s": seconds, "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def run(variant: str, m: int, n: int, out: Path) -> dict:
    done = subprocess.run([sys.executable, "-c", CHILD, variant, str(m), str(n), str(out)],
                          cwd=ROOT, capture_output=True, text=True, check=True,
                          preexec_fn=_dies_with_us)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    import tempfile

    import numpy as np

    m, n, runs = 48, 1638, 3
    res = {"batched": [], "broadcast": []}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(runs):
            for v in res:
                res[v].append(run(v, m, n, Path(tmp) / f"{v}.npy"))
        diff = float(np.abs(np.load(Path(tmp) / "batched.npy")
                            - np.load(Path(tmp) / "broadcast.npy")).max())
    med = {v: {k: statistics.median(r[k] for r in rs) for k in ("s", "rss_mb")}
           for v, rs in res.items()}
    for v, d in med.items():
        print(f"{v}: {d['s']:.2f} s, peak RSS {d['rss_mb']:.0f} MB (median of {runs})")
    print(f"broadcast / batched: time {med['broadcast']['s'] / med['batched']['s']:.1f}x, "
          f"memory {med['broadcast']['rss_mb'] / med['batched']['rss_mb']:.1f}x; largest "
          f"Jacobian difference {diff:.1e}")


if __name__ == "__main__":
    main()
