"""Attachments over HTTP: streamed uploads typed by content, hostile files, downloads and
who may reach them."""

import hashlib
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.attachments import service
from app.attachments.sniff import PNG
from app.attachments.storage import DirectoryStorage
from app.attachments.upload import ReceivedFile
from tests import samples
from tests.records_helpers import DOCUMENT, NANJING, SUZHOU, Auth, case_body, city_url, role_matrix

PICTURE_LIMIT = 8 * 1024
VIDEO_LIMIT = 32 * 1024
DOCUMENT_LIMIT = 16 * 1024


@pytest.fixture
def storage_dir(app: FastAPI, tmp_path: Path) -> Path:
    directory = tmp_path / "storage"
    app.state.settings = app.state.settings.model_copy(
        update={
            "storage_dir": directory,
            "max_picture_bytes": PICTURE_LIMIT,
            "max_video_bytes": VIDEO_LIMIT,
            "max_document_bytes": DOCUMENT_LIMIT,
            "max_attachments_per_record": 4,
        }
    )
    return directory


def stored_files(directory: Path) -> list[Path]:
    return [path for path in directory.rglob("*") if path.is_file()]


@pytest.fixture
def nanjing(auth: Auth) -> dict[str, str]:
    return auth("reporter", NANJING)


@pytest.fixture
def case_url(client: TestClient, nanjing: dict[str, str], storage_dir: Path) -> str:
    response = client.post(city_url(NANJING, "cases"), json=case_body(), headers=nanjing)
    return city_url(NANJING, "cases", response.json()["id"])


def upload(
    client: TestClient,
    url: str,
    headers: dict[str, str],
    data: bytes,
    name: str = "file.bin",
    declared: str = "application/octet-stream",
) -> Any:
    return client.post(
        url + "/attachments", files={"file": (name, data, declared)}, headers=headers
    )


@pytest.mark.parametrize(
    ("data", "name", "declared", "content_type", "filename"),
    [
        (samples.jpeg(), "招聘会现场.jpg", "image/jpeg", "image/jpeg", "招聘会现场.jpg"),
        (samples.png(), "photo.png", "image/png", "image/png", "photo.png"),
        (samples.webp(), "photo.webp", "image/webp", "image/webp", "photo.webp"),
        (samples.mp4(), "直播带岗.mp4", "video/mp4", "video/mp4", "直播带岗.mp4"),
        (samples.pdf(), "方案.pdf", "application/pdf", "application/pdf", "方案.pdf"),
        (
            samples.docx(),
            "总结.docx",
            "application/octet-stream",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "总结.docx",
        ),
        # the declared type and the name are not believed: the content decides
        (samples.png(), "photo.jpg", "application/pdf", "image/png", "photo.jpg.png"),
    ],
)
def test_upload_and_download(
    client: TestClient,
    nanjing: dict[str, str],
    case_url: str,
    storage_dir: Path,
    data: bytes,
    name: str,
    declared: str,
    content_type: str,
    filename: str,
) -> None:
    response = upload(client, case_url, nanjing, data, name, declared)
    assert response.status_code == 201, response.text
    out = response.json()
    assert out["content_type"] == content_type and out["filename"] == filename
    assert out["size"] == len(data) and out["sha256"] == hashlib.sha256(data).hexdigest()
    assert out["declared_type"] == declared and out["uploaded_by"].startswith("reporter-")
    assert response.headers["location"] == out["url"]

    download = client.get(out["url"], headers=nanjing)
    assert download.status_code == 200 and download.content == data
    assert download.headers["content-type"] == content_type
    assert download.headers["content-disposition"].startswith("attachment; filename=")
    assert "filename*=UTF-8''" in download.headers["content-disposition"]
    assert download.headers["etag"] == f'"{out["sha256"]}"'
    assert download.headers["x-content-type-options"] == "nosniff"

    case = client.get(case_url, headers=nanjing).json()
    assert [a["id"] for a in case["attachments"]] == [out["id"]]
    assert client.get(case_url + "/attachments", headers=nanjing).json() == [out]
    assert len(stored_files(storage_dir)) == 1


