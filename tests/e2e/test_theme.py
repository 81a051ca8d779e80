"""Dark theme from Streamlit's own main menu: the page and the Plotly charts both turn dark."""

from __future__ import annotations

import contextlib

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from .conftest import (
    SLOW_MS,
    assert_no_exception,
    open_app,
    plotly_charts,
    shot,
    wait_for_trace,
    wait_idle,
)

pytestmark = pytest.mark.e2e

_BACKGROUND_JS = """(el) => {
  for (let node = el; node; node = node.parentElement) {
    const bg = getComputedStyle(node).backgroundColor;
    if (bg && !/rgba\\(.*,\\s*0\\)$/.test(bg) && bg !== 'transparent') return bg;
  }
  return getComputedStyle(document.body).backgroundColor;
}"""


def luminance(colour: str) -> float:
    """Relative brightness 0..1 of a CSS ``rgb()/rgba()`` or ``#rrggbb`` colour."""
    colour = {"white": "#ffffff", "black": "#000000"}.get(
        colour.strip().lower(), colour.strip().lower()
    )
    if colour.startswith("#"):
        hexes = colour[1:]
        if len(hexes) == 3:
            hexes = "".join(c * 2 for c in hexes)
        r, g, b = (int(hexes[i : i + 2], 16) for i in (0, 2, 4))
    else:
        r, g, b = (float(v) for v in colour[colour.index("(") + 1 : -1].split(",")[:3])
    return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255


def transparent(colour: str | None) -> bool:
    c = (colour or "").replace(" ", "").lower()
    return not c or c == "transparent" or (c.startswith("rgba(") and c.endswith(",0)"))


def chart_backgrounds(page) -> list[str]:
    """The colour each chart's paper shows: its own, or what shines through when transparent."""
    result = []
    for i, chart in enumerate(plotly_charts(page)):
        if transparent(chart["paper_bgcolor"]):
            el = page.locator(".js-plotly-plot").nth(i)
            result.append(el.evaluate(_BACKGROUND_JS))
        else:
            result.append(chart["paper_bgcolor"])
    return result


def choose_dark_in_menu(page) -> bool:
    """Pick "Dark" in Streamlit's main menu; False when the app shows no such menu."""
    menu = page.locator('[data-testid="stMainMenu"] button, [data-testid="stMainMenuButton"]')
    try:
        menu.first.click(timeout=5_000)
        page.locator('[data-testid="stMainMenuItem-theme-Dark"]').click(timeout=5_000)
    except PlaywrightTimeout:
        return False
    return True


def test_dark_theme_turns_page_and_charts_dark(page, app_url):
    """Choosing "Dark" (in the main menu, or in the OS where the app hides that menu) darkens the
    app background and every Plotly chart."""
    open_app(page, app_url, "anomaly_detection", "Anomaly detection", SLOW_MS)
    wait_for_trace(page, "Anomalies", timeout=SLOW_MS)
    wait_idle(page, SLOW_MS)
    app = page.locator('[data-testid="stApp"]')
    light_bg = app.evaluate(_BACKGROUND_JS)
    assert luminance(light_bg) > 0.5, f"expected the light theme first, got {light_bg}"

    if not choose_dark_in_menu(page):
        # toolbarMode "minimal" hides the menu: the theme then follows the OS ("Use system
        # setting"), so a dark OS is how a user gets the dark theme.
        page.emulate_media(color_scheme="dark")
    page.wait_for_function(
        """() => { const m = getComputedStyle(document.querySelector('[data-testid="stApp"]'))
                     .backgroundColor.match(/\\d+/g).map(Number);
                   return (0.2126 * m[0] + 0.7152 * m[1] + 0.0722 * m[2]) / 255 < 0.3; }"""
    )
    page.keyboard.press("Escape")  # close the menu before the screenshot
    with contextlib.suppress(PlaywrightTimeout):  # the asserts below say what stayed light
        page.wait_for_function(
            """() => [...document.querySelectorAll('.js-plotly-plot')].every((el) => {
              const c = (el._fullLayout || {}).font ? el._fullLayout.font.color : '';
              const m = (c.match(/\\d+/g) || [0, 0, 0]).map(Number);
              const hex = c.startsWith('#') ? [1, 3, 5].map((i) => parseInt(c.slice(i, i + 2), 16)) : m;
              return (0.2126 * hex[0] + 0.7152 * hex[1] + 0.0722 * hex[2]) / 255 > 0.5; })""",
            timeout=15_000,
        )
    wait_idle(page)
    shot(page, "dark_theme")

    assert luminance(app.evaluate(_BACKGROUND_JS)) < 0.3
    backgrounds = chart_backgrounds(page)
    assert backgrounds, "no Plotly chart on the page"
    bright = [bg for bg in backgrounds if luminance(bg) >= 0.3]
    assert not bright, f"charts still light in the dark theme: {backgrounds}"
    fonts = [c["font_color"] for c in plotly_charts(page)]
    assert all(f and luminance(f) > 0.5 for f in fonts), f"chart text not light: {fonts}"
    assert_no_exception(page)
