"""Region names beside the 6-digit codes of computed answers and CSV exports.

Every `city` or `county` code of an answer gets `city_name` / `county_name` next to it, read
from the regions table in one query per answer, for exactly the codes the answer mentions.
The rows are the views' own fresh results (dicts, slotted dataclasses, response models),
named in place: a national /deltas holds ~150,000 rows, and rebuilding each one as a new
dict would cost more than the whole JSON encoding.
"""

from collections.abc import Callable, Iterable, Mapping, MutableMapping, Sequence
from operator import attrgetter, itemgetter
from typing import Any, cast

from sqlmodel import Session

from app.regions.service import names_of

# Each code field `x` of a row is named in `x_name`.
CODE_FIELDS = ("city", "county")


class RegionNames:
    """code -> official name, for the regions one answer mentions."""

    def __init__(self, by_code: Mapping[str, str]) -> None:
        self._by_code = by_code

    @classmethod
    def read(cls, session: Session, codes: Iterable[str]) -> "RegionNames":
        return cls(names_of(session, set(codes)))

    def __call__(self, code: str | None) -> str | None:
        """None for no code, or a code the regions table does not know."""
        return None if code is None else self._by_code.get(code)

    def each(self, codes: Iterable[str]) -> list[str | None]:
        """The names of a list of codes, in its order (the list's `…_names` sibling)."""
        return [self._by_code.get(code) for code in codes]

    def attach(self, *groups: Iterable[object]) -> None:
        """Write `x_name` beside each code field `x` of every row (a null code: null)."""
        name_of = self._by_code.get
        for group in groups:
            rows = _rows(group)
            for field in _code_fields(rows):
                name = f"{field}_name"
                if isinstance(rows[0], dict):
                    # Only dicts a view built for this answer (typed at their source).
                    for entry in cast(Sequence[MutableMapping[str, str | None]], rows):
                        code = entry[field]
                        entry[name] = None if code is None else name_of(code)
                else:
                    for row in rows:
                        code = getattr(row, field)
                        setattr(row, name, None if code is None else name_of(code))


def _rows(group: Iterable[object]) -> Sequence[object]:
    return group if isinstance(group, Sequence) else list(group)


def _code_fields(rows: Sequence[object]) -> list[str]:
    """The code fields of a group's rows, all of one kind (one view's result): read from the
    first, rather than asked of each of 150,000 rows."""
    if not rows:
        return []
    first = rows[0]
    if isinstance(first, dict):
        return [field for field in CODE_FIELDS if field in first]
    return [field for field in CODE_FIELDS if hasattr(first, field)]


def codes_in(*groups: Iterable[object]) -> set[str]:
    """Every city and county code the rows hold."""
    codes: set[str | None] = set()
    for group in groups:
        rows = _rows(group)
        for field in _code_fields(rows):
            # itemgetter / attrgetter: the loop over thousands of rows runs in C.
            read: Callable[[Any], str | None] = (
                itemgetter(field) if isinstance(rows[0], dict) else attrgetter(field)
            )
            codes.update(map(read, rows))
    return {code for code in codes if code is not None}


def named(session: Session, *groups: Iterable[object], also: Iterable[str] = ()) -> RegionNames:
    """Name every row of `groups` (each group: rows of one kind) in place, reading the names
    of their codes and of `also` (codes listed elsewhere in the answer) in one query; returns
    the names, for those other places."""
    rows = [_rows(group) for group in groups]
    names = RegionNames.read(session, codes_in(*rows) | set(also))
    names.attach(*rows)
    return names
