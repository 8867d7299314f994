"""The machinery of bench/http_api.py: the same requests in one process (direct WSGI calls)
and over HTTP (gunicorn as the Procfile starts it, driven by wrk). Endpoints and seeds are
bench/http_api.py's Endpoint and Seed."""

from __future__ import annotations

import functools
import io
import json
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.request import urlopen

from bench.cpu_share import cpu_per_request

if TYPE_CHECKING:
    from bench.http_api import Endpoint, Seed

ROOT = Path(__file__).resolve().parent.parent
CONNECTIONS, THREADS = 32, 2


# --- In process: the same requests through the WSGI application, and the service alone ----


class InProcess:
    """Direct WSGI calls in this process (no sockets, no client library), against the same
    database and Redis as the server: the server's own time per request."""

    def __init__(self, seed: Seed):
        from django.core.wsgi import get_wsgi_application

        self.app = get_wsgi_application()  # sets logging up again: quiet it after
        quiet_logs()
        self.seed = seed

    def call(self, endpoint: Endpoint) -> int:
        body = self.seed.body(endpoint, str(uuid.uuid4())) if endpoint.body else b""
        environ = {
            "REQUEST_METHOD": endpoint.method,
            "PATH_INFO": endpoint.path,
            "QUERY_STRING": "",
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "80",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1",
            "HTTP_HOST": "127.0.0.1",
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": True,
            "wsgi.run_once": False,
            "wsgi.version": (1, 0),
        }
        if body:
            environ["CONTENT_TYPE"] = "application/json"
            environ["CONTENT_LENGTH"] = str(len(body))
        if endpoint.authenticated:
            environ["HTTP_AUTHORIZATION"] = f"Bearer {self.seed.access}"
        status = []
        result = self.app(environ, lambda s, headers, exc_info=None: status.append(s))
        try:
            b"".join(result)
        finally:
            getattr(result, "close", lambda: None)()
        return int(status[0].split()[0])

    def work(self, endpoint: Endpoint):
        expected = 201 if endpoint.method == "POST" else 200

        def run():
            status = self.call(endpoint)
            if status != expected:
                raise RuntimeError(f"{endpoint.name}: answered {status}, not {expected}")

        return run


def ms_per_call(run, *, seconds: float) -> tuple[float, float]:
    """(wall ms, this thread's CPU ms) per call, calling `run` for about `seconds`."""
    calls, began, cpu_began = 0, time.perf_counter(), time.thread_time()
    while (elapsed := time.perf_counter() - began) < seconds:
        run()
        calls += 1
    return elapsed * 1000 / calls, (time.thread_time() - cpu_began) * 1000 / calls


def in_process_figures(endpoints, seed: Seed, *, rounds: int, seconds: float, profile_dir):
    """ms per call for each endpoint and service, median of `rounds` interleaved rounds
    (interleaved so that the machine's other load falls on all of them alike)."""
    harness = InProcess(seed)
    works = {e.name: harness.work(e) for e in endpoints}
    for e in endpoints:
        if e.service:
            works[f"service:{e.name}"] = functools.partial(e.service, seed)
    for run in works.values():  # warm up: imports, prepared statements, connections
        for _ in range(30):
            run()
    samples = {name: [] for name in works}
    for _ in range(rounds):
        for name, run in works.items():
            samples[name].append(ms_per_call(run, seconds=seconds))
    if profile_dir:
        _profile(works, profile_dir, seconds=seconds * 2)
    return {
        name: tuple(statistics.median(column) for column in zip(*values, strict=True))
        for name, values in samples.items()
    }


