"""Backtest of the forecast band (docs/evaluation.md): how often does it hold the value
realised at the due date?

    python benchmarks/forecast.py                 # 20,000 series per noise level, seed 7
    python benchmarks/forecast.py --trials 500    # a quick look

Each synthetic KPI is a monthly or weekly series on a straight line (a random level and
slope) plus Gaussian noise of a known size (a fraction of the span the line covers over
the observed periods). kpitrack sees the values up to the as-of date (3 to 8 periods,
sometimes with a missed report) and forecasts the value at `due` (1 to 6 periods later);
the realised value at `due` is the line there plus fresh noise. The table gives, per
noise level, how often the band [low, high] holds the realised value, how often it
holds the noise-free line, and the median band width relative to the span. Nothing
here is asserted: it is measured, and the figures go into docs/evaluation.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kpitrack.domain.model import Frequency, Kpi, Measurement
from kpitrack.domain.periods import add_frequency, period_containing
from kpitrack.evaluation.forecast import forecast

AS_OF = dt.date(2026, 11, 25)
NOISE_LEVELS = (0.0, 0.05, 0.1, 0.2, 0.4)


@dataclass
class Tally:
    trials: int = 0
    forecasts: int = 0
    holds_realised: int = 0
    holds_line: int = 0
    widths: list[float] | None = None

    def add(self, held: bool, held_line: bool, width: float) -> None:
        self.forecasts += 1
        self.holds_realised += held
        self.holds_line += held_line
        if self.widths is None:
            self.widths = []
        self.widths.append(width)


def one_series(rng: random.Random, noise: float, tally: Tally) -> None:
    """Draw one KPI and its history, forecast it, and count whether the band held."""
    tally.trials += 1
    frequency = rng.choice((Frequency.MONTHLY, Frequency.WEEKLY))
    observed = rng.randint(3, 8)
    ahead = rng.randint(1, 6)
    current = period_containing(frequency, AS_OF)
    # Report dates: each period's last day (the current period's report is not in yet).
    ends = []
    period = current.previous()
    for _ in range(observed):
        ends.append(period.end)
        period = period.previous()
    ends.reverse()
    due = current.end
    for _ in range(ahead):
        due = add_frequency(frequency, due)
    due = period_containing(frequency, due).end
    level = rng.uniform(-1000, 1000)
    slope = rng.uniform(-5, 5)  # per day
    span = max(1.0, abs(slope) * (ends[-1] - ends[0]).days)
    sd = noise * span

    def line(day: dt.date) -> float:
        return level + slope * (day - ends[0]).days

    history = [
        Measurement("k", day, line(day) + rng.gauss(0, sd), order=i)
        for i, day in enumerate(ends)
        if i == len(ends) - 1 or rng.random() > 0.1  # now and then a missed report
    ]
    kpi = Kpi(
        id="k",
        name="K",
        measure="synthetic series for the backtest",
        target=line(due),
        frequency=frequency,
        due=due,
    )
    result = forecast(kpi, history, as_of=AS_OF)
    if result is None:
        return
    realised = line(due) + rng.gauss(0, sd)
    slack = 1e-9 * max(1.0, abs(realised))
    held = result.low - slack <= realised <= result.high + slack
    held_line = result.low - slack <= line(due) <= result.high + slack
    tally.add(held, held_line, (result.high - result.low) / span)


def backtest(trials: int, seed: int) -> dict[float, Tally]:
    rng = random.Random(seed)
    tallies = {noise: Tally() for noise in NOISE_LEVELS}
    for noise in NOISE_LEVELS:
        for _ in range(trials):
            one_series(rng, noise, tallies[noise])
    return tallies


def table(tallies: dict[float, Tally]) -> str:
    lines = [
        "| noise (sd / span) | series | forecasts | band holds realised | band holds line "
        "| median band width / span |",
        "|---|---|---|---|---|---|",
    ]
    for noise, t in tallies.items():
        width = statistics.median(t.widths) if t.widths else 0.0
        lines.append(
            f"| {noise:.2f} | {t.trials:,} | {t.forecasts:,} "
            f"| {t.holds_realised / max(1, t.forecasts):.1%} "
            f"| {t.holds_line / max(1, t.forecasts):.1%} | {width:.2f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20_000, help="series per noise level")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    print(table(backtest(args.trials, args.seed)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
