# pbx-simulator as a service container: docker run -p 8080:8080 pbx-simulator
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY pyproject.toml README.md ./
COPY simulator ./simulator
COPY schemas ./schemas
COPY scenarios ./scenarios
# editable install: the package reads schemas/ and scenarios/ beside it
RUN pip install -e . \
    && useradd --create-home --uid 10001 pbx \
    && chown -R pbx /app
USER pbx

EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
    CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8080/_sim/health', timeout=2).status == 200 else 1)"

CMD ["pbx-sim", "serve", "--host", "0.0.0.0"]
