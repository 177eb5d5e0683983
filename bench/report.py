"""
Turn the benchmark's records (bench/results/*.json) into tables and check
them against the targets of issue 6; bench/run.py --matrix writes the
result to bench/RESULTS.md.

    .venv/bin/python bench/report.py      # RESULTS.md from the saved records
"""

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONSTANT = "ceiling: constant 20 KB"
TEMPLATE = "ceiling: story template, no database"
SERIALIZER = "ceiling: article serializer, no database"
PAGES = ["front page", "story page", "topic page", "search", "RSS feed",
         "API article list (20)", "API article detail"]  # fmt: skip


def table(record: dict) -> str:
    lines = [
        f"| {record['db']}, {record['articles']:,} stories, cache {record['cache']} "
        "| req/s | p50 ms | p99 ms | ratio to ceiling | queries | errors |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, result in record["results"].items():
        lines.append(
            f"| {name} | {result['rps']:,.0f} | {result['p50_ms']:.1f} | "
            f"{result['p99_ms']:.1f} | {result.get('ratio', '')} | "
            f"{result['queries']} | {result['errors']} |"
        )
    mixed = record["mixed"]
    saves = ", ".join(f"{status}: {count}" for status, count in mixed["saves"].items())
    lines.append(
        f"| mixed: readers while 2 editors save | {mixed['rps']:,.0f} | "
        f"{mixed['p50_ms']:.1f} | {mixed['p99_ms']:.1f} | | | "
        f"{mixed['non_2xx'] + mixed['socket_errors']} (saves {saves}) |"
    )
    return "\n".join(lines) + "\n"


def find(records, **where) -> dict | None:
    for record in records:
        if all(record[key] == value for key, value in where.items()):
            return record
    return None


def checks(records: list[dict]) -> list[tuple[str, str, str, bool]]:
    """(what, measured, target, met) for every target the records can show."""
    rows = []
    for record in records:
        db, articles, cache = record["db"], record["articles"], record["cache"]
        where = f"{db}, {articles:,}"
        results = record["results"]
        if cache == "off":
            for name, ceiling, target in (
                ("story page", TEMPLATE, 0.7), ("front page", TEMPLATE, 0.7),
                ("API article list (20)", SERIALIZER, 0.6),
                ("API article detail", SERIALIZER, 0.6),
            ):  # fmt: skip
                ratio = results[name]["rps"] / results[ceiling]["rps"]
                what = f"{name}, uncached ({where}) / {ceiling}"
                rows.append((what, f"{ratio:.2f}", f"≥ {target}", ratio >= target))
        else:
            for name in ("story page", "front page", "RSS feed",
                         "API article list (20)", "API article detail"):  # fmt: skip
                ratio = results[name]["rps"] / results[CONSTANT]["rps"]
                rows.append((f"{name}, cached ({where}) / constant view",
                             f"{ratio:.2f}", "≥ 0.8", ratio >= 0.8))  # fmt: skip
        errors = sum(result["errors"] for result in results.values())
        mixed = record["mixed"]
        mixed_errors = mixed["non_2xx"] + mixed["socket_errors"]
        failed_saves = sum(n for status, n in mixed["saves"].items() if status != "200")
        rows.append((f"errors under load ({where}, cache {cache})",
                     f"{errors} + mixed {mixed_errors}, failed saves {failed_saves}",
                     "0", errors == mixed_errors == failed_saves == 0))  # fmt: skip
    for db in ("sqlite", "postgres"):
        for cache in ("off", "on"):
            small = find(records, db=db, articles=1000, cache=cache)
            large = find(records, db=db, articles=100_000, cache=cache)
            if not (small and large):
                continue
            for name in PAGES:
                slowdown = small["results"][name]["rps"] / large["results"][name]["rps"]
                limit = 3 if (name == "search" and db == "postgres") else 1.25
                what = f"{name}: 1k ÷ 100k req/s ({db}, cache {cache})"
                met = slowdown <= limit
                rows.append((what, f"{slowdown:.2f}", f"≤ {limit}", met))
    return rows


def summary(records: list[dict]) -> str:
    lines = ["| target | measured | goal | met |", "| --- | ---: | ---: | :---: |"]
    for what, measured, goal, met in checks(records):
        lines.append(f"| {what} | {measured} | {goal} | {'yes' if met else '**no**'} |")
    return "\n".join(lines) + "\n"


def report(records: list[dict]) -> str:
    first = records[0]
    parts = [
        "# Benchmark results\n",
        "Written by `bench/run.py --matrix`; bench/README.md explains the "
        "method, what the figures mean and why a target is missed.\n",
        f"- Machine: {first['machine']}",
        f"- Command: `{first['command']}`",
        f"- Each target: {first['runs']} runs of {first['seconds']} s, interleaved, "
        f"medians; wrk with {first['connections']} connections; gunicorn with "
        f"{first['workers']} sync workers; DEBUG off.",
        "- Queries: SQL queries one request takes at that size with the cache off "
        "(Django's test client, after a warm-up request).",
        "- Errors: non-2xx/3xx answers and socket errors over all runs.",
        (
            "- Databases: prepared by an earlier run (`--skip-prepare`): the "
            "same migrations, seed and `generate_archive` with its default seed.\n"
            if "--skip-prepare" in first["command"]
            else "- Databases: prepared afresh by this run.\n"
        ),
        "## Targets\n",
        summary(records),
    ]
    for record in records:
        parts += [f"## {record['db']}, {record['articles']:,} stories, cache "
                  f"{record['cache']}\n", table(record)]  # fmt: skip
    return "\n".join(parts)


if __name__ == "__main__":
    paths = sorted((ROOT / "bench" / "results").glob("*-cache-*.json"))
    records = [json.loads(path.read_text()) for path in paths]
    order = {"sqlite": 0, "postgres": 1, "off": 0, "on": 1}
    records.sort(key=lambda r: (order[r["db"]], r["articles"], order[r["cache"]]))
    (ROOT / "bench" / "RESULTS.md").write_text(report(records))
    sys.stdout.write(summary(records))
