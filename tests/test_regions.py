"""Reference regions: 13 cities and 95 counties of Jiangsu with their official parents."""

from fastapi.testclient import TestClient
from sqlmodel import Session

from app.campaigns.service import DEFINITIONS_DIR
from app.regions.service import counties_of, load_regions


def test_regions_list_13_cities_and_95_counties(client: TestClient) -> None:
    cities = client.get("/api/v1/regions", params={"level": "city"}).json()
    counties = client.get("/api/v1/regions", params={"level": "county"}).json()
    assert len(cities) == 13 and len(counties) == 95
    assert {c["parent_code"] for c in cities} == {"320000"}
    city_codes = {c["code"] for c in cities}
    assert all(c["parent_code"] in city_codes for c in counties)
    assert cities[0] == {
        "code": "320100",
        "name": "南京市",
        "level": "city",
        "parent_code": "320000",
        "kind": "prefecture_city",
    }


def test_regions_filter_by_parent(client: TestClient) -> None:
    suzhou = client.get("/api/v1/regions", params={"parent": "320500"}).json()
    assert {r["name"] for r in suzhou} >= {"姑苏区", "昆山市", "张家港市"}
    assert all(r["parent_code"] == "320500" for r in suzhou)


def test_one_region_and_unknown_region(client: TestClient) -> None:
    assert client.get("/api/v1/regions/320583").json()["name"] == "昆山市"
    missing = client.get("/api/v1/regions/329999")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"


def test_list_limit_is_bounded(client: TestClient) -> None:
    assert len(client.get("/api/v1/regions", params={"limit": 5}).json()) == 5
    refused = client.get("/api/v1/regions", params={"limit": 100_000})
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "query.limit"


def test_loading_twice_changes_nothing(session: Session) -> None:
    assert load_regions(session, DEFINITIONS_DIR / "jiangsu-divisions-2024.csv") == 0
    assert len(counties_of(session, "320100")) == 11
