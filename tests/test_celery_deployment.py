"""The distributed path run for real (issue 22): Airflow 3 with the CeleryExecutor and two workers.

A module-wide deployment, started from the project's own environment as docker-compose.yml would start
it, without Docker: metadata in a PostgreSQL database this module creates and drops, Redis as the
broker (its own database number, flushed before and after), an api-server (task processes talk to
Airflow only through its execution API), a scheduler, a dag-processor and two ``airflow celery worker``
processes. Each worker runs in a UTS namespace of its own with its own hostname, as on two machines, so
a task instance's ``hostname`` names the worker that ran it. Every run is triggered on the
``framewatch_ingest`` DAG over the replay world, and its warehouse is compared by content with what
``framewatch run`` builds from the same world (``test_fault_injection.warehouse_content``).

Which worker takes which crawl shard is made certain, not likely: each worker runs one task at a time
(concurrency 1, prefetch 1), and the replay world holds its answers until every shard has asked for a
page (``ShardGate``), so no worker can finish one shard and take the next before the other worker has
taken its own.

The broker is reached through a TCP relay the test controls (``BrokerRelay``): the machine's Redis
cannot be stopped by a test. Cutting the relay (every connection closed, new ones refused) and emptying
the database is what clients see when a Redis without persistence restarts (``restart_broker_empty``).
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil
import pytest
import redis
import sqlalchemy as sa
from conftest import fresh_postgres_schema
from test_fault_injection import assert_same_warehouse, warehouse_content

from demo.world import ReplayWorld
from demo.world.config import write_demo_config
from pipeline.run.cycle import outlet_shards

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
DAG_ID = "framewatch_ingest"
STORY = "mexico-cartel-intervention"
SHARDS = 2
WORKERS = ("fw-worker-a", "fw-worker-b")
DEFAULT_TEST_REDIS_URL = "redis://127.0.0.1:6379/7"
# Kept under the crawl's download timeout (config/demo: 10 s): a held request must not time out.
GATE_HOLD_LIMIT = 8.0
RUN_DEADLINE = 420.0


def _running_in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _unavailable(reason: str) -> None:
    if _running_in_ci():
        pytest.fail(f"CI requires it: {reason}")
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# Redis, through a relay the test can cut --------------------------------------------------------------


@pytest.fixture(scope="module")
def redis_url() -> str:
    """FRAMEWATCH_TEST_REDIS_URL (default: the machine's Redis, database 7), answering PING."""
    url = os.environ.get("FRAMEWATCH_TEST_REDIS_URL", DEFAULT_TEST_REDIS_URL)
    try:
        redis.Redis.from_url(url, socket_connect_timeout=5).ping()
    except Exception as exc:  # any failure means "no Redis here"
        _unavailable(
            f"Redis not reachable at {url} ({type(exc).__name__}: {exc}); set FRAMEWATCH_TEST_REDIS_URL"
        )
    return url


class BrokerRelay:
    """A TCP relay from a loopback port to Redis. ``cut()`` closes every connection and refuses new
    ones; ``restore()`` listens again on the same port."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream, self.port = upstream, free_port()
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._listener: socket.socket | None = None

    def start(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    restore = start

    def cut(self) -> None:
        with self._lock:
            doomed, self._sockets = [self._listener, *self._sockets], set()
            self._listener = None
        for sock in doomed:
            if sock is not None:
                _close(sock)

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # cut
            try:
                server = socket.create_connection(self.upstream, timeout=5)
                server.settimeout(None)
            except OSError:
                _close(client)
                continue
            with self._lock:
                if self._listener is not listener:  # cut while connecting
                    _close(client), _close(server)
                    return
                self._sockets |= {client, server}
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        except OSError:
            pass
        with self._lock:
            self._sockets -= {source, sink}
        _close(source), _close(sink)


def _close(sock: socket.socket) -> None:
    with suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()


# The replay world, holding its answers until every crawl shard asks ------------------------------------


class ShardGate:
    """Wraps the world's ``respond``: a request waits until every crawl shard has asked for a page of
    one of its outlets and the test has called ``open()`` (or ``GATE_HOLD_LIMIT`` has passed since the
    first held request, so a gate nobody opens slows a crawl only once)."""

    def __init__(self, world: ReplayWorld, shards: list[list[str]]) -> None:
        self.world = world
        self.shard_of = {name: index for index, names in enumerate(shards) for name in names}
        self.asked: set[int] = set()
        self.every_shard_asking = threading.Event()
        self.opened = threading.Event()
        self.gave_up = False
        self._first_hold: float | None = None
        self._lock = threading.Lock()

    @contextmanager
    def installed(self) -> Iterator[ShardGate]:
        respond = self.world.respond

        def held_respond(site: str, raw_path: str):
            self._hold(self.world.name_of(site))
            return respond(site, raw_path)

        self.world.respond = held_respond  # type: ignore[method-assign]
        try:
            yield self
        finally:
            self.opened.set()
            del self.world.respond  # the class's own method again

    def open(self) -> None:
        self.opened.set()

    def _hold(self, outlet: str) -> None:
        with self._lock:
            if outlet in self.shard_of:
                self.asked.add(self.shard_of[outlet])
                if len(self.asked) == len(set(self.shard_of.values())):
                    self.every_shard_asking.set()
            self._first_hold = self._first_hold or time.monotonic()
            remaining = self._first_hold + GATE_HOLD_LIMIT - time.monotonic()
        if not self.opened.wait(max(0.0, remaining)):
            self.gave_up = True
            self.opened.set()


# The deployment ---------------------------------------------------------------------------------------


@dataclass
class Deployment:
    home: Path
    environment: dict[str, str]
    metadata_url: str
    warehouse_url: str
    config_dir: Path
    relay: BrokerRelay
    redis_url: str
    logs: Path
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    # Processes ---------------------------------------------------------------------------------
    def start(self, name: str, *command: str, hostname: str | None = None) -> None:
        """An Airflow component as its own process group; a worker in a UTS namespace named ``hostname``."""
        argv = [str(VENV_BIN / "airflow"), *command]
        if hostname:
            rooted = [] if os.geteuid() == 0 else ["--user", "--map-root-user"]
            argv = ["unshare", "--uts", *rooted, "sh", "-c", 'hostname "$0" && exec "$@"', hostname, *argv]
        log = (self.logs / f"{name}.log").open("ab")
        self.processes[name] = subprocess.Popen(
            argv, env=self.environment, cwd=self.home, stdout=log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        log.close()

    def start_worker(self, hostname: str) -> None:
        self.start(hostname, "celery", "worker", "--concurrency", "1", "--celery-hostname", f"{hostname}@%h",
                   "--skip-serve-logs", hostname=hostname)  # fmt: skip

    def wait_worker_ready(self, hostname: str, since: int = 0, timeout: float = 180) -> None:
        log = self.logs / f"{hostname}.log"
        self._wait(lambda: f"{hostname}@{hostname} ready".encode() in log.read_bytes()[since:], timeout,
                   f"worker {hostname} ready")  # fmt: skip

    def log_size(self, name: str) -> int:
        path = self.logs / f"{name}.log"
        return path.stat().st_size if path.exists() else 0

    def kill_machine(self, name: str) -> int:
        """SIGKILL a worker and everything it started, as a lost machine: the whole tree is stopped
        first (SIGSTOP), so no process forks away between listing it and killing it."""
        root = psutil.Process(self.processes[name].pid)
        tree: dict[int, psutil.Process] = {}
        while True:
            found = {p.pid: p for p in [root, *root.children(recursive=True)] if p.pid not in tree}
            if not found:
                break
            for process in found.values():
                _signal(process, signal.SIGSTOP)
            tree.update(found)
        for process in tree.values():
            _signal(process, signal.SIGKILL)
        self.processes.pop(name).wait(timeout=30)
        return len(tree)

    def stop_all(self) -> None:
        for process in self.processes.values():
            _signal_group(process, signal.SIGTERM)
        deadline = time.monotonic() + 30
        for process in self.processes.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal_group(process, signal.SIGKILL)
                process.wait(timeout=10)
        self.processes.clear()

    def airflow(self, *command: str, timeout: float = 180) -> str:
        completed = subprocess.run(
            [str(VENV_BIN / "airflow"), *command], env=self.environment, cwd=self.home,
            capture_output=True, text=True, timeout=timeout,
        )  # fmt: skip
        assert completed.returncode == 0, f"airflow {' '.join(command)}: {completed.stderr[-3000:]}"
        return completed.stdout

    # Metadata -----------------------------------------------------------------------------------
    def query(self, sql: str, **params: Any) -> list[sa.Row]:
        engine = sa.create_engine(self.metadata_url, poolclass=sa.pool.NullPool)
        try:
            with engine.connect() as connection:
                return connection.execute(sa.text(sql), params).all()
        finally:
            engine.dispose()

    def task_instances(self, run_id: str) -> dict[str, sa.Row]:
        rows = self.query(
            "SELECT task_id, map_index, state, try_number, hostname FROM task_instance"
            " WHERE dag_id = :dag AND run_id = :run",
            dag=DAG_ID, run=run_id,
        )  # fmt: skip
        return {f"{row.task_id}[{row.map_index}]": row for row in rows}

    def earlier_tries(self, run_id: str, task_id: str) -> list[sa.Row]:
        return self.query(
            "SELECT map_index, try_number, state, hostname FROM task_instance_history"
            " WHERE dag_id = :dag AND run_id = :run AND task_id = :task ORDER BY map_index, try_number",
            dag=DAG_ID, run=run_id, task=task_id,
        )  # fmt: skip

    def run_state(self, run_id: str) -> str | None:
        rows = self.query(
            "SELECT state FROM dag_run WHERE dag_id = :dag AND run_id = :run", dag=DAG_ID, run=run_id
        )
        return rows[0].state if rows else None

    # Runs -----------------------------------------------------------------------------------------
    def trigger(self, label: str) -> Run:
        logical = datetime.now(UTC).replace(microsecond=0)
        run_id = f"{label}-{uuid.uuid4().hex[:8]}"
        self.airflow("dags", "trigger", DAG_ID, "--run-id", run_id, "--logical-date", logical.isoformat())
        return Run(self, run_id, logical)

    def restart_broker_empty(self) -> None:
        """What clients see when a Redis without persistence restarts: every connection closed, new ones
        refused (until ``relay.restore()``), and the database empty (queues, bindings, unacked messages)."""
        self.relay.cut()
        redis.Redis.from_url(self.redis_url).flushdb()

    def reset_warehouse(self) -> None:
        """An empty warehouse and archive for the next scenario (same URL and paths the workers use)."""
        schema = sa.engine.make_url(self.warehouse_url).query["options"].split("=", 1)[1]
        server_url = sa.engine.make_url(self.warehouse_url).difference_update_query(["options"])
        engine = sa.create_engine(server_url, poolclass=sa.pool.NullPool)
        with engine.begin() as connection:
            connection.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        engine.dispose()
        for folder in ("warc", "outbox", "reports"):
            shutil.rmtree(self.config_dir.parent / folder, ignore_errors=True)

    @staticmethod
    def _wait(condition: Callable[[], bool], timeout: float, what: str, every: float = 1.0) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            assert time.monotonic() < deadline, f"timed out after {timeout:.0f} s waiting for {what}"
            time.sleep(every)


@dataclass
class Run:
    deployment: Deployment
    run_id: str
    logical_date: datetime

    def wait_finished(self, timeout: float = RUN_DEADLINE) -> str:
        state: list[str | None] = [None]

        def finished() -> bool:
            state[0] = self.deployment.run_state(self.run_id)
            return state[0] in ("success", "failed")

        Deployment._wait(finished, timeout, f"run {self.run_id} to finish", every=2.0)
        return str(state[0])

    def tasks(self) -> dict[str, sa.Row]:
        return self.deployment.task_instances(self.run_id)

    def wait_task(self, key: str, state: str, timeout: float = 180) -> None:
        """Wait until the task instance ``key`` (``process`` or ``report[0]``) is in ``state``."""
        key = key if "[" in key else f"{key}[-1]"

        def reached() -> bool:
            row = self.tasks().get(key)
            return row is not None and row.state == state

        Deployment._wait(reached, timeout, f"{key} to be {state}", every=0.2)

    def clear_failed(self) -> None:
        """Re-run the interval's failed tasks and what follows them, as an operator would."""
        stamp = self.logical_date.isoformat()
        self.deployment.airflow("tasks", "clear", DAG_ID, "-s", stamp, "-e", stamp, "--only-failed",
                                "--downstream", "--yes")  # fmt: skip


def _signal(process: psutil.Process, signum: int) -> None:
    with suppress(psutil.Error):
        process.send_signal(signum)


def _signal_group(process: subprocess.Popen, signum: int) -> None:
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signum)


