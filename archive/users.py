"""Accounts of `mailroom web`: scrypt password hashes, roles, and the token that keeps sessions alive.

A session cookie names the account and its current `session_token`; replacing the token (a new
password, a logout) or removing the account ends every session made before.
"""

from __future__ import annotations

import hmac
import secrets
from datetime import datetime, timezone
from functools import lru_cache

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from archive.models import WebUser
from parsers.errors import MailroomError

ROLES = {"staff": "工作人员", "auditor": "审计人员"}
MIN_PASSWORD = 8
MAX_NAME = 64
HASH_METHOD = "scrypt"


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _hash(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise MailroomError(f"密码至少 {MIN_PASSWORD} 位")
    return generate_password_hash(password, method=HASH_METHOD)


@lru_cache(maxsize=1)
def _decoy_hash() -> str:
    """Checked against when no account has the name, so a wrong name costs as long as a wrong password."""
    return generate_password_hash(secrets.token_hex(16), method=HASH_METHOD)


def _new_token() -> str:
    return secrets.token_hex(32)


def find_user(session: Session, name: str) -> WebUser | None:
    return session.scalars(select(WebUser).where(WebUser.name == name)).one_or_none()


def _existing(session: Session, name: str) -> WebUser:
    user = find_user(session, name)
    if user is None:
        raise MailroomError(f"没有名为 {name} 的账号")
    return user


def add_user(session: Session, name: str, password: str, role: str, personal: bool = False) -> WebUser:
    """A new account; `personal` lets an auditor see personal numbers whole (staff always do)."""
    name = name.strip()
    if not name or len(name) > MAX_NAME or any(char.isspace() for char in name):
        raise MailroomError(f"账号名须为 1–{MAX_NAME} 个字符，不含空格")
    if role not in ROLES:
        raise MailroomError(f"角色只能是 {' / '.join(ROLES)}")
    if find_user(session, name) is not None:
        raise MailroomError(f"账号 {name} 已存在")
    now = _now()
    user = WebUser(name=name, password_hash=_hash(password), role=role, personal=personal or role == "staff",
                   session_token=_new_token(), created_at=now, password_changed_at=now)
    session.add(user)
    session.commit()
    return user


def set_password(session: Session, name: str, password: str) -> WebUser:
    """A new password; every session of the account made with the old one ends."""
    user = _existing(session, name)
    user.password_hash = _hash(password)
    user.password_changed_at = _now()
    user.session_token = _new_token()
    session.commit()
    return user


def remove_user(session: Session, name: str) -> None:
    session.delete(_existing(session, name))
    session.commit()


def list_users(session: Session) -> list[WebUser]:
    return list(session.scalars(select(WebUser).order_by(WebUser.name)))


def authenticate(session: Session, name: str, password: str) -> WebUser | None:
    """The account when the password is its own, else None (the same time taken either way)."""
    user = find_user(session, name.strip())
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
