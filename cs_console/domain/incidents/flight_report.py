"""The post-mortem's "what the console saw" section, drawn from the flight recording (pure).

Markdown: text sparklines of the key metrics over the incident window, the alerts and
source outages in time order, error-log counts per minute and the runbook steps with
their outcomes. SVG: the same key metrics as small line charts, written beside the
Markdown when the export goes to a file (hand-written SVG: no plotting dependency).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from xml.sax.saxutils import escape

from cs_console.domain.metrics import METRIC_BY_KEY
from cs_console.domain.safe_text import safe_text
from cs_console.domain.sparkline import sparkline

KEY_METRICS: tuple[str, ...] = (
    "db.connections.pct", "db.error_rate_pct", "db.query_avg_ms", "api.p95_ms", "api.error_rate_pct",
    "fn.error_rate_pct", "host.cpu_pct", "host.memory_pct",
)
SPARK_WIDTH = 40
MAX_ROWS = 200  # per table: a runaway incident still gives a readable document


@dataclass
class FlightData:
    start: datetime
    end: datetime
    series: dict[str, list[tuple[datetime, float]]] = field(default_factory=dict)
    alerts: list[tuple[datetime, str, str, str]] = field(default_factory=list)  # at, raised|resolved, class, title
    sources: list[tuple[datetime, str, str, str]] = field(default_factory=list)  # at, name, state, detail
    log_minutes: list[tuple[datetime, int, int, int]] = field(default_factory=list)  # minute, errors, warnings, all
    steps: list[tuple[datetime, str, str, str, str]] = field(default_factory=list)  # at, runbook, step, outcome, detail
    dropped: int = 0  # frames the recording left out over its hourly budget

    @property
    def span_s(self) -> float:
        return max((self.end - self.start).total_seconds(), 1.0)


def _cell(text: object) -> str:
    return safe_text(str(text), 300).replace("|", "\\|").replace("\n", " ")


def _fmt(value: float, unit: str) -> str:
    if unit == "%":
        return f"{value:.1f} %"
    if unit == "ms":
        return f"{value:,.0f} ms"
    return f"{value:,.1f}"


def _label(key: str) -> tuple[str, str]:
    d = METRIC_BY_KEY.get(key)
    return (d.label, d.unit) if d is not None else (key, "")


def render_markdown(data: FlightData, svg_name: str | None = None) -> str:
    out = ["## What the console saw (flight recording)", ""]
    out.append(f"Recorded {data.start:%Y-%m-%d %H:%M:%S} to {data.end:%H:%M:%S} UTC"
               f" ({int(data.span_s // 60)} min; replay it with `cs-console replay`).")
    if data.dropped:
        out.append(f"The recording left out {data.dropped} frame(s) over its hourly size budget.")
    out.append("")
    out.append("### Key metrics")
    out.append("")
    shown = [k for k in KEY_METRICS if data.series.get(k)]
    if shown:
        out.append(f"| Metric | {data.start:%H:%M} → {data.end:%H:%M} | min | max | last |")
        out.append("|---|---|---|---|---|")
        for key in shown:
            points = data.series[key]
            label, unit = _label(key)
            values = [v for _, v in points]
            line = sparkline(points, data.end, data.span_s, SPARK_WIDTH).replace(" ", "·")
            out.append(f"| {label} | `{line}` | {_fmt(min(values), unit)} | {_fmt(max(values), unit)} | {_fmt(values[-1], unit)} |")
        if svg_name:
            out.append("")
            out.append(f"![Key metrics over the incident window]({svg_name})")
    else:
        out.append("_No metrics were recorded in this window._")
    out.append("")
    out.append("### Alerts and source outages")
    out.append("")
    events = [(at, f"{cls.upper()} alert {'raised' if ev == 'raised' else 'cleared'}: {title}") for at, ev, cls, title in data.alerts]
    events += [(at, f"source {name} {state}" + (f": {detail}" if detail else "")) for at, name, state, detail in data.sources]
    events.sort(key=lambda e: e[0])
    if events:
        out.append("| Time (UTC) | Event |")
        out.append("|---|---|")
        out += [f"| {at:%H:%M:%S} | {_cell(what)} |" for at, what in events[:MAX_ROWS]]
        if len(events) > MAX_ROWS:
            out.append(f"| … | {len(events) - MAX_ROWS} more in the recording |")
    else:
        out.append("_No alert and no source change in this window._")
    out.append("")
    out.append("### Error logs per minute")
    out.append("")
    busy = [m for m in data.log_minutes if m[1] or m[2]]
    if busy:
        points = [(m, float(e)) for m, e, _w, _a in data.log_minutes]
        out.append(f"Errors: `{sparkline(points, data.end, data.span_s, SPARK_WIDTH).replace(' ', '·')}`")
        out.append("")
        out.append("| Minute (UTC) | Errors | Warnings | All records |")
        out.append("|---|---|---|---|")
        out += [f"| {m:%H:%M} | {e} | {w} | {a} |" for m, e, w, a in busy[:MAX_ROWS]]
    else:
        out.append("_No warning or error log record was recorded._")
    out.append("")
    out.append("### Runbook steps")
    out.append("")
    if data.steps:
        out.append("| Time (UTC) | Runbook | Step | Outcome | Detail |")
        out.append("|---|---|---|---|---|")
        out += [f"| {at:%H:%M:%S} | {_cell(rb)} | {_cell(step)} | {_cell(outcome)} | {_cell(detail)} |" for at, rb, step, outcome, detail in data.steps[:MAX_ROWS]]
    else:
        out.append("_No runbook step ran while recording._")
    out.append("")
    return "\n".join(out)


# ---------------------------------------------------------------- SVG

_W, _ROW_H, _PAD, _LABEL_W = 640, 56, 8, 170
_COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf", "#7f7f7f")


def _thin(points: list[tuple[datetime, float]], most: int = 480) -> list[tuple[datetime, float]]:
    """At most `most` points (every k-th, the last kept): a chart 470 px wide shows no more."""
    if len(points) <= most:
        return points
    k = -(-len(points) // most)
    return points[::k] + ([points[-1]] if (len(points) - 1) % k else [])


def render_svg(data: FlightData) -> str:
    """One small line chart per key metric, alert onsets as red ticks; plain SVG 1.1."""
    shown = [k for k in KEY_METRICS if data.series.get(k)]
    height = _PAD * 2 + 18 + _ROW_H * max(len(shown), 1)
    plot_w = _W - _LABEL_W - _PAD * 2
    span = data.span_s

    def x(at: datetime) -> float:
        return _LABEL_W + _PAD + (at - data.start).total_seconds() / span * plot_w

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_W}" height="{height}" viewBox="0 0 {_W} {height}" font-family="sans-serif" font-size="11">',
        f'<rect width="{_W}" height="{height}" fill="#ffffff"/>',
        f'<text x="{_PAD}" y="{_PAD + 11}" font-weight="bold">{escape(f"{data.start:%Y-%m-%d %H:%M} – {data.end:%H:%M} UTC")}</text>',
    ]
    onsets = [at for at, ev, _c, _t in data.alerts if ev == "raised" and data.start <= at <= data.end]
    for i, key in enumerate(shown):
        top = _PAD + 18 + i * _ROW_H
        label, unit = _label(key)
        points = _thin([(at, v) for at, v in data.series[key] if data.start <= at <= data.end])
        if not points:
            continue
        lo, hi = min(v for _, v in points), max(v for _, v in points)
        rng = hi - lo or 1.0

        def y(v: float) -> float:
            return top + _ROW_H - 10 - (v - lo) / rng * (_ROW_H - 20)

        parts.append(f'<text x="{_PAD}" y="{top + 22}">{escape(label)}</text>')
        parts.append(f'<text x="{_PAD}" y="{top + 36}" fill="#666666">{escape(_fmt(lo, unit))} – {escape(_fmt(hi, unit))}</text>')
        parts.append(f'<line x1="{_LABEL_W + _PAD}" y1="{top + _ROW_H - 10}" x2="{_W - _PAD}" y2="{top + _ROW_H - 10}" stroke="#dddddd"/>')
        for at in onsets:
            parts.append(f'<line x1="{x(at):.1f}" y1="{top + 6}" x2="{x(at):.1f}" y2="{top + _ROW_H - 10}" stroke="#e8a0a0" stroke-dasharray="2,2"/>')
        path = " ".join(f"{x(at):.1f},{y(v):.1f}" for at, v in points)
        parts.append(f'<polyline fill="none" stroke="{_COLORS[i % len(_COLORS)]}" stroke-width="1.5" points="{path}"/>')
    if not shown:
        parts.append(f'<text x="{_PAD}" y="{_PAD + 40}">No metrics were recorded in this window.</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"
