"""The team page and the depth distribution on a 1M-user heavy-tailed referral tree.

Uses the big bench database (bench/big_tree.py, generated once and reused) and Redis
db 6 (flushed at start). Picks the distributor with the largest level-1 + level-2
team, then times GET /api/v1/me/team (level 1 and 2, first and last page, every sort
the API accepts, and a q= search) under gunicorn, one request at a time as that
distributor. Then the depth distribution over the whole tree through
GET /api/v1/admin/analytics/depth when the app has it (SQL GROUP BY depth otherwise).

    .venv/bin/python bench/tree.py [--users 1000000] [--entries 5000000] [--regenerate]
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import tempfile
import time
from pathlib import Path

import psycopg
import redis
import requests

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))

import big_tree  # noqa: E402
from stack import Stack, free_port, wait_http  # noqa: E402

PY = sys.executable


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--users", type=int, default=big_tree.DEFAULT_USERS)
    p.add_argument("--entries", type=int, default=big_tree.DEFAULT_ENTRIES)
    p.add_argument("--regenerate", action="store_true")
    p.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    p.add_argument("--bench-db", default="fission_bench_lb")
    p.add_argument("--redis-url", default="redis://127.0.0.1:6379/6")
    p.add_argument("--web-workers", type=int, default=2)
    p.add_argument("--threads", type=int, default=4)
    p.add_argument("--per-page", type=int, default=20)
    p.add_argument("--samples", type=int, default=40, help="requests per case (fewer if --case-budget runs out)")
    p.add_argument("--case-budget", type=float, default=12.0, help="seconds per case")
    p.add_argument("--q", default="77", help="search term for the q= cases")
    return p.parse_args(argv)


def pct(values, q):
    s = sorted(values)
    return s[min(len(s) - 1, max(0, math.ceil(q * len(s)) - 1))]


def verdict(ok: bool) -> str:
    return "MET" if ok else "NOT MET"


def time_case(session, url, params, headers, samples, budget):
    r = session.get(url, params=params, headers=headers)  # warm-up (and the total)
    if r.status_code != 200:
        return None, r
    lat = []
    started = time.perf_counter()
    while len(lat) < samples and time.perf_counter() - started < budget:
        t = time.perf_counter()
        resp = session.get(url, params=params, headers=headers)
        lat.append(time.perf_counter() - t)
        if resp.status_code != 200:
            return None, resp
    return lat, r


def main(argv=None) -> int:
    a = parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="fission-tree-bench-"))
    stack = Stack(work)
    rds = redis.Redis.from_url(a.redis_url)
    rds.flushdb(asynchronous=True)  # a big db: never block the shared server
    print(f"Redis {a.redis_url}: flushed", flush=True)
    env = big_tree.app_env("", a.redis_url, "treebench", work)
    url, gen = big_tree.ensure(a.database_url, a.bench_db, a.users, a.entries, a.regenerate, env)
    env["DATABASE_URL"] = url
    summary = []
    if not gen.get("reused"):
        summary.append(("data generation", f"{gen['generation_s']:.1f} s", "-", "-"))

    t = time.perf_counter()
    stats = big_tree.tree_stats(url)
    with psycopg.connect(url, autocommit=True) as conn:
        hub, l1, l2 = max(stats["top"], key=lambda x: x[1] + x[2])
        below = conn.execute("""
            WITH RECURSIVE sub AS (SELECT id FROM users WHERE inviter_id = %s
                                   UNION ALL SELECT u.id FROM users u JOIN sub ON u.inviter_id = sub.id)
            SELECT count(*) FROM sub""", (hub,)).fetchone()[0]
        commissions_of_hub = conn.execute("SELECT count(*) FROM commissions WHERE user_id = %s", (hub,)).fetchone()[0]
    print(f"tree: max depth {stats['max_depth']}; largest teams (id, level 1, level 2): {stats['top'][:4]} "
          f"({time.perf_counter() - t:.1f}s)")
    print(f"distributor {hub}: {l1:,} at level 1, {l2:,} at level 2, {below:,} people below in all, "
          f"{commissions_of_hub:,} commissions earned", flush=True)

    from itsdangerous import URLSafeTimedSerializer

    user_token = URLSafeTimedSerializer(big_tree.SECRET_KEY, salt="fission.user-token").dumps({"uid": hub})
    admin_token = URLSafeTimedSerializer(big_tree.SECRET_KEY, salt="fission.admin-token").dumps({"aid": 1})
    try:
        port = free_port()
        cmd = [PY, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", str(a.web_workers),
               "--threads", str(a.threads), "-k", "gthread", "--log-level", "warning", "--timeout", "120", "wsgi:app"]
        child = stack.start("gunicorn", cmd, env | {"PORT": str(port)}, ROOT)
        base = f"http://127.0.0.1:{port}"
        wait_http(f"{base}/api/v1/health", "the API", child.proc, timeout=60)
        s = requests.Session()
        headers = {"Authorization": f"Bearer {user_token}"}
        team_url = f"{base}/api/v1/me/team"

        # which sorts does the API take?
        sorts = ["joined"]
        probe = s.get(team_url, params={"level": 1, "per_page": 1, "sort": "contribution"}, headers=headers)
        if probe.status_code == 200:
            sorts.append("contribution")
        has_q = s.get(team_url, params={"level": 1, "per_page": 1, "q": a.q}, headers=headers).status_code == 200
        print(f"\n[1] GET /api/v1/me/team as {hub}, per_page {a.per_page}, sorts {sorts}"
              f"{', q= supported' if has_q else ''}; one request at a time, ≤ {a.samples} per case", flush=True)
        team_results = []
        for level, total in ((1, l1), (2, l2)):
            last = max(1, math.ceil(total / a.per_page))
            cases = [(sort, page, None) for sort in sorts for page in (1, last)]
            if has_q:
                cases.append(("joined", 1, a.q))
            if last > 1:  # the last page again, reached the way the app pages: by the cursor of the page before
                cases += [(sort, "cursor", None) for sort in sorts]
            for sort, page, q in cases:
                params = {"level": level, "page": page, "per_page": a.per_page, "sort": sort}
                if q:
                    params["q"] = q
                if page == "cursor":
                    before = s.get(team_url, params=params | {"page": last - 1}, headers=headers, timeout=120).json()
                    params = params | {"page": last, "cursor": before["next_cursor"]}
                lat, first = time_case(s, team_url, params, headers, a.samples, a.case_budget)
                shown = params["page"]
                label = f"level {level} sort={sort} page {shown}{' (last)' if shown == last and shown > 1 else ''}" \
                        f"{' by cursor' if 'cursor' in params else ''}{f' q={q}' if q else ''}"
                if lat is None:
                    print(f"  {label:<46} HTTP {first.status_code}: {first.text[:200]}")
                    team_results.append((label, float("inf")))
                    continue
                body = first.json()
                p99 = pct(lat, 0.99)
                team_results.append((label, p99))
                print(f"  {label:<46} total {body.get('total'):>7,}  items {len(body.get('items', [])):>3}  "
                      f"n {len(lat):>3}  p50 {statistics.median(lat) * 1000:7.1f} ms  p99 {p99 * 1000:7.1f} ms",
                      flush=True)
        worst_label, worst = max(team_results, key=lambda x: x[1])
        for label, p99 in team_results:
            summary.append((f"team page {label}, p99", f"{p99 * 1000:.1f} ms", "≤ 50 ms", verdict(p99 <= 0.050)))

        # depth distribution
        print("\n[2] depth distribution over the whole tree", flush=True)
        depth_url = f"{base}/api/v1/admin/analytics/depth"
        r = s.get(depth_url, headers={"Authorization": f"Bearer {admin_token}"})
        if r.status_code == 200:
            how = "GET /api/v1/admin/analytics/depth (admin token)"
            times = []
            for _ in range(5):
                t = time.perf_counter()
                r = s.get(depth_url, headers={"Authorization": f"Bearer {admin_token}"})
                times.append(time.perf_counter() - t)
                r.raise_for_status()
            rows = [(d["depth"], d["users"]) for d in r.json()["depths"]]
        else:
            print(f"  endpoint answered HTTP {r.status_code}: {r.text[:160]} → SQL directly")
            how = "SQL: SELECT depth, count(*) FROM users GROUP BY depth"
            times = []
            with psycopg.connect(url, autocommit=True) as conn:
                for _ in range(5):
                    t = time.perf_counter()
                    rows = conn.execute("SELECT depth, count(*) FROM users GROUP BY depth ORDER BY depth").fetchall()
                    times.append(time.perf_counter() - t)
        print(f"  via {how}: p50 {statistics.median(times) * 1000:.0f} ms  max {max(times) * 1000:.0f} ms (5 runs)")
        print("  " + "  ".join(f"{d}:{n:,}" for d, n in rows) + f"   (total {sum(n for _, n in rows):,})")
        summary.append((f"depth distribution, 1M users, max of 5 ({'endpoint' if 'GET' in how else 'SQL'})",
                        f"{max(times) * 1000:.0f} ms", "≤ 5 s", verdict(max(times) <= 5)))
    finally:
        stack.stop_all()

    print(f"\nSUMMARY (tree.py: {a.users:,} users, {a.entries:,} ledger entries; distributor {hub}: "
          f"{l1:,} level 1, {l2:,} level 2, {below:,} below)")
    w = max(len(x[0]) for x in summary)
    for what, value, target, v in summary:
        print(f"  {what:<{w}}  {value:>10}  target {target:<8} {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
