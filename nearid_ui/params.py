"""Widgets bound to URL query parameters, so that a link reproduces a view.

A bound widget's first value comes from the URL when the URL says something new, else from
this session's last value of it (kept across page switches), else from its default. After
the widget is drawn, ``publish`` writes its value back to the URL. Invalid URL values are
ignored with a warning at the top of the page (``notices``, called by ``render.page``
before anything else is drawn), so that a warning about a widget inside a collapsed
expander is still seen.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

_KEEP = "_keep_"  # session key prefix of the last value of each bound widget
_SENT = "_sent_"  # ... and of what was last written to the URL
_NOTES = "_link_notes"  # session key of (this run's token, the container at the page top)
SHOWN_CHARS = 60  # of a bad URL value quoted in a warning


def _run_token() -> object | None:
    # A per-run object: Streamlit gives each script run a fresh ``cursors`` dict, so a
    # container kept from an earlier run is never written to (it would overwrite whatever
    # now sits at its place).
    ctx = get_script_run_ctx()
    return None if ctx is None else ctx.cursors


def notices() -> None:
    """Reserve the top of the page for warnings about link parameters.

    Call before anything else is drawn in the main area (``render.page`` does); a page
    that does not gets the warnings where its widgets are.
    """
    st.session_state[_NOTES] = (_run_token(), st.container())


def warn(text: str) -> None:
    """A warning in the container ``notices`` reserved in this run (else in place)."""
    token, slot = st.session_state.get(_NOTES, (None, None))
    if slot is not None and token is not None and token is _run_token():
        slot.warning(text)
    else:
        st.warning(text)


def _shown(raw: str) -> str:
    return raw if len(raw) <= SHOWN_CHARS else raw[:SHOWN_CHARS] + f"… ({len(raw):,} characters)"


def _to_text(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (tuple, list)):
        return ",".join(_to_text(v) for v in value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def bind(key: str, default: Any, parse: Callable[[str], Any], *,
         options: list | tuple | None = None) -> str:
    """Prepare ``st.session_state[key]`` for a widget created with ``key=key``.

    ``parse`` turns URL text into a value and raises ValueError on bad text; ``options``
    (for choice widgets) resets a remembered value that is no longer offered. Returns the
    key, so that ``st.slider(..., key=bind("leak", 0.5, float))`` reads naturally; do not
    also pass ``value=`` to the widget.
    """
    raw = st.query_params.get(key)
    if raw is not None and raw != st.session_state.get(_SENT + key):
        try:
            value = parse(raw)
            if options is not None and value not in options:
                raise ValueError("not one of the choices offered here")
            st.session_state[key] = value
            return key
        except (ValueError, TypeError) as err:
            warn(f"Ignored `{key}={_shown(raw)}` from the link: {err}")
    if key not in st.session_state:
        st.session_state[key] = st.session_state.get(_KEEP + key, default)
    else:
        # Re-assigning makes the value the user's, not the widget's: a widget with the same
        # key on another page (a different widget id) then starts from it, not its default.
        st.session_state[key] = st.session_state[key]
    if options is not None and st.session_state[key] not in options:
        st.session_state[key] = default
    return key


def publish(key: str, value: Any | None = None) -> None:
    """Remember the widget's value for this session and write it to the URL (None or an
    empty pick leaves the URL without the parameter)."""
    value = st.session_state.get(key) if value is None else value
    st.session_state[_KEEP + key] = value
    if value is None or (isinstance(value, (list, tuple)) and not value):  # nothing picked
        st.session_state.pop(_SENT + key, None)
        forget(key)
        return
    text = _to_text(value)
    st.session_state[_SENT + key] = text
    if st.query_params.get(key) != text:
        st.query_params[key] = text


def remembered(key: str, default: Any) -> Any:
    """This session's last value of a bound widget drawn on another page."""
    return st.session_state.get(_KEEP + key, default)


def forget(key: str) -> None:
    """Drop a bound widget's URL parameter (e.g. when the widget is hidden)."""
    if key in st.query_params:
        del st.query_params[key]


# ---------------------------------------------------------------- parsers for URL text

def choice(options) -> Callable[[str], Any]:
    opts = list(options)

    def parse(text: str) -> Any:
        for o in opts:
            if _to_text(o) == text:
                return o
        raise ValueError(f"expected one of {', '.join(_to_text(o) for o in opts)}")
    return parse


def number(lo: float, hi: float, *, integer: bool = False) -> Callable[[str], Any]:
    what = "a whole number" if integer else "a number"

    def parse(text: str) -> Any:
        try:
            v = int(text) if integer else float(text)
        except ValueError:
            raise ValueError(f"expected {what} in [{lo:g}, {hi:g}]") from None
        if not lo <= v <= hi:  # NaN too
            raise ValueError(f"expected {what} in [{lo:g}, {hi:g}]")
        return v
    return parse


def number_pair(lo: float, hi: float) -> Callable[[str], tuple[float, float]]:
    def parse(text: str) -> tuple[float, float]:
        try:
            a, b = (float(t) for t in text.split(","))
        except ValueError:
            a = b = float("nan")
        if not lo <= a < b <= hi:  # NaN too
            raise ValueError(f"expected two increasing numbers in [{lo:g}, {hi:g}], like "
                             f"{lo:g},{hi:g}")
        return (a, b)
    return parse


def flag(text: str) -> bool:
    if text not in ("0", "1", "true", "false"):
        raise ValueError("expected 0 or 1")
    return text in ("1", "true")
