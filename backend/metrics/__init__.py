"""Prometheus metrics (``GET /metrics``).

* ``events``: what happened, counted where it happens (requests, payment notifies,
  credit lag, sweeper actions). Under gunicorn and RQ these are many processes:
  with ``PROMETHEUS_MULTIPROC_DIR`` set (``make run`` sets it) prometheus_client
  keeps each process's values in files there and the scrape adds them up.
* ``state``: what is, read from the database and Redis at scrape time (payouts by
  status and rail, queue depth and oldest job age, board drift); a gauge of state
  summed over processes would be a guess, a query is the truth.
* ``web``: the request hooks and the ``/metrics`` view (bearer ``METRICS_TOKEN``).
"""
