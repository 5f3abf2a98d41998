"""The one entity-tag parser (issue 15 item 6) behind If-Match and If-None-Match."""

import pytest

from app.core.conditional import entity_tags, none_match, require_match
from app.core.errors import PreconditionFailed


@pytest.mark.parametrize(
    ("header", "tags"),
    [
        (None, set()),
        ("", set()),
        ('"r3-9f2c"', {'"r3-9f2c"'}),
        ('W/"a", "b"', {'"a"', '"b"'}),
        ("*", {"*"}),
        ('"x,y" , "z"', {'"x,y"', '"z"'}),  # a comma inside a tag is part of it
        ('"a", garbage', set()),  # a malformed list names nothing
        ("r3-9f2c", set()),  # unquoted
    ],
)
def test_entity_tag_lists(header: str | None, tags: set[str]) -> None:
    assert entity_tags(header) == tags


def test_if_none_match_and_if_match() -> None:
    assert none_match('"old", "cur-gzip"', '"cur"', '"cur-gzip"')
    assert not none_match('"old"', '"cur"')
    require_match(None, '"cur"', "revision")
    require_match('W/"cur"', '"cur"', "revision")
    require_match("*", '"cur"', "revision")
    with pytest.raises(PreconditionFailed) as refused:
        require_match("*", None, "revision")  # nothing exists yet: even * does not match
    assert refused.value.extra == {"current_etag": None}
    with pytest.raises(PreconditionFailed, match='current ETag: "cur"'):
        require_match('"old"', '"cur"', "revision")
