# mesh-audit for the in-cluster CronJob (deploy/cronjob.yaml). GitPython needs git.
FROM python:3.11-slim
RUN apt-get update && apt-get install -y --no-install-recommends git ca-certificates \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml README.md ./
COPY auditor ./auditor
COPY rules ./rules
COPY reports ./reports
RUN pip install --no-cache-dir . && rm -rf /src
RUN useradd --uid 10001 --create-home mesh-audit
USER 10001
WORKDIR /tmp
ENTRYPOINT ["mesh-audit"]
CMD ["--help"]
