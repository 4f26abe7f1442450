"""The run store, the background runner, imports of users' files and exports.

Layer of nearid_core (imports point down only: views -> runs -> studies -> engine ->
science -> config; see STYLE.md, "Growing the house").
"""
