"""
Benchmark Newsroom as it runs in production: gunicorn with sync workers,
DEBUG off, driven by wrk on loopback; every target several times,
interleaved, medians reported.

    .venv/bin/python bench/run.py --db sqlite --articles 1000
    .venv/bin/python bench/run.py --db postgres --articles 100000 --runs 5

Needs wrk (Debian package `wrk`). Writes bench/results/<db>-<articles>.json
and prints a Markdown table; bench/README.md explains the figures.
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
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = ROOT / ".venv" / "bin" / "python"
GUNICORN = ROOT / ".venv" / "bin" / "gunicorn"
PORT = 8765
BASE = f"http://127.0.0.1:{PORT}"
# Target name: (path, the ceiling it is measured against).
TARGETS = {
    "ceiling: constant 20 KB": ("/bench/constant/", None),
    "ceiling: story template, no database": ("/bench/story/", None),
    "ceiling: article serializer, no database": ("/bench/api-articles/", None),
    "front page": ("/", "ceiling: story template, no database"),
    "story page": ("{story}", "ceiling: story template, no database"),
    "topic page": ("/tags/china/", "ceiling: story template, no database"),
    "search": ("/search/?q=alliance", "ceiling: story template, no database"),
    "RSS feed": ("/feeds/latest.rss", "ceiling: constant 20 KB"),
    "API article list (20)": (
        "/api/v1/articles/",
        "ceiling: article serializer, no database",
    ),
    "API article detail": ("{api_story}", "ceiling: article serializer, no database"),
}


def manage(env, *args):
    subprocess.run([str(PYTHON), "manage.py", *args], cwd=ROOT, env=env, check=True)


def prepare(env, articles: int, db: str) -> None:
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


def wrk(url: str, *, seconds: int, connections: int) -> dict:
    output = subprocess.run(
        ["wrk", "--latency", "-t2", f"-c{connections}", f"-d{seconds}s", url],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    latency = {
        pct: _ms(value)
        for pct, value in re.findall(r"^\s+(50|99)%\s+(\S+)", output, re.M)
    }
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return {
        "rps": rps,
        "p50_ms": latency.get("50"),
        "p99_ms": latency.get("99"),
        "non_2xx": int(errors.group(1)) if errors else 0,
    }


def _ms(value: str) -> float:
    number, unit = re.match(r"([\d.]+)(\w+)", value).groups()
    return float(number) * {"us": 0.001, "ms": 1, "s": 1000, "m": 60000}[unit]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--articles", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1) + 1)
    parser.add_argument("--skip-prepare", action="store_true")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: apt-get install wrk")

    env = {
        **os.environ,
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": "benchmark-only-" + "x" * 40,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "NEWSROOM_BENCHMARK": "true",
        # Anonymous throttling would cap the load generator itself.
        "NEWSROOM_API_ANON_RATE": "100000000/second",
        "DATABASE_URL": database_url(args.db, args.articles),
    }
    if not args.skip_prepare:
        prepare(env, args.articles, args.db)
    server = serve(env, args.workers)
    try:
        story = json.load(
            urllib.request.urlopen(f"{BASE}/api/v1/articles/?page_size=1")
        )
        slug = story["results"][0]["slug"]
        paths = {
            name: path.format(
                story=f"/articles/{slug}/", api_story=f"/api/v1/articles/{slug}/"
            )
            for name, (path, _) in TARGETS.items()
        }
        samples = {name: [] for name in TARGETS}
        for _ in range(args.runs):  # interleaved: every target once per round
            for name, path in paths.items():
                samples[name].append(
                    wrk(BASE + path, seconds=args.seconds, connections=args.connections)
                )
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)

    results = {}
    for name, runs in samples.items():
        results[name] = {
            key: statistics.median(run[key] for run in runs if run[key] is not None)
            for key in ("rps", "p50_ms", "p99_ms")
        }
        results[name]["non_2xx"] = sum(run["non_2xx"] for run in runs)
    for name, (_, ceiling) in TARGETS.items():
        if ceiling:
            results[name]["ratio"] = round(
                results[name]["rps"] / results[ceiling]["rps"], 2
            )

    record = {
        "db": args.db,
        "articles": args.articles,
        "runs": args.runs,
        "seconds": args.seconds,
        "connections": args.connections,
        "workers": args.workers,
        "machine": (
            f"{platform.machine()}, {os.cpu_count()} cores, "
            f"Python {platform.python_version()}"
        ),
        "command": " ".join(sys.argv),
        "results": results,
    }
    out = ROOT / "bench" / "results" / f"{args.db}-{args.articles}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(record, indent=2))
    lines = [
        f"| target ({args.db}, {args.articles:,} stories) | req/s | p50 ms "
        "| p99 ms | ratio to ceiling |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for name, result in results.items():
        lines.append(
            f"| {name} | {result['rps']:.0f} | {result['p50_ms']:.1f} | "
            f"{result['p99_ms']:.1f} | {result.get('ratio', '')} |"
        )
    sys.stdout.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
