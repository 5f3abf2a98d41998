"""Creating records safely under retries: with an `Idempotency-Key`, a repeated request
gets the first answer back and creates nothing."""

from collections.abc import Callable

from fastapi import Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlmodel import Session

from app.auth.policy import CityAccess
from app.idempotency.service import StoredResponse, answer_once


def create_once(
    request: Request,
    session: Session,
    access: CityAccess,
    idempotency_key: str | None,
    body: BaseModel,
    produce: Callable[[], tuple[BaseModel, str]],
) -> JSONResponse:
    """`produce` creates the record and returns it with its address: a 201 with Location
    (and ETag when the record has one)."""

    def stored() -> StoredResponse:
        record, location = produce()
        document = record.model_dump(mode="json")
        etag = {"ETag": document["etag"]} if "etag" in document else {}
        return StoredResponse(201, document, {"Location": location, **etag})

    return answer_once(
        request,
        session,
        access.principal.client_id,
        idempotency_key,
        body.model_dump(mode="json"),
        stored,
    )
