"""Cumulative series: the plain data every computed view starts from."""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any


@dataclass(frozen=True)
class Report:
    """One city's snapshot of one table for one period, as current at the chosen instant."""

    city: str
    table: str
    period: str
    # As stored: exact decimal text per indicator. Turned into Decimal only where used, since
    # a national campaign holds tens of thousands of values and most views read few of them.
    values: Mapping[str, str]
    revision: int
    received_at: datetime
    warnings: Sequence[Mapping[str, Any]] = ()


@dataclass(frozen=True)
class Point:
    """An indicator's cumulative value in the period it was reported."""

    period: str
    value: Decimal
    revision: int


Series = dict[tuple[str, str, str], list[Point]]  # (city, table, indicator) -> points in order


def build_series(reports: Iterable[Report], period_order: Mapping[str, int]) -> Series:
    """Per city, table and indicator, the reported points in period order.

    A missing key is "not reported": it adds no point (it is never read as 0).
    """
    series: Series = {}
    for report in sorted(reports, key=lambda r: period_order[r.period]):
        for key, value in report.values.items():
            series.setdefault((report.city, report.table, key), []).append(
                Point(report.period, Decimal(value), report.revision)
            )
    return series
