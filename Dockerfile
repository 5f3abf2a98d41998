# syntax=docker/dockerfile:1
# Build stage: the project's dependencies in a virtualenv (the app itself is copied once,
# below, and runs from /srv, where its migrations and alembic.ini sit beside it).
FROM python:3.11-slim AS build
WORKDIR /src
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
COPY pyproject.toml README.md ./
COPY app ./app
RUN /opt/venv/bin/pip install . && /opt/venv/bin/pip uninstall --yes spring-breeze

# Runtime stage: read-only code owned by root, an unprivileged user, one writable volume.
FROM python:3.11-slim AS runtime
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/srv \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    APP_ENV=production \
    DATABASE_URL=sqlite:////data/spring-breeze.db \
    STORAGE_DIR=/data/storage
RUN groupadd --system app && useradd --system --gid app --home-dir /data app \
    && mkdir -p /data/storage && chown -R app:app /data
COPY --from=build /opt/venv /opt/venv
WORKDIR /srv
COPY alembic.ini ./
COPY migrations ./migrations
COPY app ./app
# The database (SQLite) and the attachment and export files: mount a volume here.
VOLUME ["/data"]
USER app
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz').status != 200)"
# APP_ENV=production refuses to start until JWT_SIGNING_KEYS and JWT_ACTIVE_KEY_ID are set.
CMD ["python", "-m", "app", "serve", "--host", "0.0.0.0", "--port", "8000"]