@contextmanager
def metadata_database(server_url: str) -> Iterator[str]:
    """A PostgreSQL database of its own for Airflow's metadata, dropped (connections and all) after."""
    name = f"fw_airflow_{uuid.uuid4().hex[:10]}"
    engine = sa.create_engine(server_url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    with engine.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield sa.engine.make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with engine.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


def can_name_hosts() -> bool:
    """Whether this machine lets a process have a hostname of its own (a UTS namespace)."""
    rooted = [] if os.geteuid() == 0 else ["--user", "--map-root-user"]
    try:
        probe = subprocess.run(
            ["unshare", "--uts", *rooted, "hostname", "fw-probe"], capture_output=True, timeout=10
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return probe.returncode == 0


def airflow_environment(home: Path, metadata_url: str, broker_url: str, api_port: int, config_dir: Path,
                        warehouse_url: str) -> dict[str, str]:  # fmt: skip
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "FRAMEWATCH_"))}
    from cryptography.fernet import Fernet

    environment.update(
        PATH=f"{VENV_BIN}{os.pathsep}{environment.get('PATH', '')}",
        PYTHONPATH=str(ROOT),
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__EXECUTOR="CeleryExecutor",
        AIRFLOW__CORE__DAGS_FOLDER=str(ROOT / "dags"),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__CORE__FERNET_KEY=Fernet.generate_key().decode(),
        AIRFLOW__CORE__EXECUTION_API_SERVER_URL=f"http://127.0.0.1:{api_port}/execution/",
        # The worker's own hostname (its UTS namespace), without a DNS lookup of a name no DNS knows.
        AIRFLOW__CORE__HOSTNAME_CALLABLE="socket.gethostname",
        AIRFLOW__API__SECRET_KEY=secrets.token_hex(16),
        AIRFLOW__API_AUTH__JWT_SECRET=secrets.token_hex(32),
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=metadata_url,
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC=metadata_url,
        AIRFLOW__CELERY__BROKER_URL=broker_url,
        AIRFLOW__CELERY__RESULT_BACKEND=f"db+{metadata_url}",
        AIRFLOW__CELERY__WORKER_CONCURRENCY="1",  # one task at a time: see the module docstring
        AIRFLOW__CELERY__WORKER_PREFETCH_MULTIPLIER="1",
        # Runs start only when triggered: no scheduled run of the DAG's 30-minute timetable meanwhile.
        AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE="False",
        # A task whose worker died stops heartbeating: found within ~30 s instead of 5 minutes.
        AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT="30",
        AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL="5",
        # A task message the broker lost (it restarted empty) is sent again after 90 s, not 10 minutes.
        AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT="90",
        AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT_CHECK_INTERVAL="15",
        FRAMEWATCH_CONFIG_DIR=str(config_dir),
        FRAMEWATCH_DATABASE_URL=warehouse_url,
        FRAMEWATCH_CRAWL_SHARDS=str(SHARDS),
        FRAMEWATCH_TASK_RETRIES="2",
        FRAMEWATCH_RETRY_DELAY_SECONDS="5",
        FRAMEWATCH_REPORT_DIR=str(config_dir.parent / "reports"),
    )
    return environment


