"""Known-answer tests for the overlay picture (views.overlay) and its figure (plots_overlay)."""

import math

import numpy as np
import pytest

from nearid_core.science.alignment import align, alignment_errors, diameter, split_fit_eval
from nearid_core.views.overlay import MAP_NAMES, MAPS, pair_overlays
from nearid_core.views.plots_overlay import (
    GAP,
    TRACES,
    cell,
    error_text,
    overlay_grid,
    tile_scales,
)

# Exact copies up to a group element leave only float64 round-off, ~1e-15 relative; 1e-10
# leaves room for the SVD (Procrustes, PCA) conditioning of a few hundred rows.
EXACT = 1e-10
N = 400  # rows: 200 eval rows, all drawn with the default max_points


def _orthogonal(d, rng):
    q, r = np.linalg.qr(rng.normal(size=(d, d)))
    return q * np.sign(np.diag(r))


def _sources(rng, n=N, d=2):
    """Independent Laplace factors of distinct scales (non-Gaussian: ICA can recover them)."""
    return rng.laplace(size=(n, d)) * np.linspace(2.0, 1.0, d)


def _curved(A, rng):
    """A nonlinear, noisy candidate: no group maps it onto A exactly, so every error is > 0."""
    Q = _orthogonal(A.shape[1], rng)
    return np.tanh(A @ Q / 2) * 3 + 0.05 * rng.normal(size=A.shape) + 1.0


@pytest.fixture
def rng():
    return np.random.default_rng(2024)


def test_maps_and_names_cover_the_four_panels():
    assert MAPS == ("raw", "perm", "rigid", "ica") and set(MAP_NAMES) == set(MAPS)


def test_rotated_translated_copy_coincides_after_the_rigid_map(rng):
    A = _sources(rng)
    B = A @ _orthogonal(2, rng) + np.array([3.0, -1.0])
    overlays, _ = pair_overlays(A, B, seed=1)
    rigid = overlays["rigid"]
    assert rigid.error < EXACT
    scale = np.abs(rigid.pa).max()
    assert np.allclose(rigid.pa, rigid.pb, atol=EXACT * scale)  # every circle under its cross
    assert overlays["raw"].error > 0.1  # as is, the copy is rotated and shifted away


def test_permuted_flipped_copy_coincides_after_the_signed_permutation(rng):
    A = _sources(rng, d=3)
    B = A[:, [2, 0, 1]] * np.array([1.0, -1.0, -1.0])
    overlays, _ = pair_overlays(A, B, seed=0)
    assert overlays["perm"].error < EXACT and overlays["rigid"].error < EXACT
    assert np.allclose(overlays["perm"].pa, overlays["perm"].pb, atol=EXACT)
    assert overlays["raw"].error > 0.1


def test_raw_error_of_a_shifted_copy_is_the_shift_over_the_diameter(rng):
    # B = A + c: every raw residual is -c, so the error is ||c|| / diam(A_eval) exactly, and
    # in A's axes every segment is the same vector -c.
    A = _sources(rng)
    c = np.array([0.3, -0.4])  # ||c|| = 0.5
    overlays, rows = pair_overlays(A, A + c, seed=5)
    _, ev = split_fit_eval(N, seed=5)
    assert overlays["raw"].error == pytest.approx(0.5 / diameter(A[ev], seed=5), rel=1e-12)
    raw = overlays["raw"]
    assert np.allclose(raw.pb - raw.pa, c, atol=1e-12)
    assert overlays["perm"].error < EXACT  # the translation is part of every group


def test_errors_equal_alignment_errors_at_the_same_seed(rng):
    A = _sources(rng, d=3)
    B = _curved(A, rng)
    for seed in (0, 7):
        overlays, _ = pair_overlays(A, B, seed=seed)
        errors = alignment_errors(A, B, seed=seed)
        for g in ("perm", "rigid", "ica"):
            assert math.isclose(overlays[g].error, errors[g], rel_tol=0.0, abs_tol=1e-12)


