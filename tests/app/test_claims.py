"""The Identifiability and Paper pages state computed claims, never fixed captions."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from nearid_core.config import DataConfig, ModelConfig, SweepConfig, TrainConfig
from nearid_core.runs.jobs import run_sweep_job, submit_sweep
from nearid_core.runs.store import RunStore
from nearid_core.studies.presets import preset
from nearid_core.views import ident_views
from nearid_core.views.results import load_view
from nearid_ui import paper
from nearid_ui.jobs import PRESETS

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 60  # torch's import alone exceeds AppTest's 3 s default

TINY3 = SweepConfig(data=DataConfig(n=512), train=TrainConfig(epochs=2, batch_size=128),
                    model=ModelConfig(), leaks=(0.0, 0.5, 0.9), seeds=2)
FIXED = ("More non-linearity (α → 1) reconstructs better", "warm-up data",
         "Smaller L, smaller identifiability error")


@pytest.fixture(scope="module")
def three_leaks(tmp_path_factory):
    home = tmp_path_factory.mktemp("three_leaks")
    store = RunStore(home)
    sid = submit_sweep(store, TINY3, name="three leaks")
    run_sweep_job(store, sid, executor=ThreadPoolExecutor(1))
    return home, sid


def open_app(page: str, query: dict) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    at.query_params.update(query)
    at.run()
    at.switch_page(page).run()
    return at


def ok(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def texts_of(elements) -> str:
    return " ".join(str(e.value) for e in elements)


def _page_text(at) -> str:
    return " ".join(texts_of(x) for x in (at.markdown, at.caption, at.title, at.info))


def test_only_a_preset_is_called_warm_up():
    assert paper.sweep_label(PRESETS["paper"]) == "the paper's warm-up preset"
    assert paper.sweep_label(PRESETS["tiny"]) == "the warm-up's tiny preset"
    assert paper.sweep_label(TINY3) == "a custom sweep (not a warm-up preset)"
    assert paper.sweep_label(preset("tiny", seed=2)) == \
        "the warm-up's tiny preset (master seed 2)"
    longer = replace(PRESETS["paper"], train=replace(PRESETS["paper"].train, epochs=31))
    assert paper.sweep_label(longer) == "a custom sweep (not a warm-up preset)"


def test_identifiability_states_the_claims_computed_from_the_sweep(three_leaks, use_home):
    home, sid = three_leaks
    use_home(home)
    at = open_app("app_pages/identifiability_page.py", {"sweep": sid})
    ok(at)
    text = _page_text(at)
    assert not any(f in text for f in FIXED)
    view = load_view(RunStore(home), sid)
    for c in ident_views.claims(view, L_kind="L_max_max"):
        assert f"{c['claim']}: **{c['verdict']}**" in text
        assert c["verdict"].split(" (")[0] in ("holds here", "does not hold here")
    # the fit table shows the fit of the analysis, with its interval
    fits = RunStore(home).get_sweep(sid)["analysis"]["fits"]["rigid_vs_L_max_max"]
    table = at.dataframe[0].value
    row = table[(table["group"] == "rigid") & (table["fit over"] == "leaks")].iloc[0]
    assert row["c"] == pytest.approx(fits["c"], rel=1e-12)
    assert row["c_low"] == pytest.approx(fits["c_low"], rel=1e-12)
    assert row["r2_line"] == pytest.approx(fits["r2_line"], rel=1e-12)


def test_identifiability_marks_efficiency_that_means_nothing(prepared, use_home):
    use_home(prepared.home)
    at = open_app("app_pages/identifiability_page.py", {"sweep": prepared.tiny})
    ok(at)
    ident = next(d.value for d in at.dataframe if "ica_efficiency_note" in d.value)
    for eff, note in zip(ident["ica_efficiency"], ident["ica_efficiency_note"], strict=True):
        if note.startswith("n/a") or note.startswith("ICA worse"):
            assert eff != eff  # nan: no number where the efficiency means nothing
    # two leaks: the rank claims cannot be decided and say so
    assert "cannot tell here (2 leaks with values" in _page_text(at)


def test_paper_page_names_the_sweep_and_computes_its_claims(prepared, use_home):
    use_home(prepared.home)
    at = open_app("app_pages/paper_page.py", {"sweep": prepared.tiny})
    ok(at)
    text = _page_text(at)
    assert "a custom sweep (not a warm-up preset)" in text
    assert "warm-up data" not in text
    claims = at.dataframe[-1].value
    assert set(claims.columns) == {"claim", "check", "verdict"}
    assert all(v.split(" (")[0] in ("holds here", "does not hold here", "cannot tell here")
               for v in claims["verdict"])
