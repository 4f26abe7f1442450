"""The app's downloads are the core export: the same bytes as ``python -m nearid_core
export``, and the same JSON document as the command line's ``--json``."""

from __future__ import annotations

import io
import json
from pathlib import Path

from streamlit.testing.v1 import AppTest

from nearid_core.__main__ import main
from nearid_core.runs.export import load, sweep_document
from nearid_core.runs.store import RunStore
from nearid_core.views.results import load_view

ROOT = Path(__file__).resolve().parents[2]


def test_the_npz_download_is_the_command_lines_export(prepared, use_home, tmp_path, capsys):
    from nearid_ui import render

    store = use_home(prepared.home)
    data = render.latents_npz(load_view(store, prepared.tiny))
    out = tmp_path / "cli.npz"
    assert main(["export", prepared.tiny, "--out", str(out)]) == 0
    capsys.readouterr()
    assert data == out.read_bytes()
    s = load(io.BytesIO(data))
    assert [(m.leak, m.status) for m in s.models] == [(0.0, "done")] * 2 + [(0.5, "done")] * 2
    assert s.model(3).latents.shape == (102, 2) and s.fit_idx.shape == (51,)


def test_the_json_download_is_the_command_lines_document(prepared, use_home):
    from nearid_ui import render

    store = use_home(prepared.home)
    doc = json.loads(render.sweep_json(load_view(store, prepared.tiny)))
    assert doc == json.loads(json.dumps(sweep_document(store, prepared.tiny)))
    assert doc["settings"]["seeds"] == 2 and "progress_loss" in doc["models"][0]
    assert not any("loss_history" in m for m in doc["models"])


def _npz_button(page: str, sweep_id: str):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.query_params["sweep"] = sweep_id
    at.run()
    at.switch_page(page).run()
    assert not at.exception
    return next(b for b in at.get("download_button") if b.label == "Latents (NPZ)")


def test_the_npz_button_is_offered_on_a_result_page(prepared, use_home):
    use_home(prepared.home)
    button = _npz_button("app_pages/identifiability_page.py", prepared.tiny)
    assert not button.disabled and "nearid_core.runs.export.load" in button.help


def test_the_npz_button_says_why_when_the_held_out_data_are_gone(prepared, use_home,
                                                                 tmp_path):
    import shutil

    home = tmp_path / "home"
    shutil.copytree(prepared.home, home)
    (home / "artefacts" / prepared.tiny / "data.npz").unlink()
    RunStore(home).close()
    use_home(home)
    button = _npz_button("app_pages/identifiability_page.py", prepared.tiny)
    assert button.disabled and button.help.startswith("No NPZ")
