"""The command line: migrate, client management and the OpenAPI writer."""

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.cli import main
from app.core.settings import get_settings


@pytest.fixture
def cli_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/cli.db")
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def test_clients_create_list_disable(
    cli_database: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["migrate"]) == 0
    assert main(["migrate"]) == 0, "migrate is idempotent"
    assert (
        main(
            [
                "clients",
                "create",
                "--name",
                "南京市人社局",
                "--role",
                "reporter",
                "--city",
                "320100",
            ]
        )
        == 0
    )
    created = json.loads(capsys.readouterr().out)
    assert created["client_id"].startswith("reporter-320100-")
    assert len(created["client_secret"]) >= 40

    assert main(["clients", "list"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed["client_id"] == created["client_id"]
    assert "client_secret" not in listed and created["client_secret"] not in json.dumps(listed)

    assert main(["clients", "disable", created["client_id"]]) == 0
    assert json.loads(capsys.readouterr().out)["disabled_at"]


def test_a_reviewer_client_is_created_like_any_other(
    cli_database: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["migrate"]) == 0
    capsys.readouterr()
    assert main(["clients", "create", "--name", "省厅审核", "--role", "reviewer"]) == 0
    created = json.loads(capsys.readouterr().out)
    assert (created["role"], created["city"]) == ("reviewer", None)
    assert created["client_id"].startswith("reviewer-province-")
    assert main(["clients", "create", "--name", "x", "--role", "reviewer", "--city", "320100"]) == 2
    assert "only reporters have a city" in capsys.readouterr().err


def test_cli_errors_are_explained(cli_database: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["migrate"]) == 0
    capsys.readouterr()
    assert main(["clients", "create", "--name", "x", "--role", "reporter"]) == 2
    assert "reporter is bound to one city" in capsys.readouterr().err
    assert main(["clients", "disable", "ghost"]) == 2


def test_openapi_command_writes_the_document(tmp_path: Path) -> None:
    target = tmp_path / "openapi.json"
    assert main(["openapi", "--output", str(target)]) == 0
    assert json.loads(target.read_text("utf-8"))["info"]["title"]
