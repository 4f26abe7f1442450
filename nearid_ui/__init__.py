"""The Streamlit side of nearid: cached core calls, widgets bound to the URL, rendering.

The only package (besides ``app_pages/``) that imports streamlit; pages stay thin: widgets ->
config -> one cached core call -> render.
"""
