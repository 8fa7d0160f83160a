# syntax=docker/dockerfile:1
# CloudOptima's container image: `docker build -t cloudoptima .` (see deploy/compose.yaml).
# Two stages: the wheel and its dependencies are built and installed into a virtual environment,
# which alone is copied into a slim runtime image that runs as an unprivileged user.

ARG PYTHON_IMAGE=python:3.12.8-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
COPY pyproject.toml README.md LICENSE ./
COPY bot ./bot
COPY core ./core
COPY adapters ./adapters
RUN python -m venv /opt/cloudoptima \
    && /opt/cloudoptima/bin/pip install --no-compile /src \
    && /opt/cloudoptima/bin/cloudoptima --version

FROM ${PYTHON_IMAGE} AS runtime
LABEL org.opencontainers.image.title="CloudOptima" \
      org.opencontainers.image.description="FinOps chat-ops bot for Microsoft Azure" \
      org.opencontainers.image.licenses="Apache-2.0"
ENV PATH=/opt/cloudoptima/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    MPLCONFIGDIR=/tmp/matplotlib \
    CLOUDOPTIMA_HOST=0.0.0.0 \
    CLOUDOPTIMA_PORT=3978 \
    CLOUDOPTIMA_LOG_FORMAT=json
RUN groupadd --system --gid 10001 cloudoptima \
    && useradd --system --uid 10001 --gid cloudoptima --home-dir /var/lib/cloudoptima \
       --create-home --shell /usr/sbin/nologin cloudoptima
COPY --from=build /opt/cloudoptima /opt/cloudoptima
WORKDIR /var/lib/cloudoptima
USER 10001:10001
EXPOSE 3978
# Liveness: the process answers /healthz (no curl in the slim image: Python's own client).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen(f\"http://127.0.0.1:{os.environ.get('CLOUDOPTIMA_PORT', '3978')}/healthz\", timeout=4)"]
ENTRYPOINT ["cloudoptima"]
CMD ["serve"]
