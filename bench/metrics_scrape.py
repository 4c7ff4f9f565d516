"""``--scrape-metrics`` of bench/payout_latency.py: the credit-lag histogram that
``/metrics`` shows, turned into a p99 the way Prometheus's ``histogram_quantile``
does (linear within the bucket), over the bench's measured steps only (the
difference of two scrapes)."""

from __future__ import annotations

import math

import requests
from prometheus_client.parser import text_string_to_metric_families

LAG = "fission_credit_lag_seconds"


def lag_buckets(app_url: str, token: str) -> dict[float, float]:
    """{upper bound: cumulative count} of the credit-lag histogram now."""
    r = requests.get(f"{app_url}/metrics", headers={"Authorization": f"Bearer {token}"}, timeout=30)
    r.raise_for_status()
    out: dict[float, float] = {}
    for family in text_string_to_metric_families(r.text):
        if family.name == LAG:
            for sample in family.samples:
                if sample.name == f"{LAG}_bucket":
                    out[float(sample.labels["le"])] = sample.value
    return out


def quantile(q: float, before: dict[float, float], after: dict[float, float]) -> float:
    """``histogram_quantile(q, after - before)``; NaN without observations."""
    bounds = sorted(after)
    counts = [after[b] - before.get(b, 0.0) for b in bounds]
    if not counts or counts[-1] <= 0:
        return float("nan")
    rank = q * counts[-1]
    lower, below = 0.0, 0.0
    for bound, cumulative in zip(bounds, counts, strict=True):
        if cumulative >= rank:
            if math.isinf(bound):
                return lower
            inside = cumulative - below
            return lower + (bound - lower) * ((rank - below) / inside if inside else 0.0)
        lower, below = bound, cumulative
    return bounds[-2] if len(bounds) > 1 else float("nan")
