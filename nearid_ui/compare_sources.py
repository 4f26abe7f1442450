"""Two sources of the Compare page: models of a stored sweep, and saved comparisons."""

from __future__ import annotations

import time

import streamlit as st

from nearid_core.runs.store import StoreError
from nearid_core.studies.compare import CompareConfig

from . import cache, render
from .compare import Inputs
from .glossary import see
from .picker import escape_md, sweep_label

PENDING_DELETE = "cmp_delete_pending"  # session key: id of the comparison asked to delete


def _store_error(what: str, err: Exception) -> None:
    st.error(f"Cannot {what}: {render.store_message(err) if isinstance(err, StoreError) else err}")


def sweep_source(start, config: CompareConfig | None) -> None:
    """Pick two or more trained models of a stored sweep; its ground truth comes along."""
    from nearid_core.runs.comparisons import default_model_indices, model_name

    rows = [r for r in cache.sweeps() if r["status"] in ("done", "cancelled", "interrupted",
                                                           "failed")]
    if not rows:
        st.info("The store has no finished sweeps: train one on the **Train** page.")
        return
    by_id = {r["id"]: r for r in rows}
    sid = st.selectbox("Sweep", list(by_id), key="cmp_sweep",
                       format_func=lambda i: sweep_label(by_id[i]))
    runs = cache.store().list_runs(sid)
    done = {r["index"]: r for r in runs if r["status"] == "done"}
    if len(done) < 2:
        st.info(f"Sweep {sid} has {len(done)} trained model(s): comparing needs two.")
        return
    default = [i for i in default_model_indices(runs) if i in done] or list(done)[:2]
    picked = st.multiselect("Models (two or more; each one's held-out latents)", list(done),
                            default=default, key=f"cmp_models_{sid}",
                            format_func=lambda i: model_name(done[i]))
    truth = st.checkbox("Score against the sweep's ground-truth factors u (MCC, InfoMEC, DCI "
                        "before and after ICA)", value=True, key="cmp_truth")
    if st.button("Compare these models", type="primary", key="cmp_go_sweep",
                 disabled=config is None or len(picked) < 2, icon=":material/compare_arrows:"):
        _start_sweep(start, config, sid, picked, truth)


def _start_sweep(start, config, sid: str, picked: list[int], truth: bool) -> None:
    from nearid_core.runs.comparisons import sweep_embeddings

    try:
        emb, u = sweep_embeddings(cache.store(), sid, list(picked))
    except StoreError as err:
        _store_error("read these models", err)
        return
    start(Inputs(emb, u if truth else None, None, title=f"sweep {sid}: {len(emb)} models",
                 source="sweep"), config)


def _created(t: float) -> str:
    return time.strftime("%d %b %Y %H:%M", time.localtime(t))


def saved_source(start) -> None:
    """Saved comparisons: list, open (recomputed from the saved arrays and settings),
    rename, delete (after a confirmation)."""
    from nearid_core.runs.comparisons import list_comparisons

    try:
        rows = list_comparisons(cache.store())
    except StoreError as err:
        _store_error("list the saved comparisons", err)
        return
    if not rows:
        st.info("No saved comparisons yet: compare uploaded files, then **Save to store**.")
        return
    by_id = {r["id"]: r for r in rows}
    st.dataframe([{"name": r["name"], "id": r["id"], "saved": _created(r["created_at"]),
                   "embeddings": ", ".join(r["names"]), "rows": r["n_rows"],
                   "dims": ", ".join(str(d) for d in r["dims"]),
                   "factors": r["has_factors"], "labels": r["has_labels"]} for r in rows],
                 hide_index=True, key="cmp_saved_list")
    cid = st.selectbox("Saved comparison", list(by_id), key="cmp_saved",
                       format_func=lambda i: f"{by_id[i]['name'] or 'comparison'} · {i[:6]}")
    c1, c2, c3 = st.columns([1, 2, 1])
    if c1.button("Open", type="primary", key="cmp_open", icon=":material/folder_open:",
                 help="Loads its arrays and settings and compares them again (the fitted "
                      "maps behind the figures are not saved; the numbers come out the same)."
                      + see("run-store", "seed")):
        _open(start, cid)
    _rename(c2, by_id[cid])
    _delete(c3, by_id[cid])


def _open(start, cid: str) -> None:
    from nearid_core.runs.comparisons import load_comparison

    try:
        saved = load_comparison(cache.store(), cid)
        config = CompareConfig(**saved.config)
    except (StoreError, TypeError, ValueError) as err:
        _store_error(f"open comparison {cid}", err)
        return
    start(Inputs(saved.embeddings, saved.factors, saved.labels,
                 title=f"saved: {saved.name or 'comparison'} ({_created(saved.created_at)})",
                 source="saved", extra={"id": saved.id, "rows": saved.result.get("rows", [])}),
          config)


def _rename(container, row: dict) -> None:
    readonly = cache.readonly()
    name = container.text_input("New name", value=row["name"], max_chars=200,
                                key=f"cmp_newname_{row['id']}", disabled=readonly)
    if container.button("Rename", key="cmp_rename", disabled=readonly, icon=":material/edit:"):
        from nearid_core.runs.comparisons import rename_comparison

        try:
            rename_comparison(cache.store(), row["id"], name)
        except (StoreError, ValueError) as err:
            _store_error("rename it", err)
            return
        st.rerun()


def _delete(container, row: dict) -> None:
    readonly = cache.readonly()
    if st.session_state.get(PENDING_DELETE) != row["id"]:
        container.button("Delete…", key="cmp_delete", icon=":material/delete:",
                         disabled=readonly, on_click=st.session_state.__setitem__,
                         args=(PENDING_DELETE, row["id"]))
        return
    container.warning(f"Delete **{escape_md(row['name'] or row['id'])}** and its saved "
                      "arrays? This cannot be undone.")
    if container.button("Yes, delete it", key="cmp_delete_yes", type="primary"):
        from nearid_core.runs.comparisons import delete_comparison

        st.session_state.pop(PENDING_DELETE, None)
        try:
            delete_comparison(cache.store(), row["id"])
            st.rerun()
        except StoreError as err:
            _store_error("delete it", err)
    if container.button("Keep it", key="cmp_delete_no"):
        st.session_state.pop(PENDING_DELETE, None)
        st.rerun()
