"""The Compare page under AppTest: uploads through the real ``st.file_uploader`` (AppTest's
``file_uploader(key=...).set_value``; the page reads files only through
``nearid_ui.compare_upload.read_uploads``, which a test may also monkeypatch), models of a
stored sweep, saved comparisons, and the background job that computes the table."""

from __future__ import annotations

import io
import time

import numpy as np
import pandas as pd
import pytest
from app_helpers import open_app
from streamlit.testing.v1 import AppTest

from nearid_core.runs.comparisons import list_comparisons, save_comparison
from nearid_core.studies.compare import CompareConfig, compare
from nearid_ui import compare_results

PAGE = "app_pages/compare_page.py"
WAIT_S = 240  # a cold worker imports scikit-learn first; a busy machine is slower
N, D = 400, 6  # small enough for a fast comparison, n >= 4 d


def ok(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def texts_of(elements) -> str:
    return " ".join(str(e.value) for e in elements)


def npy(x: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, x)
    return buf.getvalue()


def upload(at: AppTest, files: dict[str, bytes]) -> AppTest:
    at.file_uploader(key="cmp_files").set_value(
        [(name, data, "application/octet-stream") for name, data in files.items()]).run()
    ok(at)
    return at


def rotated_pair(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A (n, d) Laplace rows and B = A Q for a random orthogonal Q: rigid error 0, CKA 1."""
    rng = np.random.default_rng(seed)
    A = rng.laplace(size=(N, D))
    Q, _ = np.linalg.qr(rng.normal(size=(D, D)))
    return A, A @ Q


def result_table(at: AppTest) -> pd.DataFrame | None:
    for df in at.dataframe:
        if "A (reference)" in df.value.columns and "CKA" in df.value.columns:
            return df.value
    return None


def wait_for_table(at: AppTest) -> pd.DataFrame:
    deadline = time.monotonic() + WAIT_S
    while (table := result_table(at)) is None:
        ok(at)
        assert "comparison failed" not in texts_of(at.error), texts_of(at.error)
        assert time.monotonic() < deadline, "the comparison did not finish in time"
        time.sleep(0.3)
        at.run()
    ok(at)
    return table


@pytest.fixture
def empty(tmp_path, use_home):
    return use_home(tmp_path)


# ---------------------------------------------------------------- uploads

def test_page_loads_empty_with_guidance(empty):
    at = open_app(PAGE)
    ok(at)
    assert not at.error
    info = texts_of(at.info)
    assert "Upload two or more embedding files" in info
    assert "Nothing compared yet" in info
    assert "no saved comparisons" in info.lower()
    assert [t.label for t in at.tabs][:4] == ["Upload files", "Models of a stored sweep",
                                              "Saved comparisons", "Table 1 on digits"]
    assert at.button(key="cmp_go_digits").label == "Run Table 1 on digits"


def test_two_rotated_files_give_rigid_zero_and_cka_one(empty):
    A, B = rotated_pair()
    at = upload(open_app(PAGE), {"a.npy": npy(A), "b.npy": npy(B)})
    assert not at.error
    at.button(key="cmp_go_upload").click().run()
    table = wait_for_table(at)
    assert len(table) == 2  # a <- b and b <- a
    row = table.iloc[0]
    assert (row["A (reference)"], row["B (candidate)"]) == ("a.npy", "b.npy")
    # B = A Q exactly: the rigid and linear fits are exact up to float rounding (~1e-15).
    assert row["rigid"].startswith("0.000 [0.000, 0.000]")
    assert row["CKA"] == "1.000" and row["angle (rad)"] == "0.000"
    assert row["ICA / linear"].startswith("n/a — the linear error is 0")
    eff = row["ICA efficiency"]
    assert eff.endswith("%") or eff.startswith("n/a — ")
    assert len(at.get("plotly_chart")) == 5  # overlay: raw, perm, rigid, linear, ICA; no heatmaps
    assert {b.label for b in at.get("download_button")} >= {
        "Table (CSV)", "Result (JSON)", "Fitted maps (NPZ)", "Chart as HTML"}
    at.run()  # a rerun shows the kept result at once
    assert result_table(at) is not None


def test_a_bad_file_gets_one_error_and_the_others_are_compared(empty):
    A, B = rotated_pair(1)
    C = np.random.default_rng(2).normal(size=(N, 3))
    at = upload(open_app(PAGE), {"a.npy": npy(A), "broken.npy": b"not an array at all",
                                 "b.npy": npy(B), "c.npy": npy(C)})
    assert len(at.error) == 1
    message = at.error[0].value
    assert message.startswith("broken.npy: ") and "to fix: " in message
    at.button(key="cmp_go_upload").click().run()
    table = wait_for_table(at)
    assert len(table) == 6  # 3 files, every ordered pair
    assert set(table["A (reference)"]) == {"a.npy", "b.npy", "c.npy"}
    assert len(at.get("plotly_chart")) == 2 + 5  # two heatmaps for 3+ embeddings, overlay
    assert len(at.error) == 1  # the bad file's message stays, nothing else


def test_a_file_with_other_row_counts_is_left_out_with_a_message(empty):
    A, B = rotated_pair(3)
    at = upload(open_app(PAGE), {"a.npy": npy(A), "b.npy": npy(B), "short.npy": npy(A[:-5])})
    assert len(at.error) == 1 and "short.npy" in at.error[0].value
    assert at.button(key="cmp_go_upload").disabled is False


def test_an_npz_with_several_arrays_gets_a_key_picker(empty):
    A, B = rotated_pair(4)
    buf = io.BytesIO()
    np.savez(buf, first=A, second=B)
    at = upload(open_app(PAGE), {"both.npz": buf.getvalue(), "b.npy": npy(B)})
    box = at.selectbox[[s.label.startswith("both.npz holds 2 arrays") for s in at.selectbox]
                       .index(True)]
    assert box.options == ["first (400, 6)", "second (400, 6)"]
    box.set_value("second").run()
    ok(at)
    ready = next(df.value for df in at.dataframe if "role" in df.value.columns)
    assert list(ready["file"]) == ["both.npz [second]", "b.npy"]


def test_a_3d_array_gets_flatten_or_axis_choice(empty):
    A, _ = rotated_pair(5)
    cube = np.random.default_rng(5).normal(size=(N, 2, 3))
    at = upload(open_app(PAGE), {"a.npy": npy(A), "cube.npy": npy(cube)})
    radio = at.radio[[r.label.startswith("cube.npy has 3 axes") for r in at.radio].index(True)]
    assert radio.value == "flatten"
    ready = next(df.value for df in at.dataframe if "role" in df.value.columns)
    assert list(ready["dims"]) == [D, 6]
    assert not at.error


def test_nan_rows_get_a_drop_checkbox(empty):
    A, B = rotated_pair(6)
    A = A.copy()
    A[[3, 10, 11], 0] = np.nan
    B = B.copy()
    B[10, 2] = np.inf
    at = upload(open_app(PAGE), {"a.npy": npy(A), "b.npy": npy(B)})
    assert len(at.error) == 1 and "NaN or inf" in at.error[0].value
    box = at.checkbox(key="cmp_dropnan")
    assert box.label == "Drop these 3 rows from every file"
    assert not [b for b in at.button if b.key == "cmp_go_upload"]
    box.check().run()
    ok(at)
    assert not at.error
    assert "dropped 3 of 400 rows" in texts_of(at.info).lower()
    at.button(key="cmp_go_upload").click().run()
    assert len(wait_for_table(at)) == 2


# ---------------------------------------------------------------- a stored sweep

def test_two_models_of_a_stored_sweep(prepared, use_home):
    use_home(prepared.home)
    at = open_app(PAGE)
    at.selectbox(key="cmp_sweep").set_value(prepared.tiny).run()
    models = at.multiselect(key=f"cmp_models_{prepared.tiny}")
    models.set_value([0, 1]).run()
    at.button(key="cmp_go_sweep").click().run()
    table = wait_for_table(at)
    assert len(table) == 2
    assert table.iloc[0]["A (reference)"].startswith("α=0 · seed")
    truth = next(df.value for df in at.dataframe if "before ICA" in df.value.columns)
    assert {"MCC", "InfoM", "InfoE", "InfoC", "DCI D"} <= set(truth["metric"])


# ---------------------------------------------------------------- saved comparisons

def _saved_store(use_home, tmp_path):
    store = use_home(tmp_path)
    A, B = rotated_pair(7)
    result = compare({"a": A, "b": B}, CompareConfig(n_boot=0))
    cid = save_comparison(store, name="rotation check", embeddings={"a": A, "b": B},
                          result=result)
    return store, cid


def test_saved_comparisons_open_rename_and_delete(tmp_path, use_home):
    store, cid = _saved_store(use_home, tmp_path)
    at = open_app(PAGE)
    listing = at.dataframe[[("embeddings" in df.value.columns) for df in at.dataframe]
                           .index(True)].value
    assert list(listing["name"]) == ["rotation check"]
    at.button(key="cmp_open").click().run()
    table = wait_for_table(at)
    assert table.iloc[0]["rigid"].startswith("0.000")
    assert "the numbers recomputed here equal the saved ones" in texts_of(at.caption)
    at.text_input(key=f"cmp_newname_{cid}").set_value("renamed").run()
    at.button(key="cmp_rename").click().run()
    ok(at)
    assert [r["name"] for r in list_comparisons(store)] == ["renamed"]
    at.button(key="cmp_delete").click().run()
    assert "cannot be undone" in texts_of(at.warning)
    assert list_comparisons(store)  # nothing deleted before the confirmation
    at.button(key="cmp_delete_yes").click().run()
    ok(at)
    assert list_comparisons(store) == []
    assert "no saved comparisons" in texts_of(at.info).lower()


def test_an_uploaded_comparison_can_be_saved(empty):
    A, B = rotated_pair(8)
    at = upload(open_app(PAGE), {"a.npy": npy(A), "b.npy": npy(B)})
    at.button(key="cmp_go_upload").click().run()
    wait_for_table(at)
    at.text_input(key="cmp_save_name").set_value("my two files").run()
    at.button(key="cmp_save").click().run()
    ok(at)
    assert "Saved as comparison" in texts_of(at.success)
    (row,) = list_comparisons(empty)
    assert row["name"] == "my two files" and row["names"] == ["a.npy", "b.npy"]


# ---------------------------------------------------------------- cell texts

def test_cells_say_what_they_mean():
    row = {"perm": 0.104, "perm_lo": 0.098, "perm_hi": 0.111, "rigid": 0.05,
           "rigid_lo": float("nan"), "rigid_hi": float("nan"), "ica": float("nan"),
           "linear": 0.02}
    assert compare_results.interval(row, "perm") == "0.104 [0.098, 0.111]"
    assert compare_results.interval(row, "rigid") == "0.050"
    assert compare_results.interval(row, "ica") == "n/a"
    assert compare_results.efficiency_text(0.36, "") == "36%"
    assert compare_results.efficiency_text(float("nan"), "ICA worse than the raw axes (…)") \
        == "n/a — ICA worse than the raw axes (…)"
    assert compare_results.efficiency_text(1.2, "above 100%").startswith("120%")
    assert compare_results.ratio_text(row) == "n/a — an error is missing"
    assert compare_results.ratio_text({"ica": 0.03, "linear": 0.02}) == "1.50"


# ---------------------------------------------------------------- Table 1 on digits

def _wait(at: AppTest, done) -> None:
    deadline = time.monotonic() + WAIT_S
    while not done(at):
        ok(at)
        assert time.monotonic() < deadline, "the digits study did not end in time"
        time.sleep(0.5)
        at.run()


def test_digits_study_cancels_then_runs_beside_the_papers_table(empty):
    from nearid_core.config import config_id
    from nearid_core.studies.realdata import RealDataConfig
    from nearid_ui import compare_jobs

    key = "digits:" + config_id(RealDataConfig())
    compare_jobs._registry()[0].pop(key, None)  # another test may have run it: start afresh
    at = open_app(PAGE)
    at.button(key="cmp_go_digits").click().run()
    ok(at)
    assert at.get("progress"), "no progress bar while the study runs"
    at.button(key=f"cancel_{key[-12:]}").click().run()
    _wait(at, lambda a: "digits study was cancelled" in texts_of(a.warning))
    at.button(key="cmp_go_digits").click().run()
    _wait(at, lambda a: any("pair of models" in df.value.columns for df in a.dataframe))
    shown = texts_of(at.markdown)
    assert "**Reported in the paper (pretrained models)**" in shown
    assert "**Computed here (digits)**" in shown
    paper = next(df.value for df in at.dataframe if "pair of models" in df.value.columns)
    ours = next(df.value for df in at.dataframe if "model family" in df.value.columns)
    assert len(paper) == 4 and list(paper["rigid"]) == ["0.150", "0.109", "0.104", "0.206"]
    assert len(ours) == 3 and all(" ± " in v for v in ours["rigid"])
    b = dict(zip(ours["model family"], ours["B(z) median"], strict=True))
    assert b["MLP classifier, penultimate layer"].startswith("n/a — no decoder")
    assert all(not v.startswith("n/a") for k, v in b.items() if "classifier" not in k)
    assert "rigid-like" in shown or "linear-like" in shown or "between" in shown
    labels = {d.label for d in at.get("download_button")}
    assert "Digits embeddings (NPZ, an example upload)" in labels
    at.button(key="cmp_go_digits_family").click().run()
    table = wait_for_table(at)
    assert len(table) == 12  # 4 seeds of one family: every ordered pair
    assert any("label" in df.value.columns for df in at.dataframe)  # digit classes as labels
