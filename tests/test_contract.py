"""The committed OpenAPI document is the contract; the docs work offline."""

import json
import re
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from app.main import create_app

EXTERNAL_URL = re.compile(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", re.IGNORECASE)


def test_committed_openapi_equals_the_served_one(client: TestClient, project_root: Path) -> None:
    committed = json.loads((project_root / "openapi" / "openapi.json").read_text("utf-8"))
    served = client.get("/openapi.json").json()
    assert served == committed, "run `python -m app openapi` and commit openapi/openapi.json"


def test_docs_pages_reference_no_external_url(client: TestClient) -> None:
    for page in ("/docs", "/redoc"):
        response = client.get(page)
        assert response.status_code == 200
        html = response.text
        assert not EXTERNAL_URL.search(html), f"{page} loads something from another host"
        assert "cdn" not in html.lower() and "fonts.googleapis" not in html
        for asset in re.findall(r"""(?:src|href)=["']([^"']+)["']""", html):
            assert client.get(asset).status_code == 200, asset


def _operations() -> list[tuple[str, str, dict[str, Any]]]:
    document = create_app().openapi()
    return [
        (path, method, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
    ]


def test_every_operation_has_summary_tags_and_body_examples() -> None:
    for path, method, operation in _operations():
        assert operation.get("summary"), f"{method} {path} has no summary"
        assert operation.get("tags"), f"{method} {path} has no tags"
        body = operation.get("requestBody")
        if body is None:
            continue
        for media in body["content"].values():
            schema = media["schema"]
            document = create_app().openapi()
            if "$ref" in schema:
                schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
            # A file upload's example is a file: its description says which one.
            has_example = "examples" in schema or any(
                "examples" in prop or "example" in prop or "contentMediaType" in prop
                for prop in schema.get("properties", {}).values()
            )
            assert has_example, f"{method} {path} request body has no example"


def test_every_error_response_is_a_problem() -> None:
    for path, method, operation in _operations():
        for status, response in operation["responses"].items():
            if status.startswith(("4", "5")):
                assert list(response["content"]) == ["application/problem+json"], (
                    f"{method} {path} {status}"
                )
