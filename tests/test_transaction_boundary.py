"""The transaction boundary holds by mechanism: one commit per request or job, at its
end; side effects only after it; nothing else commits."""

from __future__ import annotations

import ast
import dataclasses
import uuid
from pathlib import Path

import pytest
from flask import jsonify
from helpers import close_engines

from backend import create_app, queue
from backend.apidoc import get_or_404
from backend.auth.models import AdminUser
from backend.errors import ApiError
from backend.extensions import db
from backend.transactions import after_commit, commit_before_remote_call, unit_of_work

BACKEND = Path(__file__).resolve().parent.parent / "backend"


def _commit_calls(path: Path) -> list[int]:
    """Lines of ``<something>.session.commit()`` / ``session.commit()`` calls."""
    tree = ast.parse(path.read_text(), filename=str(path))
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "commit":
            target = node.func.value
            name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")
            if name == "session":
                lines.append(node.lineno)
    return lines


def test_no_code_commits_outside_the_boundary_module():
    """Services flush; only backend/transactions.py commits (views, jobs, services, CLI
    go through its boundary)."""
    offenders = {
        str(path.relative_to(BACKEND.parent)): lines
        for path in sorted(BACKEND.rglob("*.py"))
        if path.name != "transactions.py" and (lines := _commit_calls(path))
    }
    assert offenders == {}


def test_every_job_the_suite_enqueued_runs_inside_the_job_boundary(live, ops):
    """Every function enqueued on RQ during the suite so far is a ``@job``: it runs in a
    unit of work (commit at its end, rollback when it raises) with its own session.
    (conftest records every ``Queue.enqueue``; the end of the session checks again.)"""
    from helpers import buy, chain, create_product
    from records import ENQUEUED

    _a, _b, c = chain(live)
    buy(live, c, create_product(ops)["id"])  # at least the credit job
    ours = {name: fn for name, fn in ENQUEUED.items() if name.startswith("backend.")}
    assert ours
    assert all(getattr(fn, "is_fission_job", False) for fn in ours.values()), sorted(
        name for name, fn in ours.items() if not getattr(fn, "is_fission_job", False))


@pytest.fixture
def probe_app(live):
    """A second app on the same database and Redis, with routes that probe the boundary."""
    config = dataclasses.replace(live.app.config["FISSION"], queue_prefix=f"probe-{uuid.uuid4().hex[:8]}")
    app = create_app(config)
    name = f"probe-{uuid.uuid4().hex[:8]}"

    def add_admin():
        db.session.add(AdminUser(username=name, password_hash="x", role="operator"))
        db.session.flush()

    @app.post("/probe/commit-in-view")
    def commit_in_view():
        add_admin()
        db.session.commit()  # what the guard forbids
        return jsonify(ok=True)

    @app.post("/probe/ok")
    def ok():
        add_admin()
        queue.enqueue_after_commit(_probe_job, name, job_id=f"probe-{name}")
        return jsonify(ok=True)

    @app.post("/probe/refused")
    def refused():
        add_admin()
        queue.enqueue_after_commit(_probe_job, name, job_id=f"probe-{name}")
        raise ApiError("CONFLICT", "refused after the work was done")

    @app.post("/probe/answered-400")
    def answered_400():
        add_admin()
        after_commit(_never, name)
        return jsonify(error={"code": "BAD_REQUEST", "message": "no"}), 400

    @app.post("/probe/savepoint")
    def savepoint():
        with db.session.begin_nested():  # a savepoint's release is no commit
            add_admin()
        return jsonify(ok=True)

    @app.post("/probe/remote")
    def remote():
        add_admin()
        commit_before_remote_call()  # allowed: the named helper
        return jsonify(ok=True)

    app.probe_name = name
    yield app
    with app.app_context():
        db.session.execute(db.delete(AdminUser).where(AdminUser.username == name))
        db.session.commit()
        queue.get_queue().empty()
    close_engines(app)


def _probe_job(name):  # pragma: no cover - never run: only enqueued
    return name


def _never(name):  # pragma: no cover
    raise AssertionError(f"after_commit ran for a rolled-back request ({name})")


def _admin_exists(app) -> bool:
    with app.app_context():
        found = db.session.scalar(db.select(AdminUser.id).where(AdminUser.username == app.probe_name))
        db.session.remove()
        return found is not None


def _queued(app) -> int:
    with app.app_context():
        return queue.get_queue().count