def test_a_file_streamed_in_small_chunks(
    client: TestClient, nanjing: dict[str, str], case_url: str
) -> None:
    video = samples.mp4(media=20_000, large_mdat=True)
    boundary = "sb-test-boundary"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="v.mp4"\r\n'
        f"Content-Type: video/mp4\r\n\r\n".encode()
        + video
        + f"\r\n--{boundary}--\r\n".encode()
    )

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(body), 997):
            yield body[start : start + 997]

    response = client.post(
        case_url + "/attachments",
        content=chunks(),
        headers=nanjing | {"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert response.status_code == 201, response.text
    assert response.json()["sha256"] == hashlib.sha256(video).hexdigest()
    assert client.get(response.json()["url"], headers=nanjing).content == video


HOSTILE = [
    pytest.param(samples.windows_executable(), "photo.jpg", "image/jpeg", 415, id="exe-as-jpg"),
    pytest.param(samples.elf_executable(), "video.mp4", "video/mp4", 415, id="elf-as-mp4"),
    pytest.param(b"<svg onload=alert(1)>", "x.png", "image/png", 415, id="svg-as-png"),
    pytest.param(b"<html>hi</html>", "a.pdf", "application/pdf", 415, id="html-as-pdf"),
    pytest.param(samples.xlsx(), "report.docx", "application/msword", 415, id="xlsx-as-docx"),
    pytest.param(samples.docx({"word/vbaProject.bin": b"x"}), "m.docx", "", 415, id="macro-docx"),
    pytest.param(b"GIF89a" + b"\x00" * 40, "anim.gif", "image/gif", 415, id="gif"),
    pytest.param(b"%PD", "tiny.pdf", "application/pdf", 415, id="too-short"),
    pytest.param(samples.truncated(samples.jpeg()), "cut.jpg", "image/jpeg", 422, id="cut-jpg"),
    pytest.param(samples.truncated(samples.png()), "cut.png", "image/png", 422, id="cut-png"),
    pytest.param(samples.truncated(samples.mp4()), "cut.mp4", "video/mp4", 422, id="cut-mp4"),
    pytest.param(samples.truncated(samples.pdf()), "cut.pdf", "application/pdf", 422, id="cut-pdf"),
    pytest.param(samples.truncated(samples.docx()), "cut.docx", "", 422, id="cut-docx"),
    pytest.param(samples.truncated(samples.webp()), "cut.webp", "", 422, id="cut-webp"),
    pytest.param(b"", "empty.jpg", "image/jpeg", 422, id="empty"),
    pytest.param(samples.png(padding=PICTURE_LIMIT), "big.png", "image/png", 413, id="big-png"),
    pytest.param(samples.mp4(media=VIDEO_LIMIT), "big.mp4", "video/mp4", 413, id="big-mp4"),
    pytest.param(
        samples.pdf() + b"%" * DOCUMENT_LIMIT + b"\n%%EOF", "big.pdf", "", 413, id="big-pdf"
    ),
]


@pytest.mark.parametrize(("data", "name", "declared", "status"), HOSTILE)
def test_hostile_uploads_are_refused_and_leave_nothing(
    client: TestClient,
    nanjing: dict[str, str],
    case_url: str,
    storage_dir: Path,
    data: bytes,
    name: str,
    declared: str,
    status: int,
) -> None:
    response = upload(client, case_url, nanjing, data, name, declared or "application/octet-stream")
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"][0]["field"] == "file"
    assert client.get(case_url + "/attachments", headers=nanjing).json() == []
    assert stored_files(storage_dir) == []


def test_a_big_video_is_allowed_where_a_big_picture_is_not(
    client: TestClient, nanjing: dict[str, str], case_url: str
) -> None:
    video = samples.mp4(media=PICTURE_LIMIT * 2)
    assert upload(client, case_url, nanjing, video, "v.mp4").status_code == 201


@pytest.mark.parametrize(
    ("content", "content_type", "status"),
    [
        (b'{"file": "x"}', "application/json", 415),
        (b"whatever", "multipart/form-data", 415),  # no boundary
        (b"--b\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\n" + samples.pdf(),
         "multipart/form-data; boundary=b", 422),  # never closed
        (b"--b\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhi\r\n--b--\r\n",
         "multipart/form-data; boundary=b", 422),  # not the file field
        (b"--b--\r\n", "multipart/form-data; boundary=b", 422),  # no file at all
        (b"garbage without any boundary", "multipart/form-data; boundary=b", 422),
    ],
)  # fmt: skip
def test_malformed_requests(
    client: TestClient,
    nanjing: dict[str, str],
    case_url: str,
    storage_dir: Path,
    content: bytes,
    content_type: str,
    status: int,
) -> None:
    response = client.post(
        case_url + "/attachments", content=content, headers=nanjing | {"Content-Type": content_type}
    )
    assert response.status_code == status, response.text
    assert stored_files(storage_dir) == []


def test_two_files_in_one_request(
    client: TestClient, nanjing: dict[str, str], case_url: str, storage_dir: Path
) -> None:
    response = client.post(
        case_url + "/attachments",
        files=[("file", ("a.pdf", samples.pdf())), ("file", ("b.pdf", samples.pdf()))],
        headers=nanjing,
    )
    assert response.status_code == 422 and response.json()["errors"][0]["code"] == "repeated"
    assert stored_files(storage_dir) == []


def test_a_declared_length_beyond_every_limit_is_refused_before_reading(
    client: TestClient, nanjing: dict[str, str], case_url: str
) -> None:
    response = client.post(
        case_url + "/attachments",
        content=b"--b--\r\n",
        headers=nanjing
        | {"Content-Type": "multipart/form-data; boundary=b", "Content-Length": "999999999"},
    )
    assert response.status_code == 413


def test_attachments_per_record_are_limited(
    client: TestClient, nanjing: dict[str, str], case_url: str
) -> None:
    for _ in range(4):
        assert upload(client, case_url, nanjing, samples.pdf()).status_code == 201
    refused = upload(client, case_url, nanjing, samples.pdf())
    assert refused.status_code == 409


def test_documents_carry_attachments_too(
    client: TestClient, nanjing: dict[str, str], auth: Auth, storage_dir: Path
) -> None:
    document = client.post(city_url(NANJING, "documents"), json=DOCUMENT, headers=nanjing).json()
    url = city_url(NANJING, "documents", document["id"])
    out = upload(client, url, nanjing, samples.docx(), "阶段报告.docx").json()
    assert out["url"] == f"{url}/attachments/{out['id']}"
    assert client.get(url, headers=auth("viewer")).json()["attachments"] == [out]
    assert client.get(out["url"], headers=auth("viewer")).content == samples.docx()
    # the same id under a case of the city is not this file
    case = client.post(city_url(NANJING, "cases"), json=case_body(), headers=nanjing).json()
    wrong_owner = city_url(NANJING, "cases", case["id"], "attachments", out["id"])
    assert client.get(wrong_owner, headers=nanjing).status_code == 404


def test_other_cities_attachments_are_out_of_reach(
    client: TestClient, nanjing: dict[str, str], auth: Auth, case_url: str
) -> None:
    suzhou = auth("reporter", SUZHOU)
    out = upload(client, case_url, nanjing, samples.jpeg(), "p.jpg").json()
    case_id = case_url.rsplit("/", 1)[1]
    # the file's own address, as another city: 403
    assert client.get(out["url"], headers=suzhou).status_code == 403
    assert client.get(case_url + "/attachments", headers=suzhou).status_code == 403
    assert upload(client, case_url, suzhou, samples.jpeg()).status_code == 403
    # the same ids under the caller's own city: 404, and never the bytes
    foreign = city_url(SUZHOU, "cases", case_id, "attachments", out["id"])
    response = client.get(foreign, headers=suzhou)
    assert response.status_code == 404 and samples.jpeg() not in response.content
    assert (
        client.get(city_url(SUZHOU, "cases", case_id, "attachments"), headers=suzhou).status_code
        == 404
    )
    assert (
        upload(client, city_url(SUZHOU, "cases", case_id), suzhou, samples.jpeg()).status_code
        == 404
    )
    # a nonexistent attachment of the right case
    assert client.get(case_url + "/attachments/999999", headers=nanjing).status_code == 404


@role_matrix()
def test_roles(
    client: TestClient,
    nanjing: dict[str, str],
    auth: Auth,
    case_url: str,
    role: str,
    city: str | None,
    read: int,
    write: int,
) -> None:
    out = upload(client, case_url, nanjing, samples.png(), "p.png").json()
    headers = auth(role, city)
    assert client.get(case_url + "/attachments", headers=headers).status_code == read
    assert client.get(out["url"], headers=headers).status_code == read
    assert upload(client, case_url, headers, samples.png()).status_code == write
    assert client.get(out["url"]).status_code == 401
    assert upload(client, case_url, {}, samples.png()).status_code == 401


def test_stored_bytes_go_when_the_transaction_rolls_back(
    session: Session, tmp_path: Path, client: TestClient, nanjing: dict[str, str], case_url: str
) -> None:
    storage = DirectoryStorage(tmp_path / "rollback")
    staged = storage.stage()
    staged.write(samples.png())
    received = ReceivedFile(PNG, "p.png", "image/png", len(samples.png()), "0" * 64, staged)
    owner = service.Owner("case", int(case_url.rsplit("/", 1)[1]), "js-2024", NANJING)
    nested = session.begin_nested()
    row = service.record_upload(session, storage, owner, received, actor="t", maximum=10)
    assert storage.exists(row.storage_key)
    nested.rollback()  # a savepoint: the enclosing transaction may still commit
    assert storage.exists(row.storage_key)
    session.rollback()
    assert not storage.exists(row.storage_key)
    assert stored_files(tmp_path / "rollback") == []


def test_control_characters_in_part_headers_are_dropped(
    client: TestClient, nanjing: dict[str, str], case_url: str
) -> None:
    body = (
        b'--b\r\nContent-Disposition: form-data; name="file"; filename="a\x01b\x7f.pdf"\r\n'
        b"Content-Type: text/x\x00y\r\n\r\n" + samples.pdf() + b"\r\n--b--\r\n"
    )
    response = client.post(
        case_url + "/attachments",
        content=body,
        headers=nanjing | {"Content-Type": "multipart/form-data; boundary=b"},
    )
    assert response.status_code == 201, response.text
    assert response.json()["filename"] == "ab.pdf"
    assert response.json()["declared_type"] == "text/xy"


def test_abandoned_staged_uploads_are_removed_at_start_up(app: FastAPI, storage_dir: Path) -> None:
    """A process killed mid-upload leaves a staged file; the next start removes it once it
    is older than a live upload could be, and touches nothing else."""
    storage = DirectoryStorage(storage_dir)
    live = storage.stage()
    live.write(b"still arriving")
    abandoned = live.path.with_name("0123456789abcdef0123456789abcdef.part")
    abandoned.write_bytes(b"half a picture")  # as left by a killed process
    two_hours_ago = time.time() - 7200
    os.utime(abandoned, (two_hours_ago, two_hours_ago))
    kept = storage.stage()
    kept.write(b"a committed file")
    kept.commit("ab/" + "0" * 32)
    with TestClient(app):
        pass
    assert not abandoned.exists()
    assert live.path.exists() and (storage_dir / "ab" / ("0" * 32)).exists()
    live.discard()
