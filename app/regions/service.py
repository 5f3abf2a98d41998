"""Reference regions (GB/T 2260): loading the shipped data file and querying it."""

import csv
from collections.abc import Collection, Sequence
from pathlib import Path

from sqlmodel import Session, col, select

from app.core.errors import InvalidInput, NotFound
from app.regions.models import Region, RegionLevel

DATA_FILE = Path(__file__).parent / "data" / "jiangsu-divisions-2024.csv"


def read_regions_file(path: Path = DATA_FILE) -> list[Region]:
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


def load_regions(session: Session, path: Path = DATA_FILE) -> int:
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
    return changed


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


def names_of(session: Session, codes: Collection[str]) -> dict[str, str]:
    """code -> name of the given regions (unknown codes are left out)."""
    rows = session.exec(select(Region.code, Region.name).where(col(Region.code).in_(codes)))
    return dict(rows.all())


def counties_of(session: Session, city_code: str) -> Sequence[Region]:
    return list_regions(session, level=RegionLevel.county, parent_code=city_code)
