# The sagemaker-harness emulator as a service: one AWS endpoint (SageMaker + S3/Logs/STS/IAM) on port 8765.
#   docker build -t sagemaker-harness .
#   docker run --rm -p 127.0.0.1:8765:8765 -v harness-state:/state sagemaker-harness
# docker-compose.yml runs it with LocalStack as its upstream for S3, Logs, STS and IAM.
#
# BASE is any image with Python 3.11 or later as `python3`, with venv (deploy/runtime_requirements.py needs
# tomllib). With no registry, build on the Debian base made with debootstrap (backends/images/base.py; Debian's
# own Python), which `harness images build` makes once:
#   docker build --build-arg BASE=sagemaker-harness/base:bookworm -t sagemaker-harness .
ARG BASE=python:3.12-slim
FROM ${BASE}

# Everything goes into a virtual environment, first on PATH: Debian's Python refuses system-wide `pip install`
# (PEP 668), and the slim images' Python takes one as well.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH

RUN python3 -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "BASE needs Python 3.11 or later")' \
    && python3 -m venv /opt/venv

WORKDIR /app

# Dependencies first, in their own layer: it is rebuilt only when pyproject.toml changes. `xgboost-cpu` replaces
# `xgboost`, whose Linux wheel drags in ~470 MB of CUDA/NCCL the emulator never uses (deploy/runtime_requirements.py).
COPY pyproject.toml README.md ./
COPY deploy/runtime_requirements.py deploy/
RUN python deploy/runtime_requirements.py pyproject.toml > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt

# The project itself without dependencies, so the resolver cannot bring `xgboost` back.
COPY harness harness
COPY backends backends
COPY fixtures fixtures
RUN pip install --no-deps . \
    && rm -rf /app/build /app/*.egg-info

# A user of its own: the emulator needs no privileges. /state holds the SQLite store and job workspaces; it is a
# volume so that jobs survive the container (a new named volume takes this directory's owner).
RUN useradd --create-home --uid 10001 --user-group harness \
    && mkdir /state \
    && chown harness:harness /state
USER harness
VOLUME ["/state"]

EXPOSE 8765

# The gateway answers this path itself (no service behind it), so it says whether the emulator serves.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8765/_harness/health', timeout=2)"]

# 0.0.0.0, not the CLI's 127.0.0.1 default: inside a container, loopback is the container's own, and published
# ports arrive on its network interface, so a loopback-bound server would be unreachable. Keep the host side on
# loopback instead when publishing (`-p 127.0.0.1:8765:8765`): the emulator has no authentication.
ENTRYPOINT ["harness"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8765", "--state-dir", "/state"]
