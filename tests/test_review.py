"""Review (审核, issue 13 section 1): reviewers approve, return and reopen a city's tables,
adopt, recommend and return its cases; approval freezes, compliance shows the state."""

import io
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import docx
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.computed.compliance import ReviewFact, review_at
from app.review.cases import adopted_case_ids
from tests.records_helpers import CAMPAIGN, NANJING, SUZHOU, case_body, city_url

Auth = Callable[..., dict[str, str]]
Headers = dict[str, str]
SNAPSHOT = city_url(NANJING, "tables/t1/periods/W03")
REVIEW = SNAPSHOT + "/review"
RETURNED = city_url(NANJING, "returned")
PROBLEM = "application/problem+json"


@pytest.fixture
def nanjing(auth: Auth) -> Headers:
    return auth("reporter", NANJING)


@pytest.fixture
def reviewer(auth: Auth) -> Headers:
    return auth("reviewer")


def submit(client: TestClient, headers: Headers, fairs: int, url: str = SNAPSHOT) -> Any:
    return client.put(url, json={"values": {"fairs_total": fairs}}, headers=headers)


def decide(client: TestClient, headers: Headers, url: str = REVIEW, **body: Any) -> Any:
    return client.post(url, json=body, headers=headers)


def review_of(client: TestClient, headers: Headers, url: str = SNAPSHOT) -> dict[str, Any]:
    response = client.get(url, headers=headers)
    assert response.status_code == 200, response.text
    review: dict[str, Any] = response.json()["review"]
    return review


def test_return_resubmit_approve_freeze_reopen(
    client: TestClient, auth: Auth, nanjing: Headers, reviewer: Headers
) -> None:
    assert submit(client, nanjing, 12).json()["revision"] == 1
    assert review_of(client, nanjing) == {
        "state": "submitted",
        "revision": None,
        "decision": None,
        "reason": None,
        "comments": {},
        "resubmit_by": None,
        "by": None,
        "at": None,
    }

    returned = decide(
        client,
        reviewer,
        decision="return",
        revision=1,
        reason="招聘会场次偏少，请核实",
        comments={"fairs_total": "少于上周累计数"},
        resubmit_by="2024-02-12T12:00:00+08:00",
    )
    assert returned.status_code == 200, returned.text
    assert returned.json()["state"] == "returned"

    # the city sees the reviewer's reason and comments on its snapshot and in its list
    seen = review_of(client, nanjing)
    assert seen["state"] == "returned" and seen["decision"] == "return"
    assert (seen["revision"], seen["reason"]) == (1, "招聘会场次偏少，请核实")
    assert seen["comments"] == {"fairs_total": "少于上周累计数"}
    assert seen["resubmit_by"] == "2024-02-12T04:00:00Z"
    assert seen["by"].startswith("reviewer-province-") and seen["at"]
    listed = client.get(RETURNED, headers=nanjing).json()
    assert [(t["table"], t["period"]) for t in listed["tables"]] == [("t1", "W03")]
    assert listed["tables"][0]["review"] == seen and listed["cases"] == []
    assert client.get(RETURNED, headers=auth("reporter", SUZHOU)).status_code == 403

    # resubmitting puts it back to submitted and off the list
    assert submit(client, nanjing, 14).json()["revision"] == 2
    assert review_of(client, nanjing)["state"] == "submitted"
    assert client.get(RETURNED, headers=nanjing).json()["tables"] == []

    stale = decide(client, reviewer, decision="approve", revision=1)
    assert stale.status_code == 409 and stale.headers["content-type"] == PROBLEM
    assert stale.json()["current_revision"] == 2
    assert "current revision is 2" in stale.json()["detail"]

    approved = decide(client, reviewer, decision="approve", revision=2)
    assert approved.status_code == 200 and approved.json()["state"] == "approved"
    assert review_of(client, nanjing)["state"] == "approved"

    # frozen: every way of writing is refused with 423, reads still work
    refused = [
        submit(client, nanjing, 15),
        client.put(
            SNAPSHOT + "?dry_run=true", json={"values": {"fairs_total": 15}}, headers=nanjing
        ),
        client.post(
            city_url(NANJING, "tables/t1/imports?period=W03"),
            files={"file": ("t1.csv", b"key,value\nfairs_total,16\n", "text/csv")},
            headers=nanjing,
        ),
    ]
    for response in refused:
        assert response.status_code == 423, response.text
        assert response.headers["content-type"] == PROBLEM
        assert "approved" in response.json()["detail"] and "reopen" in response.json()["detail"]
        assert response.json()["approved_revision"] == 2
    assert client.get(SNAPSHOT, headers=nanjing).json()["revision"] == 2
    # the other table and other periods of the city are not frozen
    assert submit(client, nanjing, 3, city_url(NANJING, "tables/t1/periods/W04")).is_success

    again = decide(client, reviewer, decision="return", revision=2, reason="再核实")
    assert again.status_code == 409, "an approved snapshot is reopened first"
    assert decide(client, reviewer, decision="reopen", revision=2).status_code == 422
    reopened = decide(client, reviewer, decision="reopen", revision=2, reason="市局申请更正")
    assert reopened.status_code == 200 and reopened.json()["state"] == "submitted"
    assert submit(client, nanjing, 15).json()["revision"] == 3

    history = client.get(SNAPSHOT + "/reviews", headers=nanjing).json()
    assert [(d["decision"], d["revision"]) for d in history] == [
        ("return", 1),
        ("approve", 2),
        ("reopen", 2),
    ]
    assert history[0]["comments"] == {"fairs_total": "少于上周累计数"}
    assert all(d["by"].startswith("reviewer-") and d["at"] for d in history)


