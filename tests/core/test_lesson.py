"""The lesson's "what to notice" lines: each claim holds, fails or is n/a on hand-built data,
and the numbers that decided it appear in the text."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import numpy as np
import pytest

from nearid_core.views import lesson
from nearid_core.views.lesson import (
    STEPS,
    Notice,
    notice_data,
    notice_free_decoder,
    notice_gaussian,
    notice_ica,
    notice_leak,
    notice_partial,
    notice_rotation,
    notice_theorem,
)

NAN = float("nan")
UP = np.array([0.1, 0.2, 0.5, 1.0, 2.0])  # strictly increasing: Spearman ρ = 1 exactly
# Ranks (1, 3, 2, 5, 4) against (1..5): Σd² = 4, ρ = 1 − 6·4 / (5·24) = 0.80.
SWAP_TWO = np.array([1.0, 3.0, 2.0, 5.0, 4.0])
# Ranks (3, 1, 2, 5, 4): Σd² = 8, ρ = 1 − 48/120 = 0.60.
MIXED = np.array([3.0, 1.0, 2.0, 5.0, 4.0])


def test_steps_have_six_ids_titles_and_valid_questions():
    assert [s.id for s in STEPS] == ["data", "leak", "rotation", "theorem", "ica", "limits"]
    assert STEPS[0].title == "The data and its factors"
    assert STEPS[5].title == "When ICA only partly helps, and when it fails"
    for step in STEPS:
        q = step.question
        assert q.text.endswith("?") and len(q.options) >= 3
        assert 0 <= q.answer < len(q.options)
        assert step.notices and all(callable(getattr(lesson, n)) for n in step.notices)


def test_notice_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        Notice(True, "x").holds = False


def test_importing_lesson_does_not_import_streamlit():
    code = "import sys, nearid_core.views.lesson; print('streamlit' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


# --- 1. data ---------------------------------------------------------------------------

def test_data_isometry_holds_within_tolerance():
    n = notice_data(1.0004, "rotation", 4)  # 4e-4 < ISO_TOL = 1e-3
    assert n.holds is True
    assert "B = 1.000" in n.text and "up to a rotation" in n.text and "rotation" in n.text


def test_data_not_an_isometry_says_how_far():
    n = notice_data(1.5, "swiss roll", 2)
    assert n.holds is False
    assert "1.500" in n.text and "not an isometry" in n.text and "swiss roll" in n.text


@pytest.mark.parametrize("b", [NAN, float("inf"), 0.5])
def test_data_nan_or_impossible_b_is_not_judged(b):
    n = notice_data(b, "rotation", 4)
    assert n.holds is None and "n/a" in n.text


# --- 2. leak ---------------------------------------------------------------------------

LEAKS = np.array([0.0, 0.25, 0.5, 0.75, 1.0])


def test_leak_holds_when_b_starts_at_one_and_rises():
    n = notice_leak(LEAKS, [1.0, 1.05, 1.2, 1.5, 2.1])
    assert n.holds is True
    assert "ρ = 1.00" in n.text and "1.000 at α = 0" in n.text and "2.100 at α = 1" in n.text


def test_leak_unsorted_input_reports_the_smallest_and_largest_leak():
    order = [3, 0, 4, 1, 2]
    n = notice_leak(LEAKS[order], np.array([1.0, 1.05, 1.2, 1.5, 2.1])[order])
    assert n.holds is True and "1.000 at α = 0" in n.text and "2.100 at α = 1" in n.text


def test_leak_b_not_rising_says_so_with_rho():
    # B ranks (1, 5, 4, 2, 3): Σd² = 18, ρ = 1 − 108/120 = 0.10.
    n = notice_leak(LEAKS, [1.0, 1.3, 1.2, 1.01, 1.1])
    assert n.holds is False
    assert "does not rise" in n.text and "ρ = 0.10" in n.text and "1.100 at α = 1" in n.text


def test_leak_falling_b_gives_rho_minus_one():
    n = notice_leak(LEAKS, [2.1, 1.5, 1.2, 1.05, 1.0])
    assert n.holds is False and "ρ = −1.00" in n.text and "does not rise" in n.text


def test_leak_b_not_starting_at_one_fails():
    n = notice_leak(LEAKS, [1.02, 1.05, 1.2, 1.5, 2.1])  # 2% from 1 > B_START_TOL = 1%
    assert n.holds is False
    assert "does not start at 1" in n.text and "1.020" in n.text and "ρ = 1.00" in n.text


def test_leak_three_leaks_are_enough_for_a_perfect_order():
    assert notice_leak([0.0, 0.5, 1.0], [1.0, 1.2, 1.6]).holds is True


@pytest.mark.parametrize("b", [[1.0, 1.2, NAN, NAN, NAN], [1.0, 1.0, 1.0, 1.0, 1.0]])
def test_leak_too_few_or_flat_is_not_judged(b):
    n = notice_leak(LEAKS, b)
    assert n.holds is None and n.text.startswith("n/a")


# --- 3. rotation -----------------------------------------------------------------------

def test_rotation_holds_with_share():
    n = notice_rotation(0.41, 0.38, 0.0266, 0.2)  # 1 − 0.0266/0.38 = 0.93
    assert n.holds is True
    for s in ("0.41", "0.38", "0.0266", "93%", "α = 0.2"):
        assert s in n.text


def test_rotation_share_uses_the_smaller_of_raw_and_perm():
    n = notice_rotation(0.2, 0.3, 0.05, 0.5)  # 1 − 0.05/0.2 = 75%
    assert n.holds is True and "75%" in n.text


def test_rotation_explains_little():
    n = notice_rotation(0.4, 0.3, 0.24, 1.0)  # 1 − 0.24/0.3 = 20%
    assert n.holds is False and "only 20%" in n.text and "0.24" in n.text


def test_rotation_worse_than_perm_clips_share_at_zero():
    n = notice_rotation(0.4, 0.3, 0.35, 1.0)
    assert n.holds is False and "only 0%" in n.text


@pytest.mark.parametrize("errs", [(NAN, 0.3, 0.1), (0.4, 0.3, float("inf")), (0.0, 0.0, 0.0)])
def test_rotation_nan_or_no_disagreement_is_not_judged(errs):
    n = notice_rotation(*errs, 0.5)
    assert n.holds is None and n.text.startswith("n/a")


# --- 4. theorem ------------------------------------------------------------------------

def test_theorem_monotone_gives_rho_one():
    n = notice_theorem(UP, UP / 10)
    assert n.holds is True
    assert "ρ = 1.00" in n.text and "0.01 at the smallest L = 0.1" in n.text
    assert "0.2 at the largest L = 2" in n.text


def test_theorem_reversed_gives_rho_minus_one():
    n = notice_theorem(UP, UP[::-1] / 10)
    assert n.holds is False and "ρ = −1.00" in n.text and "does not grow" in n.text


def test_theorem_known_rank_correlations():
    assert "ρ = 0.80" in notice_theorem([1, 2, 3, 4, 5], SWAP_TWO).text
    assert notice_theorem([1, 2, 3, 4, 5], SWAP_TWO).holds is True  # 0.80 ≥ 0.7
    n = notice_theorem([1, 2, 3, 4, 5], MIXED)
    assert n.holds is False and "ρ = 0.60" in n.text


def test_theorem_drops_nan_points_and_needs_four():
    assert notice_theorem(UP, [0.01, 0.02, NAN, 0.1, 0.2]).holds is True  # 4 finite left
    n = notice_theorem(UP, [0.01, NAN, NAN, 0.1, 0.2])
    assert n.holds is None and "only 3 of 5" in n.text and "≥ 4" in n.text


def test_theorem_mismatched_lengths_raise():
    with pytest.raises(ValueError, match="same length"):
        notice_theorem([1, 2, 3], [1, 2])


# --- 5. ica ----------------------------------------------------------------------------

def test_ica_holds_with_numbers():
    n = notice_ica(0.21, 0.02, 0.78, 0.99)
    assert n.holds is True
    assert "0.21" in n.text and "after ICA 0.02" in n.text
    assert "MCC rises from 0.78 to 0.99" in n.text


def test_ica_error_not_falling_fails():
    n = notice_ica(0.21, 0.25, 0.78, 0.99)
    assert n.holds is False and "did not help" in n.text and "error did not fall" in n.text
    assert "0.25" in n.text


def test_ica_mcc_not_rising_fails():
    n = notice_ica(0.21, 0.02, 0.78, 0.70)
    assert n.holds is False and "MCC did not rise" in n.text and "0.78 to 0.70" in n.text


@pytest.mark.parametrize("i", range(4))
def test_ica_nan_is_not_judged(i):
    args = [0.21, 0.02, 0.78, 0.99]
    args[i] = NAN
    n = notice_ica(*args)
    assert n.holds is None and n.text.startswith("n/a")


# --- 6. partial ICA --------------------------------------------------------------------

def test_partial_holds_and_counts_nan():
    eff = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, NAN, NAN]  # median 0.55
    n = notice_partial(eff)
    assert n.holds is True
    assert "median 55%" in n.text and "10%–100%" in n.text
    assert "2 of 12 n/a: perm ≈ rigid" in n.text and "Table 1" in n.text


def test_partial_full_help():
    n = notice_partial([0.92, 0.95, 1.0])
    assert n.holds is False and "fully helps" in n.text and "median 95%" in n.text


def test_partial_no_help():
    n = notice_partial([-0.1, 0.0, 0.05])
    assert n.holds is False and "does not help" in n.text and "median 0%" in n.text
    assert "-10%–5%" in n.text


@pytest.mark.parametrize("eff, why", [([NAN, NAN, NAN], "3 of 3 n/a"), ([], "none given")])
def test_partial_nothing_finite_is_not_judged(eff, why):
    n = notice_partial(eff)
    assert n.holds is None and why in n.text


# --- 7. gaussian -----------------------------------------------------------------------

def test_gaussian_ica_fails():
    # the measured tiny-scale case: ICA (0.175) worse than the raw axes (0.114)
    n = notice_gaussian(0.114, 0.175, 0.068)
    assert n.holds is True
    assert "0.175" in n.text and "0.114" in n.text and "0.068" in n.text
    assert "nothing to find" in n.text


def test_gaussian_ica_fails_when_it_closes_under_half_the_gap():
    # gap 0.2 - 0.1 = 0.1; ICA at 0.16 closes 40% < GAUSS_FAIL
    assert notice_gaussian(0.2, 0.16, 0.1).holds is True


def test_gaussian_ica_still_helped():
    # ICA at 0.12 closes 80% of the gap: not a failure
    n = notice_gaussian(0.2, 0.12, 0.1)
    assert n.holds is False and "still" in n.text and "0.12" in n.text
    assert "finite samples" in n.text


def test_gaussian_nan_is_not_judged():
    n = notice_gaussian(NAN, 0.1, 0.05)
    assert n.holds is None and "perm" in n.text


# --- 8. free decoder -------------------------------------------------------------------

def test_free_decoder_l_does_not_predict():
    n = notice_free_decoder(UP, UP[::-1])
    assert n.holds is True and "ρ = −1.00" in n.text and "−0.77" in n.text


def test_free_decoder_mixed_order_below_threshold_holds():
    assert notice_free_decoder([1, 2, 3, 4, 5], MIXED).holds is False  # ρ = 0.60 ≥ 0.5
    n = notice_free_decoder([1, 2, 3, 4, 5], MIXED[::-1])
    # MIXED reversed: ranks (4, 5, 2, 1, 3), Σd² = 9+9+1+9+4 = 32, ρ = 1 − 192/120 = −0.60.
    assert n.holds is True and "ρ = −0.60" in n.text


def test_free_decoder_l_still_tracks():
    n = notice_free_decoder(UP, UP)
    assert n.holds is False and "still tracks" in n.text and "ρ = 1.00" in n.text


def test_free_decoder_too_few_points():
    n = notice_free_decoder([1.0, 2.0, NAN], [0.1, 0.2, 0.3])
    assert n.holds is None and "only 2 of 3" in n.text
