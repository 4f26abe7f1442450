"""The guided lesson: near-identifiability in six steps, from the data to where ICA fails.
Each step's "what to notice" line is computed from the data it shows."""

import streamlit as st

from nearid_ui import lesson, render

render.page("Lesson", "🎓")
k = lesson.step()
st.title(f"{k}. {lesson.lesson.STEPS[k - 1].title}")
sweeps = lesson.sweeps(start=True)
with render.guard("this step of the lesson"):
    lesson.body(k, sweeps)
lesson.navigation(k, "bottom")
