"""The analysis of a fixed input against its recorded outputs (issue 13: speed without drift).

``analysis_reference.py`` builds seven models' latents from seeded numpy draws and records
every number ``analyse_model`` and ``analyse_pairs`` give for them. A faster analysis must
give the same numbers; where one moves on purpose, its tolerance here says by how much.
"""

import json

import numpy as np
import pytest

from tests.core.analysis_reference import REFERENCE, outputs

# Every number agrees to this (absolute): reordered float sums move the last bits only.
_ATOL = 1e-9
# Except where a number moved on purpose, by at most (absolute):
_MOVED = {
    # The authors' InfoE on bins the latents separate has no finite optimum; since issue 13
    # it is where Newton's steps stop instead of where scikit-learn's solver stops (the
    # fallback cost 0.3-1.5 s a fit). Measured here: 5.2e-7 (model a0); on the default
    # sweep, 4 of 48 factor fits moved, by at most 3.0e-4.
    "infoe_authors": 1e-6,
}


def _tolerance(key: str) -> float:
    return _MOVED.get(key.rsplit(".", 1)[-1], _ATOL)


@pytest.fixture(scope="module")
def now():
    return outputs()


def test_the_analysis_records_the_same_numbers(now):
    ref = json.loads(REFERENCE.read_text())
    assert sorted(now) == sorted(ref)
    moved = {k: (ref[k], now[k]) for k in ref
             if not np.isclose(now[k], ref[k], rtol=0.0, atol=_tolerance(k))}
    assert not moved, moved


def test_the_reference_meets_every_path_of_the_infoe_fits():
    # Near-separable bins (the a-models) and finite optima (b) both appear; the numbers
    # above are only a check of those paths if the input still takes them.
    ref = json.loads(REFERENCE.read_text())
    assert min(ref[f"model.a{i}.before.infoe_authors"] for i in range(3)) > 0.99
    assert max(ref[f"model.b{i}.before.infoe_authors"] for i in range(3)) < 0.95
