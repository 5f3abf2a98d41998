"""Exact decimals out to JSON: whole numbers as integers, others as the nearest float."""

from decimal import Decimal


def json_number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)
