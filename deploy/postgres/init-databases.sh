#!/usr/bin/env bash
# Runs once, when the PostgreSQL volume is first created (docker-entrypoint-initdb.d): one database for
# Airflow's metadata and one for the framewatch warehouse, each owned by its own login role. The
# analysts' read-only role is created by `framewatch db grant-analyst` in the compose init service,
# after the warehouse's views exist.
set -euo pipefail

psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
  -v airflow_user="$AIRFLOW_DB_USER" -v airflow_password="$AIRFLOW_DB_PASSWORD" -v airflow_db="$AIRFLOW_DB_NAME" \
  -v warehouse_user="$WAREHOUSE_DB_USER" -v warehouse_password="$WAREHOUSE_DB_PASSWORD" \
  -v warehouse_db="$WAREHOUSE_DB_NAME" \
  -f /opt/framewatch-init/init-databases.sql
