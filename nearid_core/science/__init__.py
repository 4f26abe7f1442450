"""Pure computation on arrays and tensors: data, models, training, B(z), alignment, ICA, metrics.

Layer of nearid_core (imports point down only: views -> runs -> studies -> engine ->
science -> config; see STYLE.md, "Growing the house").
"""
