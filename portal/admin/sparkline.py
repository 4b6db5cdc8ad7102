"""A probe's recent results as a small inline SVG, drawn on the server: the
latency as a line scaled to the largest latency shown, and one mark per
result along the bottom, green when it passed and red when it failed."""

from __future__ import annotations

from collections.abc import Sequence

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from hubs.models import ProbeResult

WIDTH, HEIGHT, MARK = 180, 36, 5


def sparkline_svg(results: Sequence[ProbeResult]) -> SafeString:
    if not results:
        return format_html('<span class="muted">{}</span>', "no results")
    step = WIDTH / max(len(results), 1)
    top = max(result.latency_ms for result in results) or 1.0
    plot = HEIGHT - MARK - 2
    points = " ".join(
        f"{index * step + step / 2:.1f},{plot - result.latency_ms / top * (plot - 2) + 1:.1f}"
        for index, result in enumerate(results)
    )
    marks = format_html_join(
        "",
        '<rect class="sparkline__{}" x="{}" y="{}" width="{}" height="{}" fill="{}"><title>{}</title></rect>',
        (
            (
                "ok" if result.ok else "fail",
                f"{index * step:.1f}",
                HEIGHT - MARK,
                f"{max(step - 1, 1):.1f}",
                MARK,
                "#2e7d32" if result.ok else "#c62828",
                f"{result.at:%H:%M:%S} UTC: {'ok' if result.ok else 'failed'}, {result.latency_ms:.0f} ms",
            )
            for index, result in enumerate(results)
        ),
    )
    failed = sum(1 for result in results if not result.ok)
    return format_html(
        '<svg class="sparkline" xmlns="http://www.w3.org/2000/svg" width="{}" height="{}" viewBox="0 0 {} {}" '
        'role="img" aria-label="{}">'
        '<polyline fill="none" stroke="#1565c0" stroke-width="1.2" points="{}"/>{}</svg>',
        WIDTH,
        HEIGHT,
        WIDTH,
        HEIGHT,
        f"Last {len(results)} results, {failed} failed, latency up to {top:.0f} ms",
        points,
        marks,
    )
