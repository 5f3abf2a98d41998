"""Health, readiness, metrics, CORS and production safety."""

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr, ValidationError
from sqlalchemy import Engine

from app.core.settings import DEVELOPMENT_SIGNING_KEY, Settings
from app.main import create_app
from tests.conftest import make_settings
from tests.records_helpers import Auth


def test_health_and_readiness(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok", "database": None, "migration": None}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["status"] == "ready" and ready.json()["migration"]


def test_readiness_fails_on_an_unmigrated_database(tmp_path: object) -> None:
    app = create_app(make_settings(f"sqlite:///{tmp_path}/empty.db"))
    with TestClient(app) as client:
        response = client.get("/readyz")
    assert response.status_code == 503
    assert "run migrations" in response.json()["detail"]


def test_metrics_count_requests_by_route_template(settings: Settings, engine: Engine) -> None:
    with TestClient(create_app(settings, engine), client=("127.0.0.1", 50000)) as client:
        client.get("/api/v1/regions/320100")
        client.get("/api/v1/regions/320200")
        text = client.get("/metrics").text
    assert 'route="/api/v1/regions/{code}"' in text
    assert "http_request_duration_seconds_bucket" in text
    assert 'route="/api/v1/regions/320100"' not in text


def test_cors_is_closed_by_default_and_follows_the_allow_list(
    settings: Settings, engine: Engine
) -> None:
    preflight = {"Origin": "https://dash.example", "Access-Control-Request-Method": "GET"}
    with TestClient(create_app(settings, engine)) as closed:
        response = closed.get("/healthz", headers={"Origin": "https://dash.example"})
        assert "access-control-allow-origin" not in response.headers
    opened = settings.model_copy(update={"cors_allow_origins": ["https://dash.example"]})
    with TestClient(create_app(opened, engine)) as client:
        response = client.options("/api/v1/regions", headers=preflight)
        assert response.headers["access-control-allow-origin"] == "https://dash.example"
        other = client.get("/healthz", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers


def test_production_refuses_the_development_key() -> None:
    with pytest.raises(ValidationError, match="refusing to start in production"):
        Settings(_env_file=None, app_env="production")
    with pytest.raises(ValidationError, match="shorter than 32"):
        Settings(
            _env_file=None,
            app_env="production",
            jwt_signing_keys={"p1": "short"},
            jwt_active_key_id="p1",
        )
    production = Settings(
        _env_file=None,
        app_env="production",
        jwt_signing_keys={"p1": "p" * 48},
        jwt_active_key_id="p1",
    )
    assert DEVELOPMENT_SIGNING_KEY not in production.jwt_signing_keys.values()


def test_metrics_are_for_loopback_or_the_metrics_token(settings: Settings, engine: Engine) -> None:
    with TestClient(create_app(settings, engine), client=("10.1.2.3", 50000)) as remote:
        assert remote.get("/metrics").status_code == 403
    guarded = settings.model_copy(update={"metrics_token": SecretStr("m" * 32)})
    with TestClient(create_app(guarded, engine), client=("127.0.0.1", 50000)) as local:
        assert local.get("/metrics").status_code == 401
        wrong = local.get("/metrics", headers={"Authorization": "Bearer " + "x" * 32})
        assert wrong.status_code == 401
        right = local.get("/metrics", headers={"Authorization": "Bearer " + "m" * 32})
        assert right.status_code == 200 and "http_requests_total" in right.text


def test_security_headers_on_every_answer(client: TestClient, auth: Auth) -> None:
    viewer = auth("viewer")
    answers = {
        "health": client.get("/healthz"),
        "data": client.get("/api/v1/campaigns/js-2024/totals", headers=viewer),
        "problem": client.get("/api/v1/campaigns/nope/totals", headers=viewer),
        "docs": client.get("/docs"),
        "dashboard": client.get("/dashboard/"),
    }
    for name, answer in answers.items():
        assert answer.headers["x-content-type-options"] == "nosniff", name
        assert answer.headers["referrer-policy"] == "no-referrer", name
        assert answer.headers["x-frame-options"] == "DENY", name
        assert "frame-ancestors 'none'" in answer.headers["content-security-policy"], name
        assert "server" not in answer.headers, name
    assert answers["data"].headers["content-security-policy"].startswith("default-src 'none'")
    assert "script-src 'self'" in answers["docs"].headers["content-security-policy"]
    # the dashboard's own scripts and styles only: nothing inline, nothing from elsewhere
    dashboard_policy = answers["dashboard"].headers["content-security-policy"]
    assert "script-src 'self';" in dashboard_policy and "unsafe" not in dashboard_policy
    # what a token unlocked is never kept by a shared cache
    assert answers["problem"].headers["cache-control"] == "no-store"
    assert answers["data"].headers["cache-control"].startswith("private")
    contact = client.get("/api/v1/campaigns/js-2024/cities/320100/contacts", headers=viewer)
    assert contact.headers["cache-control"] == "no-store"
