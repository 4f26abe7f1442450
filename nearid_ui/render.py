"""Drawing helpers shared by the pages: charts and tables with downloads, error guards."""

from __future__ import annotations

import json
import logging
import os
import traceback
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pandas as pd
import streamlit as st

from nearid_core.runs.store import StoreError

from . import cache, ident_texts, texts  # noqa: F401 - ident_texts adds column help

log = logging.getLogger("nearid.app")
FORMATS = {"ica_efficiency": "percent", "progress": "percent"}
ROW_PX = 35  # st.dataframe row height: tables up to MAX_ROWS rows are shown whole
MAX_ROWS = 16
SMALL_TABLE = (8, 10)  # rows, columns: shown in presentation mode too (larger ones fold away)
STORE_HINT = ("Nothing in it was changed. Fix it, or point `NEARID_HOME` at another folder, "
              "and reload the page.")
READONLY = ("This run store is read-only: sweeps can be browsed and exported, but not trained "
            "or cancelled.")


def scrub(text: str) -> str:
    """``text`` without the store's server path (messages of unexpected errors can hold it)."""
    raw = os.environ.get("NEARID_HOME") or ""
    for path in sorted({cache.home(), os.path.abspath(raw) if raw else "", raw}, key=len,
                       reverse=True):
        if len(path) > 1:
            text = text.replace(path, "$NEARID_HOME")
    return text


def store_message(err: StoreError) -> str:
    """What is wrong with the store, without any server path."""
    return scrub(getattr(err, "message", None) or str(err))


def page(title: str, icon: str = "🧭", *, needs_store: bool = True) -> None:
    """Page configuration, the sidebar note every page shares, and the store check.

    A store that cannot be used ends the page with one message (a page that does not need
    the store gets a warning and goes on); a read-only one gets a note in the sidebar.
    """
    from nearid_core.views.plots import use_house_template

    from . import params, present

    use_house_template()  # before any figure of the page is built: each is built 25 ms sooner
    on = st.query_params.get(present.KEY) in ("1", "true") or present.active()
    st.set_page_config(page_title=f"nearid · {title}", page_icon=icon, layout="wide",
                       initial_sidebar_state="collapsed" if on else "auto")
    params.notices()  # link warnings go here, above everything, never in a closed expander
    with st.sidebar:
        st.caption("nearid · near-identifiability of learned representations "
                   "(Nelson, Fumero, Karaletsos, Locatello, ICLR 2026).")
        st.caption(texts.ESTIMATED)
    present.setup()
    try:
        cache.sweeps()  # opens the store and reads it once: damage shows up here
    except StoreError as err:
        if needs_store:
            st.error(f"The run store cannot be used: {store_message(err)}\n\n{STORE_HINT}")
            st.stop()
        st.warning(f"The run store cannot be used: {store_message(err)}. This page does not "
                   "need it; the others do. " + STORE_HINT)
        return
    if cache.readonly():
        st.sidebar.info(READONLY)


@contextmanager
def guard(what: str = "this page") -> Iterator[None]:
    """Turn an unexpected error into a message on the page (details go to the server log)."""
    try:
        yield
    except StoreError as err:  # includes DamagedArtefact: a message, never a path
        st.error(f"Cannot show {what}: {store_message(err)}")
    except (ValueError, KeyError) as err:
        st.error(f"Cannot show {what}: {scrub(str(err))}")
    except Exception as err:  # noqa: BLE001 - the page must never show a traceback
        log.error("error while drawing %s:\n%s", what, traceback.format_exc())
        st.error(f"Something went wrong while drawing {what}: {type(err).__name__}: "
                 f"{scrub(str(err))}. Stored results are untouched; the details are in the "
                 "server log.")


def chart(fig, *, key: str, name: str) -> None:
    """A plotly chart (PNG from its camera icon) with an HTML download under it."""
    from nearid_core.views.plots import figure_html

    from . import present

    present.plot(fig, key=key, config={
        "displaylogo": False,
        "toImageButtonOptions": {"format": "png", "filename": name, "scale": 2}})
    if present.active():
        return
    st.download_button("Chart as HTML", data=lambda: figure_html(fig), file_name=f"{name}.html",
                       mime="text/html", key=f"dl_html_{key}", on_click="ignore",
                       help="A self-contained interactive page; for a PNG use the camera icon "
                            "above the chart.", icon=":material/download:")