def test_a_return_needs_a_reason_and_comments_name_indicators_of_the_table(
    client: TestClient, nanjing: Headers, reviewer: Headers
) -> None:
    submit(client, nanjing, 12)
    unknown = decide(
        client,
        reviewer,
        decision="return",
        revision=1,
        reason="请核实",
        comments={"fairs_total": "偏少", "jobs_created": "t1 没有这项"},
    )
    assert unknown.status_code == 422
    assert [(e["field"], e["code"]) for e in unknown.json()["errors"]] == [
        ("comments.jobs_created", "unknown_key")
    ]
    assert decide(client, reviewer, decision="return", revision=1).status_code == 422
    assert (
        decide(client, reviewer, decision="approve", revision=1, comments={"fairs_total": "x"})
    ).status_code == 422, "only a return carries comments"
    assert decide(client, reviewer, decision="reopen", revision=1, reason="x").status_code == 409
    assert review_of(client, nanjing)["state"] == "submitted", "nothing was decided"


def test_nothing_submitted_is_nothing_to_review(client: TestClient, reviewer: Headers) -> None:
    missing = decide(client, reviewer, decision="approve", revision=1)
    assert missing.status_code == 404 and "nothing to review" in missing.json()["detail"]
    unknown_table = city_url(NANJING, "tables/t9/periods/W03/review")
    assert decide(client, reviewer, unknown_table, decision="approve", revision=1).status_code == (
        404
    )


@pytest.mark.parametrize(
    ("role", "city", "status"),
    [
        ("reporter", NANJING, 403),
        ("viewer", None, 403),
        ("reviewer", None, 200),
        ("admin", None, 200),
    ],
)
def test_only_reviewers_and_admins_decide(
    client: TestClient, nanjing: Headers, auth: Auth, role: str, city: str | None, status: int
) -> None:
    submit(client, nanjing, 12)
    case = client.post(city_url(NANJING, "cases"), json=case_body(), headers=nanjing).json()
    headers = auth(role, city)
    assert decide(client, headers, decision="approve", revision=1).status_code == status
    case_review = city_url(NANJING, "cases", case["id"], "review")
    assert decide(client, headers, case_review, decision="adopt").status_code == status


