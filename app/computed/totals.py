"""Province totals (SPEC 4): each city's latest cumulative at or before the period, summed."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from app.computed.series import Series, latest_at_or_before


@dataclass(frozen=True)
class CityValue:
    city: str
    value: Decimal
    period: str  # where the value comes from
    revision: int
    stale: bool  # carried forward from an earlier period


@dataclass(frozen=True)
class IndicatorTotal:
    indicator: str
    total: Decimal | None  # None when no city has ever reported it
    cities: list[CityValue]
    stale: list[str]
    missing: list[str]


def compute_totals(
    series: Series,
    table: str,
    indicators: Sequence[str],
    cities: Sequence[str],
    period: str,
    period_order: Mapping[str, int],
) -> list[IndicatorTotal]:
    index = period_order[period]
    result = []
    for indicator in indicators:
        found: list[CityValue] = []
        missing: list[str] = []
        for city in cities:
            point = latest_at_or_before(
                series.get((city, table, indicator), []), index, period_order
            )
            if point is None:
                missing.append(city)
                continue
            found.append(
                CityValue(
                    city, point.value, point.period, point.revision, stale=point.period != period
                )
            )
        result.append(
            IndicatorTotal(
                indicator=indicator,
                total=sum((v.value for v in found), Decimal(0)) if found else None,
                cities=found,
                stale=[v.city for v in found if v.stale],
                missing=missing,
            )
        )
    return result


def province_series(
    series: Series,
    table: str,
    indicator: str,
    cities: Sequence[str],
    period_order: Mapping[str, int],
) -> dict[str, Decimal]:
    """The carried-forward province total of one indicator for every period."""
    totals = {}
    for period, index in sorted(period_order.items(), key=lambda item: item[1]):
        values = [
            point.value
            for city in cities
            if (
                point := latest_at_or_before(
                    series.get((city, table, indicator), []), index, period_order
                )
            )
            is not None
        ]
        totals[period] = sum(values, Decimal(0))
    return totals
