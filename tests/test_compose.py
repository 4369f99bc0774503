"""docker-compose.yml: valid against the Compose Specification, and every file, port and variable exists.

No Docker engine runs here, so the file is checked statically. The schema in tests/data/compose-spec.json
is the Compose Specification's own JSON schema (Apache-2.0, licence beside it), vendored from the
check-jsonschema package (check_jsonschema/builtin_schemas/vendor/compose-spec.json, release 0.39.0).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from jsonschema.validators import validator_for

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
SCHEMA_FILE = Path(__file__).parent / "data" / "compose-spec.json"
# ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error}; "$$" is a literal dollar sign.
VARIABLE = re.compile(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([^}]*))?\}")
AIRFLOW_SERVICES = ("airflow-apiserver", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer")


def env_example() -> dict[str, str]:
    values = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip()
    return values


def interpolate(text: str, values: dict[str, str]) -> str:
    """What `docker compose` does with .env: substitute every ${VAR} (defaults when unset)."""

    def substitute(match: re.Match[str]) -> str:
        name, operator, default = match.groups()
        if name in values:
            return values[name]
        if operator in ("-", ":-"):
            return default
        raise KeyError(name)

    return VARIABLE.sub(substitute, text).replace("$$", "$")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(interpolate(COMPOSE_FILE.read_text(), env_example()))


def test_the_compose_file_is_valid_against_the_compose_specification(compose):
    schema = json.loads(SCHEMA_FILE.read_text())
    validator = validator_for(schema)(schema)
    errors = sorted(validator.iter_errors(compose), key=lambda e: list(e.absolute_path))
    assert [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors] == []


def test_the_schema_check_catches_a_broken_file():
    """The validation above can fail: an unknown service key and a non-list port are rejected."""
    schema = json.loads(SCHEMA_FILE.read_text())
    broken = {"services": {"web": {"image": "x", "prots": ["80:80"], "ports": "80:80"}}}
    assert len(list(validator_for(schema)(schema).iter_errors(broken))) >= 2


def test_every_variable_is_documented_in_env_example_and_every_documented_one_used():
    used = {match.group(1) for match in VARIABLE.finditer(COMPOSE_FILE.read_text())}
    documented = set(env_example())
    assert sorted(used - documented) == [], "used in docker-compose.yml but missing from .env.example"
    assert sorted(documented - used) == [], "documented in .env.example but never used"


def test_every_referenced_file_exists(compose):
    for name, service in compose["services"].items():
        build = service.get("build")
        if build:
            context = ROOT / build["context"]
            assert (context / build.get("dockerfile", "Dockerfile")).is_file(), name
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (ROOT / source).exists(), f"{name}: {source}"
        for env_file in service.get("env_file", []):
            assert (ROOT / env_file).is_file(), f"{name}: {env_file}"


def test_named_volumes_are_declared(compose):
    declared = set(compose.get("volumes", {}))
    for name, service in compose["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if not source.startswith((".", "/")):
                assert source in declared, f"{name}: volume {source} is not declared"


def test_every_service_address_points_at_a_service_that_exposes_that_port(compose):
    """host:port in URLs (database, broker, SMTP, execution API) must name a service exposing the port."""
    services = compose["services"]
    exposed = {name: {str(port) for port in service.get("expose", [])} for name, service in services.items()}
    checked = 0
    for service in services.values():
        for value in (service.get("environment") or {}).values():
            for host, port in service_addresses(str(value)):
                if host in services:
                    assert port in exposed[host], f"{host}:{port} is not exposed by {host}"
                    checked += 1
    assert checked >= 5


def service_addresses(value: str) -> list[tuple[str, str]]:
    addresses = []
    if value.startswith("{"):
        connection = json.loads(value)
        return [(connection["host"], str(connection["port"]))]
    for candidate in re.findall(r"[a-z][a-z0-9+]*://[^\s'\"]+", value):
        parts = urlsplit(candidate)
        if parts.hostname and parts.port:
            addresses.append((parts.hostname, str(parts.port)))
    return addresses


def test_published_host_ports_are_distinct_and_configurable(compose):
    raw = yaml.safe_load(COMPOSE_FILE.read_text())
    published = []
    for name, service in raw["services"].items():
        for mapping in service.get("ports", []):
            host_part = mapping.rsplit(":", 1)[0]
            assert VARIABLE.search(host_part), f"{name}: host port {mapping} should come from .env"
            published.append(interpolate(host_part, env_example()))
    assert len(published) == len(set(published)) >= 3


def test_the_airflow_stack_is_complete_and_workers_scale(compose):
    services = compose["services"]
    assert {"postgres", "redis", "mailpit", "framewatch-init", "airflow-worker", *AIRFLOW_SERVICES} <= set(
        services
    )
    worker = services["airflow-worker"]
    assert "container_name" not in worker and "ports" not in worker  # N replicas can run side by side
    assert worker["command"] == "celery worker"
    assert worker["environment"]["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    for name in (*AIRFLOW_SERVICES, "airflow-worker"):
        assert (
            services[name]["depends_on"]["framewatch-init"]["condition"] == "service_completed_successfully"
        )


def test_the_init_service_migrates_both_databases_and_grants_the_analyst_role(compose):
    script = "\n".join(compose["services"]["framewatch-init"]["command"])
    assert "airflow db migrate" in script
    assert "framewatch db upgrade" in script
    assert "framewatch db grant-analyst" in script


def test_airflow_and_the_warehouse_use_separate_databases(compose):
    environment = compose["services"]["airflow-scheduler"]["environment"]
    airflow_db = urlsplit(environment["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]).path
    warehouse_db = urlsplit(environment["FRAMEWATCH_DATABASE_URL"]).path
    assert airflow_db != warehouse_db
    init_sql = (ROOT / "deploy" / "postgres" / "init-databases.sql").read_text()
    assert init_sql.count("CREATE DATABASE") == 2


def test_the_image_builds_on_the_airflow_version_the_project_pins():
    pinned = re.search(r'"apache-airflow==([^"]+)"', (ROOT / "pyproject.toml").read_text()).group(1)
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert f"ARG AIRFLOW_VERSION={pinned}" in dockerfile
    assert "FROM apache/airflow:${AIRFLOW_VERSION}" in dockerfile


@pytest.mark.postgres
def test_the_postgres_init_script_creates_both_databases_and_lets_the_warehouse_role_grant_analysts(
    postgres_server_url, tmp_path
):
    """Run deploy/postgres/init-databases.sql through psql, then grant-analyst as the warehouse role."""
    import os
    import shutil
    import subprocess
    import uuid

    import sqlalchemy as sa

    if shutil.which("psql") is None:
        pytest.skip("psql is not installed")
    suffix = uuid.uuid4().hex[:8]
    names = {"airflow_user": f"fw_af_{suffix}", "airflow_db": f"fw_afdb_{suffix}", "warehouse_user": f"fw_wh_{suffix}",
             "warehouse_db": f"fw_whdb_{suffix}", "airflow_password": "pw-a", "warehouse_password": "pw-w"}  # fmt: skip
    server = sa.engine.make_url(postgres_server_url)
    libpq = server.set(drivername="postgresql").render_as_string(hide_password=False)
    command = [
        "psql",
        "-v",
        "ON_ERROR_STOP=1",
        libpq,
        "-f",
        str(ROOT / "deploy" / "postgres" / "init-databases.sql"),
    ]
    for name, value in names.items():
        command[1:1] = ["-v", f"{name}={value}"]
    admin = sa.create_engine(postgres_server_url, isolation_level="AUTOCOMMIT")
    try:
        subprocess.run(command, check=True, capture_output=True, text=True, timeout=60)
        with admin.connect() as connection:
            databases = set(connection.execute(sa.text("select datname from pg_database")).scalars())
        assert {names["airflow_db"], names["warehouse_db"]} <= databases
        warehouse_url = server.set(
            username=names["warehouse_user"], password="pw-w", database=names["warehouse_db"]
        ).render_as_string(hide_password=False)
        environment = {**os.environ, "ANALYST_TEST_PASSWORD": "pw-analyst"}
        framewatch = [sys.executable, "-m", "pipeline.cli", "db"]
        subprocess.run([*framewatch, "upgrade", "--db", warehouse_url], check=True, cwd=ROOT, timeout=120)
        granted = subprocess.run(
            [*framewatch, "grant-analyst", f"fw_an_{suffix}", "--password-env", "ANALYST_TEST_PASSWORD",
             "--db", warehouse_url],
            cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert granted.returncode == 0, granted.stderr
    finally:
        with admin.connect() as connection:
            for database in (names["airflow_db"], names["warehouse_db"]):
                connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
            for role in (f"fw_an_{suffix}", names["airflow_user"], names["warehouse_user"]):
                connection.execute(sa.text(f'DROP ROLE IF EXISTS "{role}"'))
        admin.dispose()
