"""JSON bodies of the computed views, written by orjson straight from the plain results.

At national scale a view holds tens of thousands of rows (34,128 county-weeks); building a
pydantic model per row costs more than computing the view. The result dataclasses carry
exactly the fields of the response models in app/computed/schemas.py (the OpenAPI contract),
and a test checks that each body validates against its model and re-serializes identically.
"""

from decimal import Decimal

import orjson

from app.core.numbers import json_number


def _fallback(value: object) -> object:
    if isinstance(value, Decimal):
        return json_number(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def encode(document: object) -> bytes:
    # OPT_UTC_Z writes UTC instants as "...Z", as pydantic does.
    return orjson.dumps(document, default=_fallback, option=orjson.OPT_UTC_Z)
