"""Computed views over the API: deltas, totals, as-of answers and ETag/304."""

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import BaseModel

from app.campaigns.definition import read_definition_file
from app.campaigns.service import DEFINITIONS_DIR
from app.computed import memo
from app.computed.schemas import ComplianceOut, DeltasOut, GoalsOut, QualityOut, TotalsOut

Auth = Callable[..., dict[str, str]]
SNAPSHOT = "/api/v1/campaigns/js-2024/cities/{city}/tables/t1/periods/{period}"
VIEWS = "/api/v1/campaigns/js-2024"

# (city, period, fairs_total, received_at): a small season loaded as an administrator
SEASON = [
    ("320100", "W01", 5, "2024-01-26T16:00:00+08:00"),
    ("320100", "W02", 12, "2024-02-02T17:00:00+08:00"),
    ("320500", "W03", 9, "2024-02-09T17:00:00+08:00"),
    ("320100", "W04", 20, "2024-02-18T17:00:00+08:00"),
    ("320100", "W05", 18, "2024-02-23T17:00:00+08:00"),
]


@pytest.fixture
def season(client: TestClient, auth: Auth) -> dict[str, str]:
    admin = auth("admin")
    for city, period, fairs, received_at in SEASON:
        response = client.put(
            SNAPSHOT.format(city=city, period=period),
            headers=admin,
            json={"values": {"fairs_total": fairs}, "received_at": received_at},
        )
        assert response.status_code == 200, response.text
    return admin


def test_deltas_flag_gaps_and_decreases(
    client: TestClient, season: dict[str, str], auth: Auth
) -> None:
    response = client.get(
        f"{VIEWS}/deltas",
        params={"table": "t1", "indicator": "fairs_total"},
        headers=auth("reporter", "320200"),
    )
    assert response.status_code == 200
    rows = [
        (
            d["city"],
            d["period"],
            d["cumulative"],
            d["delta"],
            d["previous_period"],
            d["gap"],
            d["negative"],
        )
        for d in response.json()["items"]
    ]
    assert rows == [
        ("320100", "W01", 5, 5, None, False, False),
        ("320100", "W02", 12, 7, "W01", False, False),
        ("320100", "W04", 20, 8, "W02", True, False),
        ("320100", "W05", 18, -2, "W04", False, True),
        ("320500", "W03", 9, 9, None, True, False),
    ]
    one_city = client.get(f"{VIEWS}/deltas", params={"city": "320500"}, headers=season)
    assert {d["city"] for d in one_city.json()["items"]} == {"320500"}


def test_totals_carry_forward_and_list_stale_and_missing(
    client: TestClient, season: dict[str, str]
) -> None:
    response = client.get(
        f"{VIEWS}/totals", params={"table": "t1", "period": "W04"}, headers=season
    )
    fairs = next(i for i in response.json()["items"] if i["indicator"] == "fairs_total")
    assert fairs["total"] == 29 and fairs["name_zh"] == "举办各类招聘活动"
    assert fairs["stale"] == ["320500"]
    assert len(fairs["missing"]) == 11 and "320100" not in fairs["missing"]
    assert {c["city"]: (c["value"], c["period"]) for c in fairs["cities"]} == {
        "320100": (20, "W04"),
        "320500": (9, "W03"),
    }
    unreported = next(i for i in response.json()["items"] if i["indicator"] == "postings_total")
    assert unreported["total"] is None and len(unreported["missing"]) == 13


def test_as_of_answers_from_the_history(client: TestClient, season: dict[str, str]) -> None:
    before_w04 = client.get(
        f"{VIEWS}/totals",
        headers=season,
        params={"table": "t1", "period": "W04", "as_of": "2024-02-16T12:00:00+08:00"},
    )
    fairs = next(i for i in before_w04.json()["items"] if i["indicator"] == "fairs_total")
    assert fairs["total"] == 21 and set(fairs["stale"]) == {"320100", "320500"}
    deltas = client.get(
        f"{VIEWS}/deltas",
        headers=season,
        params={"indicator": "fairs_total", "as_of": "2024-02-03T00:00:00+08:00"},
    ).json()
    assert [d["period"] for d in deltas["items"]] == ["W01", "W02"]