@pytest.fixture(scope="module")
def replay_world_for_celery() -> Iterator[ReplayWorld]:
    """A world of its own: the gate wraps its ``respond``, which no other module's test may see."""
    with ReplayWorld(base_port=None) as world:
        yield world


@pytest.fixture(scope="module")
def deployment(
    postgres_server_url, redis_url, replay_world_for_celery, tmp_path_factory
) -> Iterator[Deployment]:
    if shutil.which("unshare") is None or not can_name_hosts():
        _unavailable(
            "the two workers need hostnames of their own (unshare --uts), which this machine refuses"
        )

    base = tmp_path_factory.mktemp("celery")
    home, logs = base / "airflow-home", base / "logs"
    home.mkdir(), logs.mkdir()
    config_dir = write_demo_config(replay_world_for_celery, base / "config", base / "warc", base / "outbox",
                                   stories=[STORY])  # fmt: skip
    broker = redis.Redis.from_url(redis_url)
    broker.flushdb()
    upstream = broker.connection_pool.connection_kwargs
    relay = BrokerRelay((upstream.get("host", "127.0.0.1"), int(upstream.get("port", 6379))))
    relay.start()
    broker_url = f"redis://127.0.0.1:{relay.port}/{upstream.get('db', 0)}"
    with ExitStack() as stack:
        metadata_url = stack.enter_context(metadata_database(postgres_server_url))
        warehouse_url = stack.enter_context(fresh_postgres_schema(postgres_server_url, "fw_celery"))
        api_port = free_port()
        environment = airflow_environment(home, metadata_url, broker_url, api_port, config_dir, warehouse_url)
        deployment = Deployment(
            home, environment, metadata_url, warehouse_url, config_dir, relay, redis_url, logs
        )
        stack.callback(broker.flushdb)
        stack.callback(relay.cut)
        stack.callback(deployment.stop_all)
        deployment.airflow("db", "migrate", timeout=600)
        deployment.start("api-server", "api-server", "--apps", "execution", "--host", "127.0.0.1",
                         "--port", str(api_port), "--workers", "1")  # fmt: skip
        deployment.start("scheduler", "scheduler")
        deployment.start("dag-processor", "dag-processor")
        for hostname in WORKERS:
            deployment.start_worker(hostname)
        Deployment._wait(lambda: bool(deployment.query("SELECT 1 FROM dag WHERE dag_id = :d", d=DAG_ID)), 300,
                         "the dag-processor to parse the DAG")  # fmt: skip
        for hostname in WORKERS:
            deployment.wait_worker_ready(hostname)
        deployment.airflow("dags", "unpause", DAG_ID)
        yield deployment


