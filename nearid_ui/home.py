"""The Home page's two sections: the warm-up button (reusing an identical finished sweep)
and the table of stored sweeps (with the settings that tell them apart)."""

from __future__ import annotations

import streamlit as st

from . import cache, jobs, manage, present, render, texts
from .glossary import see
from .live import ACTIVE, STOPPED, follow, stopped
from .picker import created_text
from .widgets import radio

PRESET_TITLES = {"paper": "paper settings", "tiny": "tiny preset, rough numbers"}
RESULT_PAGE = "app_pages/identifiability_page.py"


def preset_label(preset: str, rows: list[dict]) -> str:
    """'paper settings (24 models; about 23 s (estimate))': the duration is
    measured (an identical done sweep's timings, else this machine's estimate).

    Kept for the session until the identical sweep changes or the warm runner comes or
    goes (it saves the start-up costs): the estimate follows the machine's load, and a
    radio option whose text moved between reruns would flicker (and could no longer be
    matched to the choice made).
    """
    cfg = jobs.PRESETS[preset]
    found = manage.identical(rows, cfg)
    key = (preset, found and found["id"], found and found["status"], cache.runner_warm())
    labels = st.session_state.setdefault("_preset_labels", {})
    if key not in labels:
        labels[key] = (f"{PRESET_TITLES[preset]} ({cfg.n_models} models; "
                       f"{manage.time_claim(cfg, rows)})")
    return labels[key]


def grid_text(cfg) -> str:
    """'6 leaks × 4 seeds, 8,192 samples, 30 epochs'."""
    return (f"{len(cfg.leaks)} leaks × {cfg.seeds} seeds, {cfg.data.n:,} samples, "
            f"{cfg.train.epochs} epochs")


def _open(sweep_id: str) -> None:
    st.switch_page(RESULT_PAGE, query_params={"sweep": sweep_id})


def warmup_section(rows: list[dict]) -> None:
    """Preset choice, the warm-up button and, when the preset was trained before, a note
    and an explicit "Train again"."""
    grids = " ".join(f"{PRESET_TITLES[p].split(',')[0].capitalize()}: {grid_text(c)}."
                     for p, c in jobs.PRESETS.items())
    labels = {p: preset_label(p, rows) for p in jobs.PRESETS}  # this run's texts, fixed
    preset = radio("Preset", tuple(jobs.PRESETS), "preset", help=f"{grids} {texts.PRESET}",
                   format_func=labels.__getitem__)
    cfg, name = jobs.PRESETS[preset], jobs.WARMUP_NAMES[preset]
    found = manage.identical(rows, cfg)
    readonly = cache.readonly()
    if st.button("Reproduce the paper's warm-up", type="primary", icon=":material/play_arrow:",
                 disabled=readonly, help=render.READONLY if readonly else None):
        _open(manage.start_or_reuse(cache.store(), cfg, name)[0])
    if found is None:
        return
    if found["status"] != "done":
        st.caption(f"A sweep with these exact settings is {found['status']} (`"
                   f"{found['id'][:6]}`): the button follows it instead of queuing another.")
        return
    st.caption(f"Trained before with these exact settings (sweep `{found['id'][:6]}`, "
               f"{created_text(found)}): the button opens it without retraining.")
    if st.button("Train again", key="warmup_again", icon=":material/replay:",
                 disabled=readonly, help="Queue a new sweep with the same settings (same seeds: "
                                         "expect the same numbers)." + see("seed", "sweep")):
        _open(manage.start_or_reuse(cache.store(), cfg, name, again=True)[0])


