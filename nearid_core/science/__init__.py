"""nearid_core.science (see STYLE.md 'Growing the house')."""
