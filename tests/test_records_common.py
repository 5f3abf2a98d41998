"""Helpers every record shares: plain-text checks, cursors, revision diffs."""

import pytest
from pydantic import BaseModel

from app.core.errors import InvalidInput
from app.core.text import Title, text_problem
from app.records.pagination import decode_cursor, encode_cursor, next_cursor
from app.records.revisions import content_sha256, field_changes


class Titled(BaseModel):
    title: Title


@pytest.mark.parametrize(
    ("value", "multiline", "ok"),
    [
        ("春风行动 招聘会", False, True),
        ("line one\nline two\tTabbed", True, True),
        ("line one\nline two", False, False),
        ("nul\x00byte", True, False),
        ("bell\x07", True, False),
        ("lone \ud800 surrogate", True, False),
        ("escape \x1b[31m", False, False),
    ],
)
def test_text_problem(value: str, multiline: bool, ok: bool) -> None:
    assert (text_problem(value, multiline=multiline) is None) is ok


def test_titles_are_trimmed_and_never_blank() -> None:
    assert Titled(title="  溧水区专场  ").title == "溧水区专场"
    for bad in ("   ", "", "a\x00b", "x" * 201):
        with pytest.raises(ValueError, match="title"):
            Titled(title=bad)


def test_cursor_round_trip_and_tampering() -> None:
    key = ("2024-02-18", 42)
    assert decode_cursor(encode_cursor(key), (str, int)) == key
    for bad in ("", "not base64 at all!", encode_cursor((42,)), encode_cursor(("x", "y"))):
        with pytest.raises(InvalidInput) as caught:
            decode_cursor(bad, (str, int))
        assert caught.value.errors[0].field == "query.cursor"
    assert next_cursor([(1,), (2,), (3,)], 2) == encode_cursor((2,))
    assert next_cursor([(1,), (2,)], 2) is None


def test_fingerprints_ignore_key_order() -> None:
    assert content_sha256({"a": 1, "b": [1, 2]}) == content_sha256({"b": [1, 2], "a": 1})
    assert content_sha256({"a": 1}) != content_sha256({"a": 2})


def test_field_changes() -> None:
    changes = field_changes({"a": 1, "b": 2}, {"a": 1, "b": 3, "c": None})
    assert [(c.field, c.previous, c.current) for c in changes] == [("b", 2, 3)]
    assert [c.field for c in field_changes(None, {"x": 1})] == ["x"]
