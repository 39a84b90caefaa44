"""Bar charts as inline SVG: no script, no network, readable on a screen and on paper.

Every chart has a title, labelled axes (class `x-label` and `y-label`), tick values and a
legend, and scales to its container (viewBox, width 100%).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH, HEIGHT = 720, 280
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 40, 56


@dataclass(frozen=True)
class Series:
    name: str
    color: str
    values: Sequence[int]


def _ticks(top: int) -> list[int]:
    """0 and about four round steps up to at least `top`."""
    if top <= 0:
        return [0, 1]
    raw = top / 4
    magnitude = 10 ** math.floor(math.log10(raw)) if raw >= 1 else 1
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    return list(range(0, top + step, step)) if top % step else list(range(0, top + 1, step))


def bar_chart(
    title: str,
    categories: Sequence[str],
    series: Sequence[Series],
    x_label: str,
    y_label: str,
    stacked: bool,
) -> Markup:
    """One SVG bar chart: a group of bars per category, one bar per series, or one stacked
    bar when `stacked`; the y axis runs from 0 to the first round tick at or above the
    tallest bar. Text is escaped; each bar has a tooltip with its category, series and
    value."""
    totals = [
        sum(s.values[i] for s in series)
        if stacked
        else max((s.values[i] for s in series), default=0)
        for i in range(len(categories))
    ]
    ticks = _ticks(max(totals, default=0))
    top = ticks[-1]
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    y = lambda v: TOP + plot_h - v / top * plot_h  # noqa: E731
    slot = plot_w / max(len(categories), 1)
    bar_w = slot * 0.6 / (1 if stacked else max(len(series), 1))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="100%" role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
    ]
    for t in ticks:
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(t):.1f}" y2="{y(t):.1f}" class="grid"/>'
            f'<text x="{LEFT - 8}" y="{y(t) + 4:.1f}" class="tick" text-anchor="end">{t}</text>'
        )
    for i, category in enumerate(categories):
        x0 = LEFT + i * slot + slot * 0.2
        base = 0
        for k, s in enumerate(series):
            value = s.values[i]
            if not value:
                continue
            x = x0 if stacked else x0 + k * bar_w
            low = base if stacked else 0
            parts.append(
                f'<rect x="{x:.1f}" y="{y(low + value):.1f}" width="{bar_w:.1f}" '
                f'height="{y(low) - y(low + value):.1f}" fill="{s.color}">'
                f"<title>{escape(category)} {escape(s.name)}: {value}</title></rect>"
            )
            if stacked:
                base += value
        parts.append(
            f'<text x="{LEFT + (i + 0.5) * slot:.1f}" y="{TOP + plot_h + 18}" class="tick" '
            f'text-anchor="middle">{escape(category)}</text>'
        )
    parts += [
        f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{TOP + plot_h}" y2="{TOP + plot_h}" '
        'class="axis"/>',
        f'<line x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{TOP + plot_h}" class="axis"/>',
        f'<text x="{LEFT + plot_w / 2:.1f}" y="{HEIGHT - 12}" class="axis-label x-label" '
        f'text-anchor="middle">{escape(x_label)}</text>',
        f'<text transform="translate(16 {TOP + plot_h / 2:.1f}) rotate(-90)" '
        f'class="axis-label y-label" text-anchor="middle">{escape(y_label)}</text>',
    ]
    x = LEFT
    for s in series:
        parts.append(
            f'<rect x="{x}" y="12" width="12" height="12" fill="{s.color}"/>'
            f'<text x="{x + 16}" y="22" class="legend">{escape(s.name)}</text>'
        )
        x += 24 + 8 * len(s.name)
    parts.append("</svg>")
    return Markup("".join(parts))