def _profile(works, profile_dir: Path, *, seconds: float) -> None:
    try:
        from pyinstrument import Profiler
    except ImportError:
        print("  (--profile needs pyinstrument, from requirements/dev.txt)")
        return
    from pyinstrument.stack_sampler import get_stack_sampler

    # CPU time, not wall time: on a shared machine the waits for a core would otherwise
    # land in whatever frame was running. Round trips to the database and Redis show in
    # the ms figures instead.
    get_stack_sampler().timer_func = time.thread_time
    profile_dir.mkdir(parents=True, exist_ok=True)
    for name, run in works.items():
        profiler = Profiler(interval=0.0002)
        profiler.start()
        ms_per_call(run, seconds=seconds)
        profiler.stop()
        path = profile_dir / f"{name.replace(':', '-')}.txt"
        path.write_text(profiler.output_text(unicode=False, color=False, show_all=False))
        print(f"  profile of {name}: {path}")


# --- Over HTTP: gunicorn under wrk ----------------------------------------------------------

WRK_SCRIPT = """
local counter, thread_count = 0, 0
local run, template = "{run}", [==[{template}]==]
wrk.method = "{method}"
{headers}
function setup(thread)
  thread:set("tid", thread_count)
  thread_count = thread_count + 1
end
function request()
  if template == "" then return wrk.format() end
  counter = counter + 1
  local id = string.format("%s-%04x-4000-8000-%012x", run, tid, counter)
  return wrk.format(nil, nil, nil, (template:gsub("%%ID%%", id)))
end
function done(summary, latency, requests)
  io.write(string.format(
    '\\nBENCH {{"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d,'
    .. ' "errors": %d, "non_2xx": %d}}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    summary.errors.connect + summary.errors.read + summary.errors.write
      + summary.errors.timeout, summary.errors.status))
end
"""


def _wrk_script(endpoint: Endpoint, seed: Seed, directory: Path) -> Path:
    headers = []
    if endpoint.authenticated:
        headers.append(f'wrk.headers["Authorization"] = "Bearer {seed.access}"')
    template = ""
    if endpoint.body:
        headers.append('wrk.headers["Content-Type"] = "application/json"')
        template = seed.body(endpoint, "%ID%").decode()
    path = directory / f"{endpoint.name}.lua"
    path.write_text(
        WRK_SCRIPT.format(
            run=secrets.token_hex(4),
            template=template,
            method=endpoint.method,
            headers="\n".join(headers),
        )
    )
    return path


def wrk_run(
    endpoint: Endpoint, seed: Seed, base_url: str, directory: Path, seconds: int, groups=None
) -> dict:
    """wrk's figures; with `groups` (cpu_share.Groups) also the CPU each kind of process
    spent a request during the run ("cpu")."""
    script = _wrk_script(endpoint, seed, directory)  # a fresh run id: ids never repeat
    before = groups.sample() if groups else None
    command = [
        "wrk", f"-t{THREADS}", f"-c{CONNECTIONS}", f"-d{seconds}s", "--timeout", "5s",
        "-s", str(script), base_url + endpoint.path,
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 30)
    line = next((x for x in done.stdout.splitlines() if x.startswith("BENCH ")), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stdout}\n{done.stderr}")
    figures = json.loads(line.removeprefix("BENCH "))
    figures["rate"] = figures["requests"] / (figures["duration_us"] / 1e6)
    if groups:
        figures["cpu"] = cpu_per_request(before, groups.sample(), figures["requests"])
    return figures


class Server:
    """gunicorn as the Procfile's `web:` line starts it, on `port`, logging to a file."""

    def __init__(self, environment: dict[str, str], port: int, log_path: Path):
        web = next(
            line.split(":", 1)[1].strip()
            for line in (ROOT / "Procfile").read_text().splitlines()
            if line.startswith("web:")
        )
        env = {**os.environ, **environment, "PORT": str(port)}
        env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
        self.log = log_path.open("w")
        self.command = web
        self.process = subprocess.Popen(
            ["/bin/sh", "-c", f"exec {web}"],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its workers go with it on stop
        )
        self.url = f"http://127.0.0.1:{port}"

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}")
            try:
                with urlopen(self.url + "/healthz", timeout=1) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.3)
        raise RuntimeError("gunicorn did not answer /healthz in time")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def quiet_logs() -> None:
    """Log lines are still built and written in process (they are part of the cost), but
    to /dev/null rather than over the report."""
    import logging

    devnull = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the process
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(devnull)
