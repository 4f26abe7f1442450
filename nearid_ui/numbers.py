"""Changes between two shown numbers, at the precision they are shown with.

A page shows "0.887 → 0.887"; its change must read 0, not "−0.000" in red or a float
residue like −1.4e-7. Both helpers round the two numbers as they are displayed first.
"""

from __future__ import annotations

import math

DIGITS = 3  # decimals of the before/after numbers on the ICA page


def change(before: float, after: float, digits: int = DIGITS) -> float:
    """``after − before`` of the two numbers rounded to ``digits`` decimals (0.0, never
    −0.0, when they display the same); NaN when either is not finite."""
    if not (math.isfinite(before) and math.isfinite(after)):
        return math.nan
    return round(round(after, digits) - round(before, digits), digits) + 0.0


def delta(before: float, after: float, digits: int = DIGITS) -> dict:
    """Keyword arguments for ``st.metric``'s delta: the rounded change with an arrow and
    colour, or a grey "no change" without either when the shown numbers are equal."""
    d = change(before, after, digits)
    if math.isnan(d):
        return {"delta": "n/a", "delta_color": "off", "delta_arrow": "off"}
    if d == 0:
        return {"delta": "no change vs before", "delta_color": "off", "delta_arrow": "off"}
    return {"delta": f"{d:+.{digits}f} vs before", "delta_color": "normal"}
