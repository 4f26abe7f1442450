"""nearid_core.runs (see STYLE.md 'Growing the house')."""
