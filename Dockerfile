# The worker image: Debian's ffmpeg, the worker's locked dependencies and its two packages (the core
# and batch_job), nothing else, run as a non-root user. Builds for linux/amd64 and linux/arm64
# (docker buildx build --platform linux/arm64 .): the digest is the tag's multi-platform index.
FROM public.ecr.aws/docker/library/python:3.11-slim-bookworm@sha256:528257d48c1da0dcecc2e725d1ae34498d60c965f1241e39cd6a85a8859bdf84

WORKDIR /opt/conveyor

# The Debian packages `make` installs too: both read requirements/apt.txt, one package a line.
COPY requirements/apt.txt requirements/
RUN apt-get update \
    && xargs --arg-file=requirements/apt.txt apt-get install -y --no-install-recommends \
    && rm -rf /var/lib/apt/lists/*

# The worker's dependencies only (the core's and the `worker` extra's), each pinned with its hashes:
# requirements/worker.txt, generated from pyproject.toml by `make lock`.
COPY requirements/worker.txt requirements/
RUN pip install --no-cache-dir --disable-pip-version-check --require-hashes \
        -r requirements/worker.txt \
    && useradd --create-home --uid 10001 conveyor

# The packages the worker runs, imported from here (PYTHONPATH), compiled ahead so that no job
# compiles them at start-up; the project itself is not installed.
COPY conveyor ./conveyor
COPY batch_job ./batch_job
RUN python -m compileall -q conveyor batch_job

USER 10001
ENV PYTHONUNBUFFERED=1 \
    PYTHONPATH=/opt/conveyor
ENTRYPOINT ["python", "-m", "batch_job"]
