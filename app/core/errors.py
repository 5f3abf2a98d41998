"""The service's error hierarchy.

Services raise these; `app.core.problems` renders every one of them (and every framework
error) as an RFC 9457 problem document. Nothing else decides an error's shape.
"""

from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any


@dataclass(frozen=True)
class FieldError:
    """One violation: where (a JSON path such as `values.fairs_online`), a stable code, and why."""

    field: str
    code: str
    message: str
    extra: dict[str, Any] = dataclass_field(default_factory=dict)


class ServiceError(Exception):
    status: int = 400
    title: str = "Bad request"
    type_slug: str = "bad-request"

    def __init__(
        self,
        detail: str,
        *,
        errors: list[FieldError] | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []
        self.headers = headers or {}
        self.extra = extra or {}

    def __reduce__(self) -> tuple[Any, ...]:
        # Whole, across processes (an event import's answer): the default pickles only
        # the message, and the subclasses' constructors take other arguments.
        return (_restored, (type(self), self.detail, self.errors, self.headers, self.extra))


def _restored(
    kind: type[ServiceError],
    detail: str,
    errors: list[FieldError],
    headers: dict[str, str],
    extra: dict[str, Any],
) -> ServiceError:
    error = kind.__new__(kind)
    ServiceError.__init__(error, detail, errors=errors, headers=headers, extra=extra)
    return error


class BadRequest(ServiceError):
    """A request the protocol refuses (RFC 6749 5.2 answers an unknown grant so)."""


class NotFound(ServiceError):
    status, title, type_slug = 404, "Not found", "not-found"


class Unauthorized(ServiceError):
    status, title, type_slug = 401, "Unauthorized", "unauthorized"

    def __init__(self, detail: str, *, oauth_error: str | None = "invalid_token") -> None:
        challenge = 'Bearer realm="spring-breeze"'
        if oauth_error is not None:
            challenge += f', error="{oauth_error}"'
        super().__init__(
            detail,
            headers={"WWW-Authenticate": challenge},
            extra={"error": oauth_error} if oauth_error else {},
        )


class InvalidClient(ServiceError):
    """OAuth2 token endpoint: unknown client, wrong secret or disabled client (RFC 6749 5.2)."""

    status, title, type_slug = 401, "Invalid client", "invalid-client"

    def __init__(self, detail: str) -> None:
        super().__init__(
            detail,
            headers={"WWW-Authenticate": 'Basic realm="spring-breeze"'},
            extra={"error": "invalid_client"},
        )


class Forbidden(ServiceError):
    status, title, type_slug = 403, "Forbidden", "forbidden"


class Conflict(ServiceError):
    status, title, type_slug = 409, "Conflict", "conflict"


class InvalidInput(ServiceError):
    status, title, type_slug = 422, "Invalid input", "invalid-input"


class PreconditionFailed(ServiceError):
    status, title, type_slug = 412, "Precondition failed", "precondition-failed"


class Locked(ServiceError):
    status, title, type_slug = 423, "Locked", "locked"


class RequestTimeout(ServiceError):
    status, title, type_slug = 408, "Request timeout", "request-timeout"


class PayloadTooLarge(ServiceError):
    status, title, type_slug = 413, "Payload too large", "payload-too-large"


class UnsupportedMediaType(ServiceError):
    status, title, type_slug = 415, "Unsupported media type", "unsupported-media-type"


class TooManyRequests(ServiceError):
    status, title, type_slug = 429, "Too many requests", "too-many-requests"

    def __init__(self, detail: str, *, retry_after_seconds: int) -> None:
        super().__init__(
            detail,
            headers={"Retry-After": str(retry_after_seconds)},
            extra={"retry_after_seconds": retry_after_seconds},
        )


class ServiceUnavailable(ServiceError):
    """Overloaded or briefly unable to take the work: the client should retry after a pause."""

    status, title, type_slug = 503, "Service unavailable", "service-unavailable"

    def __init__(self, detail: str, *, retry_after_seconds: int = 1) -> None:
        super().__init__(
            detail,
            headers={"Retry-After": str(retry_after_seconds)},
            extra={"retry_after_seconds": retry_after_seconds},
        )
