"""Runtime settings, read from the environment (and an optional `.env` file)."""

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Shipped so that `make run` works on a fresh machine; refused in production.
DEVELOPMENT_SIGNING_KEY = "development-only-signing-key-change-me-0123456789"
MIB = 1024 * 1024
# Request bodies are refused with 413 past these sizes before anything parses them: JSON
# bodies in general, a 5,000-event batch, a statistics file, an attachment (whose kind's own
# limit, below, is checked as it streams).
MAX_JSON_BODY_BYTES = 1 * MIB
MAX_BATCH_BODY_BYTES = 16 * MIB
MAX_IMPORT_BYTES_LIMIT = 50 * MIB
MAX_UPLOAD_BYTES_LIMIT = 4096 * MIB


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    app_env: Literal["development", "test", "production"] = "development"
    database_url: str = "sqlite:///./spring-breeze.db"

    # Signing keys by key id; the active one signs, all of them verify (key rotation).
    jwt_signing_keys: dict[str, str] = Field(
        default_factory=lambda: {"dev-1": DEVELOPMENT_SIGNING_KEY}
    )
    jwt_active_key_id: str = "dev-1"
    jwt_issuer: str = "spring-breeze"
    jwt_audience: str = "spring-breeze-api"
    access_token_ttl_seconds: int = Field(default=900, ge=60, le=86_400)

    max_import_bytes: int = Field(default=2 * MIB, ge=1024, le=MAX_IMPORT_BYTES_LIMIT)
    max_import_rows: int = Field(default=200, ge=10, le=10_000)

    # Attachments of cases and documents: where the files live, and the size limit per kind
    # (the kind is decided by the file's content, never by its name or declared type).
    storage_dir: Path = Path("./storage")
    max_picture_bytes: int = Field(default=10 * MIB, ge=1024, le=1024 * MIB)
    max_video_bytes: int = Field(default=200 * MIB, ge=1024, le=MAX_UPLOAD_BYTES_LIMIT)
    max_document_bytes: int = Field(default=20 * MIB, ge=1024, le=1024 * MIB)
    max_attachments_per_record: int = Field(default=30, ge=1, le=1000)
    # A staged upload untouched this long was abandoned (its process died mid-upload): it is
    # removed at start-up. A live upload touches its file with every chunk.
    abandoned_upload_seconds: int = Field(default=3600, ge=60)

    # Serving under load (per worker process): requests run in at most `worker_threads`
    # threads, each with its database connection; at most `max_in_flight` requests are
    # admitted (running or queued for a thread), the rest get 503 with Retry-After at once;
    # a request that waits `pool_wait_seconds` for a database connection (on SQLite: for
    # its turn to write) gets 503 too.
    worker_threads: int = Field(default=16, ge=2, le=256)
    max_in_flight: int = Field(default=64, ge=1, le=10_000)
    # Event batches (thousands of items of Python work each) run in this many processes of
    # their own beside each worker process, so the requests it serves meanwhile do not share
    # an interpreter with them; 0 runs them in the request's thread.
    event_import_processes: int = Field(default=1, ge=0, le=16)
    event_import_timeout_seconds: float = Field(default=300.0, gt=0, le=3600)
    # ... at this lower processor priority (nice): when the machine is busy, requests first.
    event_import_niceness: int = Field(default=10, ge=0, le=19)
    pool_wait_seconds: float = Field(default=10.0, gt=0, le=300)
    # Per process: connections uvicorn keeps open at once (beyond, it answers 503 itself).
    max_connections: int = Field(default=1000, ge=10, le=100_000)
    # A request body that stops arriving for this long is answered 408 (slow clients).
    body_idle_timeout_seconds: float = Field(default=15.0, gt=0, le=600)

    # /metrics: with a token, only for `Authorization: Bearer <token>`; without, loopback only.
    metrics_token: SecretStr | None = None

    cors_allow_origins: list[str] = Field(default_factory=list)

    # Webhooks go only to these hosts (exact names or "*.suffix"), whatever a client asks:
    # without the setting, loopback outside production and nothing in production (SSRF).
    webhook_allowed_hosts: list[str] | None = None
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    # Retries: exponential from the base, each wait at most the cap, for this long in all.
    webhook_retry_base_seconds: float = Field(default=5.0, gt=0)
    webhook_retry_cap_seconds: float = Field(default=7200.0, gt=0)
    webhook_retry_for_seconds: float = Field(default=86_400.0, gt=0)
    # A subscription whose every attempt has failed for this long is disabled.
    webhook_disable_after_seconds: float = Field(default=86_400.0, gt=0)
    # A delivery taken by a worker that died is taken again after this long.
    webhook_lease_seconds: float = Field(default=60.0, gt=0, le=3600)

    # The background worker (webhooks, reminders, e-mail): `python -m app worker`, and inside
    # `serve` unless turned off (run it apart with several PostgreSQL-backed processes).
    worker_in_serve: bool = True
    worker_poll_seconds: float = Field(default=0.5, gt=0, le=60)
    reminder_interval_seconds: float = Field(default=30.0, gt=0, le=3600)

    # E-mail reminders to each city's contact; off without a host.
    smtp_host: str | None = None
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False
    smtp_sender: str = "spring-breeze@localhost"
    smtp_timeout_seconds: float = Field(default=10.0, gt=0, le=120)

    # The live change stream (Server-Sent Events).
    stream_poll_seconds: float = Field(default=0.5, gt=0, le=10)
    stream_heartbeat_seconds: float = Field(default=15.0, gt=0, le=300)
    # A stream ends after this long; the client reconnects with Last-Event-ID.
    stream_max_seconds: float = Field(default=3600.0, gt=0)
    max_streams: int = Field(default=200, ge=1, le=100_000)
    log_level: str = "INFO"

    @model_validator(mode="after")
    def _check_keys(self) -> "Settings":
        if self.jwt_active_key_id not in self.jwt_signing_keys:
            raise ValueError(
                f"JWT_ACTIVE_KEY_ID {self.jwt_active_key_id!r} is not in JWT_SIGNING_KEYS"
            )
        weak = [kid for kid, key in self.jwt_signing_keys.items() if len(key) < 32]
        if weak:
            raise ValueError(f"JWT signing keys shorter than 32 characters: {weak}")
        if (
            self.app_env == "production"
            and DEVELOPMENT_SIGNING_KEY in self.jwt_signing_keys.values()
        ):
            raise ValueError(
                "refusing to start in production with the development JWT signing key: "
                "set JWT_SIGNING_KEYS and JWT_ACTIVE_KEY_ID"
            )
        return self

    @property
    def webhook_hosts(self) -> list[str]:
        if self.webhook_allowed_hosts is not None:
            return [host.lower() for host in self.webhook_allowed_hosts]
        return [] if self.app_env == "production" else ["127.0.0.1", "localhost", "::1"]

    @property
    def sqlalchemy_url(self) -> str:
        """The URL with the psycopg 3 driver made explicit for PostgreSQL."""
        for prefix in ("postgresql://", "postgres://"):
            if self.database_url.startswith(prefix):
                return "postgresql+psycopg://" + self.database_url[len(prefix) :]
        return self.database_url


@lru_cache
def get_settings() -> Settings:
    return Settings()
