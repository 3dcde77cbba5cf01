"""`mailroom demo DIR` writes only into an empty folder or one a demo made, and removes only what a demo wrote.

GIVEN a deployment folder (its config, database, archive and a note of the clerk's)
WHEN `mailroom demo` is pointed at it
THEN it is refused in one line and not one file changes; a demo's own folder is written afresh, and a file
someone else put there is kept.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli.group import main
from bot.demo.folder import DEMO_NAMES, EXAMPLE, MARKER, NotADemoFolder, demo_config_text, write_demo

APRIL = (4,)  # one month of the season: enough mail to see it replaced, written in well under a second


def snapshot(folder: Path) -> dict[str, str]:
    """Every file under `folder` with its SHA-256, and every folder, by relative path."""
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "dir"
        for path in folder.rglob("*")
    }


def deployment(folder: Path) -> Path:
    folder.mkdir()
    (folder / "config.toml").write_text('[database]\nurl = "sqlite:///mailroom.db"\n', encoding="utf-8")
    (folder / "mailroom.db").write_bytes(b"SQLite format 3\x00 the real archive's database")
    (folder / "archive" / "messages" / "ab").mkdir(parents=True)
    (folder / "archive" / "messages" / "ab" / "ab12.eml").write_bytes(b"Subject: a unit's report\r\n\r\n")
    (folder / "notes.txt").write_text("值班记录", encoding="utf-8")
    return folder


def test_a_deployment_folder_is_refused_in_one_line_and_left_untouched(tmp_path):
    folder = deployment(tmp_path / "deploy")
    before = snapshot(folder)

    result = CliRunner().invoke(main, ["demo", str(folder)])

    assert result.exit_code == 1
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1
    assert "不是 mailroom demo 生成的文件夹" in result.stderr and "Traceback" not in result.stderr
    assert snapshot(folder) == before


def test_demo_dot_in_a_deployment_folder_deletes_nothing(tmp_path, monkeypatch):
    """The issue's case: `mailroom demo .` typed in the folder of a running deployment."""
    folder = deployment(tmp_path / "deploy")
    before = snapshot(folder)
    monkeypatch.chdir(folder)

    result = CliRunner().invoke(main, ["demo", "."])

    assert result.exit_code == 1 and "演示数据未写入" in result.stderr
    assert snapshot(folder) == before


@pytest.mark.parametrize("content", [{"a.txt": b"x"}, {".hidden": b""}, {"mail": None}])
def test_any_folder_not_made_by_a_demo_is_refused(tmp_path, content):
    folder = tmp_path / "other"
    folder.mkdir()
    for name, data in content.items():
        (folder / name).mkdir() if data is None else (folder / name).write_bytes(data)
    before = snapshot(folder)
    with pytest.raises(NotADemoFolder):
        write_demo(folder, months=APRIL)
    assert snapshot(folder) == before


def test_a_file_in_place_of_the_folder_is_refused(tmp_path):
    path = tmp_path / "demo"
    path.write_text("not a folder", encoding="utf-8")
    with pytest.raises(NotADemoFolder, match="不是文件夹"):
        write_demo(path, months=APRIL)
    assert path.read_text(encoding="utf-8") == "not a folder"


@pytest.mark.parametrize("exists", [False, True], ids=["new", "empty"])
def test_a_new_or_empty_folder_gets_the_demo_and_its_marker(tmp_path, exists):
    folder = tmp_path / "demo"
    if exists:
        folder.mkdir()
    config, written = write_demo(folder, months=APRIL)
    assert written > 0 and config.path == (folder / "config.toml").resolve()
    assert {path.name for path in folder.iterdir()} == {MARKER, "config.toml", "mail"}


def test_a_demo_folder_is_written_afresh_and_a_stranger_file_kept(tmp_path):
    """GIVEN a demo of April and May that was run (database, archive, outbox) and a note added beside it
    WHEN the demo is written again with April only
    THEN the old database, archive, outbox and mail are gone, the mail is April's, and the note is kept."""
    folder = tmp_path / "demo"
    _, first = write_demo(folder, months=(4, 5))
    for name in ("mailroom.db", "mailroom.db-wal", "web-secret"):
        (folder / name).write_bytes(b"old")
    for name in ("archive", "outbox"):
        (folder / name / "old").mkdir(parents=True)
    (folder / "notes.txt").write_text("keep me", encoding="utf-8")

    _, second = write_demo(folder, months=APRIL)

    assert 0 < second < first
    assert len(list(folder.glob("mail/*/new/*"))) == second
    assert {path.name for path in folder.iterdir()} == {MARKER, "config.toml", "mail", "notes.txt"}
    assert (folder / "notes.txt").read_text(encoding="utf-8") == "keep me"


def test_a_demo_written_before_the_marker_existed_is_still_replaced(tmp_path):
    """A demo folder of an earlier version has no marker: its config, the demo's own word for word, beside
    nothing but the demo's names, says whose it is. One more file of someone else's and it is refused."""
    folder = tmp_path / "demo"
    write_demo(folder, months=APRIL)
    (folder / MARKER).unlink()
    (folder / "mailroom.db").write_bytes(b"old")
    write_demo(folder, months=APRIL)
    assert (folder / MARKER).exists() and not (folder / "mailroom.db").exists()

    (folder / MARKER).unlink()
    (folder / "notes.txt").write_text("x", encoding="utf-8")
    with pytest.raises(NotADemoFolder):
        write_demo(folder, months=APRIL)

    (folder / "notes.txt").unlink()
    (folder / "config.toml").write_text(
        demo_config_text(EXAMPLE.read_text(encoding="utf-8")) + "# edited\n", encoding="utf-8"
    )
    with pytest.raises(NotADemoFolder):
        write_demo(folder, months=APRIL)


def test_the_names_a_demo_removes_are_those_its_config_writes_to(tmp_path):
    """What a demo may remove again: its marker, config and Maildirs, and the database, archive and outbox
    its config names (the web key lives beside the archive)."""
    config, _ = write_demo(tmp_path / "demo", months=APRIL)
    named = {
        Path(config.database_url.removeprefix("sqlite:///")).name,
        config.archive_path.name,
        config.outgoing.folder.name,
        MARKER,
        "config.toml",
        "mail",
        "web-secret",
    }
    assert named <= DEMO_NAMES
    assert config.archive_path.parent == tmp_path / "demo"
