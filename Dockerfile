# The framewatch image: Airflow 3 (the version pinned in pyproject.toml) with the project installed.
# Every Airflow service of docker-compose.yml and the one-shot init service run this image.
ARG AIRFLOW_VERSION=3.3.2
ARG PYTHON_VERSION=3.11
FROM apache/airflow:${AIRFLOW_VERSION}-python${PYTHON_VERSION}

USER root
# Scrapy's lxml/Twisted wheels need nothing extra; curl is for the health checks.
RUN apt-get update \
 && apt-get install -y --no-install-recommends curl \
 && rm -rf /var/lib/apt/lists/*
RUN mkdir -p /opt/framewatch/data && chown -R airflow: /opt/framewatch
USER airflow

WORKDIR /opt/framewatch
COPY --chown=airflow:root pyproject.toml uv.lock README.md ./
# Install the locked dependencies (without dev tools) first, so code changes reuse this layer. Airflow
# itself is pinned in the lock to the base image's version, so nothing in the image is upgraded.
ARG AIRFLOW_VERSION
RUN pip install --no-cache-dir uv==0.13.8 \
 && uv export --frozen --no-dev --no-emit-project --no-hashes -o /tmp/requirements.txt \
 && pip install --no-cache-dir "apache-airflow==${AIRFLOW_VERSION}" -r /tmp/requirements.txt

COPY --chown=airflow:root pipeline ./pipeline
COPY --chown=airflow:root schemas ./schemas
COPY --chown=airflow:root spiders ./spiders
COPY --chown=airflow:root demo ./demo
COPY --chown=airflow:root alembic.ini ./
RUN pip install --no-cache-dir --no-deps .

# DAGs and config are mounted by docker-compose.yml; these copies make the image usable on its own.
COPY --chown=airflow:root dags /opt/airflow/dags
COPY --chown=airflow:root config /opt/framewatch/config
ENV FRAMEWATCH_CONFIG_DIR=/opt/framewatch/config
