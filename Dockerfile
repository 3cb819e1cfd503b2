# The worker image: Debian's ffmpeg and the conveyor package, run as a non-root user.
# Builds for linux/amd64 and linux/arm64 (docker buildx build --platform linux/arm64 .).
FROM public.ecr.aws/docker/library/python:3.11-slim-bookworm

# The same Debian packages `make` installs (APT_PACKAGES in the Makefile); a test keeps them equal.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ffmpeg \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /opt/conveyor
COPY pyproject.toml README.md ./
COPY conveyor ./conveyor
COPY batch_job ./batch_job
COPY trigger_lambda ./trigger_lambda
COPY completion_lambda ./completion_lambda
RUN pip install --no-cache-dir . \
    && useradd --create-home --uid 10001 conveyor

USER 10001
ENV PYTHONUNBUFFERED=1
ENTRYPOINT ["python", "-m", "batch_job"]
