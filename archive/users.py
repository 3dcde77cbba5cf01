"""Accounts of `mailroom web`: scrypt password hashes, roles (staff, auditor, and a unit's clerk, who uses
only the 自查 page), the token that keeps sessions alive, and the throttling of failed logins.

A session cookie names the account and its current `session_token`; replacing the token (a new
password, a new role or grant, a logout) or removing the account ends every session made before.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from sqlalchemy import delete, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from archive.entries import hold
from archive.models import LoginFailure, WebUser
from parsers.errors import InputError, MailroomError

ROLES = {"staff": "工作人员", "auditor": "审计人员", "unit": "填报单位"}
UNIT_ONLY = "只有填报单位账号（--role unit）属于一个单位"
UNIT_NEEDED = "填报单位账号须用 --unit 指定单位"
UNIT_NO_PERSONAL = "填报单位账号只能使用自查页面，看不到归档，--personal 对它无意义"
MIN_PASSWORD = 8
MAX_NAME = 64
HASH_METHOD = "scrypt"
ADDRESS_LENGTH = 64  # an IPv6 address is at most 45 characters
# Control, format (zero-width, direction marks), private-use, unassigned and surrogate characters.
INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Co", "Cn", "Cs", "Zl", "Zp", "Mn", "Me"})
INVISIBLE_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")  # fillers and the blank braille cell


def _now() -> datetime:
    return datetime.now(UTC)


def _hash(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise InputError(f"密码至少 {MIN_PASSWORD} 位")
    return generate_password_hash(password, method=HASH_METHOD)


@lru_cache(maxsize=1)
def _decoy_hash() -> str:
    """Checked against when no account has the name, so a wrong name costs as long as a wrong password."""
    return generate_password_hash(secrets.token_hex(16), method=HASH_METHOD)


def _new_token() -> str:
    return secrets.token_hex(32)


def account_name(name: str) -> str:
    """A name as accounts are kept and looked up: NFKC-normalised (full-width `ｓｔａｆｆ１` is `staff1`), trimmed."""
    return unicodedata.normalize("NFKC", name).strip()


def name_problem(name: str) -> str | None:
    """Why a new account's name (normalised) is refused, or None: one that looks like another account's
    name on screen (an invisible or control character, a space) could pass for it in the audit trail."""
    if not name or len(name) > MAX_NAME:
        return f"账号名须为 1–{MAX_NAME} 个字符"
    for char in name:
        if char.isspace() or char in INVISIBLE_LETTERS or unicodedata.category(char) in INVISIBLE_CATEGORIES:
            return f"账号名不能含空格、不可见字符或控制字符（发现 U+{ord(char):04X}）"
    return None


def find_user(session: Session, name: str) -> WebUser | None:
    return session.scalars(select(WebUser).where(WebUser.name == account_name(name))).one_or_none()


def existing_user(session: Session, name: str) -> WebUser:
    user = find_user(session, name)
    if user is None:
        raise MailroomError(f"没有名为 {name} 的账号")
    return user


def add_user(
    session: Session, name: str, password: str, role: str, personal: bool = False, unit: str | None = None
) -> WebUser:
    """A new account; `personal` lets an auditor see personal numbers whole (staff always do); a unit's
    clerk (role unit) belongs to `unit`, a configured unit's name (the caller resolves aliases)."""
    name = new_user_name(session, name, role, personal, unit)
    now = _now()
    user = WebUser(
        name=name,
        password_hash=_hash(password),
        role=role,
        personal=personal or role == "staff",
        session_token=_new_token(),
        created_at=now,
        password_changed_at=now,
        unit=unit,
    )
    session.add(user)
    session.commit()
    return user


def new_user_name(session: Session, name: str, role: str, personal: bool = False, unit: str | None = None) -> str:
    """The account name as add_user stores it, once all but the password is as add_user takes it (refused
    else): the command line says so before asking for a password."""
    name = account_name(name)
    if problem := name_problem(name):
        raise InputError(problem)
    if role not in ROLES:
        raise InputError(f"角色只能是 {' / '.join(ROLES)}")
    _check_unit(role, unit, personal)
    if find_user(session, name) is not None:
        raise MailroomError(f"账号 {name} 已存在")
    return name


def _check_unit(role: str, unit: str | None, personal: bool | None) -> None:
    if role != "unit" and unit is not None:
        raise InputError(UNIT_ONLY)
    if role == "unit" and unit is None:
        raise InputError(UNIT_NEEDED)
    if role == "unit" and personal:
        raise InputError(UNIT_NO_PERSONAL)


def set_password(session: Session, name: str, password: str) -> WebUser:
    """A new password; every session of the account made with the old one ends."""
    user = existing_user(session, name)
    user.password_hash = _hash(password)
    user.password_changed_at = _now()
    user.session_token = _new_token()
    session.commit()
    return user


