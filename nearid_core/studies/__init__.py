"""One module per study, each config -> results: the warm-up sweep and its analysis, compare, realdata.

Layer of nearid_core (imports point down only: views -> runs -> studies -> engine ->
science -> config; see STYLE.md, "Growing the house").
"""