def table_rows(rows: list[dict]) -> list[dict]:
    """One row per sweep: status and progress, then every setting that tells sweeps apart."""
    out = []
    for r in rows:
        c = r["config"]
        d, m, t = c.get("data", {}), c.get("model", {}), c.get("train", {})
        out.append({"sweep": r["id"], "name": r["name"], "status": r["status"],
                    "progress": r["progress"], "models": r["n_runs"],
                    "done": r["run_counts"]["done"], "failed": r["run_counts"]["failed"],
                    "data": d.get("kind"), "n": d.get("n"), "d_u": d.get("d_u"),
                    "leaks": ", ".join(f"{a:g}" for a in c.get("leaks", ())),
                    "seeds": c.get("seeds"), "epochs": t.get("epochs"),
                    "decoder": m.get("decoder"), "master seed": c.get("seed", 0),
                    "created": created_text(r)})
    return out


PAGE_LINKS = [("app_pages/train_page.py", "Train (progress)"), ("app_pages/bilipschitz_page.py",
              "Bi-Lipschitz"), ("app_pages/identifiability_page.py", "Identifiability"),
              ("app_pages/ica_page.py", "ICA"), ("app_pages/paper_page.py", "Paper")]


def sweeps_section(rows: list[dict]) -> None:
    """The stored sweeps; the selected one gets page links, live progress, rename/delete."""
    if not rows:
        st.info("No sweeps yet: press the button above, or design one on the **Train** page.")
        return
    with present.folded("Stored sweeps (table)"):  # dense: folded away on a projector
        event = _sweeps_table(rows)
    picked = event.selection.rows if event is not None else []
    _chosen_sweep(rows[picked[0]] if picked and picked[0] < len(rows) else None)


def _sweeps_table(rows: list[dict]):
    return st.dataframe(table_rows(rows), hide_index=True, on_select="rerun",
                         selection_mode="single-row", key="sweeps_table", column_config={
                             "progress": st.column_config.ProgressColumn(
                                 "progress", min_value=0.0, max_value=1.0, format="percent",
                                 width="small"),
                             **{k: st.column_config.Column(help=texts.COLUMNS[k])
                                for k in ("status", "failed", "n", "d_u", "epochs",
                                          "decoder", "master seed")}})


def _chosen_sweep(chosen: dict | None) -> None:
    """Page links, live progress, rename and delete for the selected sweep."""
    if chosen is None:
        st.caption("Select a row to open that sweep on a page, rename or delete it.")
    else:
        sid = chosen["id"]
        for col, (path, label) in zip(st.columns(5), PAGE_LINKS, strict=True):
            col.page_link(path, label=label, query_params={"sweep": sid})
        if chosen["status"] in ACTIVE:
            follow(sid, shown=chosen["status"])
        elif chosen["status"] in STOPPED:
            stopped(chosen)
        manage.manage_panel(chosen)
    st.caption("Sweeps live in the run store: the folder named by `NEARID_HOME` (default "
               "`.nearid` in the app's working directory).")


def start_here() -> None:
    """What Home offers first: the Playground and the guided lesson."""
    c1, c2, c3 = st.columns(3)
    c1.page_link("app_pages/playground_page.py", label="**Start here: the Playground**",
                 icon=":material/tune:", help="Move the leak; see two seeds agree up to a "
                 "rotation, and how far, in under a second." + see("leak", "rigid"))
    c2.page_link("app_pages/lesson_page.py", label="**The guided lesson**",
                 icon=":material/school:", help="Six steps, each a picture, a prediction to "
                 "make and what the data on screen show." + see("identifiability"))
    c3.page_link("app_pages/glossary_page.py", label="Glossary of every term",
                 icon=":material/menu_book:")
    st.caption("The paper's other experiments, as analogues with known answers:")
    c1, c2, c3 = st.columns(3)
    c1.page_link("app_pages/compare_page.py", label="Table 1: compare trained models",
                 icon=":material/difference:")
    c2.page_link("app_pages/disentangle_page.py", label="Table 2: disentanglement by AE + ICA",
                 icon=":material/category:")
    c3.page_link("app_pages/batch_page.py", label="Tables 3–4: ICA against batch effects",
                 icon=":material/biotech:")
