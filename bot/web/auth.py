"""Logging in and out, and who is asking: every page but the login page needs a live session.

The session is Flask's signed cookie holding the account's id, its session token and the login time.
A request is served only while the token is still the account's (a new password, role or grant, a logout
or removing the account replaces or deletes it) and the login is younger than [web] session_hours.
Failed logins are throttled by name and by client address (archive.users.Throttle): a locked login is
refused with 429 whatever the password. Each failure and each refusal is logged (the name given and the
client's address, never the password).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from urllib.parse import urlsplit

from flask import Blueprint, abort, g, redirect, render_template, request, session, url_for

from archive.models import WebUser
from archive.users import ROLES, end_sessions, log_in, session_user
from bot.web.site import site

log = logging.getLogger(__name__)
blueprint = Blueprint("auth", __name__)
PUBLIC = {"auth.login", "auth.favicon", "static"}
SESSION_KEYS = ("uid", "token", "since")
READ_ONLY = "审计账号只能查看，不能修改任何记录。如需登记或撤销，请使用工作人员账号。"
# A unit's clerk checks its own files and sees nothing of the archive: every other page is refused.
UNIT_PAGES = {"selfcheck.selfcheck_page", "auth.logout", "auth.login", "auth.favicon", "static"}
UNIT_REFUSED = "填报单位账号只能使用“自查”页面检查自己的文件，不能查看归档、排名或任何其他页面。"
# The same for a name no account has, and for a client address trying many names: nothing is revealed.
LOCKED = "登录失败次数过多，请 {minutes} 分钟后再试"


@dataclass(frozen=True)
class Viewer:
    """The signed-in account, as pages need it."""

    id: int
    name: str
    role: str
    personal: bool
    unit: str | None = None  # role unit: the unit whose clerk it is

    @property
    def is_staff(self) -> bool:
        return self.role == "staff"

    @property
    def is_unit(self) -> bool:
        return self.role == "unit"

    @property
    def sees_personal(self) -> bool:
        """Staff always; an auditor only when granted (`mailroom user add … --personal`); a unit's clerk sees
        nothing but what its own uploaded files say, numbers as written (the ID it must correct)."""
        return self.is_staff or self.personal or self.is_unit

    @property
    def role_label(self) -> str:
        return f"{ROLES[self.role]} {self.unit}" if self.is_unit else ROLES[self.role]

    @classmethod
    def of(cls, user: WebUser) -> Viewer:
        return cls(user.id, user.name, user.role, user.personal, user.unit)


def viewer() -> Viewer:
    return g.viewer


def staff_only(view: Callable) -> Callable:
    """A write: auditors are refused with a Chinese explanation."""

    @wraps(view)
    def guarded(*args, **kwargs):
        if not viewer().is_staff:
            abort(403, READ_ONLY)
        return view(*args, **kwargs)

    return guarded


@blueprint.before_app_request
def require_login():
    if request.endpoint in PUBLIC:
        return None
    found = _session_viewer()
    if found is None:
        for key in SESSION_KEYS:  # the CSRF token stays: a login form open in another tab still works
            session.pop(key, None)
        target = request.full_path.rstrip("?") if request.method == "GET" else None
        return redirect(url_for("auth.login", next=target))
    g.viewer = found
    if found.is_unit and request.endpoint == "archive.home":
        return redirect(url_for("selfcheck.selfcheck_page"))
    if found.is_unit and request.endpoint not in UNIT_PAGES:
        abort(403, UNIT_REFUSED)
    return None


def _session_viewer() -> Viewer | None:
    user_id, token, since = session.get("uid"), session.get("token"), session.get("since")
    if not isinstance(user_id, int) or not isinstance(token, str) or not isinstance(since, (int, float)):
        return None
    current = site()
    if current.now().timestamp() - since > current.config.web.session_hours * 3600:
        return None
    with current.deps.db.session() as db:
        user = session_user(db, user_id, token)
        return Viewer.of(user) if user is not None else None


@blueprint.route("/login", methods=["GET", "POST"])
def login():
    target = _safe_next(request.values.get("next"))
    if request.method == "GET":
        return render_template("login.html", next=target, error=None)
    current, name = site(), request.form.get("name", "")
    now = current.now()
    with current.deps.db.session() as db:
        attempt = log_in(db, name, request.form.get("password", ""), request.remote_addr or "", now)
    if attempt.locked_until is not None:
        wait = math.ceil((attempt.locked_until - now).total_seconds())
        log.warning("登录被拒绝（锁定 %d 秒）：账号 %r，来自 %s", wait, name, request.remote_addr)
        error = LOCKED.format(minutes=math.ceil(wait / 60))
        return render_template("login.html", next=target, error=error, name=name), 429, {"Retry-After": str(wait)}
    user = attempt.user
    if user is None:
        log.warning("登录失败：账号 %r，来自 %s", name, request.remote_addr)
        return render_template("login.html", next=target, error="账号或密码不对", name=name), 401
    session.clear()  # nothing from before the login survives it (no session fixation)
    session.permanent = True
    session.update(uid=user.id, token=user.session_token, since=now.timestamp())
    if user.role == "unit":  # a clerk has one page
        return redirect(url_for("selfcheck.selfcheck_page"))
    return redirect(target or url_for("archive.search_page"))


@blueprint.route("/favicon.ico")
def favicon():
    return "", 204


@blueprint.route("/logout", methods=["POST"])
def logout():
    """Ends every session of the account, on every browser: a copied cookie is worthless after it."""
    with site().deps.db.session() as db:
        end_sessions(db, viewer().id)
    session.clear()
    return redirect(url_for("auth.login", out=1))


def _safe_next(target: str | None) -> str | None:
    """Only a path on this site (never //host or scheme://host): no open redirect through the login, and no
    control character (a CR/LF would split the Location header)."""
    if not target or any(ord(char) < 0x20 or 0x7F <= ord(char) < 0xA0 for char in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    return target