def test_a_view_that_commits_by_itself_fails_and_changes_nothing(probe_app):
    r = probe_app.test_client().post("/probe/commit-in-view")
    assert r.status_code == 500
    assert r.get_json()["error"]["code"] == "INTERNAL_ERROR"
    assert not _admin_exists(probe_app)


def test_a_request_commits_at_its_end_and_enqueues_after(probe_app):
    r = probe_app.test_client().post("/probe/ok")
    assert r.status_code == 200
    assert _admin_exists(probe_app)
    assert _queued(probe_app) == 1


def test_an_enqueue_inside_a_rolled_back_request_never_reaches_redis(probe_app):
    r = probe_app.test_client().post("/probe/refused")
    assert r.status_code == 409
    assert not _admin_exists(probe_app)
    assert _queued(probe_app) == 0


def test_an_error_answer_rolls_back_and_drops_its_side_effects(probe_app):
    r = probe_app.test_client().post("/probe/answered-400")
    assert r.status_code == 400
    assert not _admin_exists(probe_app)


def test_a_savepoint_inside_a_request_is_no_commit(probe_app):
    r = probe_app.test_client().post("/probe/savepoint")
    assert r.status_code == 200
    assert _admin_exists(probe_app)


def test_the_named_helper_may_end_a_transaction_before_a_remote_call(probe_app):
    r = probe_app.test_client().post("/probe/remote")
    assert r.status_code == 200
    assert _admin_exists(probe_app)


def test_a_job_commits_once_at_its_end_and_rolls_back_when_it_raises(live):
    name = f"job-{uuid.uuid4().hex[:8]}"

    @queue.job
    def make_admin(fail: bool):
        db.session.add(AdminUser(username=name, password_hash="x", role="operator"))
        db.session.flush()
        if fail:
            raise RuntimeError("the job failed after its work")

    with live.app.app_context():
        with pytest.raises(RuntimeError):
            make_admin(True)
        assert db.session.scalar(db.select(AdminUser.id).where(AdminUser.username == name)) is None
        make_admin(False)
        db.session.remove()
        assert db.session.scalar(db.select(AdminUser.id).where(AdminUser.username == name)) is not None
        db.session.execute(db.delete(AdminUser).where(AdminUser.username == name))
        with unit_of_work("test cleanup"):
            pass


def _refused_unit_of_work(work) -> None:
    with unit_of_work("test"):
        work()
        raise ApiError("CONFLICT", "no")


def test_after_commit_callbacks_run_in_order_once(live):
    seen = []
    with live.app.app_context():
        with unit_of_work("test"):
            after_commit(seen.append, 1)
            after_commit(seen.append, 2)
        with unit_of_work("test"):
            pass
        with pytest.raises(ApiError):
            _refused_unit_of_work(lambda: after_commit(seen.append, 3))
        with unit_of_work("test"):
            pass
    assert seen == [1, 2]


def test_get_or_404_names_the_thing(live):
    with live.app.app_context(), pytest.raises(ApiError) as caught:
        get_or_404(AdminUser, 2_000_000_000)
    assert caught.value.status == 404
    assert caught.value.code == "ADMIN_USER_NOT_FOUND"


def test_a_deadlock_victim_inside_a_savepoint_is_known_as_one():
    """MariaDB rolls back the whole transaction of a deadlock victim, savepoints too, so
    the ``begin_nested`` block's own ROLLBACK TO SAVEPOINT fails (1305) while handling the
    deadlock (1213): ``run_in_transaction`` must still see a victim to run again, and
    must not take any other failure for one."""
    from sqlalchemy.exc import OperationalError

    from backend.db_errors import is_deadlock

    class DriverError(Exception):
        pass

    def raised(code: int, context: BaseException | None = None) -> OperationalError:
        try:
            try:
                if context is not None:
                    raise context
                raise DriverError(code, "first")
            except BaseException:
                raise OperationalError("SQL", {}, DriverError(code, "the error")) from None
        except OperationalError as exc:
            exc.__suppress_context__ = False
            return exc

    deadlock = raised(1213)
    savepoint_gone = raised(1305, context=deadlock)
    assert is_deadlock(deadlock)
    assert is_deadlock(savepoint_gone)
    assert not is_deadlock(raised(1305))
    assert not is_deadlock(raised(1062))  # a duplicate key is an answer, not a lost race
    assert not is_deadlock(ValueError(1213))