def test_etag_gives_304_until_something_changes(client: TestClient, season: dict[str, str]) -> None:
    params = {"table": "t1", "period": "W05"}
    first = client.get(f"{VIEWS}/totals", params=params, headers=season)
    etag = first.headers["etag"]
    again = client.get(f"{VIEWS}/totals", params=params, headers=season | {"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    other_query = client.get(
        f"{VIEWS}/totals",
        params={"table": "t2", "period": "W05"},
        headers=season | {"If-None-Match": etag},
    )
    assert other_query.status_code == 200

    changed = client.put(
        SNAPSHOT.format(city="320200", period="W05"),
        headers=season,
        json={"values": {"fairs_total": 4}},
    )
    assert changed.status_code == 200
    after = client.get(f"{VIEWS}/totals", params=params, headers=season | {"If-None-Match": etag})
    assert after.status_code == 200 and after.headers["etag"] != etag
    fairs = next(i for i in after.json()["items"] if i["indicator"] == "fairs_total")
    assert fairs["total"] == 18 + 9 + 4


@pytest.mark.parametrize("path", ["deltas", "totals"])
def test_views_need_a_token_and_valid_parameters(client: TestClient, auth: Auth, path: str) -> None:
    assert client.get(f"{VIEWS}/{path}").status_code == 401
    viewer = auth("viewer")
    bad: dict[str, Any] = {"table": "t9"}
    assert client.get(f"{VIEWS}/{path}", params=bad, headers=viewer).status_code == 404
    naive = client.get(f"{VIEWS}/{path}", params={"as_of": "2024-02-01T00:00:00"}, headers=viewer)
    assert naive.status_code == 422


@pytest.mark.parametrize(
    ("path", "model"),
    [
        ("deltas", DeltasOut),
        ("totals", TotalsOut),
        ("goals", GoalsOut),
        ("compliance", ComplianceOut),
        ("quality", QualityOut),
    ],
)
@pytest.mark.parametrize("as_of", [None, "2024-02-20T09:30:00.250000+08:00"])
def test_each_body_is_exactly_what_its_documented_model_writes(
    client: TestClient,
    season: dict[str, str],
    path: str,
    model: type[BaseModel],
    as_of: str | None,
) -> None:
    """The views write JSON straight from their results; it must match the OpenAPI models
    field for field, number for number, instant for instant."""
    decimal = client.put(
        SNAPSHOT.format(city="320200", period="W02"),
        headers=season,
        json={
            "values": {"recruitment_funds": 12.5, "fairs_total": 3},
            "received_at": "2024-02-02T17:45:00.123456+08:00",
        },
    )
    assert decimal.status_code == 200, decimal.text
    params = {"at": "2024-02-25T12:00:00+08:00"} | ({"as_of": as_of} if as_of else {})
    response = client.get(f"{VIEWS}/{path}", params=params, headers=season)
    assert response.status_code == 200, response.text
    assert model.model_validate_json(response.content).model_dump(mode="json") == response.json()


def full_t1(n: int) -> dict[str, int]:
    """Every T1 indicator (each 其中 equal to its total: valid, with sum-rule warnings)."""
    definition = read_definition_file(DEFINITIONS_DIR / "js-2024.yaml")
    return {indicator.key: 100 + n for indicator in definition.tables[0].indicators}


def test_totals_from_current_data_equal_totals_from_the_history(
    client: TestClient, auth: Auth
) -> None:
    """Current totals read each city's newest report (older ones only when it lacks an
    indicator); the history path reads every revision. Both must agree in every figure."""
    admin = auth("admin")
    partial_w04 = {k: v for k, v in full_t1(4).items() if k != "workers_delivered"}
    for city, period, values in [
        ("320100", "W02", full_t1(2)),
        ("320100", "W03", full_t1(3)),
        ("320200", "W01", full_t1(1)),
        ("320200", "W04", partial_w04),  # workers_delivered carried from W01
        ("320300", "W05", full_t1(5)),  # after the chosen period: not counted
    ]:
        response = client.put(
            SNAPSHOT.format(city=city, period=period), headers=admin, json={"values": values}
        )
        assert response.status_code == 200, response.text
    params = {"table": "t1", "period": "W04"}
    current = client.get(f"{VIEWS}/totals", params=params, headers=admin).json()
    history = client.get(
        f"{VIEWS}/totals", params=params | {"as_of": "2099-01-01T00:00:00Z"}, headers=admin
    ).json()
    assert current["items"] == history["items"]
    workers = next(i for i in current["items"] if i["indicator"] == "workers_delivered")
    assert {c["city"]: (c["value"], c["period"]) for c in workers["cities"]} == {
        "320100": (103, "W03"),
        "320200": (101, "W01"),
    }
    assert workers["total"] == 204 and workers["stale"] == ["320100", "320200"]


def test_views_are_compressed_once_and_served_compressed_from_the_memo(
    client: TestClient, season: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    compressions: list[int] = []
    real_compress = memo.compress

    def counting(data: bytes) -> bytes:
        compressions.append(len(data))
        return real_compress(data)

    monkeypatch.setattr(memo, "compress", counting)
    plain = client.get(f"{VIEWS}/goals", headers=season | {"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    answers = [
        client.get(f"{VIEWS}/goals", headers=season | {"Accept-Encoding": "gzip"}) for _ in range(3)
    ]
    for answer in answers:
        assert answer.headers["content-encoding"] == "gzip"
        assert answer.headers["vary"] == "Accept-Encoding"
        assert answer.json() == plain.json()  # httpx decompressed it
        assert int(answer.headers["content-length"]) < len(plain.content) / 4
    assert compressions == [len(plain.content)]  # compressed once, then from the memo

    # the compressed representation's tag revalidates like the plain one
    etag = answers[0].headers["etag"]
    assert etag != plain.headers["etag"]
    for tag in (etag, plain.headers["etag"]):
        again = client.get(f"{VIEWS}/goals", headers=season | {"If-None-Match": tag})
        assert again.status_code == 304


def test_csv_exports_are_compressed_for_clients_that_ask(
    client: TestClient, season: dict[str, str]
) -> None:
    answer = client.get(f"{VIEWS}/exports/deltas.csv", headers=season | {"Accept-Encoding": "gzip"})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-encoding"] == "gzip"
    assert answer.text.lstrip("\ufeff").startswith("city")
