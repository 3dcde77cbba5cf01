"""A real Dovecot IMAP server on loopback, for tests and benchmarks.

Usage::

    from dovecot import Dovecot          # or: from tests.dovecot import Dovecot

    with Dovecot(users={"jjb": "pw1", "kfb": "pw2"}) as server:
        uid = server.append("jjb", raw_bytes, internaldate=some_aware_datetime)
        with server.client("jjb") as c:
            c.select_folder("INBOX")
            ...
        assert "ID sent: name=mailroom" in server.log_text()

Everything (config, sockets, state, log, mail) lives in one temporary
directory that is removed by :meth:`Dovecot.close`.  The server is started in
the foreground (``dovecot -F -c CONF``) as a child process on a free high
port on 127.0.0.1 and never listens on 143/993.

Written for Dovecot 2.3 (Debian 12 ships 2.3.19); 2.4 changed the config
syntax and is refused with a clear error.

This module deliberately does not import pytest: ``bench/`` scripts use it
too.  Callers that want to skip when Dovecot is absent should check
:func:`dovecot_binary` (or catch :class:`DovecotUnavailable`).
"""

from __future__ import annotations

import atexit
import contextlib
import datetime as _dt
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

import imapclient
from imapclient.imap_utf7 import encode as _mutf7_encode

__all__ = [
    "Dovecot",
    "DovecotError",
    "DovecotUnavailable",
    "dovecot_binary",
    "dovecot_version",
    "INSTALL_HINT",
]

INSTALL_HINT = "dovecot-imapd not installed: run scripts/install.sh"

# Where Debian puts the binaries; /usr/sbin is often missing from a non-root PATH.
_SBIN_DIRS = ("/usr/sbin", "/usr/local/sbin", "/sbin")

# nobody/nogroup: imap-login refuses to run as root, and so does mail access.
NOBODY_UID = 65534
NOBODY_GID = 65534

_USER_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]*$")

# Maildir flag letters (Maildir "info" part ":2,<letters>", letters sorted).
_FLAG_LETTERS = {
    b"\\draft": "D",
    b"\\flagged": "F",
    b"\\answered": "R",
    b"\\seen": "S",
    b"\\deleted": "T",
}


class DovecotError(RuntimeError):
    """The server could not be configured, started or driven."""


class DovecotUnavailable(DovecotError):
    """The dovecot binary is missing or is a version this harness can't drive."""


def _which(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    for d in _SBIN_DIRS:
        p = os.path.join(d, name)
        if os.path.isfile(p) and os.access(p, os.X_OK):
            return p
    return None


# Where packages put imap/imap-login (Debian: /usr/lib/dovecot).
_LIBEXEC_DIRS = ("/usr/lib/dovecot", "/usr/libexec/dovecot", "/usr/local/libexec/dovecot")


def dovecot_binary() -> str | None:
    """Path of the ``dovecot`` binary, or None if Dovecot's IMAP server is
    not installed (dovecot-core without dovecot-imapd counts as missing)."""
    binary = _which("dovecot")
    if binary is None:
        return None
    for d in _LIBEXEC_DIRS:
        if os.path.isdir(d):
            if not os.path.exists(os.path.join(d, "imap-login")):
                return None
            break
    return binary


def dovecot_version(binary: str | None = None) -> str:
    """``dovecot --version`` (e.g. ``"2.3.19.1 (9b53102964)"``)."""
    binary = binary or dovecot_binary()
    if not binary:
        raise DovecotUnavailable(INSTALL_HINT)
    out = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=30)
    return out.stdout.strip()


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def _to_timestamp(when: _dt.datetime | None) -> float:
    if when is None:
        return time.time()
    if when.tzinfo is None:  # naive = local time, like imapclient does
        return time.mktime(when.timetuple()) + when.microsecond / 1e6
    return when.timestamp()


def _flag_bytes(flag: str | bytes) -> bytes:
    return flag.encode("ascii") if isinstance(flag, str) else bytes(flag)


def _pid_alive(pid: int) -> bool:
    """Does ``pid`` exist and is not a zombie?"""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except FileNotFoundError:
        return False
    except OSError:  # no procfs
        try:
            os.kill(pid, 0)
            return True
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
    return stat[stat.rfind(b")") + 2 :][:1] != b"Z"


def _group_members(pgid: int) -> set[int] | None:
    """PIDs of the live (non-zombie) processes in group ``pgid``.

    (Dovecot's log process is reparented to PID 1 as a zombie, and PID 1 in
    containers may reap slowly, so ``killpg(pgid, 0)`` is not good enough.)
    Returns None if /proc is not available.
    """
    try:
        entries = os.listdir("/proc")
    except OSError:
        return None
    members = set()
    for name in entries:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        # "pid (comm) state ppid pgrp ..." - comm may contain spaces/parens.
        fields = stat[stat.rfind(b")") + 2 :].split()
        if len(fields) >= 3 and int(fields[2]) == pgid and fields[0] != b"Z":
            members.add(int(name))
    return members


