"""Weekly deltas (SPEC 4): cumulative(k) − cumulative(previous reported period)."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from app.computed.series import Series


@dataclass(slots=True)  # not frozen: five times cheaper to build, ~150,000 per answer
class Delta:
    city: str
    city_name: str | None = field(default=None, kw_only=True)  # see app.computed.names
    table: str
    indicator: str
    period: str
    cumulative: Decimal
    delta: Decimal
    previous_period: str | None
    gap: bool  # the previous reported period is not the one just before (or none, after W01)
    negative: bool
    revision: int


def compute_deltas(series: Series, period_order: Mapping[str, int]) -> list[Delta]:
    """Cumulation starts from 0 at the campaign start, so a first report's delta is its value."""
    deltas = []
    for (city, table, indicator), points in sorted(series.items()):
        previous = None
        for point in points:
            index = period_order[point.period]
            base = previous.value if previous else Decimal(0)
            expected_previous = index - 1
            previous_index = period_order[previous.period] if previous else 0
            delta = point.value - base
            deltas.append(
                Delta(
                    city=city,
                    table=table,
                    indicator=indicator,
                    period=point.period,
                    cumulative=point.value,
                    delta=delta,
                    previous_period=previous.period if previous else None,
                    gap=previous_index != expected_previous,
                    negative=delta < 0,
                    revision=point.revision,
                )
            )
            previous = point
    return deltas
