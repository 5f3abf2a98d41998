"""Test databases: SQLite and PostgreSQL, each built by `alembic upgrade head`.

Every database test runs once per backend. Each test works inside a transaction that is
rolled back at the end, so tests never see each other's data. Without a reachable
PostgreSQL the PostgreSQL half is skipped, unless REQUIRE_POSTGRES=1 (CI) makes it fail.

`make test` runs the suite in parallel (pytest-xdist, `--dist loadgroup`): every worker is a
session of its own, with its own PostgreSQL databases (named after the worker and a random
suffix, so concurrent runs on one server never meet), its own SQLite files, storage
directories and free ports. A plain `pytest tests/test_x.py` runs serially as before.
"""

import functools
import importlib.util
import os
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session

from app.auth import service as auth_service
from app.auth.models import Role
from app.auth.secrets import hash_secret, new_secret
from app.auth.service import create_client
from app.auth.tokens import issue_access_token
from app.campaigns.loading import load_campaigns
from app.computed import memo
from app.core.db import create_db_engine, session_scope, unit_of_work
from app.core.deps import get_read_session, get_session
from app.core.migrations import upgrade_to_head
from app.core.settings import Settings
from app.core.types import utc_now
from app.main import create_app
from tests import loop_guard
from tests.browser import CHROMIUM

POSTGRES_ADMIN_DSN = os.environ.get(
    "TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/test"
)
REQUIRE_POSTGRES = os.environ.get("REQUIRE_POSTGRES") == "1"
# "gw0", "gw1", … in a pytest-xdist worker; absent in a serial run.
XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER")

Headers = dict[str, str]


def make_settings(database_url: str) -> Settings:
    return Settings(
        _env_file=None,
        app_env="test",
        database_url=database_url,
        jwt_signing_keys={"test-2": "k" * 40, "test-1": "o" * 40},
        jwt_active_key_id="test-2",
        # Batches in the request's thread: an import process cannot see a test's rolled-back
        # transaction (tests/test_event_imports.py runs them apart, on committed data).
        event_import_processes=0,
    )


