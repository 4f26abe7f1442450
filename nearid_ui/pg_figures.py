"""The Playground's charts, built once per (sweep version, leak, pair, colour, mode) and kept
in this server process; after each draw the neighbouring leaks are built in a background
thread, so the next slider step finds its charts ready (a step then costs the server only
the serialisation of four small figures).

Plain Python (no streamlit calls): the prefetch thread has no script context. Figures are
read-only once built: ``st.plotly_chart`` copies a figure (``to_dict``) before sending it.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict

from nearid_core.views import playground as scenes
from nearid_core.views.ident_views import error_curves
from nearid_core.views.plots_playground import scene_figures
from nearid_core.views.results import SweepView

log = logging.getLogger("nearid.app")
MAX_ENTRIES = 160  # a few hundred kB each: 20 leaks x several pairs, colours and modes
NEIGHBOURS = (1, -1, 2, -2)  # slider steps prefetched after each draw, nearest first
_CACHE: OrderedDict = OrderedDict()
_LOCK = threading.Lock()
_PREFETCHING = threading.Lock()  # one prefetch thread at a time


def _remember(key, make):
    with _LOCK:
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return _CACHE[key]
    value = make()
    with _LOCK:
        _CACHE[key] = value
        while len(_CACHE) > MAX_ENTRIES:
            _CACHE.popitem(last=False)
    return value


def curves(view: SweepView, kind: str):
    """The view's error-vs-L curves (L_max_max), kept per sweep version."""
    return _remember(("curves", view.id, view.updated_at, kind),
                     lambda: error_curves(view, kind=kind, L_kind="L_max_max"))


def figures(view: SweepView, grid: SweepView, leak: float, pair: str, factor: int,
            style=None) -> tuple[scenes.Scene, dict]:
    """(scene, charts) of ``leak`` and ``pair`` in ``view``, with ``grid``'s curve; ``style``
    (e.g. ``present.style``) is applied to every chart and is part of the key: a styled
    set is for a projector, with the overlay's tiles in one row."""
    key = ("figs", view.id, view.updated_at, grid.id, grid.updated_at, leak, pair, factor,
           getattr(style, "__qualname__", None))

    def make():
        sc = scenes.scene(view, leak, pair, factor=factor)
        figs = scene_figures(sc, curves(grid, sc.view), wide=style is not None)
        return sc, ({k: style(f) for k, f in figs.items()} if style else figs)
    return _remember(key, make)


def prefetch(grid: SweepView, leak: float, pair: str, factor: int, style=None) -> None:
    """Build the charts of the grid leaks next to ``leak`` in a daemon thread (if none
    runs); exact one-leak sweeps are built when shown."""
    leaks = sorted({*grid.leaks, leak})
    i = leaks.index(leak)
    todo = [leaks[i + d] for d in NEIGHBOURS if 0 <= i + d < len(leaks)]
    if not todo or not _PREFETCHING.acquire(blocking=False):
        return

    def run() -> None:
        try:
            for a in todo:
                figures(grid, grid, a, pair, factor, style)
        except Exception:  # noqa: BLE001 - a failed prefetch is redrawn (and reported) on use
            log.debug("playground prefetch failed", exc_info=True)
        finally:
            _PREFETCHING.release()
    threading.Thread(target=run, name="nearid-playground-prefetch", daemon=True).start()
