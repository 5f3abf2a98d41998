"""Every error is an RFC 9457 problem document carrying the request id."""

from fastapi.testclient import TestClient


def test_validation_errors_name_each_field(client: TestClient) -> None:
    response = client.get("/api/v1/regions", params={"level": "planet", "limit": 0})
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["title"] == "Invalid input" and problem["status"] == 422
    assert {e["field"] for e in problem["errors"]} == {"query.level", "query.limit"}
    assert all(e["code"] and e["message"] for e in problem["errors"])


def test_unknown_route_and_wrong_method_are_problems(client: TestClient) -> None:
    for response in (client.get("/api/v1/nowhere"), client.delete("/api/v1/regions")):
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["status"] in (404, 405)


def test_request_id_is_in_header_and_problem(client: TestClient) -> None:
    response = client.get("/api/v1/regions/000000")
    assert response.status_code == 404
    assert response.json()["request_id"] == response.headers["x-request-id"]
    echoed = client.get("/healthz", headers={"X-Request-ID": "city-system-trace-0001"})
    assert echoed.headers["x-request-id"] == "city-system-trace-0001"
    hostile = client.get("/healthz", headers={"X-Request-ID": "<script>"})
    assert hostile.headers["x-request-id"] != "<script>"


def test_a_malformed_form_body_is_a_problem(client: TestClient) -> None:
    response = client.post("/api/v1/auth/token", data={"client_id": "x"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "grant_type"