def database_name(prefix: str) -> str:
    """A PostgreSQL database of this session alone: the worker's id (under xdist) and a
    random suffix, so neither two workers nor two runs on one server share a database."""
    worker = f"{XDIST_WORKER}_" if XDIST_WORKER else ""
    return f"{prefix}_{worker}{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    name = database_name("sb_test")
    try:
        admin = psycopg.connect(POSTGRES_ADMIN_DSN, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        message = f"PostgreSQL not reachable at {POSTGRES_ADMIN_DSN}: {exc}"
        if REQUIRE_POSTGRES:
            pytest.fail(message + " (REQUIRE_POSTGRES=1)")
        pytest.skip(message + " — PostgreSQL tests skipped; set TEST_POSTGRES_DSN")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        base = POSTGRES_ADMIN_DSN.rsplit("/", 1)[0]
        yield f"{base.replace('postgresql://', 'postgresql+psycopg://', 1)}/{name}"
        admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture(scope="session")
def settings(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    storage = tmp_path_factory.mktemp("storage")
    return make_settings(database_url).model_copy(update={"storage_dir": storage})


def prepared_engine(settings: Settings) -> Iterator[Engine]:
    """The database migrated to head and loaded with regions and campaigns."""
    upgrade_to_head(settings.sqlalchemy_url)
    engine = create_db_engine(settings.sqlalchemy_url)
    for session in session_scope(engine):
        load_campaigns(session)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def engine(settings: Settings) -> Iterator[Engine]:
    yield from prepared_engine(settings)


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    connection = engine.connect()
    transaction = connection.begin()
    session = Session(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    yield session
    session.close()
    transaction.rollback()
    connection.close()


@pytest.fixture
def app(settings: Settings, engine: Engine, session: Session) -> FastAPI:
    # Each test's data is rolled back, so its change counter restarts: a memoized answer of
    # an earlier test could match the same counter value.
    memo.clear()
    app = create_app(settings, engine)

    def test_session() -> Iterator[Session]:
        yield from unit_of_work(session)

    app.dependency_overrides[get_session] = test_session
    app.dependency_overrides[get_read_session] = test_session
    app.state.job_sessions = test_session
    app.state.read_sessions = test_session
    return app


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def new_client(session: Session) -> Callable[..., tuple[str, str]]:
    """Creates an API client; returns (client_id, client_secret)."""

    def make(role: str, city: str | None = None, name: str = "test client") -> tuple[str, str]:
        created, secret = create_client(session, name=name, role=Role(role), city=city)
        session.commit()
        return created.id, secret

    return make


# A client whose secret is thrown away (`auth`, tests/live.py) only ever shows a bearer token:
# such clients share one real Argon2 hash, made once per worker, instead of each costing a hash
# of its own (0.2 s of CPU; a third of the suite's time when every `auth` call hashed).
# Clients whose secret is used (`new_client`, the API, the CLI) are hashed as ever.
_secret_unused = threading.local()


@functools.cache
def unused_secret_hash() -> str:
    return hash_secret(new_secret())


def _hash_secret(secret: str) -> str:
    if getattr(_secret_unused, "now", False):
        return unused_secret_hash()
    return hash_secret(secret)


@contextmanager
def secret_unused() -> Iterator[None]:
    """Clients created inside, by this thread, get the shared hash: their secret is unused."""
    _secret_unused.now = True
    try:
        yield
    finally:
        _secret_unused.now = False


@pytest.fixture(scope="session", autouse=True)
def shared_hash_for_unused_secrets() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(auth_service, "hash_secret", _hash_secret)
        yield


@pytest.fixture
def auth(settings: Settings, new_client: Callable[..., tuple[str, str]]) -> Callable[..., Headers]:
    """Authorization headers for a fresh client of the given role (and city)."""

    def headers(role: str, city: str | None = None) -> Headers:
        with secret_unused():
            client_id, _ = new_client(role, city)
        token = issue_access_token(
            settings, client_id=client_id, role=Role(role), city=city, now=utc_now()
        )
        return {"Authorization": f"Bearer {token}"}

    return headers


@pytest.fixture(scope="session")
def project_root() -> Path:
    return Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def live_settings(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Settings]:
    """Settings of a database of its own, for tests whose servers commit: nothing they write
    can meet the rolled-back tests' data. Same backend as `database_url`."""
    storage = tmp_path_factory.mktemp("live-storage")
    if database_url.startswith("sqlite"):
        url = f"sqlite:///{tmp_path_factory.mktemp('live') / 'live.db'}"
        yield make_settings(url).model_copy(update={"storage_dir": storage})
        return
    name = database_name("sb_live")
    with psycopg.connect(POSTGRES_ADMIN_DSN, autocommit=True, connect_timeout=3) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        base = POSTGRES_ADMIN_DSN.rsplit("/", 1)[0]
        yield make_settings(f"{base}/{name}").model_copy(update={"storage_dir": storage})
        admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def live_engine(live_settings: Settings) -> Iterator[Engine]:
    yield from prepared_engine(live_settings)


@pytest.fixture(autouse=True)
def no_blocking_io_on_the_event_loop() -> Iterator[None]:
    """Every test fails if the app ran SQL or opened a storage file on the event loop."""
    loop_guard.install()
    loop_guard.violations.clear()
    yield
    found = list(loop_guard.violations)
    loop_guard.violations.clear()
    assert not found, "blocking I/O on the event loop:\n" + "\n".join(found)


@pytest.fixture(scope="module")
def chromium() -> str:
    """Debian's Chromium; skipped without it, unless REQUIRE_BROWSER=1 (CI) fails."""
    if not Path(CHROMIUM).exists():
        message = "Chromium is not installed (apt-get install chromium)"
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(message + " and REQUIRE_BROWSER=1")
        pytest.skip(message)
    return CHROMIUM


# Under pytest-xdist (`make test`: `-n N --dist loadgroup`): which tests share a worker, and
# which start first. Neither selects nor skips a test; a serial run keeps pytest's own order.
ONE_WORKER_MODULES = {
    # One module-scoped season (a database, a live server, Chromium) that its tests read and
    # write in file order, and that takes half a minute to build: built once, on one worker.
    "test_dashboard_browser.py",
    # the second test also takes back down the database the first took to head (as serially)
    "test_migrations.py",
}
# The slowest tests (about a quarter of the serial run's time between them), handed out first
# so that no worker starts one of them while the others are running out of work.
SLOW_FIRST = (
    "tests/test_schemathesis.py::",
    "tests/test_workers.py::",
    "tests/test_burst.py::",
    "tests/test_worker.py::test_a_worker_killed_mid_delivery_loses_nothing",
    "tests/test_stream.py::test_a_write_through_one_process_reaches_a_stream_of_another",
    "tests/test_contract.py::test_every_operation_has_summary_tags_and_body_examples",
    "tests/test_quickstart.py::",
    "tests/test_container_layout.py::",
    "tests/test_docs_browser.py::",
    "tests/test_generated_client.py::",
    "tests/test_sign_in_guard.py::",
    "tests/test_webhooks.py::test_two_workers_racing_send_each_event_once",
    "tests/test_reminders.py::test_smtp_down_ends_failed_after_retries_without_crashing",
)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if XDIST_WORKER:
        # after pytest grouped the tests by backend; stable: each part keeps that order
        items.sort(key=lambda item: not item.nodeid.startswith(SLOW_FIRST))


if importlib.util.find_spec("xdist") is not None:
    from xdist.scheduler import LoadScopeScheduling  # type: ignore[import-untyped]

    class ModuleGroups(LoadScopeScheduling):  # type: ignore[misc]
        """`--dist loadgroup` by module: every test a unit of its own (the next one goes to
        whichever worker is free), except that a module of ONE_WORKER_MODULES is one unit.
        (xdist 3.8 groups `xdist_group` marks through an attribute pytest 9.2 no longer
        reads, so its own loadgroup runs every test apart.) The biggest unit goes first."""

        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::", 1)[0]
            return module if Path(module).name in ONE_WORKER_MODULES else nodeid

    @pytest.hookimpl(tryfirst=True)
    def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object:
        if config.getvalue("dist") == "loadgroup":
            return ModuleGroups(config, log)
        return None
