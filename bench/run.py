"""
Benchmark Newsroom as it runs in production: gunicorn with sync workers,
DEBUG off, driven by wrk on loopback; every target several times,
interleaved, medians reported.

    .venv/bin/python bench/run.py --db sqlite --articles 1000
    .venv/bin/python bench/run.py --db postgres --articles 100000 --runs 5

    .venv/bin/python bench/run.py --matrix      # everything, into bench/RESULTS.md

Needs wrk (Debian package `wrk`) and, for --cache on, Redis. Writes
bench/results/<db>-<articles>-cache-<off|on>.json and prints a Markdown
table; bench/README.md explains the figures.
"""

import argparse
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from report import report, summary, table

ROOT = Path(__file__).resolve().parent.parent
PYTHON = ROOT / ".venv" / "bin" / "python"
GUNICORN = ROOT / ".venv" / "bin" / "gunicorn"
PORT = 8765
BASE = f"http://127.0.0.1:{PORT}"
# Its own Redis database: FLUSHDB before each cached run touches nothing else.
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/9")
# Target name: (path, the ceiling it is measured against).
TARGETS = {
    "ceiling: constant 20 KB": ("/bench/constant/", None),
    "ceiling: story template, no database": ("/bench/story/", None),
    "ceiling: article serializer, no database": ("/bench/api-articles/", None),
    "front page": ("/", "ceiling: story template, no database"),
    "story page": ("{story}", "ceiling: story template, no database"),
    "topic page": ("/tags/{topic}/", "ceiling: story template, no database"),
    "search": ("/search/?q={search}", "ceiling: story template, no database"),
    "RSS feed": ("/feeds/latest.rss", "ceiling: constant 20 KB"),
    "API article list (20)": (
        "/api/v1/articles/",
        "ceiling: article serializer, no database",
    ),
    "API article detail": ("{api_story}", "ceiling: article serializer, no database"),
}
# What the readers of the mixed run read, in turn.
MIXED_READS = [
    "front page", "story page", "topic page", "RSS feed",
    "API article list (20)", "API article detail",
]  # fmt: skip


def manage(env, *args):
    subprocess.run([str(PYTHON), "manage.py", *args], cwd=ROOT, env=env, check=True)


def prepare_database(env, articles: int, db: str) -> None:
    if db == "postgres":
        for sql in (
            f"DROP DATABASE IF EXISTS {pg_name(articles)}",
            f"CREATE DATABASE {pg_name(articles)}",
        ):
            subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-c", sql],
                           check=True, capture_output=True)  # fmt: skip
    else:
        for path in ROOT.glob(f"bench/bench-{articles}.sqlite3*"):
            path.unlink()
    manage(env, "migrate", "--noinput", "-v0")
    manage(env, "collectstatic", "--noinput", "-v0")
    manage(env, "loadvocabulary")
    manage(env, "seed")
    manage(env, "generate_archive", "--articles", str(articles),
           "--headlines", str(articles * 2))  # fmt: skip


def pg_name(articles: int) -> str:
    return f"newsroom_bench_{articles}"


def database_url(db: str, articles: int) -> str:
    """One database per engine and size, so that --skip-prepare can reuse it."""
    if db == "postgres":
        return f"postgres://postgres@127.0.0.1:5432/{pg_name(articles)}"
    return f"sqlite:///{ROOT / 'bench' / f'bench-{articles}.sqlite3'}"


def serve(env, workers: int) -> subprocess.Popen:
    server = subprocess.Popen(
        [str(GUNICORN), "newsroom.wsgi", "--workers", str(workers),
         "--worker-class", "sync", "--bind", f"127.0.0.1:{PORT}",
         "--log-level", "warning"],
        cwd=ROOT, env=env, start_new_session=True,
    )  # fmt: skip
    for _ in range(100):
        try:
            urllib.request.urlopen(f"{BASE}/bench/constant/", timeout=1)
            return server
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit("gunicorn did not start")