def frame(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(rows)


def table(rows: list[dict] | pd.DataFrame, *, key: str, name: str, height: int | None = None,
          formats: dict[str, str] | None = None) -> None:
    """A table with help on every known column and a CSV download."""
    from . import present

    shape = (len(rows), len(rows.columns) if isinstance(rows, pd.DataFrame) else len(
        rows[0]) if rows else 0)
    if not present.tables_shown() and (shape[0] > SMALL_TABLE[0] or shape[1] > SMALL_TABLE[1]):
        with st.expander(f"Table: {name} (folded away in presentation mode)"):
            _table(rows, key=key, name=name, height=height, formats=formats)
        return
    _table(rows, key=key, name=name, height=height, formats=formats)


def _table(rows, *, key: str, name: str, height: int | None, formats: dict | None) -> None:
    df = rows if isinstance(rows, pd.DataFrame) else frame(rows)
    if df.empty:
        st.info("Nothing to show in this table yet.")
        return
    formats = {**FORMATS, **(formats or {})}
    config = {}
    for col in df.columns:
        helptext = texts.COLUMNS.get(col)
        if pd.api.types.is_float_dtype(df[col]):
            config[col] = st.column_config.NumberColumn(help=helptext,
                                                        format=formats.get(col, "%.4g"))
        elif helptext:
            config[col] = st.column_config.Column(help=helptext)
    if height is None and len(df) <= MAX_ROWS:
        height = ROW_PX * (len(df) + 1) + 3
    kwargs = {"height": height} if height else {}
    st.dataframe(df, column_config=config, hide_index=True, key=f"tbl_{key}", **kwargs)
    from . import present

    if present.active():
        return
    st.download_button("Table as CSV", data=df.to_csv(index=False), file_name=f"{name}.csv",
                       mime="text/csv", key=f"dl_csv_{key}", on_click="ignore",
                       icon=":material/download:")


def _json_default(o):
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, np.generic):
        return o.item()
    return str(o)


def sweep_json(view) -> str:
    """The sweep's settings, status, timings, analysis and per-model rows as JSON text:
    ``export.sweep_document``, the document of the command line's ``--json``."""
    from nearid_core.runs.export import sweep_document

    doc = sweep_document(cache.store(), view.id)
    return json.dumps(doc, indent=1, default=_json_default)


def latents_npz(view) -> bytes:
    """The sweep's export (``nearid_core.runs.export``): the same bytes as
    ``python -m nearid_core export``."""
    from nearid_core.runs.export import export_bytes

    return export_bytes(cache.store(), view.id)


def _no_npz(view) -> str:
    """Why the sweep has no NPZ export ("" when it has one)."""
    if view.data_damaged:
        return f"No NPZ: the held-out data cannot be read ({view.data_damaged})."
    if view.x_test is None:
        return "No NPZ: the held-out data of this sweep were never saved."
    return ""


def sweep_downloads(view, *, key: str) -> None:
    """Download buttons for a sweep's numbers (JSON) and arrays (NPZ, the core export)."""
    c1, c2 = st.columns(2)
    c1.download_button("Sweep numbers (JSON)", data=lambda: sweep_json(view),
                       file_name=f"nearid-{view.id}.json", mime="application/json",
                       key=f"dl_json_{key}", on_click="ignore", icon=":material/download:",
                       help="Settings, status, every model's metrics and the full analysis.")
    why = _no_npz(view)
    c2.download_button("Latents (NPZ)", data=lambda: latents_npz(view),
                       file_name=f"nearid-{view.id}.npz",
                       mime="application/octet-stream", key=f"dl_npz_{key}",
                       on_click="ignore", icon=":material/download:", disabled=bool(why),
                       help=why or "Everything needed to recompute the numbers outside "
                       "nearid: held-out x and u, every model's leak, seed, status, latents, "
                       "ICA latents and unmixing, B(z), weights, and the fit/eval split. The "
                       "same file as `python -m nearid_core export`; read it with "
                       "`nearid_core.runs.export.load` (numpy only).")
