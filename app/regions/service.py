"""Reference regions (GB/T 2260): loading a campaign's regions file and querying them."""

import csv
from collections.abc import Collection, Sequence
from pathlib import Path

from sqlmodel import Session, col, select

from app.core.errors import InvalidInput, NotFound
from app.regions.models import Region, RegionLevel


def read_regions_file(path: Path) -> list[Region]:
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    regions = []
    for line, row in enumerate(rows, start=2):
        try:
            regions.append(
                Region(
                    code=row["code"],
                    name=row["name"],
                    level=RegionLevel(row["level"]),
                    parent_code=row["parent_code"] or None,
                    kind=row["kind"],
                )
            )
        except (KeyError, ValueError) as exc:
            raise InvalidInput(f"{path.name} line {line}: {exc}") from exc
    return regions


def load_regions(session: Session, path: Path) -> int:
    """Insert or update every region of the file; returns how many rows changed.

    Parents come before children in the file, and are flushed first, so foreign keys hold.
    """
    existing = {r.code: r for r in session.exec(select(Region)).all()}
    changed = 0
    for level in (RegionLevel.province, RegionLevel.city, RegionLevel.county):
        for region in (r for r in read_regions_file(path) if r.level == level):
            current = existing.get(region.code)
            if current is None:
                session.add(region)
                changed += 1
            elif current.model_dump() != region.model_dump():
                current.sqlmodel_update(region.model_dump())
                session.add(current)
                changed += 1
        session.flush()
    if changed:
        forget_names()
    return changed


def forget_names() -> None:
    _names.clear()


def list_regions(
    session: Session,
    *,
    level: RegionLevel | None = None,
    parent_code: str | None = None,
    limit: int = 500,
    offset: int = 0,
) -> Sequence[Region]:
    query = select(Region).order_by(col(Region.code))
    if level is not None:
        query = query.where(Region.level == level)
    if parent_code is not None:
        query = query.where(Region.parent_code == parent_code)
    return session.exec(query.offset(offset).limit(limit)).all()


def get_region(session: Session, code: str) -> Region:
    region = session.get(Region, code)
    if region is None:
        raise NotFound(f"no region with code {code!r}")
    return region


# code -> name, kept for the life of the process: regions are reference data that change only
# when a regions file is loaded (which empties it here; another process's load is seen after a
# restart, like a changed definition). Every computed answer names its regions.
_names: dict[str, str] = {}


def names_of(session: Session, codes: Collection[str]) -> dict[str, str]:
    """code -> name of the given regions (unknown codes are left out)."""
    unknown = [code for code in codes if code not in _names]
    if unknown:
        rows = session.exec(select(Region.code, Region.name).where(col(Region.code).in_(unknown)))
        _names.update(rows.all())
    names = _names
    return {code: names[code] for code in codes if code in names}


def counties_of(session: Session, city_code: str) -> Sequence[Region]:
    return list_regions(session, level=RegionLevel.county, parent_code=city_code)
