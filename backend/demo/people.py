"""The demo shop's people: distributors in two-level teams, their customers, applicants.

Each person has a stable sandbox openid ``demo-openid-<key>``, where the key names
the place in the tree: ``a1`` a root distributor, ``a1b2`` one of its distributors,
``a1b2c1`` a customer of that one, ``a1b2c1d1`` a customer of a customer who became
a distributor. Logins, profiles, applications and binds go through the auth and
referral services, so team sizes, wallets and bind history are what the API would
have written; only the times are moved back afterwards (``backdate_people``).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update

from backend.auth import service as auth
from backend.auth.models import User
from backend.extensions import db
from backend.referral import service as referral
from backend.referral.models import BindHistory

OPENID_PREFIX = "demo-openid-"
KOL_KEY = "a1"  # the root with a KOL rate (level1_bp_override)
KOL_LEVEL1_BP = 1500

NICKNAMES = [
    "华强北老王", "电子小白", "焊锡少年", "硬件老张", "嵌入式阿杰", "深圳小林", "单片机爱好者", "阿强电子",
    "创客小美", "电路板李工", "芯片猎人", "老陈的工作室", "小鱼儿", "一只电阻", "电容妹妹", "飞线大师",
    "赛格阿May", "东莞周工", "杭州创客", "成都小何", "宁波王师傅", "程序猿小马", "PCB小能手", "示波器不离手",
    "万用表", "苏州阿亮", "绿油油", "贴片小王子", "玩板子的猫", "北京刘工", "小刘同学", "金牌代工",
    "拾光电子", "一颗螺丝", "灯条大叔", "电源工程师老吴", "射频小哥", "武汉光谷小胡", "厦门阿辉", "电机控制",
    "张三丰电子", "大疆前员工", "树莓派玩家", "ESP32死忠", "STM32入门中", "贴片电感", "晶振一号", "LED小灯",
    "采购小周", "工控老马", "青岛小孙", "西安阿伟", "合肥小徐", "长沙辣妹子", "南京老郑", "天津小宋",
]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林高罗"
GIVEN = ["伟", "芳", "娜", "敏", "静", "强", "磊", "洋", "艳", "勇", "军", "杰", "娟", "涛", "明", "超"]


@dataclass(frozen=True)
class Person:
    key: str
    parent: str | None  # the inviter's key
    distributor: bool
    applicant: bool = False  # applied, waiting for an operator (approval mode)

    @property
    def openid(self) -> str:
        return OPENID_PREFIX + self.key


def plan_people() -> list[Person]:
    """The tree, parents before children: 4 roots × 3 distributors × 2 customers, a few
    customers straight under a root, two customers who became distributors (with one
    customer each), unbound shoppers, and three pending applicants."""
    people: list[Person] = []
    for a in range(1, 5):
        root = f"a{a}"
        people.append(Person(root, None, True))
        for b in range(1, 4):
            mid = f"{root}b{b}"
            people.append(Person(mid, root, True))
            for c in range(1, 3):
                people.append(Person(f"{mid}c{c}", mid, False))
        people.append(Person(f"{root}c1", root, False))
    for key in ("a1b1c1", "a2b2c1"):  # customers who became distributors, then brought someone
        people = [Person(p.key, p.parent, True) if p.key == key else p for p in people]
        people.append(Person(f"{key}d1", key, False))
    people += [Person(f"solo{n}", None, False) for n in range(1, 5)]
    for key in ("a3b1c2", "a4b2c1", "solo1"):
        people = [Person(p.key, p.parent, False, applicant=True) if p.key == key else p for p in people]
    return people


def nickname(index: int) -> str:
    return NICKNAMES[index % len(NICKNAMES)]


def existing_openids() -> set[str]:
    return set(db.session.scalars(select(User.openid).where(User.openid.like(f"{OPENID_PREFIX}%"))))


def create_person(person: Person, index: int, users: dict[str, User]) -> User | None:
    """Log the person in (sandbox openid), name them, make them a distributor or an
    applicant, bind them under their inviter. None if they exist already (a rerun)."""
    user, created = auth.get_or_create_user(person.openid)
    users[person.key] = user
    if not created:
        return None
    auth.update_profile(user, nickname(index), f"https://thirdwx.qlogo.cn/mmopen/demo/{person.key}/132")
    if person.parent is not None:
        referral.bind_to(user, users[person.parent], source="login")
    real_name = SURNAMES[index % len(SURNAMES)] + GIVEN[index * 7 % len(GIVEN)]
    phone = f"139{index:08d}"
    if person.distributor:
        if referral.apply(user, real_name, phone) == "pending":  # the shop is in approval mode
            referral.approve(user)
        if person.key == KOL_KEY:
            user.level1_bp_override = KOL_LEVEL1_BP  # an operator's KOL rate: no service sets it yet
    elif person.applicant:
        # What apply() records in approval mode; calling it in "everyone" mode would approve.
        user.real_name, user.phone, user.distributor_status = real_name, phone, "pending"
    db.session.flush()
    return user


def joined_at(person: Person, index: int, now: datetime, rng: random.Random) -> datetime:
    """When the person signed up: roots 40-45 days ago, each level a few days after its inviter."""
    depth = len([c for c in person.key if c.isalpha()]) - 1 if not person.key.startswith("solo") else 2
    days = 45 - depth * 4 - rng.randint(0, 3)
    return now - timedelta(days=days, hours=rng.randint(0, 12), minutes=rng.randint(0, 59))


def backdate_people(times: dict[int, datetime]) -> None:
    """The services stamp now(): move each new person's sign-up and bind back to ``times``."""
    for user_id, at in times.items():
        db.session.execute(update(User).where(User.id == user_id).values(created_at=at)
                           .execution_options(synchronize_session=False))
        db.session.execute(update(User).where(User.id == user_id, User.bound_at.is_not(None))
                           .values(bound_at=at).execution_options(synchronize_session=False))
        db.session.execute(update(BindHistory).where(BindHistory.user_id == user_id).values(created_at=at)
                           .execution_options(synchronize_session=False))
    db.session.flush()
