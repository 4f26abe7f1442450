"""The Train page's loss chart: a line per model for a small sweep, a median and range per
leak for a large one (a line per model cost the browser most of a core at every redraw)."""

from __future__ import annotations

import numpy as np

from nearid_ui.progress import MAX_CURVES, _loss_figure


def _runs(n_models: int, leaks=(0.0, 0.5, 1.0)) -> list[dict]:
    return [{"index": i, "leak": leaks[i % len(leaks)], "seed": i // len(leaks),
             "status": "failed" if i == 4 else "running",
             "loss_history": list(np.linspace(1.0, 0.1 + 0.001 * i, 5))}
            for i in range(n_models)]


def test_a_small_sweep_draws_a_line_per_model():
    fig, has = _loss_figure(_runs(MAX_CURVES), None)
    assert has and len(fig.data) == MAX_CURVES


def test_a_large_sweep_draws_a_median_and_range_per_leak():
    runs = _runs(MAX_CURVES + 1)
    fig, has = _loss_figure(runs, None)
    assert has and len(fig.data) == 2 * 3 + 1  # band and median per leak, the failed model
    medians = {t.name: t for t in fig.data if t.name.endswith(")") and "median" in t.name}
    ok = [r for r in runs if r["leak"] == 0.5 and r["status"] != "failed"]
    np.testing.assert_allclose(medians[f"α = 0.5 (median of {len(ok)})"].y,
                               np.median([r["loss_history"] for r in ok], axis=0))
    assert "over 49 models" in fig.layout.title.text