def test_a_reviewer_reads_everything_but_writes_and_administers_nothing(
    client: TestClient, nanjing: Headers, reviewer: Headers
) -> None:
    submit(client, nanjing, 12)
    assert client.get(SNAPSHOT, headers=reviewer).status_code == 200
    assert client.get(f"{CAMPAIGN}/urgent", headers=reviewer).status_code == 200
    assert client.get(city_url(SUZHOU, "returned"), headers=reviewer).status_code == 200
    assert submit(client, reviewer, 13).status_code == 403
    assert (
        client.post(city_url(NANJING, "cases"), json=case_body(), headers=reviewer).status_code
        == 403
    )
    administration = [
        client.put(f"{CAMPAIGN}/periods/W03/lock", json={"reason": "x"}, headers=reviewer),
        client.put(
            f"{CAMPAIGN}/due-overrides/W03",
            json={"due": "2024-02-10T17:30:00+08:00", "reason": "顺延"},
            headers=reviewer,
        ),
    ]
    for response in administration:
        assert response.status_code == 403 and "admin role" in response.json()["detail"]
    contact = city_url(NANJING, "contacts")
    body = {"name": "王敏", "phone": "13812345678", "email": "jiuye@nanjing.gov.cn"}
    assert client.put(contact, json=body, headers=nanjing).status_code in (200, 201)
    assert client.get(contact, headers=reviewer).json()["phone"] == "138****5678"


def test_cases_are_adopted_recommended_and_returned(
    client: TestClient, session: Session, nanjing: Headers, reviewer: Headers
) -> None:
    case = client.post(city_url(NANJING, "cases"), json=case_body(), headers=nanjing).json()
    assert case["review"]["state"] == "submitted" and case["review"]["decision"] is None
    address = city_url(NANJING, "cases", case["id"])

    adopted = decide(client, reviewer, address + "/review", decision="adopt", reason="编入简报")
    assert adopted.status_code == 200, adopted.text
    assert adopted.json()["state"] == "adopted" and adopted.json()["revision"] == 1
    assert client.get(address, headers=nanjing).json()["review"]["state"] == "adopted"
    listed = client.get(city_url(NANJING, "cases"), headers=nanjing).json()["items"]
    assert [c["review"]["state"] for c in listed] == ["adopted"]
    assert adopted_case_ids(session, "js-2024", "W03") == {case["id"]}
    assert adopted_case_ids(session, "js-2024", "W04") == set()

    recommended = decide(client, reviewer, address + "/review", decision="recommend")
    assert recommended.json()["state"] == "recommended"
    assert adopted_case_ids(session, "js-2024", "W03") == {case["id"]}, "recommended is adopted"

    assert decide(client, reviewer, address + "/review", decision="return").status_code == 422
    returned = decide(
        client, reviewer, address + "/review", decision="return", reason="请补充成效数据"
    )
    assert returned.json()["state"] == "returned"
    assert adopted_case_ids(session, "js-2024", "W03") == set()
    listed_returned = client.get(RETURNED, headers=nanjing).json()["cases"]
    assert [(c["case_id"], c["review"]["reason"]) for c in listed_returned] == [
        (case["id"], "请补充成效数据")
    ]

    revised = client.patch(address, json={"text": "补充：达成就业意向316人。"}, headers=nanjing)
    assert revised.json()["review"]["state"] == "submitted"
    assert client.get(RETURNED, headers=nanjing).json()["cases"] == []

    stale = decide(client, reviewer, address + "/review", decision="adopt", revision=1)
    assert stale.status_code == 409 and stale.json()["current_revision"] == 2
    assert decide(client, reviewer, address + "/review", decision="adopt", revision=2).is_success

    history = client.get(address + "/reviews", headers=nanjing).json()
    assert [(d["decision"], d["revision"]) for d in history] == [
        ("adopt", 1),
        ("recommend", 1),
        ("return", 1),
        ("adopt", 2),
    ]
    other_city = city_url(SUZHOU, "cases", case["id"], "review")
    assert decide(client, reviewer, other_city, decision="adopt").status_code == 404