def _group_alive(pgid: int) -> bool:
    """Is any non-zombie process left in process group ``pgid``?"""
    members = _group_members(pgid)
    if members is not None:
        return bool(members)
    try:
        os.killpg(pgid, 0)
        return True
    except (ProcessLookupError, PermissionError):
        return False


# Live servers, stopped at interpreter exit so no dovecot outlives a crashed run.
_LIVE: set[Dovecot] = set()
_LIVE_LOCK = threading.Lock()


@atexit.register
def _stop_all() -> None:
    with _LIVE_LOCK:
        servers = list(_LIVE)
    for server in servers:
        with contextlib.suppress(Exception):  # best effort at exit
            server.close()


class Dovecot:
    """A throw-away Dovecot 2.3 IMAP server (plaintext, optionally TLS too; loopback, Maildir).

    :param users: ``{username: password}``; each user is one mailbox account
        with home ``<tmp>/home/<user>`` and mail in ``~/Maildir``.
    :param host: address to listen on (loopback).
    :param port: port to listen on; default is a free high port.
    :param separator: hierarchy separator of the (single, empty-prefix)
        namespace.  Maildir++ on disk either way.
    :param start: start the server in the constructor.  With ``start=False``
        you can :meth:`fill_maildir` first and call :meth:`start` later.
    :param extra_config: appended verbatim to the generated dovecot.conf
        (e.g. ``"auth_debug = yes\\n"``).
    :param keep_dir: don't delete the temporary directory on close.
    :param tls_cert: a PEM certificate (chain) file; with ``tls_key``, the
        server offers STARTTLS on :attr:`port` and implicit TLS (993-style)
        on :attr:`tls_port`.  Plaintext logins stay allowed on :attr:`port`,
        so :meth:`client` and every plaintext user work as without it.
    :param tls_key: the certificate's PEM private key file.
    :param tmp_parent: where to create the temporary directory (default:
        ``$TMPDIR`` or /tmp).  ``/dev/shm`` makes :meth:`fill_maildir` of
        10^5 messages several times faster and steadier than a VM disk.

    As a context manager it closes the server (stop + remove the directory)
    on exit; with ``start=False`` call :meth:`start` yourself.

    When running as root (the normal case) mail is owned by nobody/nogroup
    (65534), because imap-login and the mail processes refuse to run as root.
    When running as an ordinary user, everything runs as that user.
    """

    START_TIMEOUT = 20.0
    STOP_TIMEOUT = 10.0
    # On SIGTERM the 2.3 master sleeps a fixed 1 s after its children are
    # gone (for its log process).  True: SIGKILL it 0.15 s into that sleep.
    CUT_SHUTDOWN_SLEEP = True

    def __init__(
        self,
        users: dict[str, str] | None = None,
        *,
        host: str = "127.0.0.1",
        port: int | None = None,
        separator: str = "/",
        start: bool = True,
        extra_config: str = "",
        keep_dir: bool = False,
        tmp_parent: str | None = None,
        tls_cert: str | os.PathLike | None = None,
        tls_key: str | os.PathLike | None = None,
    ) -> None:
        self.binary = dovecot_binary()
        if not self.binary:
            raise DovecotUnavailable(INSTALL_HINT)
        self.version = dovecot_version(self.binary)
        if not self.version.startswith("2.3."):
            raise DovecotUnavailable(f"this harness generates a Dovecot 2.3 config; found {self.version!r}")
        if separator not in ("/", "."):
            raise ValueError("separator must be '/' or '.'")
        self.host = host
        self.port = port or _free_port(host)
        self._fixed_port = port is not None
        self.separator = separator
        self.extra_config = extra_config
        self.keep_dir = keep_dir
        if (tls_cert is None) != (tls_key is None):
            raise ValueError("tls_cert and tls_key go together")
        self.tls = tls_cert is not None
        # The implicit-TLS port (None without TLS); fixed for the server's life, like `port`.
        self.tls_port = _free_port(host) if self.tls else None

        if os.geteuid() == 0:
            self.uid, self.gid = NOBODY_UID, NOBODY_GID
            self._run_as_root = True
        else:
            self.uid, self.gid = os.getuid(), os.getgid()
            self._run_as_root = False

        # Short prefix: unix socket paths under base_dir must stay < 108 bytes.
        self.root = Path(tempfile.mkdtemp(prefix="dovecot-", dir=tmp_parent))
        # Mail processes run as nobody and must traverse the directory.
        os.chmod(self.root, 0o755)
        self.conf_path = self.root / "dovecot.conf"
        self.passwd_path = self.root / "passwd"
        self.base_dir = self.root / "run"
        self.state_dir = self.root / "state"
        self.log_dir = self.root / "log"
        self.log_path = self.log_dir / "dovecot.log"
        self.stderr_path = self.log_dir / "stderr.log"
        self.home_root = self.root / "home"
        for d in (self.state_dir, self.log_dir, self.home_root):
            d.mkdir()
        os.chmod(self.home_root, 0o755)
        if tls_cert is not None and tls_key is not None:
            # Copies inside the server's directory: the caller's files may go before the server does.
            self.tls_cert_path = self.root / "tls-cert.pem"
            self.tls_key_path = self.root / "tls-key.pem"
            shutil.copyfile(tls_cert, self.tls_cert_path)
            shutil.copyfile(tls_key, self.tls_key_path)
            os.chmod(self.tls_key_path, 0o600)

        self._users: dict[str, str] = {}
        self._passwd_stamp = 0
        self._proc: subprocess.Popen | None = None
        self._stderr_file = None
        self._seq = 0  # maildir file name sequence (keeps UID order = fill order)
        self._seq_base = int(time.time())
        self._seq_lock = threading.Lock()
        self._hostname = socket.gethostname().replace("/", "_").replace(":", "_")
        self._closed = False
        self._started_once = False

        try:
            for user, password in (users or {}).items():
                self.add_user(user, password)
            self._write_config()
            if start:
                self.start()
        except BaseException:
            self.close()
            raise

    # ------------------------------------------------------------------ config

    def config_text(self) -> str:
        """The generated dovecot.conf."""
        r = self.root
        if self._run_as_root:
            run_as = ""
        else:
            import grp
            import pwd

            me = pwd.getpwuid(self.uid).pw_name
            my_group = grp.getgrgid(self.gid).gr_name
            run_as = f"default_login_user = {me}\ndefault_internal_user = {me}\ndefault_internal_group = {my_group}\n"
        return f"""\
# Generated by tests/dovecot.py for a throw-away test server. Dovecot 2.3.
instance_name = dovecot-test-{self.port}
base_dir = {r}/run
state_dir = {r}/state
log_path = {self.log_path}
info_log_path = {self.log_path}
debug_log_path = {self.log_path}
{run_as}
protocols = imap
listen = {self.host}
{self._ssl_config()}
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
shutdown_clients = yes

first_valid_uid = {self.uid}
last_valid_uid = {self.uid}
first_valid_gid = {self.gid}
last_valid_gid = {self.gid}

mail_location = maildir:~/Maildir
mail_fsync = never

namespace inbox {{
  inbox = yes
  prefix =
  separator = {self.separator}
}}

passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {self.passwd_path}
}}
userdb {{
  driver = static
  args = uid={self.uid} gid={self.gid} home={self.home_root}/%u
}}

service imap-login {{
  chroot =
  inet_listener imap {{
    address = {self.host}
    port = {self.port}
  }}
  inet_listener imaps {{
    address = {self.host}
    port = {self.tls_port or 0}
{"    ssl = yes" if self.tls else ""}
  }}
}}
service anvil {{
  chroot =
  # No auth penalty: failed logins from 127.0.0.1 would otherwise delay
  # every later login (2, 4, 8... s).  Disabling this listener disables it.
  # (A failed login still takes ~0.5 s: auth flushes failures on a timer.)
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}

protocol imap {{
  imap_id_log = *
  mail_max_userip_connections = 100
}}
{self.extra_config}
"""

    def _ssl_config(self) -> str:
        if not self.tls:
            return "ssl = no"
        # ssl = yes (not required): STARTTLS offered, plaintext logins still allowed for the harness.
        return (
            f"ssl = yes\nssl_cert = <{self.tls_cert_path}\nssl_key = <{self.tls_key_path}\nssl_min_protocol = TLSv1.2"
        )

    def _write_config(self) -> None:
        self.conf_path.write_text(self.config_text())

    # ------------------------------------------------------------------ users

    @property
    def users(self) -> list[str]:
        return list(self._users)

    def password(self, user: str) -> str:
        return self._users[user]

    def add_user(self, user: str, password: str) -> None:
        """Add (or change the password of) a mailbox account.

        Works while the server runs.  Dovecot re-reads the passwd-file only
        when its mtime/size changed and at most once per second, so the
        file's mtime is always bumped and, if the server runs, this waits
        (up to ~1 s) until the new credentials are accepted.
        """
        if not _USER_RE.match(user) or ".." in user:
            raise ValueError(f"unsupported user name {user!r}")
        if any(c in password for c in ":\n\r\0"):
            raise ValueError("password must not contain ':' or line breaks")
        self._users[user] = password
        lines = "".join(f"{u}:{{PLAIN}}{p}::::::\n" for u, p in self._users.items())
        tmp = self.passwd_path.with_suffix(".new")
        tmp.write_text(lines)
        os.chmod(tmp, 0o644)
        stamp = max(int(time.time()), self._passwd_stamp + 1)
        os.utime(tmp, (stamp, stamp))
        self._passwd_stamp = stamp
        os.replace(tmp, self.passwd_path)
        self._ensure_maildir(self.mail_dir(user))
        if self.running:
            self._wait_login(user)

    def _wait_login(self, user: str, timeout: float = 5.0) -> None:
        # Dovecot's auth stats the file at most once per (wall-clock) second;
        # after the next second starts the first lookup sees the new file.
        now = time.time()
        time.sleep(int(now) + 1.02 - now)
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.client(user, timeout=5).logout()
                return
            except imapclient.exceptions.LoginError:
                if time.monotonic() > deadline:
                    raise DovecotError(f"Dovecot does not accept the new login of {user!r}") from None
                time.sleep(0.1)

    def home(self, user: str) -> Path:
        self._check_user(user)
        return self.home_root / user

    def mail_dir(self, user: str) -> Path:
        """The user's Maildir root (its INBOX)."""
        return self.home(user) / "Maildir"

    def folder_dir(self, user: str, folder: str = "INBOX") -> Path:
        """Directory of ``folder`` in the user's Maildir++ layout."""
        if folder.upper() == "INBOX":
            return self.mail_dir(user)
        if "." in folder and self.separator != ".":
            raise ValueError(f"'.' is not allowed in Maildir++ folder names: {folder!r}")
        parts = folder.split(self.separator)
        if any(p in ("", ".", "..") or "/" in p for p in parts):
            raise ValueError(f"bad folder name {folder!r}")
        encoded = _mutf7_encode(".".join(parts)).decode("ascii")
        return self.mail_dir(user) / ("." + encoded)

    def _check_user(self, user: str) -> None:
        if user not in self._users:
            raise KeyError(f"unknown user {user!r}; known: {sorted(self._users)}")

    def _chown(self, path: Path | str) -> None:
        if self._run_as_root:
            os.chown(path, self.uid, self.gid)

    def _ensure_maildir(self, path: Path, subfolder: bool = False) -> None:
        # Create home, Maildir and the folder, all owned by the mail uid.
        home = path
        while home.parent != self.home_root:
            home = home.parent
        chain = [home]
        for part in path.relative_to(home).parts:
            chain.append(chain[-1] / part)
        for d in chain:
            if not d.exists():
                d.mkdir(mode=0o700)
                self._chown(d)
        for sub in ("cur", "new", "tmp"):
            d = path / sub
            if not d.exists():
                d.mkdir(mode=0o700)
                self._chown(d)
        if subfolder:
            marker = path / "maildirfolder"
            if not marker.exists():
                marker.touch(mode=0o600)
                self._chown(marker)

    # ------------------------------------------------------------------ process

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def start(self) -> None:
        """Start ``dovecot -F`` and wait until the IMAP greeting arrives."""
        if self._closed:
            raise DovecotError("server was closed")
        if self.running:
            return
        # Only a first start may move to another free port; a restart must
        # come back on the same one.
        attempts = 1 if (self._fixed_port or self._started_once) else 3
        for attempt in range(attempts):
            try:
                self._start_once()
                self._started_once = True
                return
            except DovecotError as exc:
                # Someone grabbed the free port between probe and bind: retry.
                if attempt + 1 < attempts and "Address already in use" in str(exc):
                    self.port = _free_port(self.host)
                    self.tls_port = _free_port(self.host) if self.tls else None
                    continue
                raise

    def _start_once(self) -> None:
        self._write_config()
        # A stale pid file (after a kill) could make dovecot think it runs.
        (self.base_dir / "master.pid").unlink(missing_ok=True)
        self._stderr_file = open(self.stderr_path, "ab")  # noqa: SIM115 (the server's stderr until it stops)
        self._proc = subprocess.Popen(
            [self.binary, "-F", "-c", str(self.conf_path)],
            stdin=subprocess.DEVNULL,
            stdout=self._stderr_file,
            stderr=self._stderr_file,
            start_new_session=True,  # own process group: we can kill children
        )
        with _LIVE_LOCK:
            _LIVE.add(self)
        deadline = time.monotonic() + self.START_TIMEOUT
        last_err: Exception | None = None
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                rc = self._proc.returncode
                self._reap()
                raise DovecotError(f"dovecot exited with status {rc} during startup:\n" + self._startup_diagnostics())
            try:
                greeting = self._read_greeting()
            except OSError as exc:
                last_err = exc
                time.sleep(0.05)
                continue
            if greeting.startswith(b"* OK"):
                return
            last_err = DovecotError(f"unexpected greeting {greeting!r}")
            time.sleep(0.05)
        self.stop()
        raise DovecotError(
            f"dovecot did not greet on {self.host}:{self.port} within "
            f"{self.START_TIMEOUT}s ({last_err}):\n" + self._startup_diagnostics()
        )

    def _read_greeting(self) -> bytes:
        with socket.create_connection((self.host, self.port), timeout=2) as s:
            data = b""
            while not data.endswith(b"\r\n"):
                chunk = s.recv(1024)
                if not chunk:
                    break
                data += chunk
            with contextlib.suppress(OSError):
                s.sendall(b"x LOGOUT\r\n")
            return data

    def _startup_diagnostics(self) -> str:
        parts = []
        for p in (self.stderr_path, self.log_path):
            try:
                text = p.read_text(errors="replace").strip()
            except FileNotFoundError:
                continue
            if text:
                parts.append(f"--- {p.name} ---\n{text[-4000:]}")
        return "\n".join(parts) or "(no output)"

    def stop(self, timeout: float | None = None, *, graceful: bool = True) -> None:
        """Stop the server.

        ``graceful=True``: SIGTERM the master, which says ``* BYE`` to the
        clients and stops its children; SIGKILL on timeout.  (The master
        then sleeps a fixed 1 s for its log process; that wait is cut short.)
        ``graceful=False``: SIGKILL the whole process group at once, like a
        crash or pulled cable (clients just see EOF / a reset).
        """
        proc = self._proc
        if proc is None:
            return
        timeout = self.STOP_TIMEOUT if timeout is None else timeout
        if graceful and proc.poll() is None:
            proc.terminate()
            # The master stops login/auth/... itself but leaves the imap
            # processes to notice its death (after its 1 s sleep, below).
            # SIGTERM them now: each says "* BYE Server shutting down." and
            # logs "Disconnected: Server shutting down".
            members = _group_members(proc.pid) or set()
            log_pids = self._log_pids(members)
            for pid in members - {proc.pid} - log_pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + timeout
            idle_since = None
            while proc.poll() is None and time.monotonic() < deadline:
                if not self.CUT_SHUTDOWN_SLEEP:
                    time.sleep(0.01)
                    continue
                # Once only the master and its log process are left, the
                # master just sleeps a hard-coded 1 s so the log process can
                # drain its pipes, then exits.  Give the log process 0.15 s
                # and SIGKILL the rest: saves ~0.9 s per stop.
                members = _group_members(proc.pid)
                if members is not None and members - {proc.pid} <= self._log_pids(members):
                    idle_since = idle_since or time.monotonic()
                    if time.monotonic() - idle_since >= 0.15:
                        break
                else:
                    idle_since = None
                time.sleep(0.01)
            if proc.poll() is not None:
                # The master exited by itself: let its children finish too.
                while _group_alive(proc.pid) and time.monotonic() < deadline:
                    time.sleep(0.01)
        # Kill whatever is left in the process group (the master if it hung,
        # or children it did not stop).  The group is ours: start_new_session.
        if _group_alive(proc.pid):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:  # pragma: no cover
            raise DovecotError(f"dovecot pid {proc.pid} did not die") from None
        deadline = time.monotonic() + timeout
        while _group_alive(proc.pid) and time.monotonic() < deadline:
            time.sleep(0.02)
        self._reap()

    def _log_pids(self, pids: set[int]) -> set[int]:
        """Those of ``pids`` that are this instance's log process."""
        title = f"dovecot-test-{self.port}/log".encode()
        found = set()
        for pid in pids:
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    if f.read().rstrip(b"\0").endswith(title):
                        found.add(pid)
            except OSError:
                pass
        return found

    def _reap(self) -> None:
        self._proc = None
        if self._stderr_file is not None:
            self._stderr_file.close()
            self._stderr_file = None
        with _LIVE_LOCK:
            _LIVE.discard(self)

    def restart(self, downtime: float = 0.0, *, graceful: bool = True) -> None:
        """Stop and start again on the same port with the same mail.

        Connected clients are dropped: with ``graceful=True`` Dovecot sends
        them ``* BYE``; with ``graceful=False`` the processes are SIGKILLed.
        ``downtime`` seconds pass with nothing listening in between.
        """
        self.stop(graceful=graceful)
        if downtime:
            time.sleep(downtime)
        self.start()

    def sessions(self, user: str | None = None) -> list[int]:
        """PIDs of the logged-in IMAP processes (of ``user``), via doveadm who."""
        args = ["who", "-1"] + ([user] if user else [])
        out = self.doveadm(*args).stdout.splitlines()[1:]
        return [int(line.split()[2]) for line in out if line.strip()]

    def kick(self, user: str, timeout: float = 5.0) -> int:
        """Drop all of ``user``'s IMAP connections, leaving the server up.

        Waits until the kicked processes have exited (so they no longer
        touch the mailbox); returns how many were kicked.
        """
        self._check_user(user)
        pids = self.sessions(user)
        if not pids:
            return 0
        proc = self.doveadm("kick", user, check=False)
        if proc.returncode not in (0, 68):  # 68 = EX_NOUSER: nobody to kick
            raise DovecotError(f"doveadm kick {user} failed: {proc.stderr or proc.stdout}")
        deadline = time.monotonic() + timeout
        while any(_pid_alive(p) for p in pids):
            if time.monotonic() > deadline:
                raise DovecotError(f"{user}'s imap processes {pids} did not exit")
            time.sleep(0.02)
        return len(pids)

    def close(self) -> None:
        """Stop the server and remove the temporary directory."""
        if self._closed:
            return
        try:
            self.stop()
        finally:
            self._closed = True
            if not self.keep_dir:
                shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> Dovecot:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<Dovecot {self.host}:{self.port} {state} users={sorted(self._users)}>"

    # ------------------------------------------------------------------ logs

    def log_text(self) -> str:
        """Contents of the Dovecot log (all levels, incl. ``ID sent:`` lines)."""
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def wait_for_log(self, pattern: str | re.Pattern, timeout: float = 5.0) -> re.Match:
        """Wait until ``pattern`` (regex) appears in the log; return the match.

        Log lines are written by Dovecot's log process asynchronously, so
        right after a client command they may not be in the file yet.
        """
        rx = re.compile(pattern) if isinstance(pattern, str) else pattern
        deadline = time.monotonic() + timeout
        while True:
            m = rx.search(self.log_text())
            if m:
                return m
            if time.monotonic() >= deadline:
                raise AssertionError(
                    f"{rx.pattern!r} not in the Dovecot log after {timeout}s:\n" + self.log_text()[-4000:]
                )
            time.sleep(0.05)

    def id_log_lines(self) -> list[str]:
        """The ``ID sent: ...`` log lines (one per ID command received)."""
        return [line for line in self.log_text().splitlines() if "ID sent:" in line]

    # ------------------------------------------------------------------ doveadm

    def doveadm(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        """Run ``doveadm -c CONF args...`` against this instance."""
        doveadm = _which("doveadm")
        if not doveadm:
            raise DovecotUnavailable(INSTALL_HINT)
        proc = subprocess.run(
            [doveadm, "-c", str(self.conf_path), *args],
            capture_output=True,
            text=True,
            timeout=60,
        )
        if check and proc.returncode != 0:
            raise DovecotError(
                f"doveadm {' '.join(args)} failed ({proc.returncode}): {proc.stderr.strip() or proc.stdout.strip()}"
            )
        return proc

    # ------------------------------------------------------------------ IMAP

    def client(
        self, user: str, *, normalise_times: bool = False, timeout: float = 30.0, **kwargs
    ) -> imapclient.IMAPClient:
        """A logged-in IMAPClient for ``user`` (plaintext, no TLS).

        ``normalise_times`` defaults to False so INTERNALDATEs come back as
        timezone-aware datetimes that compare correctly with aware inputs.
        The caller owns the connection (use it as a context manager).
        """
        self._check_user(user)
        if not self.running:
            raise DovecotError("server is not running")
        c = imapclient.IMAPClient(self.host, port=self.port, ssl=False, timeout=timeout, **kwargs)
        c.normalise_times = normalise_times
        try:
            c.login(user, self._users[user])
        except BaseException:
            c.shutdown()
            raise
        return c

    def _ensure_folder(self, c: imapclient.IMAPClient, folder: str) -> None:
        if folder.upper() != "INBOX" and not c.folder_exists(folder):
            c.create_folder(folder)

    @staticmethod
    def _append(
        c: imapclient.IMAPClient, folder: str, raw: bytes, internaldate: _dt.datetime | None, flags: Sequence
    ) -> int:
        resp = c.append(folder, raw, flags=tuple(flags), msg_time=internaldate)
        if isinstance(resp, bytes):
            resp = resp.decode("ascii", "replace")
        m = re.search(r"\[APPENDUID (\d+) (\d+)\]", str(resp))
        if not m:
            raise DovecotError(f"no APPENDUID in APPEND response {resp!r}")
        return int(m.group(2))

    def append(
        self,
        user: str,
        raw: bytes,
        folder: str = "INBOX",
        internaldate: _dt.datetime | None = None,
        flags: Sequence = (),
    ) -> int:
        """APPEND one message over IMAP; return its UID (from APPENDUID).

        The folder is created if missing.  A naive ``internaldate`` is local
        time (imapclient's convention); pass an aware datetime to be exact.
        """
        with self.client(user) as c:
            self._ensure_folder(c, folder)
            return self._append(c, folder, raw, internaldate, flags)

    def append_many(
        self,
        user: str,
        messages: Iterable[tuple[bytes, _dt.datetime | None]],
        folder: str = "INBOX",
        flags: Sequence = (),
    ) -> list[int]:
        """APPEND several messages over one connection; return their UIDs.

        Fine for hundreds or a few thousand messages; for 10^5 use
        :meth:`fill_maildir`.
        """
        uids = []
        with self.client(user) as c:
            self._ensure_folder(c, folder)
            for raw, when in messages:
                uids.append(self._append(c, folder, raw, when, flags))
        return uids

    def uidvalidity(self, user: str, folder: str = "INBOX") -> int:
        """Current UIDVALIDITY of ``folder`` (via STATUS)."""
        with self.client(user) as c:
            return int(c.folder_status(folder, [b"UIDVALIDITY"])[b"UIDVALIDITY"])

    def status(self, user: str, folder: str = "INBOX") -> dict[str, int]:
        """STATUS MESSAGES UIDNEXT UIDVALIDITY UNSEEN as a ``{name: int}`` dict."""
        with self.client(user) as c:
            st = c.folder_status(folder, [b"MESSAGES", b"UIDNEXT", b"UIDVALIDITY", b"UNSEEN"])
        return {k.decode(): int(v) for k, v in st.items()}

    def recreate_folder(self, user: str, folder: str = "INBOX") -> int:
        """Delete and re-create ``folder`` empty, with a new UIDVALIDITY.

        Returns the new UIDVALIDITY (read it later with :meth:`uidvalidity`).
        Nothing is re-appended.  For ordinary folders this is IMAP DELETE +
        CREATE (a missing folder is just created).  INBOX can't be deleted
        over IMAP, so for INBOX the user's sessions are kicked (they would
        keep the old index in memory), then its mail files, dovecot-uidlist
        and index files are removed; Dovecot then gives it a fresh
        UIDVALIDITY and UIDs restart at 1, as for a re-created mailbox.
        Needs the server running.
        """
        old = self.uidvalidity(user, folder) if self.folder_exists(user, folder) else None
        if folder.upper() == "INBOX":
            self._recreate_inbox(user)
        else:
            with self.client(user) as c:
                if old is not None:
                    c.delete_folder(folder)
                c.create_folder(folder)
        new = self.uidvalidity(user, folder)
        if new == old:
            raise DovecotError(f"UIDVALIDITY of {folder} did not change ({old})")
        return new

    def _recreate_inbox(self, user: str) -> None:
        # Other sessions would keep the old index in memory (and could write
        # it back): drop them and wait until their processes are gone.
        if self.running:
            self.kick(user)
        md = self.mail_dir(user)
        for sub in ("cur", "new", "tmp"):
            for entry in os.scandir(md / sub):
                os.unlink(entry.path)
        for entry in os.scandir(md):
            if entry.is_file() and (
                entry.name.startswith("dovecot.index")
                or entry.name in ("dovecot-uidlist", "dovecot-uidlist.lock", "dovecot-keywords")
            ):
                os.unlink(entry.path)

    def folder_exists(self, user: str, folder: str) -> bool:
        with self.client(user) as c:
            return folder.upper() == "INBOX" or c.folder_exists(folder)

    def folders(self, user: str) -> list[str]:
        with self.client(user) as c:
            return [name for _flags, _sep, name in c.list_folders()]

    # ------------------------------------------------------------------ Maildir

    def fill_maildir(
        self,
        user: str,
        messages: Iterable[tuple[bytes, _dt.datetime | None]] | Iterable[tuple[bytes, _dt.datetime | None, Sequence]],
        folder: str = "INBOX",
    ) -> list[str]:
        """Write messages straight into the user's Maildir (fast; no IMAP).

        Each item is ``(raw, internaldate)`` or ``(raw, internaldate, flags)``
        with system flags only (``\\Seen``, ``\\Answered``, ``\\Flagged``,
        ``\\Deleted``, ``\\Draft``).  Files go to ``cur/`` via ``tmp/`` +
        rename, owned by the mail uid, with mtime = internaldate, which
        Dovecot's Maildir uses as INTERNALDATE.  Names carry ``S=``/``W=``
        sizes so Dovecot needn't stat/read for RFC822.SIZE.

        Works before the server starts and while it runs (Dovecot picks new
        files up on its next sync: SELECT, NOOP, STATUS...).  UIDs are
        assigned in the order given here (Dovecot sorts unseen files by the
        time+sequence prefix of their names) once Dovecot first sees them.
        Returns the paths of the files written (as str: Path objects cost
        more than the write itself on tmpfs).
        """
        self._check_user(user)
        fdir = self.folder_dir(user, folder)
        self._ensure_maildir(fdir, subfolder=folder.upper() != "INBOX")
        tmp_dir = str(fdir / "tmp")
        cur_dir = str(fdir / "cur")
        pid = os.getpid()
        host = self._hostname
        chown = self._run_as_root
        uid, gid = self.uid, self.gid
        flags_o = os.O_WRONLY | os.O_CREAT | os.O_EXCL
        written: list[str] = []
        for item in messages:
            raw, when = item[0], item[1]
            flags = item[2] if len(item) > 2 else ()
            letters = "".join(sorted({self._flag_letter(f) for f in flags}))
            with self._seq_lock:
                seq = self._seq
                self._seq += 1
            secs = self._seq_base + seq // 1_000_000
            usecs = seq % 1_000_000
            vsize = len(raw) + raw.count(b"\n") - raw.count(b"\r\n")
            # Same shape as Dovecot's own names.  Don't add fields that vary
            # (e.g. "Q<seq>"): Dovecot hashes the name with an ELF-style hash
            # that collides massively on such names, making the first sync of
            # 10^5 files take minutes instead of seconds.
            base = f"{secs}.M{usecs}P{pid}.{host},S={len(raw)},W={vsize}"
            tmp_path = f"{tmp_dir}/{base}"
            fd = os.open(tmp_path, flags_o, 0o600)
            try:
                view = memoryview(raw)
                while view:
                    n = os.write(fd, view)
                    view = view[n:]
                if chown:
                    os.fchown(fd, uid, gid)
                ts = _to_timestamp(when)
                os.utime(fd, (ts, ts))
            finally:
                os.close(fd)
            final = f"{cur_dir}/{base}:2,{letters}"
            os.rename(tmp_path, final)
            written.append(final)
        return written

    @staticmethod
    def _flag_letter(flag: str | bytes) -> str:
        try:
            return _FLAG_LETTERS[_flag_bytes(flag).lower()]
        except KeyError:
            raise ValueError(f"fill_maildir supports only system flags, not {flag!r}; use append()") from None


def _bench(n: int, tmp_parent: str | None = None) -> None:  # pragma: no cover
    """python tests/dovecot.py [N [TMP_PARENT]]: time fill_maildir and SELECT."""
    base = _dt.datetime(2024, 1, 1, tzinfo=_dt.UTC)
    msgs = [
        (
            (
                f"From: a{i}@example.org\r\nTo: jjb@example.org\r\n"
                f"Subject: message {i}\r\nMessage-ID: <{i}@bench>\r\n\r\n"
                f"body {i}\r\n"
            ).encode(),
            base + _dt.timedelta(minutes=i),
        )
        for i in range(n)
    ]
    with Dovecot(users={"jjb": "pw"}, tmp_parent=tmp_parent) as d:
        print(f"dovecot {d.version}, {n} messages under {d.root}", flush=True)
        t0 = time.perf_counter()
        d.fill_maildir("jjb", msgs)
        t1 = time.perf_counter()
        print(f"fill_maildir: {t1 - t0:.2f}s", flush=True)
        with d.client("jjb", timeout=3600) as c:
            t2 = time.perf_counter()
            info = c.select_folder("INBOX", readonly=True)
            t3 = time.perf_counter()
            print(f"first SELECT: {t3 - t2:.2f}s  EXISTS={info[b'EXISTS']}", flush=True)
            c.unselect_folder()
            t4 = time.perf_counter()
            info2 = c.select_folder("INBOX", readonly=True)
            t5 = time.perf_counter()
            print(f"second SELECT: {t5 - t4:.3f}s", flush=True)
            t6 = time.perf_counter()
            uids = c.search("ALL")
            dates = {}
            # Dovecot rejects command lines > 64 KiB (imap_max_line_length)
            # and imapclient sends UID lists uncompressed: chunk them.
            for k in range(0, len(uids), 5000):
                dates.update(c.fetch(uids[k : k + 5000], ["INTERNALDATE"]))
            t7 = time.perf_counter()
            print(f"SEARCH ALL + FETCH INTERNALDATE: {t7 - t6:.2f}s ({len(dates)} messages)")
            last = c.fetch([info2[b"UIDNEXT"] - 1], ["INTERNALDATE", "RFC822.SIZE"])
            print(f"last message: {last}")


if __name__ == "__main__":  # pragma: no cover
    import sys

    _bench(
        int(sys.argv[1]) if len(sys.argv) > 1 else 100_000,
        sys.argv[2] if len(sys.argv) > 2 else None,
    )
