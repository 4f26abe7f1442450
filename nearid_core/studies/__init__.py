"""nearid_core.studies (see STYLE.md 'Growing the house')."""
