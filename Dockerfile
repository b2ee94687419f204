# The hub image: `docker compose up` runs it against PostgreSQL, RabbitMQ and Redis.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# The project: code, migrations and config. (Installed non-editable, so the migrations folder
# is named explicitly below rather than found next to the installed package.)
COPY pyproject.toml README.md ./
COPY hub ./hub
COPY actors ./actors
COPY connectors ./connectors
RUN pip install .
COPY migrations ./migrations
COPY config ./config

RUN useradd --system --home-dir /app --shell /usr/sbin/nologin cypher \
    && mkdir -p /app/.cypher && chown cypher /app/.cypher
USER cypher

ENV CYPHER_HTTP_HOST=0.0.0.0 \
    CYPHER_HTTP_PORT=8080 \
    CYPHER_MIGRATIONS_DIR=/app/migrations
EXPOSE 8080

HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=5 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/health/ready', timeout=4)"]

CMD ["cypher-hub", "serve"]
