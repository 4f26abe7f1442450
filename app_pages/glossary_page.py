"""Glossary: every term the app uses, in one or two plain sentences.

A link ``Glossary?term=ID`` (every help icon has one) shows that entry first, highlighted; a
search box filters the rest by name or text.
"""

import streamlit as st

from nearid_ui import glossary, render
from nearid_ui.picker import escape_md
from nearid_ui.routing import clip

render.page("Glossary", "📖", needs_store=False)
st.title("Glossary")
st.caption("Every term the app uses, in one or two plain sentences. The help icon (?) beside "
           "a number or a setting links to the terms it uses.")

asked = (st.query_params.get(glossary.PARAM) or "").strip()
first = glossary.resolve(asked) if asked else None
if asked and first is None:
    st.warning(f"“{escape_md(clip(asked))}” is not a term of this glossary (from the link's "
               "`term=`). Here is the full list.")
if first is not None:
    term = glossary.TERMS[first]
    st.subheader(term.name, anchor=first)
    st.info(term.text, icon=":material/menu_book:")

query = st.text_input("Search the glossary", key="glossary_search",
                      placeholder="a word of a name or a definition, like rotation")
shown = [t for t in glossary.TERMS if t != first and glossary.matches(t, query)]
if not shown:
    st.info(f"No {'other ' if first else ''}term mentions “{escape_md(clip(query))}”.")
elif not query:
    st.caption(" · ".join(f"[{glossary.TERMS[t].short}](#{t})" for t in shown))
for term_id in shown:
    st.subheader(glossary.TERMS[term_id].name, anchor=term_id)
    st.markdown(glossary.TERMS[term_id].text)
