"""The charts inside the samples, drawn with matplotlib's object API (no pyplot: no global state touched)
in DejaVu Sans, the font matplotlib ships; PNG bytes without a software tag, so they are stable."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, cast

import numpy as np

STYLE = {
    "font.family": "DejaVu Sans",
    "font.size": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "svg.hashsalt": "pagelens",
}
COLOURS = ["#1f4e79", "#d9822b", "#3a7d44", "#8e3b46", "#6c5b7b"]


@contextmanager
def _figure(width: float, height: float) -> Iterator[Any]:
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    with matplotlib.rc_context(cast(Any, STYLE)):
        figure = Figure(figsize=(width, height), dpi=100)
        FigureCanvasAgg(figure)
        yield figure


def _png(draw: Callable[[Any], None], width: float = 6.4, height: float = 3.6, dpi: int = 110) -> bytes:
    with _figure(width, height) as figure:
        draw(figure)
        figure.tight_layout()
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
    return buffer.getvalue()


def quarterly_revenue() -> bytes:
    def draw(figure: Any) -> None:
        axes = figure.add_subplot()
        quarters = ["Q1", "Q2", "Q3", "Q4"]
        x = np.arange(4)
        axes.bar(x - 0.2, [41.2, 44.8, 47.1, 55.3], 0.4, label="FY2023", color=COLOURS[0])
        axes.bar(x + 0.2, [45.9, 49.6, 53.0, 62.4], 0.4, label="FY2024", color=COLOURS[1])
        axes.set_xticks(x, quarters)
        axes.set_ylabel("Revenue (USD million)")
        axes.set_title("Quarterly revenue, FY2023 vs FY2024")
        axes.legend(frameon=False)

    return _png(draw)


def revenue_by_region() -> bytes:
    def draw(figure: Any) -> None:
        axes = figure.add_subplot()
        regions = ["North America", "Europe", "Asia Pacific", "Latin America"]
        axes.pie([46, 29, 18, 7], labels=regions, colors=COLOURS, autopct="%1.0f%%", startangle=90)
        axes.set_title("Revenue by region, FY2024")

    return _png(draw, 5.0, 3.6)


def attention_heatmap() -> bytes:
    tokens = ["where", "is", "the", "revenue", "table", "?"]
    patches = [f"p{i}" for i in range(12)]
    weights = np.random.default_rng(11).dirichlet(np.ones(12) * 0.4, size=len(tokens))

    def draw(figure: Any) -> None:
        axes = figure.add_subplot()
        image = axes.imshow(weights, cmap="viridis", aspect="auto")
        axes.set_xticks(range(12), patches)
        axes.set_yticks(range(len(tokens)), tokens)
        axes.set_xlabel("page patches")
        axes.set_title("Attention weights of query tokens over page patches (head 3)")
        figure.colorbar(image, ax=axes, fraction=0.04)

    return _png(draw, 6.4, 3.4)


def training_curves() -> bytes:
    steps = np.arange(0, 5001, 100)
    rng = np.random.default_rng(5)

    def draw(figure: Any) -> None:
        axes = figure.add_subplot()
        for i, heads in enumerate((4, 8, 16)):
            loss = 0.35 + 2.2 * np.exp(-steps / (900 + 250 * i)) + rng.normal(0, 0.02, steps.size)
            axes.plot(steps, loss, label=f"{heads} attention heads", color=COLOURS[i])
        axes.set_xlabel("training step")
        axes.set_ylabel("contrastive loss")
        axes.set_title("Training loss by number of attention heads")
        axes.legend(frameon=False)

    return _png(draw)


def architecture_diagram() -> bytes:
    def draw(figure: Any) -> None:
        axes = figure.add_subplot()
        axes.set_axis_off()
        axes.set_xlim(0, 10)
        axes.set_ylim(0, 4)
        boxes = [
            (0.2, "page image"),
            (2.2, "vision encoder"),
            (4.2, "projection\n128-d"),
            (6.2, "patch vectors"),
            (8.2, "MaxSim\nscoring"),
        ]
        for x, label in boxes:
            axes.add_patch(
                _rectangle((x, 1.4), 1.6, 1.2, facecolor="#dce6f2", edgecolor=COLOURS[0], linewidth=1.5)
            )
            axes.text(x + 0.8, 2.0, label, ha="center", va="center", fontsize=9)
        for x, _ in boxes[:-1]:
            axes.annotate("", xy=(x + 2.0, 2.0), xytext=(x + 1.6, 2.0), arrowprops={"arrowstyle": "->"})
        axes.text(5.0, 0.6, "Figure 1: late interaction over page images", ha="center", fontsize=10)
        axes.text(5.0, 3.5, "query tokens -> text encoder -> query vectors", ha="center", fontsize=9)

    return _png(draw, 6.4, 2.6)


def _rectangle(*args: Any, **kwargs: Any) -> Any:
    from matplotlib.patches import Rectangle

    return Rectangle(*args, **kwargs)


def temperature_anomaly() -> bytes:
    years = np.arange(1960, 2025)
    rng = np.random.default_rng(1960)
    anomaly = -0.05 + 0.0002 * (years - 1960) ** 2 + rng.normal(0, 0.09, years.size)

    def draw(figure: Any) -> None:
        axes = figure.add_subplot()
        axes.plot(years, anomaly, color=COLOURS[3], linewidth=1.2, label="annual mean")
        window = np.convolve(anomaly, np.ones(10) / 10, mode="valid")
        axes.plot(years[9:], window, color=COLOURS[0], linewidth=2.2, label="10-year average")
        axes.axhline(0, color="#888888", linewidth=0.8)
        axes.set_ylabel("temperature anomaly (°C)")
        axes.set_title("Regional temperature anomaly 1960-2024, vs 1951-1980 mean")
        axes.legend(frameon=False)

    return _png(draw)


def electricity_mix() -> bytes:
    years = ["2015", "2018", "2021", "2024"]
    sources = {
        "coal": [38, 31, 22, 14],
        "gas": [27, 29, 28, 24],
        "hydro": [14, 13, 13, 12],
        "wind": [12, 16, 22, 27],
        "solar": [3, 6, 11, 19],
    }

    def draw(figure: Any) -> None:
        axes = figure.add_subplot()
        bottom = np.zeros(len(years))
        for colour, (name, share) in zip(COLOURS, sources.items(), strict=False):
            axes.bar(years, share, bottom=bottom, label=name, color=colour)
            bottom += np.array(share)
        axes.set_ylabel("share of electricity generation (%)")
        axes.set_title("Electricity mix by source")
        axes.legend(frameon=False, ncols=5, loc="upper center", bbox_to_anchor=(0.5, -0.08))

    return _png(draw, 6.4, 3.8)


def monthly_sales() -> bytes:
    months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    rng = np.random.default_rng(2024)
    lines = {
        "outdoor gear": 120 + 40 * np.sin(np.arange(12) / 1.9) + rng.normal(0, 6, 12),
        "apparel": 95 + 3.5 * np.arange(12) + rng.normal(0, 5, 12),
        "footwear": 70 + 25 * (np.arange(12) >= 9) + rng.normal(0, 4, 12),
    }

    def draw(figure: Any) -> None:
        axes = figure.add_subplot()
        for colour, (name, values) in zip(COLOURS, lines.items(), strict=False):
            axes.plot(months, values, marker="o", label=name, color=colour)
        axes.set_ylabel("online sales (thousand units)")
        axes.set_title("Monthly online sales by product line, 2024")
        axes.grid(axis="y", color="#dddddd")
        axes.legend(frameon=False)

    return _png(draw, 8.0, 5.0, dpi=120)
