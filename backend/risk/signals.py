"""The order-level signals, decided inside the payment's transaction
(``commission.service.record_commissions``), before any payout is written.

The common case costs one statement: EXISTS checks on indexed columns. Only an
order that trips one reads its evidence. Distributor-level signals are computed
by the nightly pass (``review_pass.py``) and reach here as "under review".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from sqlalchemy import and_, bindparam, exists, or_, select

from backend.auth.models import User
from backend.extensions import db
from backend.risk.models import BindFact, ClientFact, DistributorWatch
from backend.risk.settings import get_risk_settings
from backend.timeutil import as_utc

SCORES = {"second_account": 60, "bind_farm": 50, "distributor_under_review": 40}


@dataclass
class Verdict:
    signals: list[str] = field(default_factory=list)
    evidence: dict = field(default_factory=dict)

    @property
    def score(self) -> int:
        return min(100, sum(SCORES.get(s, 30) for s in self.signals))


_FACTS, _FACTS_B = ClientFact.__table__.alias("mine"), ClientFact.__table__.alias("theirs")
_USERS, _EARNERS = User.__table__.alias("buyer_row"), User.__table__.alias("earner_row")
_BINDS, _WATCH = BindFact.__table__, DistributorWatch.__table__


# Built once (the paid path's statements are, docs/architecture.md): constructing five
# EXISTS clauses on every notify cost more Python than their SQL cost PostgreSQL
# (bench/payout_latency.py, CPU per paid order). The values come as bound parameters.
_BUYER, _EARNER_IDS, _PAYER = bindparam("buyer_id"), bindparam("earner_ids", expanding=True), bindparam("payer")
CHECKS = {
    # second account / self-referral: a device the buyer shares with an earner ...
    "device": exists().where(
        _FACTS.c.user_id == _BUYER, _FACTS.c.kind == "device",
        _FACTS_B.c.kind == "device", _FACTS_B.c.value == _FACTS.c.value, _FACTS_B.c.user_id.in_(_EARNER_IDS)),
    # ... their unionid or phone ...
    "identity": exists().where(
        _USERS.c.id == _BUYER, _EARNERS.c.id.in_(_EARNER_IDS),
        or_(and_(_USERS.c.unionid.is_not(None), _USERS.c.unionid == _EARNERS.c.unionid),
            and_(_USERS.c.phone.is_not(None), _USERS.c.phone != "", _USERS.c.phone == _EARNERS.c.phone))),
    # ... or WeChat's payer: an earner's own account paid for the buyer
    "payer": exists().where(_EARNERS.c.id.in_(_EARNER_IDS), _EARNERS.c.openid == _PAYER),
    "farm": exists().where(_BINDS.c.user_id == _BUYER, _BINDS.c.farm.is_(True)),
    "watched": exists().where(_WATCH.c.user_id.in_(_EARNER_IDS), _WATCH.c.under_review.is_(True)),
}


@lru_cache(maxsize=32)
def _statement(names: tuple[str, ...]):
    return select(*[CHECKS[name].label(name) for name in names])


def verdict(buyer_id: int, level1_id: int | None, level2_id: int | None,
            payer_openid: str | None = None) -> Verdict | None:
    """The signals an order being paid now trips (None: none, its commissions go on as usual)."""
    if level1_id is None:
        return None
    settings = get_risk_settings()
    earners = sorted({i for i in (level1_id, level2_id) if i is not None and i != buyer_id})
    names: list[str] = []
    if settings.second_account and earners:
        names += ["device", "identity"] + (["payer"] if payer_openid else [])
    if settings.bind_farm:
        names.append("farm")
    if earners:
        names.append("watched")
    if not names:
        return None
    row = db.session.execute(_statement(tuple(names)),
                             {"buyer_id": buyer_id, "earner_ids": earners, "payer": payer_openid}).one()
    hits = row._asdict()
    if not any(hits.values()):
        return None
    return _evidence(buyer_id, earners, hits, payer_openid)


def _evidence(buyer_id: int, earners: list[int], hits: dict, payer_openid: str | None = None) -> Verdict:
    """The rare path: what was found, for the review queue."""
    found = Verdict()
    if hits.get("device") or hits.get("identity") or hits.get("payer"):
        shared = []
        if hits.get("device"):
            for user_id, value in db.session.execute(
                    select(_FACTS_B.c.user_id, _FACTS_B.c.value).select_from(_FACTS)
                    .join(_FACTS_B, and_(_FACTS_B.c.kind == _FACTS.c.kind, _FACTS_B.c.value == _FACTS.c.value))
                    .where(_FACTS.c.user_id == buyer_id, _FACTS.c.kind == "device",
                           _FACTS_B.c.user_id.in_(earners))):
                shared.append({"with_user_id": user_id, "fact": "device_id", "value": value})
        if hits.get("identity"):
            buyer = db.session.get(User, buyer_id)
            for earner in db.session.scalars(select(User).where(User.id.in_(earners))):
                for fact in ("unionid", "phone"):
                    mine = getattr(buyer, fact)
                    if mine and mine == getattr(earner, fact):
                        shared.append({"with_user_id": earner.id, "fact": fact, "value": mine})
        if hits.get("payer"):
            for earner_id in db.session.scalars(select(User.id).where(User.id.in_(earners),
                                                                      User.openid == payer_openid)):
                shared.append({"with_user_id": earner_id, "fact": "payer_openid", "value": payer_openid})
        found.signals.append("second_account")
        found.evidence["second_account"] = {"buyer_id": buyer_id, "shared": shared}
    if hits.get("farm"):
        bind = db.session.execute(select(_BINDS.c.inviter_id, _BINDS.c.ip, _BINDS.c.device_id, _BINDS.c.created_at)
                                  .where(_BINDS.c.user_id == buyer_id, _BINDS.c.farm.is_(True))
                                  .order_by(_BINDS.c.id.desc()).limit(1)).one()
        found.signals.append("bind_farm")
        found.evidence["bind_farm"] = {"inviter_id": bind.inviter_id, "ip": bind.ip, "device_id": bind.device_id,
                                       "bound_at": as_utc(bind.created_at).isoformat()}
    if hits.get("watched"):
        rows = db.session.execute(select(_WATCH.c.user_id, _WATCH.c.signals).where(
            _WATCH.c.user_id.in_(earners), _WATCH.c.under_review.is_(True))).all()
        found.signals.append("distributor_under_review")
        found.evidence["distributor_under_review"] = [{"user_id": r.user_id, "signals": r.signals} for r in rows]
    return found


def hold(order_id: int, distributor_id: int, found: Verdict) -> None:
    """Put a paid order in the review queue (its commissions get no payout until decided)."""
    from backend.risk.models import RiskReview

    db.session.add(RiskReview(order_id=order_id, distributor_id=distributor_id, status="pending",
                              score=found.score, signals=found.signals, evidence=found.evidence))
    db.session.flush()
