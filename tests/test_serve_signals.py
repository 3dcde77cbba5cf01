"""How `mailroom serve` ends on a signal: stopped gracefully either way, then exit 0 on SIGTERM (systemd's stop:
a clean end, not a failure to restart for) and 130 on Ctrl-C, said and coded as any command Ctrl-C interrupts
(README, 退出码; bot/cli/errors.py)."""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest

from tests.daemon_harness import DEPARTMENTS, Daemon, serve_config, wait_for


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 0)], ids=["ctrl-c", "sigterm"])
def test_serve_stops_gracefully_on_a_signal_and_exits_with_its_documented_code(tmp_path, signum, code):
    """GIVEN a real `mailroom serve` on one Maildir, serving (its signal handlers set) WHEN it gets SIGINT or
    SIGTERM THEN it stops as it does on any stop (workers joined, "已停止"), and exits 130 saying it was
    interrupted on SIGINT, 0 and no such word on SIGTERM."""
    maildir = tmp_path / "maildir"
    for sub in ("new", "cur", "tmp"):
        (maildir / sub).mkdir(parents=True)
    boxes = [{"key": "bgs", "name": "办公室", "address": DEPARTMENTS["bgs"], "source": "maildir", "path": str(maildir)}]
    config = serve_config(tmp_path, boxes, {"transport": "folder", "folder": str(tmp_path / "outbox")}, None)
    daemon = Daemon(config, f"sqlite:///{tmp_path}/mailroom.db", tmp_path / "archive")
    log = tmp_path / "serve.log"
    with log.open("w", encoding="utf-8") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", "--config", str(config), "serve"],
            env=daemon.env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        # logged once its handlers are set: a signal before that would end it as any command, not as serve
        wait_for(
            lambda: "mailroom 守护进程已启动，收取 1 个邮箱" in log.read_text(encoding="utf-8"), 60, "serve to start"
        )
        process.send_signal(signum)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    said = log.read_text(encoding="utf-8")
    assert process.returncode == code, said
    assert f"收到 {signum.name}：正在停止" in said and "bot.daemon.serve: 已停止" in said
    assert ("已中断 (interrupted)" in said) == (signum == signal.SIGINT)
    assert said.rstrip().endswith("已中断 (interrupted)" if signum == signal.SIGINT else "已停止"), said
    assert "Traceback" not in said
