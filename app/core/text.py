"""Plain text as the records accept it: no control characters, no lone surrogates.

PostgreSQL refuses NUL in text and no database stores a lone surrogate, so such input is
refused at the door (422) instead of failing at the database (500).
"""

import re
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import Field, GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema

# Unicode category Cc (C0 controls, DEL, C1 controls) and Cs (surrogates), as one class;
# line breaks and tabs are allowed in running text only.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
_CONTROL_OR_BREAK = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def text_problem(value: str, *, multiline: bool) -> str | None:
    """Why `value` is not acceptable plain text, or None."""
    found = (_CONTROL if multiline else _CONTROL_OR_BREAK).search(value)
    if found is None:
        return None
    char = found.group()
    if "\ud800" <= char <= "\udfff":
        return "contains a lone surrogate code point"
    allowed = "line breaks and tabs are" if multiline else "no control character is"
    return f"contains the control character U+{ord(char):04X} ({allowed} allowed)"


def _single_line(value: str) -> str:
    value = value.strip()
    problem = text_problem(value, multiline=False)
    if problem:
        raise ValueError(problem)
    if not value:
        raise ValueError("must not be blank")
    return value


def _multiline(value: str) -> str:
    problem = text_problem(value, multiline=True)
    if problem:
        raise ValueError(problem)
    if not value.strip():
        raise ValueError("must not be blank")
    return value


def _pattern(allowed: str) -> str:
    """The same rule for the OpenAPI document: allowed characters and one that is not
    blank, so that a client (or a fuzzer) can tell acceptable text from the schema."""
    return rf"^[^{allowed}]*[^\s{allowed}][^{allowed}]*$"


_SINGLE_LINE_PATTERN = _pattern(r"\x00-\x1f\x7f-\x9f")
_MULTILINE_PATTERN = _pattern(r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f")


@dataclass(frozen=True)
class _PlainText:
    """A marker for `Annotated[str, ...]`: validates and publishes the rule as a pattern."""

    multiline: bool

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        check = _multiline if self.multiline else _single_line
        return core_schema.no_info_after_validator_function(check, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(schema)
        json_schema["pattern"] = _MULTILINE_PATTERN if self.multiline else _SINGLE_LINE_PATTERN
        return json_schema


# Markers for `Annotated[str, Field(max_length=...), SingleLine]` and the like.
SingleLine = _PlainText(multiline=False)
Multiline = _PlainText(multiline=True)

Title = Annotated[str, Field(min_length=1, max_length=200), SingleLine]