def test_segments_in_2d_are_exactly_the_measured_residuals(rng):
    # d = 2 and every eval row drawn: A's own axes lose nothing, so the mean segment length
    # over the diameter is the error itself, in every panel (ICA(A)'s diameter for "ica").
    A = _sources(rng)
    B = _curved(A, rng)
    overlays, rows = pair_overlays(A, B, seed=3, max_points=N)
    _, ev = split_fit_eval(N, seed=3)
    assert np.array_equal(rows, ev)
    diams = {g: diameter(A[ev], seed=3) for g in ("raw", "perm", "rigid")}
    diams["ica"] = align(A, B, group="ica", seed=3).diameter
    for g in MAPS:
        ov = overlays[g]
        assert ov.error > 1e-3  # a real residual, not a trivially equal zero
        shown = np.linalg.norm(ov.pa - ov.pb, axis=1).mean() / diams[g]
        assert shown == pytest.approx(ov.error, rel=1e-10)
    assert overlays["raw"].plane == "A's axes"
    assert overlays["ica"].plane == "ICA(A)'s components"


def test_2d_plane_is_a_own_axes_centred(rng):
    A = _sources(rng)
    overlays, rows = pair_overlays(A, _curved(A, rng), seed=2)
    for g in ("raw", "perm", "rigid"):  # one plane: the same target points in all three
        assert np.allclose(overlays[g].pa, A[rows] - A[rows].mean(axis=0), atol=1e-12)


def test_wider_target_is_shown_on_its_principal_plane(rng):
    A = _sources(rng, d=4)
    overlays, rows = pair_overlays(A, _curved(A, rng), seed=4)
    pa = overlays["rigid"].pa
    assert overlays["rigid"].plane == "A's top-2 principal plane"
    assert overlays["ica"].plane == "ICA(A)'s top-2 principal plane"
    assert np.allclose(pa.mean(axis=0), 0.0, atol=1e-12)
    # Principal axes: the two coordinates are uncorrelated and carry the top-2 variances.
    top = np.sort(np.linalg.eigvalsh(np.cov(A[rows], rowvar=False)))[::-1][:2]
    cov = np.cov(pa, rowvar=False)
    assert np.allclose(np.diag(cov), top, rtol=1e-10)
    assert abs(cov[0, 1]) < 1e-10 * top[0]


def test_one_dimensional_target_gets_a_zero_second_axis(rng):
    A = _sources(rng, d=1)
    B = np.column_stack([-A[:, 0], rng.normal(size=N)])  # wider candidate
    overlays, rows = pair_overlays(A, B, seed=0)
    assert overlays["raw"].plane == "A's axes"
    assert np.all(overlays["raw"].pa[:, 1] == 0.0) and np.all(overlays["perm"].pb[:, 1] == 0.0)
    assert np.allclose(overlays["raw"].pa[:, 0], A[rows, 0] - A[rows, 0].mean(), atol=1e-12)


def test_rows_are_a_sorted_seeded_subsample_of_eval_rows(rng):
    A = _sources(rng)
    B = _curved(A, rng)
    _, ev = split_fit_eval(N, seed=6)
    overlays, rows = pair_overlays(A, B, seed=6, max_points=50)
    assert len(rows) == 50 and np.all(np.diff(rows) > 0) and set(rows) <= set(ev)
    assert all(ov.pa.shape == ov.pb.shape == (50, 2) for ov in overlays.values())
    again, rows2 = pair_overlays(A, B, seed=6, max_points=50)
    assert np.array_equal(rows, rows2)
    assert all(np.array_equal(again[g].pb, overlays[g].pb) for g in MAPS)
    _, other = pair_overlays(A, B, seed=8, max_points=50)
    assert not np.array_equal(rows, other)


def test_given_ica_fits_give_the_same_ica_panel(rng):
    A = _sources(rng)
    B = _curved(A, rng)
    first, _ = pair_overlays(A, B, seed=0)
    ica = align(A, B, group="ica", seed=0)
    given, _ = pair_overlays(A, B, seed=0, ica=(ica.ica_a, ica.ica_b))
    assert given["ica"].error == first["ica"].error
    assert np.array_equal(given["ica"].pb, first["ica"].pb)


def test_ica_that_cannot_run_leaves_an_empty_panel_with_its_reason(rng):
    A = np.column_stack([_sources(rng, d=1), np.ones(N)])  # a constant column: no whitening
    overlays, _ = pair_overlays(A, _curved(_sources(rng), rng), seed=0)
    ica = overlays["ica"]
    assert math.isnan(ica.error) and ica.pa.shape == (0, 2) and "constant" in ica.note
    assert math.isfinite(overlays["rigid"].error)
    fig = overlay_grid(overlays, a_name="a", b_name="b")
    assert fig.layout.annotations[3].text == "ICA<br>error n/a"
    assert len(fig.data[1].x) == 3 * overlays["raw"].pa.shape[0]  # three full tiles, ICA empty


