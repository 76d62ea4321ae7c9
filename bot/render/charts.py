"""Charts as SVG markup to inline in an HTML page, drawn by matplotlib.

Only the object-oriented `Figure` is used, never pyplot: no GUI backend is ever
loaded and no global figure state is kept between charts. Text stays text
(`svg.fonttype` 'none': the viewer's own sans-serif draws it, nothing is embedded
or fetched), math parsing is off (a `$` in a name is a dollar sign), and the hash
salt is fixed so that the same figures give the same page.

Each chart's ids get a prefix of their own: matplotlib numbers `figure_1`,
`axes_1`… in every file, and several SVGs inlined in one page must not share ids.
The XML prolog, the DOCTYPE (which names a URL) and the namespace declarations
(which an HTML parser supplies for inline SVG) are dropped, so the markup holds no
URL at all.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Sequence
from html import escape

import matplotlib
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

WIDTH = 9.0  # inches; the page scales the SVG to its column
HEIGHT = 3.4
_RC = {
    "svg.fonttype": "none",
    "svg.hashsalt": "cm-coach",
    "text.parse_math": False,
    "font.size": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "axes.axisbelow": True,
    "grid.color": "#dddddd",
    "grid.linewidth": 0.6,
    "legend.frameon": False,
}
_NO_METADATA = {"Creator": None, "Date": None, "Format": None, "Type": None}
_ID = re.compile(r'\bid="([^"]+)"')
_URL_REF = re.compile(r"url\(#([^)]+)\)")
_HREF = re.compile(r'href="#([^"]+)"')
_NAMESPACE = re.compile(r'\s+xmlns(?::\w+)?="[^"]*"')


def svg_markup(figure: Figure, key: str, label: str) -> str:
    """The figure as an inline <svg> with ids prefixed by `key` and `label` as its
    accessible name."""
    out = io.StringIO()
    with matplotlib.rc_context(_RC):
        figure.savefig(out, format="svg", metadata=_NO_METADATA, bbox_inches="tight")
    text = out.getvalue()
    text = text[text.index("<svg"):]
    text = re.sub(r"<metadata>.*?</metadata>\s*", "", text, flags=re.DOTALL)
    text = _NAMESPACE.sub("", text)
    text = _ID.sub(lambda m: f'id="{key}-{m.group(1)}"', text)
    text = _URL_REF.sub(lambda m: f"url(#{key}-{m.group(1)})", text)
    text = _HREF.sub(lambda m: f'href="#{key}-{m.group(1)}"', text)
    return text.replace("<svg", f'<svg role="img" aria-label="{escape(label)}"', 1).strip()


def _figure(height: float = HEIGHT) -> Figure:
    with matplotlib.rc_context(_RC):
        figure = Figure(figsize=(WIDTH, height), layout="constrained")
        figure.add_subplot()
    return figure


def _week_axis(figure: Figure, weeks: Sequence[str]) -> None:
    """One tick per week, thinned so that the labels never overlap."""
    ax = figure.axes[0]
    step = max(1, math.ceil(len(weeks) / 16))
    ax.set_xticks(range(0, len(weeks), step), [weeks[i] for i in range(0, len(weeks), step)],
                  rotation=45 if len(weeks) > 6 else 0, ha="right" if len(weeks) > 6 else "center")
    ax.set_xlim(-0.6, len(weeks) - 0.4)
    ax.grid(axis="x", visible=False)


def stacked_bars(key: str, label: str, weeks: Sequence[str],
                 series: Sequence[tuple[str, Sequence[int], str]], ylabel: str) -> str:
    """One bar per week, a segment per series: (name, counts per week, colour)."""
    with matplotlib.rc_context(_RC):
        figure = _figure()
        ax = figure.axes[0]
        bottom = [0] * len(weeks)
        for name, counts, colour in series:
            ax.bar(range(len(weeks)), counts, bottom=bottom, color=colour, label=name, width=0.7)
            bottom = [b + c for b, c in zip(bottom, counts, strict=True)]
        ax.set_ylabel(ylabel)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylim(0, max([*bottom, 1]) * 1.1)
        _week_axis(figure, weeks)
        handles, names = ax.get_legend_handles_labels()
        # Listed top to bottom, as the segments are stacked.
        ax.legend(handles[::-1], names[::-1], loc="upper left", bbox_to_anchor=(1.0, 1.0))
        return svg_markup(figure, key, label)


def horizontal_bars(key: str, label: str, names: Sequence[str], counts: Sequence[int],
                    xlabel: str, colour: str) -> str:
    """One bar per name, the first at the top."""
    with matplotlib.rc_context(_RC):
        figure = _figure(height=max(1.6, 0.42 * len(names) + 0.9))
        ax = figure.axes[0]
        positions = range(len(names))
        ax.barh(positions, counts, color=colour, height=0.6)
        ax.set_yticks(positions, names)
        ax.invert_yaxis()
        ax.set_xlabel(xlabel)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(axis="y", visible=False)
        for y, n in zip(positions, counts, strict=True):
            ax.annotate(str(n), (n, y), xytext=(4, 0), textcoords="offset points", va="center")
        ax.set_xlim(0, max([*counts, 1]) * 1.12)
        return svg_markup(figure, key, label)


def lines(key: str, label: str, weeks: Sequence[str],
          series: Sequence[tuple[str, Sequence[float | None], str]], ylabel: str,
          ylim: tuple[float, float] | None = None) -> str:
    """A line per series over the weeks; a week without a value leaves a gap."""
    markers = ("o", "s", "^", "D", "v", "P", "X", "*")
    styles = ("-", "--", "-.", ":")
    with matplotlib.rc_context(_RC):
        figure = _figure()
        ax = figure.axes[0]
        for i, (name, values, colour) in enumerate(series):
            ys = [math.nan if v is None else v for v in values]
            ax.plot(range(len(weeks)), ys, label=name, color=colour, marker=markers[i % len(markers)],
                    linestyle=styles[i % len(styles)], linewidth=1.8, markersize=5)
        ax.set_ylabel(ylabel)
        if ylim is not None:
            ax.set_ylim(*ylim)
        _week_axis(figure, weeks)
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
        return svg_markup(figure, key, label)


def bars(key: str, label: str, weeks: Sequence[str], values: Sequence[float | None], ylabel: str,
         colour: str) -> str:
    """One bar per week; a week without a value has none."""
    with matplotlib.rc_context(_RC):
        figure = _figure()
        ax = figure.axes[0]
        ax.bar(range(len(weeks)), [0.0 if v is None else v for v in values], color=colour, width=0.7)
        ax.set_ylabel(ylabel)
        ax.set_ylim(0, max([0.0, *(v for v in values if v is not None)]) * 1.15 or 1.0)
        _week_axis(figure, weeks)
        return svg_markup(figure, key, label)
