from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic_core import PydanticCustomError

from app.contacts.formats import FormatError, normalize_email, normalize_phone
from app.core.text import SingleLine
from app.records.fields import ReceivedAt


def _normal_form(normalize: Callable[[str], str], code: str) -> AfterValidator:
    """A format rule a JSON Schema cannot state (area codes, mailbox syntax), refused with
    its own error code rather than a generic `value_error`."""

    def check(raw: str) -> str:
        try:
            return normalize(raw)
        except FormatError as error:
            raise PydanticCustomError(code, str(error)) from error

    return AfterValidator(check)


Phone = Annotated[
    str, Field(min_length=7, max_length=40), _normal_form(normalize_phone, "invalid_phone")
]
Email = Annotated[
    str, Field(min_length=3, max_length=254), _normal_form(normalize_email, "invalid_email")
]


class ContactIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"name": "王敏", "phone": "025-83201234", "email": "jiuye@nanjing.gov.cn"}]
        },
    )

    name: Annotated[str, Field(min_length=1, max_length=64), SingleLine]
    phone: Phone = Field(
        description="A mobile (13812345678, +86 allowed) or a landline with its area code "
        "(025-83201234, extension as -801 or 转801); stored in normal form"
    )
    email: Email
    received_at: ReceivedAt = None


class ContactOut(BaseModel):
    campaign: str
    city: str
    name: str
    phone: str = Field(description="Masked (138****5678) unless you are the city or an admin")
    email: str = Field(description="Masked (z***@nanjing.gov.cn) unless the city or an admin")
    masked: bool
    revision: int
    first_received_at: datetime = Field(description="When the contact was first submitted")
    submitted_by: str
    received_at: datetime
    backdated: bool


class ContactWriteResult(ContactOut):
    status: Literal["created", "updated", "unchanged"]
