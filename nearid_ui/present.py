"""Presentation mode (``?present=1``, or the sidebar toggle): for a projector at 1024×768.

The sidebar starts collapsed, text and chart fonts are larger (tick labels 16 px, titles
20 px), markers bigger, captions and dense tables are left out, and the page's top
padding shrinks so that the main chart sits above the fold. The mode follows the session
from page to page and stays in every URL, so a link to a slide keeps it.
"""

from __future__ import annotations

import streamlit as st

from .params import bind, flag, forget, publish

KEY = "present"
TICK_PX = 16  # the floor for tick labels on a projector
FONT_PX = 18
TITLE_PX = 20
MARKER_SCALE = 1.6
MAX_HEIGHT = 450  # px: a main chart under one row of controls ends above 768 px
CSS = """
<style>
.block-container {padding-top: 1.2rem !important; padding-bottom: 1rem !important;}
[data-testid="stMainBlockContainer"] {padding-top: 1.2rem !important;}
.stMarkdown p, .stMarkdown li {font-size: 1.2rem !important;}
[data-testid="stCaptionContainer"] {display: none !important;}
h1 {font-size: 2.0rem !important; padding: 0.2rem 0 !important;}
[data-testid="stHeader"] {background: transparent !important;}
[data-testid="stElementToolbar"] {display: none !important;}
</style>
"""
CONFIG = {"displaylogo": False}


def active() -> bool:
    """Whether this session is in presentation mode (``setup`` read the URL already)."""
    return bool(st.session_state.get(KEY, False))


def setup() -> bool:
    """Read ``?present=`` (and this session's choice), keep it in the URL, style the page.

    Call once per page run, after ``st.set_page_config``; returns whether the mode is on.
    """
    bind(KEY, False, flag)
    st.sidebar.toggle("Presentation mode", key=KEY,
                      help="For a projector at 1024×768: larger fonts and markers, no "
                           "captions or dense tables, the main chart first. Same as `?present=1`.")
    on = active()
    publish(KEY)
    if not on:
        forget(KEY)  # no "present=0" in every link
    if on:
        st.html(CSS)
    return on


def style(fig):
    """``fig`` with projector fonts and markers, at most ``MAX_HEIGHT`` tall so that it fits
    under the page's controls at 768 px (a copy: cached figures stay as they are)."""
    import plotly.graph_objects as go

    fig = go.Figure(fig)
    fig.update_layout(font={"size": FONT_PX}, title_font_size=TITLE_PX,
                      legend_font_size=TICK_PX,
                      height=min(fig.layout.height or MAX_HEIGHT, MAX_HEIGHT))
    fig.update_xaxes(tickfont_size=TICK_PX, title_font_size=FONT_PX)
    fig.update_yaxes(tickfont_size=TICK_PX, title_font_size=FONT_PX)
    # Log axes label the digits between decades in a smaller font: decades only.
    fig.update_xaxes(dtick=1, selector={"type": "log"})
    fig.update_yaxes(dtick=1, selector={"type": "log"})
    fig.update_annotations(font_size=FONT_PX)
    if (fig.layout.margin.l or 60) >= 60:  # a visible y-axis title: room for larger text
        fig.update_layout(margin_l=85)
    axis = {"tickfont": {"size": TICK_PX}, "title": {"font": {"size": FONT_PX}}}
    fig.update_scenes(xaxis=axis, yaxis=axis, zaxis=axis)  # 3-D charts (the Data page)
    for trace in fig.data:
        marker = getattr(trace, "marker", None)
        size = getattr(marker, "size", None) if marker is not None else None
        if isinstance(size, (int, float)):
            marker.size = size * MARKER_SCALE
    return fig


CHARTED = "_charted"  # session flag: this browser session has drawn a chart (has plotly.js)


def plot(fig, *, key: str, config: dict | None = None, styled: bool = False) -> None:
    """``st.plotly_chart`` in the house style, restyled in presentation mode (unless the
    caller did it already: ``styled``)."""
    st.session_state[CHARTED] = True
    st.plotly_chart(style(fig) if active() and not styled else fig, key=key,
                    config=config or CONFIG)


def folded(label: str):
    """A container for settings: folded away in an expander in presentation mode (so the
    main chart comes first), in place otherwise."""
    return st.expander(label) if active() else st.container()


def tables_shown() -> bool:
    """Dense tables are left out in presentation mode."""
    return not active()
