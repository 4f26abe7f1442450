"""The guided lesson: six steps, each one picture from stored sweeps, two or three sentences,
a "predict, then reveal" question and a "what to notice" line computed from the data shown.

The step is in the URL (``?step=3``), so a lecturer can link a slide. The lesson's sweeps
(the Playground's rolled grid and three small sweeps for the last step) are queued on the
first visit and trained by the background runner while the class reads the first steps.
"""

from __future__ import annotations

import streamlit as st

from nearid_core.studies import playground as pg
from nearid_core.views import lesson, lesson_data, plots, plots_ident, results

from . import cache, glossary, manage, pg_figures, present
from .live import ACTIVE, progress_bar
from .params import bind, choice, number, publish

N = len(lesson.STEPS)
ROTATION_LEAK, ICA_LEAK = 0.2, 0.0  # a near-isometric decoder for the overlay steps
B_LEAKS = (0.0, 0.25, 0.5, 0.75, 0.95)  # the leak step's violins: five of the grid's leaks
TEXTS = {
    "data": ("Two independent factors u (here uniform) are rolled up into 32 dimensions by an "
             "exact isometry g: distances between inputs equal distances between their "
             "factors. The picture shows x in its top three principal directions, coloured "
             "by the factor u1."),
    "leak": ("An autoencoder's decoder maps latents z back to x. With the leak α = 0 every "
             "activation is the identity: the decoder is linear with orthonormal weights, an "
             "isometry, B(z) = 1. Larger α lets it bend: B(z) measures how unevenly it "
             "stretches directions at z, and its bound (1 − α)^−2 rises. L = max B − 1."),
    "rotation": ("Train the same model twice, from two seeds, and lay seed B's latents on seed "
                 "A's: as they are, after the best reordering and flipping of axes (signed "
                 "permutation), after the best rotation, and after ICA. The grey lines are "
                 "what each map leaves; the panel titles give its error."),
    "theorem": ("Theorem 1: if both decoders are (1+L)-bi-Lipschitz, the two encoders agree "
                "up to a rigid map with error at most c·√(2L + L²) times the data's size. "
                "Each dot is one seed pair of the grid; the dashed line is that curve "
                "fitted through the origin."),
    "ica": ("Here A is the true factors u and B one model's latents. Theory: the model "
            "recovers u up to a rotation, and ICA, which looks for the most independent and "
            "non-Gaussian directions, should undo it, leaving only order and sign. Compare "
            "the signed-permutation panel with the ICA panel."),
    "limits": ("ICA needs non-Gaussian factors, and Theorem 1 needs a decoder whose L is "
               "small. Three small sweeps show where the recipe weakens."),
}


def step() -> int:
    """The current step, 1..N, from the URL or this session."""
    bind("step", 1, number(1, N, integer=True))
    k = int(st.session_state["step"])
    publish("step", k)
    return k


def _go(to: int) -> None:
    st.session_state["step"] = to


def navigation(k: int, where: str) -> None:
    """Back / progress / Next; ``where`` ("top", "bottom") keeps the two rows' keys apart."""
    c1, c2, c3 = st.columns([1, 4, 1])
    c1.button("◀ Back", key=f"back_{where}", on_click=_go, args=(k - 1,), disabled=k <= 1,
              use_container_width=True)
    c2.progress(k / N, text=f"Step {k} of {N}: {lesson.STEPS[k - 1].title}")
    c3.button("Next ▶", key=f"next_{where}", on_click=_go, args=(k + 1,),
              disabled=k >= N, use_container_width=True, type="primary")


def sweeps(start: bool) -> dict[str, dict | None]:
    """The lesson's sweeps by name ("grid", then each limits case): their rows, queued on
    first use when ``start`` (and the store is writable), None while missing."""
    wanted = {"grid": (pg.grid_config("rolled"), None),
              **{c: (pg.lesson_config(c), pg.lesson_name(c)) for c in pg.LESSON_CASES}}
    rows = cache.sweeps()
    out = {}
    for key, (cfg, name) in wanted.items():
        row = manage.identical(rows, cfg)
        if row is None and start and not cache.readonly():
            sid, _ = manage.start_or_reuse(cache.store(), cfg, name or pg.sweep_name(cfg))
            row = cache.sweep_row(sid)
        out[key] = row
    return out


@st.fragment(run_every=0.5)
def wait_for(sweep_id: str) -> None:
    """Progress of a sweep the step needs; the page reruns when it is done."""
    row = cache.live_row(sweep_id)
    if row is None or row["status"] not in ACTIVE:
        st.rerun()
    st.info("This step's data are still being trained in the background; the picture "
            "appears here when they are ready.")
    progress_bar(row)