def set_access(
    session: Session, name: str, role: str | None = None, personal: bool | None = None, unit: str | None = None
) -> tuple[WebUser, bool]:
    """A new role, personal-data grant or unit (None: unchanged), and whether anything changed: when it did,
    every session of the account ends, so an open browser never keeps what the account had before.

    Staff always see personal numbers; an account made an auditor is masked unless `personal` says so; a
    unit's clerk keeps its unit unless given another, and another role drops it."""
    user = existing_user(session, name)
    if role is not None and role not in ROLES:
        raise InputError(f"角色只能是 {' / '.join(ROLES)}")
    new_role = role or user.role
    new_unit = (unit or (user.unit if user.role == "unit" else None)) if new_role == "unit" else unit
    _check_unit(new_role, new_unit, personal)
    if new_role == "unit":
        new_personal = False
    elif new_role == "staff":
        if personal is False:
            raise InputError("工作人员总是可见个人信息；只有审计人员可以遮蔽（先改为 --role auditor）")
        new_personal = True
    elif personal is not None:
        new_personal = personal
    else:
        new_personal = user.personal if user.role == "auditor" else False
    if (new_role, new_personal, new_unit) == (user.role, user.personal, user.unit):
        return user, False
    user.role, user.personal, user.unit = new_role, new_personal, new_unit
    user.session_token = _new_token()
    session.commit()
    return user, True


def remove_user(session: Session, name: str) -> None:
    session.delete(existing_user(session, name))
    session.commit()


def list_users(session: Session) -> list[WebUser]:
    return list(session.scalars(select(WebUser).order_by(WebUser.name)))


def authenticate(session: Session, name: str, password: str) -> WebUser | None:
    """The account when the password is its own, else None (the same time taken either way)."""
    user = find_user(session, name)
    if user is None:
        check_password_hash(_decoy_hash(), password)
        return None
    return user if check_password_hash(user.password_hash, password) else None


def session_user(session: Session, user_id: int, token: str) -> WebUser | None:
    """The account a session cookie names, while the token in it is still the account's."""
    user = session.get(WebUser, user_id)
    if user is None or not hmac.compare_digest(user.session_token.encode(), token.encode()):
        return None
    return user


def end_sessions(session: Session, user_id: int) -> None:
    """Every session of the account ends (a logout ends them on every browser)."""
    user = session.get(WebUser, user_id)
    if user is not None:
        user.session_token = _new_token()
        session.commit()


@dataclass(frozen=True)
class Throttle:
    """How many failed logins within `window` lock a name, or a client address (one client trying many
    names), and for how long after the failure that reached the limit."""

    per_name: int = 5
    per_address: int = 20
    window: timedelta = timedelta(minutes=15)
    lockout: timedelta = timedelta(minutes=15)


THROTTLE = Throttle()


@dataclass(frozen=True)
class LoginAttempt:
    """What a login came to: the account, or None; `locked_until` set when it was refused unchecked."""

    user: WebUser | None
    locked_until: datetime | None = None


def log_in(
    session: Session, name: str, password: str, address: str, now: datetime, throttle: Throttle = THROTTLE
) -> LoginAttempt:
    """A login from the client at `address`: refused without looking at the password while the name or the
    address is locked (the same for a name no account has), else checked; a failure is recorded and a
    success forgets the name's failures. The attempt is recorded as a failure, holding the name (one attempt at a
    time records and looks), before the lock is looked at and the password checked: attempts in parallel each see
    those before them, where several passed the look together during the slow check (8 of 40 against the 5
    allowed: web attacker)."""
    name = account_name(name)
    key = _name_key(name)
    hold(session, f"login:{key}")
    attempt = LoginFailure(name_key=key, address=address[:ADDRESS_LENGTH], at=now)
    session.add(attempt)
    session.commit()
    until = _locked_until(session, key, address, now, throttle, attempt.id)
    if until is not None:
        session.delete(attempt)  # a refusal while locked is no failure: it does not lengthen the lock
        session.commit()
        return LoginAttempt(None, until)
    user = authenticate(session, name, password)
    if user is not None:
        session.execute(delete(LoginFailure).where(LoginFailure.name_key == key))
    # Failures older than a window and a lockout can no longer lock anything.
    session.execute(delete(LoginFailure).where(LoginFailure.at <= now - throttle.window - throttle.lockout))
    session.commit()
    return LoginAttempt(user)


def _name_key(name: str) -> str:
    """Names are kept hashed: a password typed into the name field by mistake is not stored as typed."""
    return hashlib.sha256(name.encode()).hexdigest()


def _locked_until(
    session: Session, key: str, address: str, now: datetime, throttle: Throttle, attempt: int
) -> datetime | None:
    """When the lock on the name or the address ends, by the failures recorded before `attempt` (the id of this
    attempt's own row), or None."""
    since = now - throttle.window - throttle.lockout
    recent = select(LoginFailure.at).where(LoginFailure.at > since, LoginFailure.id < attempt)
    by_name = session.scalars(recent.where(LoginFailure.name_key == key)).all()
    by_address = session.scalars(recent.where(LoginFailure.address == address[:ADDRESS_LENGTH])).all()
    ends = [
        end
        for end in (
            _lock_end(by_name, throttle.per_name, throttle),
            _lock_end(by_address, throttle.per_address, throttle),
        )
        if end is not None and end > now
    ]
    return max(ends, default=None)


def _lock_end(failures: Sequence[datetime], limit: int, throttle: Throttle) -> datetime | None:
    """When the last lock these failures caused ends: `lockout` after the latest failure that was the
    `limit`-th within `window`; None when they never reached the limit."""
    ordered = sorted(failures)
    end = None
    for last in range(limit - 1, len(ordered)):
        if ordered[last] - ordered[last - limit + 1] < throttle.window:
            end = ordered[last] + throttle.lockout
    return end
