"""Driving the Playground in a real browser (Playwright): move the leak slider and time the
moment every chart shows the new leak. Shared by ``tests/e2e`` and ``bench/``.

No streamlit import: it runs in the test or benchmark process, against a served app.
"""

from __future__ import annotations

import time

SLIDER = '[data-testid="stSlider"] input[type="range"]'  # the thumb (react-aria)
THUMB_VALUE = '[data-testid="stSliderThumbValue"]'
# Every chart that depends on the leak shows it: the B(z) chart in its title, the
# error-vs-L chart in the star's legend entry. The overlay and the bars are drawn in the
# same script run, before the curve.
SHOWS_LEAK = """(want) => {
  const text = Array.from(document.querySelectorAll('.js-plotly-plot'))
    .map(e => e.textContent).join(' ');
  return text.includes(`B(z) at α = ${want} ·`) && text.includes(`(α = ${want})`);
}"""


def leak_text(leak: float) -> str:
    """How the charts print a leak (``f"{leak:g}"``)."""
    return f"{leak:g}"


def wait_for_leak(page, leak: float, timeout_ms: int = 60_000) -> None:
    """Until the Playground's charts show ``leak``."""
    page.wait_for_function(SHOWS_LEAK, arg=leak_text(leak), timeout=timeout_ms)


def slider_value(page) -> float:
    """The leak slider's value as the page shows it."""
    return float(page.locator(THUMB_VALUE).first.inner_text())


def moves(page, start: float, count: int = 10, step: float = 0.05, pause_s: float = 0.3,
          timeout_ms: int = 60_000) -> list[float]:
    """``count`` slider moves from ``start``, two steps right then two left, repeated; the
    seconds of each (``move``). Raises if a move does not end on its leak."""
    latencies, leak = [], start
    for k in range(count):
        key = "ArrowRight" if k % 4 < 2 else "ArrowLeft"
        leak = round(leak + (step if key == "ArrowRight" else -step), 2)
        latencies.append(move(page, key, leak, timeout_ms))
        if slider_value(page) != leak:
            raise AssertionError(f"the slider shows {slider_value(page)}, expected {leak}")
        time.sleep(pause_s)
    return latencies


def move(page, key: str, expect: float, timeout_ms: int = 60_000) -> float:
    """Press ``key`` ("ArrowRight", "ArrowLeft") on the focused slider and return the seconds
    from the key's release until every chart shows ``expect``."""
    thumb = page.locator(SLIDER).first
    thumb.focus()
    page.keyboard.down(key)
    page.keyboard.up(key)
    t0 = time.perf_counter()
    wait_for_leak(page, expect, timeout_ms)
    return time.perf_counter() - t0
