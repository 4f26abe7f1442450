"""Read-side views of stored runs, plotly figures and the HTML report.

Layer of nearid_core (imports point down only: views -> runs -> studies -> engine ->
science -> config; see STYLE.md, "Growing the house").
"""