@pytest.fixture(scope="module")
def clean_content(
    deployment, replay_world_for_celery, postgres_server_url, tmp_path_factory
) -> dict[str, list]:
    """What ``framewatch run`` builds from the same world: the warehouse every Airflow run must equal."""
    base = tmp_path_factory.mktemp("clean")
    config_dir = write_demo_config(replay_world_for_celery, base / "config", base / "warc", base / "outbox",
                                   stories=[STORY])  # fmt: skip
    with fresh_postgres_schema(postgres_server_url, "fw_clean") as url:
        completed = subprocess.run(
            [str(VENV_BIN / "framewatch"), "run", "--config", str(config_dir), "--db", url],
            capture_output=True, text=True, timeout=600, cwd=base,
        )  # fmt: skip
        assert completed.returncode == 0, completed.stderr[-3000:]
        return warehouse_content(url, replay_world_for_celery)


def crawl_hosts(tasks: dict[str, sa.Row]) -> dict[str, str]:
    return {key: row.hostname for key, row in tasks.items() if key.startswith("crawl[")}


def wait_crawls_running(deployment: Deployment, run: Run, timeout: float = 60) -> dict[str, str]:
    """Both crawl shards running, by hostname (a task records its host when it starts)."""
    found: dict[str, str] = {}

    def running() -> bool:
        found.update(
            {k: r.hostname for k, r in run.tasks().items() if k.startswith("crawl[") and r.state == "running"}
        )
        return len(found) == SHARDS

    Deployment._wait(running, timeout, "both crawl shards to be running", every=0.5)
    return found