def wrk(url: str, *, seconds: int, connections: int, script=None, paths=()) -> dict:
    command = ["wrk", "--latency", "-t2", f"-c{connections}", f"-d{seconds}s"]
    if script:
        command += ["-s", str(script)]
    output = subprocess.run(
        [*command, url, *paths], capture_output=True, text=True, check=True
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    latency = {
        pct: _ms(value)
        for pct, value in re.findall(r"^\s+(50|99)%\s+(\S+)", output, re.M)
    }
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    return {
        "rps": rps,
        "p50_ms": latency.get("50"),
        "p99_ms": latency.get("99"),
        "non_2xx": int(errors.group(1)) if errors else 0,
        "socket_errors": sum(map(int, socket.groups())) if socket else 0,
    }


def _ms(value: str) -> float:
    number, unit = re.match(r"([\d.]+)(\w+)", value).groups()
    return float(number) * {"us": 0.001, "ms": 1, "s": 1000, "m": 60000}[unit]


def editor_saves(token: str, slugs: list[str], stop: threading.Event, tally: dict):
    """An editor saving stories through the API as fast as the server lets them."""
    number = 0
    while not stop.is_set():
        slug = slugs[number % len(slugs)]
        number += 1
        body = json.dumps({"dek": f"Updated during the mixed run, save {number}."})
        request = urllib.request.Request(
            f"{BASE}/api/v1/articles/{slug}/",
            data=body.encode(),
            method="PATCH",
            headers={
                "Authorization": f"Token {token}",
                "Content-Type": "application/json",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                status = response.status
        except urllib.error.HTTPError as error:
            status = error.code
            tally.setdefault("bodies", []).append(error.read()[:300].decode())
        except OSError as error:
            status = type(error).__name__
        tally[status] = tally.get(status, 0) + 1


def mixed_run(paths: list[str], token: str, slugs: list[str], args) -> dict:
    """Readers (wrk, cycling through the pages) while two editors save stories."""
    stop = threading.Event()
    tallies = [{}, {}]
    editors = [
        threading.Thread(target=editor_saves, args=(token, slugs, stop, tally))
        for tally in tallies
    ]
    for editor in editors:
        editor.start()
    try:
        readers = wrk(
            BASE + paths[0], seconds=args.seconds, connections=args.connections,
            script=ROOT / "bench" / "mixed.lua", paths=paths,
        )  # fmt: skip
    finally:
        stop.set()
        for editor in editors:
            editor.join()
    saves: dict = {}
    for tally in tallies:
        for status, count in tally.items():
            if status != "bodies":
                saves[str(status)] = saves.get(str(status), 0) + count
    failed = [body for tally in tallies for body in tally.get("bodies", [])]
    return {**readers, "saves": saves, "failed_saves": failed[:5]}


def run_config(db: str, articles: int, cache: str, args, *, prepare=True) -> dict:
    env = {
        **os.environ,
        "DJANGO_DEBUG": "false",
        # Plain HTTP on the loopback: no redirect to HTTPS, no Secure cookies.
        "DJANGO_HTTPS": "false",
        # One log line per request would flood the terminal.
        "NEWSROOM_REQUEST_LOG_LEVEL": "WARNING",
        "DJANGO_SECRET_KEY": "benchmark-only-" + "x" * 40,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "NEWSROOM_BENCHMARK": "true",
        # Anonymous throttling would cap the load generator itself.
        "NEWSROOM_API_ANON_RATE": "100000000/second",
        "NEWSROOM_API_USER_RATE": "100000000/second",
        "DATABASE_URL": database_url(db, articles),
        "NEWSROOM_PAGE_CACHE": "false",
    }
    env.pop("REDIS_URL", None)
    if prepare and not args.skip_prepare:
        prepare_database(env, articles, db)
    setup = json.loads(
        subprocess.run(
            [
                str(PYTHON),
                str(ROOT / "bench" / "setup_bench.py"),
                json.dumps(["/api/v1/articles/?page_size=50"]),
            ],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout  # fmt: skip
    )
    if cache == "on":
        env["REDIS_URL"] = REDIS_URL
        env["NEWSROOM_PAGE_CACHE"] = "true"
        subprocess.run(["redis-cli", "-u", REDIS_URL, "FLUSHDB"], check=True,
                       capture_output=True)  # fmt: skip
    server = serve(env, args.workers)
    try:
        listing = json.load(
            urllib.request.urlopen(f"{BASE}/api/v1/articles/?page_size=50")
        )
        slugs = [story["slug"] for story in listing["results"]]
        topics = json.load(urllib.request.urlopen(f"{BASE}/api/v1/tags/?page_size=100"))
        topics = topics["results"]
        # The topic page of the busiest topic (the longest list); a search for
        # a name about one story in fifty mentions, as a reader's search would.
        busiest = max(topics, key=lambda tag: tag["article_count"])
        searched = min(
            topics, key=lambda tag: abs(tag["article_count"] - 0.02 * articles)
        )
        paths = {
            name: path.format(
                story=f"/articles/{slugs[0]}/",
                api_story=f"/api/v1/articles/{slugs[0]}/",
                topic=busiest["slug"],
                search=urllib.parse.quote_plus(searched["name"]),
            )
            for name, (path, _) in TARGETS.items()
        }
        samples = {name: [] for name in TARGETS}
        for _ in range(args.runs):  # interleaved: every target once per round
            for name, path in paths.items():
                samples[name].append(
                    wrk(BASE + path, seconds=args.seconds, connections=args.connections)
                )
        reading = [paths[name] for name in MIXED_READS]
        mixed = mixed_run(reading, setup["token"], slugs[1:], args)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)

    # Query counts at this size, without the cache (what a miss costs).
    counts = json.loads(
        subprocess.run(
            [
                str(PYTHON),
                str(ROOT / "bench" / "setup_bench.py"),
                json.dumps(list(paths.values())),
            ],
            cwd=ROOT,
            env={**env, "NEWSROOM_PAGE_CACHE": "false"},
            capture_output=True,
            text=True,
            check=True,
        ).stdout  # fmt: skip
    )["queries"]
    results = {}
    for name, runs in samples.items():
        results[name] = {
            key: statistics.median(run[key] for run in runs if run[key] is not None)
            for key in ("rps", "p50_ms", "p99_ms")
        }
        results[name]["errors"] = sum(
            run["non_2xx"] + run["socket_errors"] for run in runs
        )
        results[name]["queries"] = counts[paths[name]]["queries"]
    for name, (_, ceiling) in TARGETS.items():
        if ceiling:
            results[name]["ratio"] = round(
                results[name]["rps"] / results[ceiling]["rps"], 3
            )
    record = {
        "db": db,
        "articles": articles,
        "cache": cache,
        "runs": args.runs,
        "seconds": args.seconds,
        "connections": args.connections,
        "workers": args.workers,
        "machine": machine(),
        "command": " ".join(sys.argv),
        "results": results,
        "mixed": mixed,
    }
    out = ROOT / "bench" / "results" / f"{db}-{articles}-cache-{cache}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(record, indent=2) + "\n")
    return record


def machine() -> str:
    model = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        found = re.search(r"model name\s*:\s*(.+)", cpuinfo.read_text())
        model = found.group(1).strip() + ", " if found else ""
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"{model}{os.cpu_count()} cores, {memory:.0f} GiB, {platform.system()} "
        f"{platform.release()}, Python {platform.python_version()}"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--articles", type=int, default=1000)
    parser.add_argument("--cache", choices=["off", "on"], default="off")
    parser.add_argument("--matrix", action="store_true",
                        help="1k and 100k stories, SQLite and PostgreSQL, cache "
                             "off and on; writes bench/RESULTS.md")  # fmt: skip
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1) + 1)
    parser.add_argument("--skip-prepare", action="store_true")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: apt-get install wrk")
    if not args.matrix:
        sys.stdout.write(table(run_config(args.db, args.articles, args.cache, args)))
        return
    records = []
    for db in ("sqlite", "postgres"):
        for articles in (1000, 100_000):
            for cache in ("off", "on"):
                # One database per engine and size, prepared once.
                records.append(
                    run_config(db, articles, cache, args, prepare=cache == "off")
                )
                sys.stdout.write(table(records[-1]) + "\n")
                sys.stdout.flush()
    (ROOT / "bench" / "RESULTS.md").write_text(report(records))
    sys.stdout.write(summary(records))


if __name__ == "__main__":
    main()
