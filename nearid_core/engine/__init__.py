"""Where work runs: local process pools, process lifecycle, fault hooks, the resource budget.

Layer of nearid_core (imports point down only: views -> runs -> studies -> engine ->
science -> config; see STYLE.md, "Growing the house").
"""