def ready(row: dict | None) -> str | None:
    """The id of a done sweep; else its progress, or why it is missing, and None."""
    if row is None:
        st.warning("This step's sweep is not in the run store, and this store is read-only "
                   "(or it could not be queued): open the lesson on a writable store.")
        return None
    if row["status"] in ACTIVE:
        wait_for(row["id"])
        return None
    if row["status"] != "done":
        st.error(f"This step's sweep `{row['id']}` {row['status']}: "
                 f"{row['reason'] or 'no reason recorded'}. Resubmit it from Home.")
        return None
    return row["id"]


def question(k: int) -> None:
    """Predict, then reveal: the question, and the notice once an answer is given."""
    q = lesson.STEPS[k - 1].question
    st.radio(f"**Predict:** {q.text}", q.options, index=None, key=f"predict_{k}")


def reveal(k: int, notice: lesson.Notice) -> None:
    q = lesson.STEPS[k - 1].question
    picked = st.session_state.get(f"predict_{k}")
    if st.toggle("Reveal", key=f"reveal_{k}", disabled=picked is None,
                 help="Make a prediction first."):
        verdict = "✅ as the theory predicts" if picked == q.options[q.answer] else (
            f"the theory predicts: *{q.options[q.answer]}*")
        st.markdown(f"You predicted *{picked}* — {verdict}.")
        mark = {True: "success", False: "warning", None: "info"}[notice.holds]
        getattr(st, mark)(f"**What to notice** (computed from the data on screen): "
                          f"{notice.text}")


def body(k: int, ids: dict[str, dict | None]) -> None:
    """Picture, text, question and notice of step ``k``."""
    sid = lesson.STEPS[k - 1].id
    if sid == "limits":
        _limits(k, ids)
        return
    grid = ready(ids["grid"])
    if grid is None:
        return
    notice = _picture(sid, cache.view(grid), grid)  # the slide's picture first
    st.markdown(TEXTS[sid] + " " + _glossary(sid))
    question(k)
    reveal(k, notice)


def _picture(sid: str, v: results.SweepView, grid: str) -> lesson.Notice:
    if sid == "data":
        prev = cache.data_preview(v.config.data)
        present.plot(plots.data_pca3d(prev.pca, prev.u[:, 0], color_name="u1",
                                      explained=prev.explained), key="lesson_data")
        return lesson_data.notice_for("data", v)
    if sid == "leak":
        b = {a: x for a, x in results.b_by_leak(v).items() if a in B_LEAKS}
        bounds = {a: x for a, x in results.leak_bounds(v).items() if a in b}
        present.plot(plots.b_distribution(b, bounds=bounds, log_x=True), key="lesson_b")
        return lesson_data.notice_for("leak", v)
    if sid in ("rotation", "ica"):
        want, pair = (ROTATION_LEAK, "0-1") if sid == "rotation" else (ICA_LEAK, "u-0")
        leak = pg.nearest_leak(want, v.leaks)
        style = present.style if present.active() else None
        sc, figs = pg_figures.figures(v, v, leak, pair, 0, style)
        present.plot(figs["overlay"], key=f"lesson_{sid}", styled=True)
        return lesson_data.notice_for(sid, v, scene=sc)
    curves = cache.error_curves(v, "statistical", "L_max_max")
    present.plot(plots_ident.error_vs_L(curves, groups=("rigid",)), key="lesson_theorem")
    return lesson_data.notice_for("theorem", v)


CASES = tuple(pg.LESSON_CASES)


def _limits(k: int, ids: dict[str, dict | None]) -> None:
    case = st.segmented_control("Case", CASES, format_func=pg.LESSON_CASES.__getitem__,
                                key=bind("case", CASES[0], choice(CASES), options=CASES))
    case = case or CASES[0]
    publish("case", case)
    sid = ready(ids[case])
    if sid is None:
        return
    v = cache.view(sid)
    groups = ("perm", "rigid", "ica")
    kind = "structural" if case == "gaussian" else "statistical"
    curves = cache.error_curves(v, kind, "L_max_max")
    present.plot(plots_ident.error_vs_L(curves, groups=groups, fit_groups=()),
                 key=f"lesson_limits_{case}")
    st.markdown(TEXTS["limits"] + " " + _glossary("limits"))
    question(k)
    reveal(k, lesson_data.notice_for("limits", v, case=case))


GLOSSARY = {"data": ("isometry", "bi-lipschitz"), "leak": ("leak", "b-z", "l"),
            "rotation": ("rigid", "signed-permutation", "alignment-error"),
            "theorem": ("theorem-1", "l"), "ica": ("ica", "mcc"),
            "limits": ("ica-efficiency", "ica")}


def _glossary(sid: str) -> str:
    return glossary.see(*GLOSSARY[sid])