def gate_for(deployment: Deployment, world: ReplayWorld) -> ShardGate:
    return ShardGate(world, outlet_shards(deployment.config_dir, SHARDS))


# The tests --------------------------------------------------------------------------------------------


@pytest.mark.timeout(1200)
def test_a_run_on_two_celery_workers_builds_what_framewatch_run_builds(
    deployment, clean_content, replay_world_for_celery
):
    deployment.reset_warehouse()
    with gate_for(deployment, replay_world_for_celery).installed() as gate:
        run = deployment.trigger("clean")
        assert gate.every_shard_asking.wait(180), "the crawl shards never both asked the world"
        gate.open()
        state = run.wait_finished()
    tasks = run.tasks()
    assert state == "success", {k: (r.state, r.try_number) for k, r in tasks.items()}
    # Every task ran once: nothing needed a retry to succeed (the per-story follow-up included).
    assert {k: r.try_number for k, r in tasks.items() if r.try_number != 1} == {}
    assert {"framing[0]", "alert[0]", "report[0]"} <= set(tasks), sorted(tasks)
    hosts = crawl_hosts(tasks)
    assert sorted(hosts.values()) == sorted(WORKERS), (
        f"one shard on each worker: {hosts}, gate gave up: {gate.gave_up}"
    )
    assert_same_warehouse(clean_content, warehouse_content(deployment.warehouse_url, replay_world_for_celery))


