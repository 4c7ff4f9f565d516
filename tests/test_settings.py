"""PUT /api/v1/admin/settings/distribution: a partial update merges onto the stored
settings read under the row lock, never onto a process's cached copy (issue 18)."""

from __future__ import annotations

import pytest
import requests
from helpers import admin, at_once_in_app, set_settings
from sqlalchemy import select

from backend.commission import settings as settings_module
from backend.commission.models import Setting
from backend.extensions import db

# What the rest of the suite expects (the ops fixture resets only some of these).
DEFAULTS = {"protection_days": 30, "level1_bp": 1000, "level2_bp": 500, "cap_bp": 3000,
            "min_transfer_fen": 10, "legacy_min_transfer_fen": 30, "hold_days": 0}


@pytest.fixture
def settings_ops(ops, monkeypatch):
    """The operator, with each process keeping its copy of the settings for a minute
    (so a stale copy is certainly there to be merged onto), the defaults put back after."""
    set_settings(ops, **DEFAULTS)  # other tests leave e.g. protection_days changed
    monkeypatch.setattr(settings_module, "CACHE_SECONDS", 60.0)
    try:
        yield ops
    finally:
        monkeypatch.undo()
        set_settings(ops, **DEFAULTS)


def test_a_partial_update_keeps_a_change_another_worker_just_saved(live, settings_ops):
    ops = settings_ops
    assert ops.get("/admin/settings/distribution").json()["protection_days"] == 30  # this process's copy
    with live.app.app_context():  # another gunicorn worker saves protection_days = 40
        row = db.session.scalar(select(Setting).where(Setting.key == settings_module.KEY))
        row.value = {**row.value, "protection_days": 40}
        db.session.commit()
        db.session.remove()

    r = ops.put("/admin/settings/distribution", json={"level1_bp": 1100})
    assert r.status_code == 200, r.text
    assert r.json()["protection_days"] == 40 and r.json()["level1_bp"] == 1100
    stored = ops.get("/admin/settings/distribution").json()
    assert stored["protection_days"] == 40 and stored["level1_bp"] == 1100


def test_two_racing_partial_updates_both_survive(live, settings_ops, admin_token):
    ops = settings_ops
    for round_ in range(5):
        ops.get("/admin/settings/distribution")  # every request thread now reads the cached copy
        days, level1 = 40 + round_, 1100 + round_

        def work(barrier, client=admin(live, admin_token), bodies=({"protection_days": days}, {"level1_bp": level1})):
            body = bodies[barrier.wait()]
            r = client.put("/admin/settings/distribution", json=body)
            return r.status_code, r.text

        results, errors = at_once_in_app(live, work)
        assert errors == [] and [status for status, _ in results] == [200, 200], results
        stored = ops.get("/admin/settings/distribution").json()
        assert (stored["protection_days"], stored["level1_bp"]) == (days, level1), (round_, stored)


def test_a_save_can_require_the_version_the_client_read(live, settings_ops):
    ops = settings_ops
    r = ops.get("/admin/settings/distribution")
    version = r.json()["version"]
    assert r.headers["ETag"] == f'"{version}"'

    r = ops.put("/admin/settings/distribution", json={"protection_days": 41, "version": version})
    assert r.status_code == 200 and r.json()["version"] == version + 1, r.text
    assert r.headers["ETag"] == f'"{version + 1}"'
    # someone else saved since `version` was read: refused, nothing changed
    for kwargs in ({"json": {"protection_days": 42, "version": version}},
                   {"json": {"protection_days": 42}, "headers": {"If-Match": f'"{version}"'}}):
        headers = {**ops._headers(), **kwargs.pop("headers", {})}
        r = requests.put(live.api("/admin/settings/distribution"), headers=headers, timeout=30, **kwargs)
        assert r.status_code == 409 and r.json()["error"]["code"] == "STALE_SETTINGS", r.text
        assert r.json()["error"]["details"] == {"version": version + 1}
    assert ops.get("/admin/settings/distribution").json()["protection_days"] == 41

    headers = {**ops._headers(), "If-Match": f'"{version + 1}"'}
    r = requests.put(live.api("/admin/settings/distribution"), json={"protection_days": 43}, headers=headers,
                     timeout=30)
    assert r.status_code == 200 and r.json()["protection_days"] == 43, r.text
    for tag, status in (("*", 200), ('"x"', 422)):
        r = requests.put(live.api("/admin/settings/distribution"), json={"hold_days": 0}, timeout=30,
                         headers={**ops._headers(), "If-Match": tag})
        assert r.status_code == status, r.text
        assert status == 200 or r.json()["error"]["code"] == "VALIDATION_ERROR"
    # without either, a save is not checked (the racing saves above)
    assert set_settings(ops, protection_days=30)["version"] == version + 4
