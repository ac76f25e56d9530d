"""Service load benchmark: sustained decisions over HTTP with every decision persisted.

For each database (``--db sqlite|postgres|both``) a fresh database and a fresh server are
started on 127.0.0.1 with the recommended flags (``_service_client.Server.command``)::

    python -m uvicorn ruleplus.service.app:create_app --factory --host 127.0.0.1 --port P \
        --http ruleplus.service.http:Protocol --loop uvloop --no-access-log \
        --log-level warning --backlog 4096 \
        [--workers 2]        # PostgreSQL: two workers (default --workers 2); SQLite: one

and seeded with a partner, the reference strategy and a deployment. A client in a separate
process (raw HTTP/1.1 on keep-alive connections over uvloop, ~0.03 ms of CPU a request, so the
server is what is measured) then runs, after ``--warmup`` untimed seconds, two timed phases of
``--seconds`` each, every request a distinct application with its own ``Idempotency-Key``:

* closed loop: ``--concurrency`` connections, each sending as soon as it is answered - the
  capacity (its latency is just its connection count over its throughput);
* open loop: ``--rate`` requests a second, latency counted from when each was due (no
  coordinated omission) - the latency at that load; the issue's target (>= 1,000 decisions/s
  with p99 <= 25 ms, no 5xx) is judged on it.

Reported per phase: p50 / p90 / p99 / max latency, decisions per second, 2xx / 4xx / 5xx and
connection errors, the CPU each party spent per decision, and the CPU share other processes
(or the hypervisor) took meanwhile. At the end the decision rows are counted in the database
itself and must equal the 2xx answers, and ``/v1/admin/audit/verify`` must say ``ok``. Before
each phase the benchmark waits (``--wait-quiet``) for the machine to be idle.

``--noisy`` runs the noisy-neighbour check: a normal partner's open loop at ``--noisy-rate``
(500/s) alone (quiet), then beside a hostile partner (noisy), ``--noisy-rounds`` times in turn
with latencies pooled per condition. At ``--hostile-rate`` (1,000/s, each on a new connection)
the hostile partner sends oversized bodies (declared and chunked), unauthenticated 31 MB bodies,
non-JSON bodies, and bursts far over its 20/s rate limit of 20 KB inputs for a catastrophically
backtracking pattern in its own strategy (raw uvloop protocols, ~0.2 ms of CPU a request, so
that it reaches its rate). The normal partner's noisy p99 must stay within 2x of its quiet p99
with every request answered 2xx. Reported besides: each party's share of the machine, the
hostile client's rate, CPU and answers, and what a hostile request cost the server (the
server's extra CPU over the quiet phases, per request).

``--crash`` instead runs the crash check: load with unique idempotency keys, ``kill -9`` the
server (all its workers) mid-load, restart it on the same database, re-send every unanswered
request and some answered ones, then check that every acknowledged decision is stored, that
retries created no duplicates and that the audit chain verifies.

Usage::

    python benchmarks/service_load.py                      # both databases, 60 s a phase
    python benchmarks/service_load.py --db postgres --seconds 20 --json
    python benchmarks/service_load.py --workers 1          # one uvicorn worker (PostgreSQL)
    python benchmarks/service_load.py --profile /tmp/prof  # py-spy (GIL holders) of the server
    python benchmarks/service_load.py --crash

The client shares the machine with the server; on a 2-core machine nothing else heavy should
run while it measures (the report says how much else ran).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from importlib import metadata
from pathlib import Path
from typing import Any

try:  # ``python -m benchmarks.service_load`` from the repo root
    from benchmarks import _service_client as harness
except ModuleNotFoundError:  # ``python benchmarks/service_load.py``
    import _service_client as harness  # type: ignore[no-redef]


def _percentile(sorted_values: list[int], q: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[index] / 1000.0  # microseconds -> milliseconds


def _client(
    port: int,
    api_key: str,
    seconds: float,
    concurrency: int,
    key_prefix: str | None,
    rate: float | None = None,
) -> harness.LoadResult:
    """Run the client loop in a separate (spawned) process and return what it saw."""
    context = multiprocessing.get_context("spawn")
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(
        target=harness.client_process,
        args=(sender, port, api_key, seconds, concurrency, key_prefix, rate),
    )
    process.start()
    sender.close()
    try:
        if not receiver.poll(seconds + 180):
            raise RuntimeError("the client process did not report")
        result: harness.LoadResult = receiver.recv()
    finally:
        process.join(30)
        if process.is_alive():
            process.kill()
    return result


def _profile(
    server: harness.Server, seconds: float, out_dir: Path, label: str
) -> list[subprocess.Popen[bytes]]:
    """py-spy every server process for ``seconds`` (collapsed stacks, GIL holders only)."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    out_dir.mkdir(parents=True, exist_ok=True)
    procs = []
    for pid in server.pids():
        out = out_dir / f"{label}-{pid}.collapsed.txt"
        procs.append(
            subprocess.Popen(
                [
                    spy,
                    "record",
                    "--pid",
                    str(pid),
                    "--duration",
                    str(int(seconds)),
                    "--rate",
                    "100",
                    "--nonblocking",
                    "--gil",
                    "--threads",
                    "--format",
                    "raw",
                    "--output",
                    str(out),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
    return procs


def _phase(
    server: harness.Server,
    api_key: str,
    args: argparse.Namespace,
    key_prefix: str | None,
    rate: float | None,
    spy_dir: Path | None,
) -> dict[str, Any]:
    """One timed phase: the client's view, and the CPU every party used meanwhile."""
    busy_before = harness.wait_until_quiet(args.wait_quiet)
    spies = _profile(server, args.seconds, spy_dir, "open" if rate else "closed") if spy_dir else []
    pids = server.pids()
    cpu_server, cpu_pg = harness.cpu_seconds(pids), harness.cpu_seconds(comm="postgres")
    cpu_all, steal = harness.machine_cpu_seconds(), harness.machine_cpu_seconds(steal=True)
    connections = args.rate_connections if rate else args.concurrency
    result = _client(server.port, api_key, args.seconds, connections, key_prefix, rate)
    cpu_all = harness.machine_cpu_seconds() - cpu_all
    steal = harness.machine_cpu_seconds(steal=True) - steal
    cpu_server = harness.cpu_seconds(pids) - cpu_server
    cpu_pg = harness.cpu_seconds(comm="postgres") - cpu_pg
    # what other processes used meanwhile (should be ~0: nothing else heavy may run)
    cpu_other = max(0.0, cpu_all - cpu_server - cpu_pg - result.cpu_s)
    for spy in spies:
        spy.wait(60)
    latencies = sorted(result.latencies_us)
    ok = result.count(2)
    return {
        "mode": f"open loop at {rate:g}/s" if rate else "closed loop",
        "connections": connections,
        "seconds": round(result.seconds, 3),
        "sent": result.sent,
        "decisions_per_s": round(ok / result.seconds, 1) if result.seconds else 0.0,
        "p50_ms": round(_percentile(latencies, 0.50), 3),
        "p90_ms": round(_percentile(latencies, 0.90), 3),
        "p99_ms": round(_percentile(latencies, 0.99), 3),
        "max_ms": round(latencies[-1] / 1000, 3) if latencies else None,
        "2xx": ok,
        "4xx": result.count(4),
        "5xx": result.count(5),
        "connection_errors": result.errors,
        "replayed": result.replayed,
        "error_samples": {str(k): v.decode(errors="replace") for k, v in result.samples.items()},
        "cpu_ms_per_decision": {
            name: round(cpu * 1000 / max(ok, 1), 3)
            for name, cpu in (
                ("server", cpu_server),
                ("client", result.cpu_s),
                ("postgres", cpu_pg),
            )
        },
        "other_processes_cpu_share": round(cpu_other / result.seconds / (os.cpu_count() or 1), 3),
        "machine_busy_share_before": round(busy_before, 3),
        # CPU time the hypervisor took away (a VM): a busy host slows everything measured here
        "steal_share": round(steal / result.seconds / (os.cpu_count() or 1), 3),
    }


def run_one(db: str, args: argparse.Namespace) -> dict[str, Any]:
    """One database: fresh database, fresh server, warm-up, the timed phases, the checks."""
    with ExitStack() as stack:
        data_dir = Path(
            stack.enter_context(tempfile.TemporaryDirectory(prefix=f"ruleplus-load-{db}-"))
        )
        url = stack.enter_context(harness.fresh_postgres()) if db == "postgres" else None
        workers = args.workers if db == "postgres" else 1
        server = harness.Server(data_dir, url, workers=workers)
        server.start()
        stack.callback(server.stop)
        api_key = harness.seed(server.url)
        prefix = None if args.no_idempotency else f"load-{os.getpid()}"
        spy_dir = Path(args.profile) / db if args.profile else None
        # on as many connections as the closed loop, or 16 when it is skipped: the open loop
        # alone must not pay each worker's first compile (0.1-0.3 s) in its timed phase
        warm = _client(
            server.port, api_key, args.warmup, args.concurrency or 16, prefix and prefix + "-w"
        )
        phases = []
        if args.concurrency > 0:
            phases.append(_phase(server, api_key, args, prefix and prefix + "-c", None, spy_dir))
        if args.rate > 0:
            phases.append(
                _phase(server, api_key, args, prefix and prefix + "-o", args.rate, spy_dir)
            )
        stored = harness.stored_decisions(server.db_url)
        audit = harness.audit_verify(server.url)
        answered = warm.count(2) + sum(p["2xx"] for p in phases)
        command = " ".join(server.command()[1:]).replace(f"--port {server.port}", "--port PORT")
        return {
            "database": "postgresql" if db == "postgres" else "sqlite",
            "workers": workers,
            "server_command": command,
            "target": _target(phases),
            "phases": phases,
            "warmup_2xx": warm.count(2),
            "answered_2xx": answered,
            "stored_decisions": stored,
            "stored_equals_2xx": stored == answered,
            "audit": audit,
        }


def _target(phases: list[dict[str, Any]]) -> dict[str, Any]:
    """The issue's target: >= 1,000 decisions/s with p99 <= 25 ms, no 5xx. Judged on the open
    loop at ``--rate`` (a closed loop's latency is its connection count over its throughput)."""
    open_loop = [p for p in phases if p["mode"].startswith("open")]
    if not open_loop:
        return {"judged": False}
    p = open_loop[0]
    met = p["decisions_per_s"] >= 990 and p["p99_ms"] <= 25 and p["5xx"] == 0
    return {
        "judged": True,
        "met": met,
        "decisions_per_s": p["decisions_per_s"],
        "p99_ms": p["p99_ms"],
    }


def _noisy_phase(
    server: harness.Server, normal: str, hostile: str | None, args: argparse.Namespace, label: str
) -> tuple[dict[str, Any], list[int], dict[str, Any] | None]:
    """One phase of the noisy check: the normal partner's open loop, beside the hostile
    partner's process when ``hostile`` is given. Returns its summary, the normal partner's
    latencies and what the hostile process reported."""
    harness.wait_until_quiet(args.wait_quiet)
    context = multiprocessing.get_context("spawn")
    receiver, sender = context.Pipe(duplex=False)
    attacker = None
    if hostile is not None:
        attacker = context.Process(
            target=harness.hostile_process,
            args=(sender, server.port, hostile, args.seconds + 1, args.hostile_rate),
        )
        attacker.start()
        time.sleep(0.5)
    pids = server.pids()
    cpu_server, cpu_pg = harness.cpu_seconds(pids), harness.cpu_seconds(comm="postgres")
    result = _client(
        server.port, normal, args.seconds, args.rate_connections, label, args.noisy_rate
    )
    cpu_server = harness.cpu_seconds(pids) - cpu_server
    cpu_pg = harness.cpu_seconds(comm="postgres") - cpu_pg
    share = result.seconds * (os.cpu_count() or 1)
    latencies = sorted(result.latencies_us)
    summary = {
        "p50_ms": round(_percentile(latencies, 0.50), 3),
        "p99_ms": round(_percentile(latencies, 0.99), 3),
        "sent": result.sent,
        "2xx": result.count(2),
        "4xx": result.count(4),
        "5xx": result.count(5),
        "connection_errors": result.errors,
        # the server's and PostgreSQL's share of the machine, hostile traffic included
        "server_cpu_share": round(cpu_server / share, 3),
        "postgres_cpu_share": round(cpu_pg / share, 3),
        "client_cpu_share": round(result.cpu_s / share, 3),
    }
    reported = None
    if attacker is not None:
        reported = receiver.recv() if receiver.poll(60) else {}
        attacker.join(30)
    return summary, result.latencies_us, reported


def _pooled(phases: list[dict[str, Any]], latencies: list[int]) -> dict[str, Any]:
    ordered = sorted(latencies)
    pooled: dict[str, Any] = {
        "p50_ms": round(_percentile(ordered, 0.50), 3),
        "p99_ms": round(_percentile(ordered, 0.99), 3),
    }
    for key in ("sent", "2xx", "4xx", "5xx", "connection_errors"):
        pooled[key] = sum(p[key] for p in phases)
    for key in ("server_cpu_share", "postgres_cpu_share", "client_cpu_share"):
        pooled[key] = round(sum(p[key] for p in phases) / len(phases), 3)
    return pooled


def run_noisy(db: str, args: argparse.Namespace) -> dict[str, Any]:
    """Noisy neighbour: a normal partner's open loop at ``--noisy-rate`` alone (quiet), then
    while a hostile partner (rate limit 20/s) sends oversized, unauthenticated, non-JSON and
    over-rate traffic from its own process (noisy), ``--noisy-rounds`` times in turn, so that
    the host's drift falls on both alike. The normal partner's p99 over all noisy phases must
    stay within 2x of its p99 over all quiet ones, with nothing it sent lost."""
    with ExitStack() as stack:
        data_dir = Path(
            stack.enter_context(tempfile.TemporaryDirectory(prefix=f"ruleplus-noisy-{db}-"))
        )
        url = (
            stack.enter_context(harness.fresh_postgres("ruleplus_noisy"))
            if db == "postgres"
            else None
        )
        workers = args.workers if db == "postgres" else 1
        server = harness.Server(data_dir, url, workers=workers)
        server.start()
        stack.callback(server.stop)
        normal = harness.seed(server.url)
        hostile = harness.seed(server.url, rate_limit_per_s=20, document=harness.HOSTILE_STRATEGY)
        _client(server.port, normal, args.warmup, 16, "noisy-w", args.noisy_rate)
        phases: dict[str, list[dict[str, Any]]] = {"quiet": [], "noisy": []}
        latencies: dict[str, list[int]] = {"quiet": [], "noisy": []}
        reports: list[dict[str, Any]] = []
        for n in range(args.noisy_rounds):
            for name in ("quiet", "noisy"):
                summary, seen, reported = _noisy_phase(
                    server, normal, hostile if name == "noisy" else None, args, f"n{n}-{name}"
                )
                phases[name].append(summary)
                latencies[name] += seen
                if reported is not None:
                    reports.append(reported)
        quiet, noisy = (_pooled(phases[k], latencies[k]) for k in ("quiet", "noisy"))
        hostile_report: dict[str, Any] = {"answers": {}}
        for report in reports:
            for key, count in report.get("answers", {}).items():
                hostile_report["answers"][key] = hostile_report["answers"].get(key, 0) + count
        rates = [r["per_s"] for r in reports if r.get("per_s")]
        if rates:
            hostile_report["per_s"] = round(sum(rates) / len(rates), 1)
            hostile_report["cpu_ms_per_request"] = round(
                sum(r["cpu_ms_per_request"] for r in reports) / len(reports), 3
            )
            # what one hostile request cost the server, on top of the normal partner's load
            extra = noisy["server_cpu_share"] - quiet["server_cpu_share"]
            hostile_report["server_cpu_ms_per_request"] = round(
                1000 * extra * (os.cpu_count() or 1) / hostile_report["per_s"], 3
            )
        ratio = noisy["p99_ms"] / quiet["p99_ms"] if quiet["p99_ms"] else float("inf")
        return {
            "database": "postgresql" if db == "postgres" else "sqlite",
            "workers": workers,
            "rate": args.noisy_rate,
            "rounds": [
                {
                    "quiet_p99_ms": q["p99_ms"],
                    "noisy_p99_ms": o["p99_ms"],
                    "p99_ratio": round(o["p99_ms"] / q["p99_ms"], 2) if q["p99_ms"] else None,
                }
                for q, o in zip(phases["quiet"], phases["noisy"], strict=True)
            ],
            "quiet": quiet,
            "noisy": noisy,
            "hostile": hostile_report,
            "p99_ratio": round(ratio, 2),
            "ok": ratio <= 2.0 and noisy["2xx"] == noisy["sent"] and quiet["2xx"] == quiet["sent"],
        }


def run_crash(db: str, args: argparse.Namespace) -> dict[str, Any]:
    with ExitStack() as stack:
        data_dir = Path(
            stack.enter_context(tempfile.TemporaryDirectory(prefix=f"ruleplus-crash-{db}-"))
        )
        url = (
            stack.enter_context(harness.fresh_postgres("ruleplus_crash"))
            if db == "postgres"
            else None
        )
        facts = harness.crash_run(
            data_dir,
            url,
            load_s=args.crash_after,
            concurrency=args.concurrency,
            workers=args.workers if db == "postgres" else 1,
        )
        facts["ok"] = (
            facts["acknowledged_missing"] == 0
            and facts["changed_ids"] == 0
            and facts["resend_failures"] == 0
            and facts["rows"] == facts["distinct_keys"]
            and facts["unexpected_keys"] == 0
            and facts["audit"].get("ok") is True
        )
        return facts


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in ("ruleplus", "fastapi", "starlette", "uvicorn", "sqlalchemy", "psycopg"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "-"
    return out


def _table(results: list[dict[str, Any]]) -> str:
    cols = (
        "database",
        "workers",
        "mode",
        "connections",
        "decisions_per_s",
        "p50_ms",
        "p90_ms",
        "p99_ms",
        "max_ms",
        "2xx",
        "4xx",
        "5xx",
        "connection_errors",
    )
    rows = [cols]
    for r in results:
        for p in r["phases"]:
            rows.append(tuple(str(r[c] if c in r else p[c]) for c in cols))
    widths = [max(len(row[i]) for row in rows) for i in range(len(cols))]
    lines = ["  ".join(cell.rjust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    for r in results:
        lines.append(
            f"{r['database']}: stored decisions {r['stored_decisions']} == 2xx answers "
            f"{r['answered_2xx']}: {r['stored_equals_2xx']}; "
            f"audit verify ok: {r['audit'].get('ok')} ({r['audit'].get('entries')} entries)"
        )
        for p in r["phases"]:
            lines.append(
                f"  {p['mode']}: CPU ms per decision {p['cpu_ms_per_decision']}; CPU share of "
                f"other processes meanwhile {p['other_processes_cpu_share']:.0%}, stolen by the "
                f"hypervisor {p['steal_share']:.0%}"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--seconds", type=float, default=60.0, help="timed load per database")
    parser.add_argument("--warmup", type=float, default=3.0, help="untimed load first")
    parser.add_argument(
        "--concurrency",
        type=int,
        default=32,
        help="closed loop: keep-alive connections, each sending as soon as answered (0: skip)",
    )
    parser.add_argument(
        "--rate",
        type=float,
        default=1000.0,
        help="open loop: requests per second, latency counted from when each was due (0: skip)",
    )
    parser.add_argument(
        "--rate-connections", type=int, default=64, help="open loop: keep-alive connections"
    )
    parser.add_argument(
        "--workers", type=int, default=2, help="uvicorn workers with PostgreSQL (SQLite: 1)"
    )
    parser.add_argument(
        "--no-idempotency", action="store_true", help="send no Idempotency-Key headers"
    )
    parser.add_argument("--profile", metavar="DIR", help="py-spy the server during the timed run")
    parser.add_argument("--crash", action="store_true", help="run the kill -9 crash check instead")
    parser.add_argument(
        "--noisy", action="store_true", help="run the noisy-neighbour check instead"
    )
    parser.add_argument(
        "--noisy-rate", type=float, default=500.0, help="the normal partner's rate (--noisy)"
    )
    parser.add_argument(
        "--noisy-rounds",
        type=int,
        default=2,
        help="quiet and noisy phases in turn, this many times each (--noisy)",
    )
    parser.add_argument(
        "--hostile-rate", type=float, default=1000.0, help="the hostile partner's rate (--noisy)"
    )
    parser.add_argument(
        "--crash-after", type=float, default=2.0, help="seconds of load before kill -9"
    )
    parser.add_argument(
        "--wait-quiet",
        type=float,
        default=300.0,
        help="before each timed phase, wait up to this long for the machine to be idle",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    dbs = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    if "postgres" in dbs and (reason := harness.postgres_available()):
        print(reason, file=sys.stderr)
        return 2
    started = time.time()
    runner = run_crash if args.crash else run_noisy if args.noisy else run_one
    results = [runner(db, args) for db in dbs]
    report = {
        "benchmark": "service_crash" if args.crash else "noisy" if args.noisy else "service_load",
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), **_versions()},
        "elapsed_s": round(time.time() - started, 1),
        "results": results,
    }
    if args.json:
        print(json.dumps(report))
    elif args.crash or args.noisy:
        print(json.dumps(report, indent=2))
    else:
        for r in results:
            print(f"{r['database']} server: python {r['server_command']}")
        print(
            f"client (a separate process, {os.cpu_count()} CPUs shared with the server): "
            f"{args.warmup:g} s warm-up, then {args.seconds:g} s closed loop on {args.concurrency} "
            f"keep-alive connections, then {args.seconds:g} s open loop at {args.rate:g}/s on "
            f"{args.rate_connections}"
        )
        print(_table(results))
        for r in results:
            t = r["target"]
            if t["judged"]:
                verdict = "met" if t["met"] else "MISSED"
                print(
                    f"{r['database']}: target >= 1000 decisions/s with p99 <= 25 ms: {verdict} "
                    f"({t['decisions_per_s']:g}/s, p99 {t['p99_ms']:g} ms)"
                )
    ok = all(
        r["ok"]
        if args.crash or args.noisy
        else (
            all(p["5xx"] == 0 for p in r["phases"])
            and r["stored_equals_2xx"]
            and r["audit"].get("ok")
        )
        for r in results
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
