"""Plain text as the records accept it: no control characters, no lone surrogates.

PostgreSQL refuses NUL in text and no database stores a lone surrogate, so such input is
refused at the door (422) instead of failing at the database (500).
"""

import re
from typing import Annotated

from pydantic import AfterValidator, Field

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


# Markers for `Annotated[str, Field(max_length=...), SingleLine]` and the like.
SingleLine = AfterValidator(_single_line)
Multiline = AfterValidator(_multiline)

Title = Annotated[str, Field(min_length=1, max_length=200), SingleLine]
