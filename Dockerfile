# pbx-simulator as a service container:
#   docker build -t pbx-simulator .
#   docker run --rm -p 8080:8080 -e PBX_SIM_ADMIN_TOKEN=s3cret pbx-simulator
#
# Two stages: the first builds the wheel from the sources, the second installs that wheel
# (not the checkout, not editable) into a slim image, so the container runs exactly what
# `pip install pbx-simulator` gives. tests/test_dockerfile.py checks these rules.

# ---- build: the wheel ------------------------------------------------------------------------
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml setup.py README.md ./
COPY simulator ./simulator
COPY schemas ./schemas
COPY scenarios ./scenarios
RUN pip wheel --no-deps --wheel-dir /dist .

# ---- runtime: the wheel installed, nothing else of the sources ---------------------------------
FROM python:3.11-slim AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
COPY --from=build /dist/ /tmp/dist/
RUN pip install /tmp/dist/*.whl \
    && rm -rf /tmp/dist \
    && useradd --create-home --uid 10001 --user-group pbx \
    && mkdir -p /data \
    && chown pbx:pbx /data
COPY --chmod=0755 docker/entrypoint.sh /usr/local/bin/pbx-sim-entrypoint

# pbx-sim serve reads these (pbx-sim serve --help); override any with -e
ENV PBX_SIM_HOST=0.0.0.0 \
    PBX_SIM_PORT=8080 \
    PBX_SIM_CLOCK=real \
    PBX_SIM_LOG_LEVEL=INFO \
    PBX_SIM_STATE_FILE=/data/state.json
# the state survives a restart of the container (written on SIGTERM, read at start)
VOLUME ["/data"]

USER pbx
WORKDIR /home/pbx
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=5s --start-period=5s --retries=3 \
    CMD pbx-sim wait --quiet --timeout 3s --url "http://127.0.0.1:${PBX_SIM_PORT:-8080}"

ENTRYPOINT ["pbx-sim-entrypoint"]
CMD ["pbx-sim", "serve"]