def compliance_item(
    client: TestClient, headers: Headers, at: datetime, city: str = NANJING
) -> dict[str, Any]:
    response = client.get(
        f"{CAMPAIGN}/compliance",
        params={"at": at.isoformat(), "city": city, "period": "W03"},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    (item,) = [i for i in response.json()["items"] if i["deliverable"] == "t1"]
    found: dict[str, Any] = item
    return found


def on_time_t1(client: TestClient, admin: Headers, city: str) -> str:
    """A T1 W03 received an hour before its due instant (an administrator's backdated load)."""
    due = compliance_item(client, admin, datetime.now(UTC), city)["due"]
    received = (datetime.fromisoformat(due) - timedelta(hours=1)).isoformat()
    url = city_url(city, "tables/t1/periods/W03")
    body = {"values": {"fairs_total": 5}, "received_at": received}
    assert client.put(url, json=body, headers=admin).status_code == 200
    return url


def test_compliance_shows_the_review_state_and_the_resubmission_deadline(
    client: TestClient, auth: Auth, nanjing: Headers, reviewer: Headers
) -> None:
    admin = auth("admin")
    now = datetime.now(UTC).replace(microsecond=0)
    on_time_t1(client, admin, NANJING)
    item = compliance_item(client, nanjing, now)
    assert (item["status"], item["review_state"], item["late_reason"]) == (
        "on_time",
        "submitted",
        None,
    )
    assert compliance_item(client, nanjing, now, SUZHOU)["review_state"] is None

    resubmit_by = now + timedelta(hours=1)
    decide(
        client,
        reviewer,
        decision="return",
        revision=1,
        reason="请核实",
        resubmit_by=resubmit_by.isoformat(),
    )
    before = compliance_item(client, nanjing, resubmit_by - timedelta(minutes=30))
    assert (before["status"], before["review_state"]) == ("on_time", "returned")
    after = compliance_item(client, nanjing, resubmit_by + timedelta(hours=1))
    assert (after["status"], after["late_by_seconds"], after["review_state"]) == (
        "late",
        3600,
        "returned",
    )
    assert "not resubmitted by" in after["late_reason"]
    assert after["received_at"] == before["received_at"], "timeliness is by first receipt"

    assert submit(client, nanjing, 6).json()["revision"] == 2  # before resubmit_by
    resubmitted = compliance_item(client, nanjing, resubmit_by + timedelta(hours=1))
    assert (resubmitted["status"], resubmitted["review_state"]) == ("on_time", "submitted")

    decide(client, reviewer, decision="approve", revision=2)
    assert compliance_item(client, nanjing, now + timedelta(hours=3))["review_state"] == (
        "approved"
    )


def test_a_resubmission_after_the_reviewers_date_is_late(
    client: TestClient, auth: Auth, reviewer: Headers
) -> None:
    admin, suzhou = auth("admin"), auth("reporter", SUZHOU)
    url = on_time_t1(client, admin, SUZHOU)
    resubmit_by = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    body = {"revision": 1, "reason": "请核实", "resubmit_by": resubmit_by.isoformat()}
    assert decide(client, reviewer, url + "/review", decision="return", **body).is_success
    later = datetime.now(UTC) + timedelta(hours=1)
    assert compliance_item(client, suzhou, later, SUZHOU)["status"] == "late"

    assert submit(client, suzhou, 7, url).json()["revision"] == 2
    item = compliance_item(client, suzhou, later, SUZHOU)
    assert (item["status"], item["review_state"]) == ("late", "submitted")
    assert "resubmitted at" in item["late_reason"]
    assert 3600 <= item["late_by_seconds"] < 3600 + 120


T0 = datetime(2024, 2, 10, 9, tzinfo=UTC)


def hour(n: int | None) -> datetime | None:
    return None if n is None else T0 + timedelta(hours=n)


def fact(
    decision: Literal["approve", "return", "reopen"],
    revision: int,
    decided: int,
    due: int | None = None,
    resubmitted: int | None = None,
) -> ReviewFact:
    """A decision at hour `decided` after T0; a return's `resubmit_by` and resubmission in
    hours after T0 as well."""
    decided_at = T0 + timedelta(hours=decided)
    return ReviewFact(decision, revision, decided_at, hour(due), hour(resubmitted))


@pytest.mark.parametrize(
    ("decisions", "at", "expected"),
    [
        ([], 5, ("submitted", None)),
        ([fact("approve", 1, 1)], 5, ("approved", None)),
        ([fact("approve", 1, 6)], 5, ("submitted", None)),  # decided after `at`: not seen yet
        ([fact("return", 1, 1, due=3)], 2, ("returned", None)),
        ([fact("return", 1, 1, due=3)], 5, ("returned", 7200)),
        ([fact("return", 1, 1, due=3, resubmitted=2)], 5, ("submitted", None)),
        # resubmitted an hour after the date, then approved: still late by that hour
        (
            [fact("return", 1, 1, due=3, resubmitted=4), fact("approve", 2, 5)],
            6,
            ("approved", 3600),
        ),
        # approved after all without a resubmission: the return's request is withdrawn
        ([fact("return", 1, 1, due=3), fact("approve", 1, 2)], 6, ("approved", None)),
        # returned again with a later date: only that date counts
        ([fact("return", 1, 1, due=2), fact("return", 1, 2, due=8)], 6, ("returned", None)),
        ([fact("approve", 1, 1), fact("reopen", 1, 2)], 6, ("submitted", None)),
    ],
)
def test_review_state_and_lateness_at_an_instant(
    decisions: list[ReviewFact], at: int, expected: tuple[str, int | None]
) -> None:
    state, late_by, why = review_at(decisions, T0 + timedelta(hours=at))
    assert (state, late_by) == expected
    assert (why is None) == (late_by is None)


def test_the_briefing_and_the_cases_export_can_take_adopted_cases_only(
    client: TestClient, nanjing: Headers, reviewer: Headers
) -> None:
    created = [
        client.post(city_url(NANJING, "cases"), json=case_body(title=title), headers=nanjing).json()
        for title in ("直播带岗专场", "送岗进社区", "零工市场开市")
    ]
    adopted, recommended, returned = (city_url(NANJING, "cases", c["id"]) for c in created)
    assert decide(client, reviewer, adopted + "/review", decision="adopt").is_success
    assert decide(client, reviewer, recommended + "/review", decision="recommend").is_success
    assert decide(
        client, reviewer, returned + "/review", decision="return", reason="请补充成效"
    ).is_success

    def highlights(**params: str) -> dict[str, Any]:
        answer = client.get(
            CAMPAIGN + "/briefing", params={"period": "W03", **params}, headers=reviewer
        )
        assert answer.status_code == 200, answer.text
        section: dict[str, Any] = answer.json()["highlights"]
        return section

    latest = highlights()
    assert latest["selection"] == "latest_per_city"
    assert len(latest["cases"]) == 2  # cases_per_city, newest first, whatever the review
    chosen = highlights(cases="adopted")
    assert chosen["selection"] == "adopted_per_city"
    assert {c["title"] for c in chosen["cases"]} == {"直播带岗专场", "送岗进社区"}
    assert "经省厅采用" in chosen["text"][0]

    def docx_titles(**params: str) -> list[str]:
        answer = client.get(
            CAMPAIGN + "/exports/cases.docx", params={"period": "W03", **params}, headers=reviewer
        )
        assert answer.status_code == 200, answer.text
        paragraphs = docx.Document(io.BytesIO(answer.content)).paragraphs
        return [p.text for p in paragraphs if re.match(r"（[一二三四五六七八九十]+）", p.text)]

    assert len(docx_titles()) == 3
    assert docx_titles(cases="adopted") == ["（一）直播带岗专场", "（二）送岗进社区"]
    assert (
        client.get(
            CAMPAIGN + "/exports/cases.docx", params={"cases": "all"}, headers=reviewer
        ).status_code
        == 422
    )
