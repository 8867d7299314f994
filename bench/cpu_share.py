"""Where the machine's CPU goes during a load run: CPU time per request for each kind of
process (from /proc, Linux only), and how busy the machine was.

With wrk driving the server on the same two cores, a rate is capped either by CPU (the
machine is busy nearly all the time: then only cheaper requests help) or by waiting (a
lock, a round trip: the machine has idle time left). This tells the two apart, and which
process the CPU went to.
"""

import os
import resource
from dataclasses import dataclass
from pathlib import Path

TICK_MS = 1000 / os.sysconf("SC_CLK_TCK")


def _ticks(pid: int) -> int:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0  # gone since it was listed
    return int(fields[11]) + int(fields[12])  # utime, stime


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _session_of(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[3])
    except OSError:
        return -1


def _machine() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]  # idle, iowait
    return sum(values) - idle, sum(values)


@dataclass
class Groups:
    """Which processes count as what: the server's session (gunicorn and its workers), the
    PostgreSQL backends serving `database`, the other PostgreSQL processes (WAL writer,
    checkpointer: shared with anyone else's databases), Redis (shared), and `extra`
    {name: pid} (the matcher)."""

    server_session: int
    database: str
    extra: dict

    def sample(self) -> dict[str, int]:
        ticks = dict.fromkeys(["web", "postgres", "postgres other", "redis", *self.extra], 0)
        for name, pid in self.extra.items():
            ticks[name] += _ticks(pid)
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            pid = int(entry)
            command = _cmdline(pid)
            if command.startswith("postgres: "):
                backend = f" {self.database} " in command
                ticks["postgres" if backend else "postgres other"] += _ticks(pid)
            elif command.startswith("redis-server"):
                ticks["redis"] += _ticks(pid)
            elif pid in self.extra.values():
                continue
            elif _session_of(pid) == self.server_session:
                ticks["web"] += _ticks(pid)
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        ticks["wrk"] = round((children.ru_utime + children.ru_stime) * 1000 / TICK_MS)
        ticks["_busy"], ticks["_total"] = _machine()
        return ticks


def cpu_per_request(before: dict, after: dict, requests: int) -> dict[str, float]:
    """CPU ms a request per group, and `busy` (share of the machine's CPU in use)."""
    figures = {
        name: (after[name] - before[name]) * TICK_MS / max(requests, 1)
        for name in before
        if not name.startswith("_")
    }
    total = after["_total"] - before["_total"]
    figures["busy"] = (after["_busy"] - before["_busy"]) / total if total else 0.0
    return figures


def cpu_line(figures: dict[str, float]) -> str:
    parts = [f"{name} {ms:.2f}" for name, ms in figures.items() if name != "busy"]
    return f"CPU ms a request: {', '.join(parts)}; machine busy {figures['busy']:.0%}"