@pytest.mark.timeout(1200)
def test_a_worker_killed_during_a_crawl_shard_is_retried_on_the_other(
    deployment, clean_content, replay_world_for_celery
):
    deployment.reset_warehouse()
    with gate_for(deployment, replay_world_for_celery).installed() as gate:
        run = deployment.trigger("killed")
        assert gate.every_shard_asking.wait(180), "the crawl shards never both asked the world"
        hosts = wait_crawls_running(deployment, run)
        victim = hosts["crawl[0]"]
        killed = deployment.kill_machine(victim)
        gate.open()
        state = run.wait_finished()
    since = deployment.log_size(victim)
    deployment.start_worker(victim)  # the machine comes back for the next scenario
    tasks = run.tasks()
    assert state == "success", {k: (r.state, r.try_number) for k, r in tasks.items()}
    assert killed >= 3  # the worker, its pool process, and the task's supervisor at least
    survivor = next(host for host in WORKERS if host != victim)
    first = [
        (t.map_index, t.try_number, t.state, t.hostname)
        for t in deployment.earlier_tries(run.run_id, "crawl")
    ]
    assert first == [(0, 1, "failed", victim)]  # the killed try, found dead by its missing heartbeats
    assert (tasks["crawl[0]"].try_number, tasks["crawl[0]"].hostname) == (2, survivor)
    assert_same_warehouse(clean_content, warehouse_content(deployment.warehouse_url, replay_world_for_celery))
    deployment.wait_worker_ready(victim, since=since)


@pytest.mark.timeout(1200)
def test_a_broker_restart_costs_a_retry_and_a_longer_one_fails_the_run_cleanly_until_it_is_rerun(
    deployment, clean_content, replay_world_for_celery
):
    """Two outages of the broker in one run, each a Redis restarted empty. Sending a task to a broker that
    is down fails at once, and Airflow counts it as a failed try: a short outage costs the next task a
    retry and the run goes on; one longer than the task's retries fail the run, and clearing it converges."""
    deployment.reset_warehouse()
    with gate_for(deployment, replay_world_for_celery).installed() as gate:
        run = deployment.trigger("broker")
        assert gate.every_shard_asking.wait(180), "the crawl shards never both asked the world"
        deployment.restart_broker_empty()  # 1. while both crawl shards run
        gate.open()
        run.wait_task("process", "up_for_retry")  # its message could not be sent: one try spent
        deployment.relay.restore()
        run.wait_task("report[0]", "running")
        assert [
            k for k, r in run.tasks().items() if r.state == "queued"
        ] == []  # nothing in the broker to lose
        deployment.restart_broker_empty()  # 2. until send_pending has spent all its tries
        state = run.wait_finished()
        deployment.relay.restore()
    tasks = run.tasks()
    tries = {k: (r.state, r.try_number) for k, r in tasks.items()}
    # The crawls ran through the first outage: a running task needs the api-server, not the broker.
    assert tries["crawl[0]"] == tries["crawl[1]"] == ("success", 1), tries
    assert tries["process[-1]"] == ("success", 2), tries
    # The second outage failed the run cleanly: send_pending never started, finish never ran, and the
    # warehouse's run is marked failed (the task's failure callback) instead of left running.
    assert state == "failed" and tries["send_pending[-1]"] == ("failed", 3), tries
    assert tries["finish[-1]"][0] == "upstream_failed" and not tasks["send_pending[-1]"].hostname, tries
    Deployment._wait(lambda: warehouse_rows(deployment.warehouse_url, "SELECT status FROM crawl_runs") == [("failed",)],
                     120, "the failure callback to mark the warehouse's run failed")  # fmt: skip
    run.clear_failed()  # the operator re-runs the interval's failed tasks once the broker is back
    state = run.wait_finished()
    assert state == "success", {k: (r.state, r.try_number) for k, r in run.tasks().items()}
    assert warehouse_rows(deployment.warehouse_url, "SELECT status FROM crawl_runs") == [("finished",)]
    assert_same_warehouse(clean_content, warehouse_content(deployment.warehouse_url, replay_world_for_celery))


def warehouse_rows(url: str, sql: str) -> list[tuple]:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(sa.text(sql))]
    finally:
        engine.dispose()
