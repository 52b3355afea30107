"""Draw docs/img/value-function.png: the default value function and the level bands.

Usage (needs matplotlib)::

    python docs/img/make_value_function.py
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt

from promisekit.satisfaction import DEFAULT_CUTPOINTS, Level, ProspectValue

OUT = Path(__file__).with_name("value-function.png")
BREACH = 0.5  # Disconfirmation's default breach penalty


def main() -> None:
    v = ProspectValue()
    xs = [i / 200 for i in range(-300, 201)]  # D from -1.5 to 1
    gains = [(x, v(x)) for x in xs if x >= 0]
    losses = [(x, v(x)) for x in xs if x < 0]

    fig, ax = plt.subplots(figsize=(7.5, 4.8), dpi=120)
    bands = [-4.5, *DEFAULT_CUTPOINTS, 1.2]
    colours = ["#d7301f", "#fc8d59", "#eeeeee", "#91cf60", "#1a9850"]
    for level, low, high, colour in zip(Level, bands[:-1], bands[1:], colours, strict=True):
        ax.axhspan(low, high, color=colour, alpha=0.18, lw=0)
        ax.text(
            1.02,
            (low + high) / 2 if level != Level.VERY_DISSATISFIED else -3.6,
            level.name.replace("_", " ").lower(),
            va="center",
            fontsize=8,
        )

    for side, label in ((gains, "v(D), prospect value"), (losses, None)):
        ax.plot([x for x, _ in side], [y for _, y in side], color="black", lw=2, label=label)
    ax.plot(
        [x for x, _ in losses],
        [y - BREACH for _, y in losses],
        color="#b2182b",
        lw=1.5,
        ls="--",
        label="time component of a broken promise: v(D) − breach",
    )
    ax.axhline(0, color="grey", lw=0.6)
    ax.axvline(0, color="grey", lw=0.6)

    golden = [  # the founding case: (D, label, text offset)
        (1 / 60, "called back after 59 of 60 min", (-150, 8)),
        (421 / 480, "after 59 min, promised by end of day", (-185, -4)),
        (-1 / 60, "after 61 of 60 min", (6, -12)),
    ]
    for d, text, offset in golden:
        y = v(d) - (BREACH if d < 0 else 0.0)
        ax.plot([d], [y], "o", color="#2166ac", ms=5)
        ax.annotate(
            text, (d, y), textcoords="offset points", xytext=offset, fontsize=8, color="#2166ac"
        )

    ax.set_xlim(-1.5, 1.0)
    ax.set_ylim(-4.5, 1.2)
    ax.set_xlabel("relative disconfirmation D = (E − T) / E   (positive = earlier than promised)")
    ax.set_ylabel("satisfaction value")
    ax.set_title("Default Disconfirmation model: α = β = 0.88, λ = 2.25, breach 0.5")
    ax.legend(loc="lower right", fontsize=8, framealpha=0.9)
    fig.tight_layout(rect=(0, 0, 0.9, 1))
    fig.savefig(OUT)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
