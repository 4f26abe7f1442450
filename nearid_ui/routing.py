"""What app.py does before it runs a page: unknown URLs, overlong link parameters.

Streamlit answers an unknown path (``/nonexistentpage``) by running the default page under
a dismissable dialog, which leaves a user on Home without saying so in the page. nearid
sends such a request to a hidden not-found page that names the path and links every page.
The redirect uses Streamlit's page intent (``ScriptRunContext.pages_manager``); if a later
Streamlit moves it, the redirect is skipped and Streamlit's own dialog remains.
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

NOT_FOUND = "notfound"  # url_path of the hidden not-found page
UNKNOWN_KEY = "_nearid_unknown_path"
MAX_PARAM = 64  # no setting's text is longer (12 leaks as text are under 60 characters)
ECHO = 40  # characters of a rejected value repeated in a warning


def clip(text: str, chars: int = ECHO) -> str:
    """``text`` cut to ``chars`` characters (with an ellipsis) for echoing in a message."""
    return text if len(text) <= chars else text[:chars] + "…"


def _pages_manager():
    try:
        from streamlit.runtime.scriptrunner import get_script_run_ctx

        ctx = get_script_run_ctx()
        return getattr(ctx, "pages_manager", None)
    except ImportError:  # a Streamlit without this API: keep its own behaviour
        return None


def target(asked: str, known: set[str]) -> str | None:
    """Where a request for the URL path ``asked`` should go: None to leave it (a known
    page, or the root), "" for Home (``/home``: Streamlit knows the default page only as
    "/"), else the not-found page."""
    if not asked or asked in known:
        return None
    return "" if asked == "home" else NOT_FOUND


def redirect_unknown(pages: list) -> None:
    """Before ``st.navigation``: point a request for an unknown URL path at the hidden
    not-found page, remembering the path for its message."""
    pm = _pages_manager()
    if pm is None or getattr(pm, "intended_page_script_hash", None):
        return  # a click inside the app names its page by hash: always known
    asked = getattr(pm, "intended_page_name", None) or ""
    to = target(asked, {p.url_path for p in pages})
    if to is None:
        return
    if to == NOT_FOUND:
        st.session_state[UNKNOWN_KEY] = asked
    pm.set_script_intent("", to)


def not_found_page(pages: list) -> Callable[[], None]:
    """The not-found page (for ``st.Page``): the requested path, and a link to each of
    ``pages``."""
    def notfound() -> None:
        from . import render

        render.page("Page not found", "❓", needs_store=False)
        path = st.session_state.pop(UNKNOWN_KEY, "")
        st.title("Page not found")
        what = f"`/{clip(path)}`" if path else "This address"
        st.error(f"{what} is not a page of nearid, so nothing was run. Pick a page:")
        for page in pages:
            st.page_link(page, label=page.title, icon=page.icon)
    return notfound


def drop_long_params() -> None:
    """Remove link parameters longer than any setting, with one short warning each (the
    value is not echoed past ``ECHO`` characters)."""
    for key in list(st.query_params):
        value = st.query_params.get(key) or ""
        if len(value) > MAX_PARAM or len(key) > MAX_PARAM:
            st.warning(f"Ignored `{clip(key)}={clip(value)}` from the link: "
                       f"{len(value):,} characters, longer than any setting.")
            del st.query_params[key]


LESSON_PAGE = "app_pages/lesson_page.py"


def lesson_mode(page) -> None:
    """``?lesson=1`` on any page opens the guided lesson (at ``?step=``, in presentation
    mode when ``?present=1``), so "nearid…/?lesson=1" is the link to give a class."""
    if st.query_params.get("lesson") not in ("1", "true") or page.url_path == "Lesson":
        return
    keep = {k: st.query_params[k] for k in ("step", "present", "case") if k in st.query_params}
    st.switch_page(LESSON_PAGE, query_params=keep)
