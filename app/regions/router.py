from typing import Annotated

from fastapi import APIRouter, Path, Query

from app.core.deps import SessionDep
from app.core.problems import problem_responses
from app.core.routing import ServiceRoute
from app.regions.models import RegionLevel, RegionPublic
from app.regions.service import get_region, list_regions

router = APIRouter(route_class=ServiceRoute, prefix="/api/v1/regions", tags=["reference"])


@router.get(
    "",
    summary="List administrative regions (province, cities, counties)",
    description="Public reference data (GB/T 2260 codes), ordered by code.",
    response_model=list[RegionPublic],
    responses=problem_responses(422),
)
def read_regions(
    session: SessionDep,
    level: RegionLevel | None = None,
    parent: Annotated[str | None, Query(pattern=r"^\d{6}$", examples=["320100"])] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 500,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> list[RegionPublic]:
    regions = list_regions(session, level=level, parent_code=parent, limit=limit, offset=offset)
    return [RegionPublic.model_validate(r, from_attributes=True) for r in regions]


@router.get(
    "/{code}",
    summary="One region by code",
    response_model=RegionPublic,
    responses=problem_responses(404, 422),
)
def read_region(
    session: SessionDep, code: Annotated[str, Path(pattern=r"^\d{6}$", examples=["320100"])]
) -> RegionPublic:
    return RegionPublic.model_validate(get_region(session, code), from_attributes=True)
