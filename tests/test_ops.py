"""Health, readiness, metrics, CORS and production safety."""

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import Engine

from app.core.settings import DEVELOPMENT_SIGNING_KEY, Settings
from app.main import create_app
from tests.conftest import make_settings


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


def test_metrics_count_requests_by_route_template(client: TestClient) -> None:
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
