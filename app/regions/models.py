from enum import StrEnum

from sqlmodel import Field, SQLModel


class RegionLevel(StrEnum):
    province = "province"
    city = "city"
    county = "county"


class RegionBase(SQLModel):
    code: str = Field(primary_key=True, min_length=6, max_length=6, description="GB/T 2260 code")
    name: str = Field(max_length=64, description="Official Chinese name")
    level: RegionLevel = Field(index=True)
    parent_code: str | None = Field(
        default=None, foreign_key="region.code", index=True, max_length=6
    )
    kind: str = Field(
        max_length=32,
        description="province, prefecture_city, district, county_city or county",
    )


class Region(RegionBase, table=True):
    pass


class RegionPublic(RegionBase):
    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "code": "320102",
                    "name": "玄武区",
                    "level": "county",
                    "parent_code": "320100",
                    "kind": "district",
                }
            ]
        }
    }
