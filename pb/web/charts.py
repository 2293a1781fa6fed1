"""Server-drawn bar charts (SVG), shared by the results and impact pages.

The template side is the ``bar_chart`` macro of ``templates/_charts.html``: one labelled bar per
row, drawn at its natural size (1 SVG unit = 1 px, :data:`CHART_WIDTH` wide, 36 px a row) so it
never grows with the window and only shrinks to fit a phone; the page puts the same numbers in
a table beside it. A bar is anything with ``title``, ``width`` (0–:data:`CHART_WIDTH`) and
``funded`` (drawn in the strong colour)."""

from __future__ import annotations

from dataclasses import dataclass

CHART_WIDTH = 300  # SVG user units; bars scale to it


def scaled(value: int, top: int) -> int:
    """``value``'s bar width when ``top`` fills the chart (a zero top draws nothing)."""
    return round(CHART_WIDTH * value / top) if top > 0 else 0


@dataclass(frozen=True)
class ChartBar:
    title: str
    width: int
    funded: bool  # drawn in the strong colour
    value: int  # the number the bar stands for (the caller labels it)
