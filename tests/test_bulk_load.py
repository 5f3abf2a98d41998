"""The command line's bulk loads: same validation and revision path, progress, a summary."""

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import Session, select

from app.cli import main
from app.core.db import create_db_engine
from app.core.settings import get_settings
from app.events.models import RecruitmentEvent
from app.reporting.models import SnapshotRevision


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite:///{tmp_path}/bulk.db"
    monkeypatch.setenv("DATABASE_URL", url)
    get_settings.cache_clear()
    assert main(["migrate"]) == 0
    yield url
    get_settings.cache_clear()


def test_loading_a_past_season_of_snapshots(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    archive = tmp_path / "season.csv"
    archive.write_text(
        "city,table,period,key,value,received_at\n"
        "320100,t1,W01,fairs_total,5,2024-01-26T16:00:00+08:00\n"
        "320100,t1,W01,recruitment_funds,1.25,2024-01-26T16:00:00+08:00\n"
        "320100,t1,W02,fairs_total,9,2024-02-02T17:45:00+08:00\n"
        "320200,t1,W02,fairs_total,-3,2024-02-02T10:00:00+08:00\n",
        encoding="utf-8",
    )
    capsys.readouterr()
    assert main(["load", "snapshots", str(archive)]) == 1  # one snapshot was refused
    captured = capsys.readouterr()
    summary = json.loads(captured.out)
    assert summary["counts"] == {"accepted": 2, "rejected": 1}
    assert "320200 t1 W02" in summary["problems"][0] and "negative" in summary["problems"][0]
    assert "loading snapshots" in captured.err  # the progress bar
    with Session(create_db_engine(database)) as session:
        stored = session.exec(select(SnapshotRevision)).all()
    assert {(r.period_id, r.backdated, r.values["fairs_total"]) for r in stored} == {
        ("W01", True, "5"),
        ("W02", True, "9"),
    }


def test_loading_events_in_chunks(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = [
        json.dumps(
            {
                "external_id": f"E{n}",
                "county": "320102",
                "name": f"招聘会{n}",
                "start_date": "2024-02-05",
                "end_date": "2024-02-05",
                "mode": "offline",
            }
        )
        for n in range(7)
    ]
    lines.append(
        json.dumps(
            {
                "external_id": "BAD",
                "county": "320205",
                "name": "外市",
                "start_date": "2024-02-05",
                "end_date": "2024-02-05",
                "mode": "offline",
            }
        )
    )
    export = tmp_path / "events.jsonl"
    export.write_text("\n".join(lines), encoding="utf-8")
    capsys.readouterr()
    code = main(
        [
            "load",
            "events",
            str(export),
            "--city",
            "320100",
            "--received-at",
            "2024-02-06T09:00:00+08:00",
        ]
    )
    summary = json.loads(capsys.readouterr().out)
    assert code == 1 and summary["counts"] == {"created": 7, "rejected": 1}
    assert "item 7: items.7.county" in summary["problems"][0]
    with Session(create_db_engine(database)) as session:
        events = session.exec(select(RecruitmentEvent)).all()
    assert len(events) == 7 and all(e.backdated for e in events)
