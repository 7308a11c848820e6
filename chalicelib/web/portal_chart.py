"""The campaign report's chart: points awarded by day as an inline SVG (no script), with a value axis, each bar's
figure above it and its day under it. Heights are integers proportional to the values: the highest day fills the
plot, a day with half its points is half as tall."""

from __future__ import annotations

from dataclasses import dataclass, field

from chalicelib.schemas import CampaignDay
from chalicelib.web import portal_format
from chalicelib.web.i18n import Locale

LEFT, TOP, BOTTOM = 48, 18, 22  # room for the axis labels, the figures above bars and the days under them


@dataclass(frozen=True)
class Bar:
    x: int
    y: int
    width: int
    height: int
    day: str  # "6 дек"
    points: int
    label: str  # the figure as the language writes it


@dataclass(frozen=True)
class Tick:
    y: int
    label: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    left: int
    baseline: int
    bars: list[Bar] = field(default_factory=list)
    ticks: list[Tick] = field(default_factory=list)


def chart(days: list[CampaignDay], t: Locale, width: int = 640, plot: int = 160, gap: int = 6) -> Chart | None:
    if not days:
        return None
    top = max(d.points_awarded for d in days) or 1
    baseline = TOP + plot
    bar = max(4, min(64, (width - LEFT - gap * len(days)) // len(days)))
    bars = []
    for i, d in enumerate(days):
        h = d.points_awarded * plot // top
        x = LEFT + gap + i * (bar + gap)
        bars.append(
            Bar(x, baseline - h, bar, h, portal_format.day(t, d.date), d.points_awarded, t.group(d.points_awarded))
        )
    ticks = [Tick(baseline - value * plot // top, t.group(value)) for value in sorted({0, top // 2, top})]
    return Chart(width, baseline + BOTTOM, LEFT, baseline, bars, ticks)