def test_invalid_inputs_raise_clear_errors(rng):
    A = _sources(rng)
    with pytest.raises(ValueError, match="same number of rows"):
        pair_overlays(A, A[:-1])
    with pytest.raises(ValueError, match="max_points"):
        pair_overlays(A, A, max_points=1)
    with pytest.raises(ValueError, match="finite"):
        pair_overlays(A, np.full_like(A, np.nan))


def test_error_text_three_significant_digits_or_na():
    assert error_text(0.31234) == "0.312" and error_text(0.0312) == "0.0312"
    assert error_text(float("nan")) == "n/a"


def test_grid_titles_aspect_traces_legend_and_one_colour_bar(rng):
    A = _sources(rng)
    overlays, rows = pair_overlays(A, _curved(A, rng), seed=0)
    fig = overlay_grid(overlays, a_name="u", b_name="z", colour=A[rows, 0], colour_name="u1",
                       segments=10)
    titles = [a.text for a in fig.layout.annotations]
    assert titles == [f"{t}<br>error {error_text(overlays[g].error)}" for g, t in
                      zip(MAPS, ("raw (no map)", "signed permutation", "rotation (rigid)", "ICA"),
                          strict=True)]
    assert len(fig.data) == TRACES == 3  # one axes: every panel in the same three traces
    assert fig.layout.yaxis.scaleanchor == "x" and fig.layout.yaxis.scaleratio == 1
    seg, a, b = fig.data
    m = rows.size
    assert len(seg.x) == 4 * 3 * 10  # start, end, gap per residual segment, per panel
    scales = tile_scales(overlays)
    for k, g in enumerate(MAPS):
        col, row = cell(g)
        origin = np.array([2 * GAP * col, -2 * GAP * row])
        tile_a = np.column_stack([a.x[k * m:(k + 1) * m], a.y[k * m:(k + 1) * m]])
        tile_b = np.column_stack([b.x[k * m:(k + 1) * m], b.y[k * m:(k + 1) * m]])
        # each tile is its panel, scaled and shifted: shapes (and equal aspect) preserved
        np.testing.assert_allclose(tile_a, overlays[g].pa * scales[g] + origin, atol=1e-12)
        np.testing.assert_allclose(tile_b, overlays[g].pb * scales[g] + origin, atol=1e-12)
        assert np.abs(tile_a - origin).max() <= 1 + 1e-12  # inside its cell
        assert np.abs(tile_b - origin).max() <= 1 + 1e-12
    assert scales["raw"] == scales["perm"] == scales["rigid"]  # A's units, comparable
    assert a.marker.symbol == "circle" and b.marker.symbol == "x"
    assert overlays["raw"].plane in fig.layout.title.text
    assert overlays["ica"].plane in fig.layout.title.text
    assert sum(t.showlegend is not False for t in fig.data) == 3
    assert sum(bool(t.marker.showscale) for t in fig.data if t.mode == "markers") == 1
    assert fig.to_json()  # serialisable


def test_one_row_layout_puts_the_tiles_side_by_side(rng):
    A = _sources(rng)
    overlays, rows = pair_overlays(A, _curved(A, rng), seed=0)
    fig = overlay_grid(overlays, a_name="u", b_name="z", cols=4)
    assert [cell(g, 4) for g in MAPS] == [(0, 0), (1, 0), (2, 0), (3, 0)]
    assert [cell(g, 2) for g in MAPS] == [(0, 0), (1, 0), (0, 1), (1, 1)]
    m = rows.size
    ica_x = np.asarray(fig.data[1].x[3 * m:])  # the fourth tile, three cells to the right
    np.testing.assert_allclose(ica_x, overlays["ica"].pa[:, 0] * tile_scales(overlays)["ica"]
                               + 3 * 2 * GAP, atol=1e-12)
    assert len({round(a.y, 9) for a in fig.layout.annotations}) == 1  # titles on one line
    with pytest.raises(ValueError, match="cols must be one of"):
        overlay_grid(overlays, a_name="u", b_name="z", cols=3)


def test_grid_rejects_missing_panels_and_misshaped_colour(rng):
    A = _sources(rng)
    overlays, _ = pair_overlays(A, _curved(A, rng), seed=0)
    with pytest.raises(ValueError, match="keys"):
        overlay_grid({g: overlays[g] for g in ("raw", "perm")}, a_name="a", b_name="b")
    with pytest.raises(ValueError, match="one value per drawn row"):
        overlay_grid(overlays, a_name="a", b_name="b", colour=np.zeros(3))
