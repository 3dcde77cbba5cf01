"""`mailroom verify`: every archived file hashed again against the database."""

import json
from pathlib import Path

from click.testing import CliRunner

from bot.cli.group import main
from tests.conftest import DATA, ROOT
from tests.test_search import MAY, mail


def run_verify(tmp_path, database_url, *options: str):
    env = {"MAILROOM_DATABASE_URL": database_url, "MAILROOM_ARCHIVE_PATH": str(tmp_path / "archive")}
    result = CliRunner().invoke(main, ["--config", str(ROOT / "config.example.toml"), "verify", *options], env=env)
    return result.exit_code, json.loads(result.stdout) if "--json" in options else result.stdout


def archive_two(tmp_path, database_url) -> list[str]:
    registry = (DATA / "workbooks" / "rehab-registry-two-age-sheets.xlsx").read_bytes()
    (tmp_path / "mail").mkdir()
    (tmp_path / "mail" / "a.eml").write_bytes(
        mail("饶阳县5月份康复服务实名制登记表", "见附件", MAY, files=[("登记表.xlsx", registry)])
    )
    (tmp_path / "mail" / "b.eml").write_bytes(mail("专项信息", "正文", MAY))
    env = {"MAILROOM_DATABASE_URL": database_url, "MAILROOM_ARCHIVE_PATH": str(tmp_path / "archive")}
    result = CliRunner().invoke(
        main, ["--config", str(ROOT / "config.example.toml"), "import", str(tmp_path / "mail")], env=env
    )
    assert result.exit_code == 0, result.output
    stored = [*(tmp_path / "archive" / "messages").rglob("*"), *(tmp_path / "archive" / "files").rglob("*")]
    return sorted(str(path) for path in stored if path.is_file())


def test_an_intact_archive_verifies(tmp_path, database_url):
    files = archive_two(tmp_path, database_url)
    code, report = run_verify(tmp_path, database_url, "--json")
    assert (code, report["findings"], report["unrecorded"]) == (0, [], [])
    assert report["checked"] == len(files) == 3  # two messages and one workbook


def test_missing_and_altered_files_are_reported_with_their_rows(tmp_path, database_url):
    """GIVEN one message file deleted, the workbook changed by one byte and a stray file added
    WHEN verified THEN both are findings naming their rows, the stray file is listed, the exit is 1."""
    files = archive_two(tmp_path, database_url)
    workbook = next(path for path in files if "/files/" in path)
    message = next(path for path in files if path.endswith(".eml"))
    data = bytearray(Path(workbook).read_bytes())
    data[-1] ^= 1
    Path(workbook).write_bytes(bytes(data))
    (tmp_path / "archive" / "messages" / message.split("/")[-2] / message.split("/")[-1]).unlink()
    stray = tmp_path / "archive" / "files" / "00" / ("0" * 64)
    stray.parent.mkdir(exist_ok=True)
    stray.write_bytes(b"x")
    code, report = run_verify(tmp_path, database_url, "--json")
    assert code == 1
    problems = {finding["path"]: finding for finding in report["findings"]}
    assert set(problems) == {workbook, message}
    assert problems[workbook]["problem"] == "altered" and problems[workbook]["actual"] != problems[workbook]["sha256"]
    assert (
        problems[workbook]["rows"] == [problems[workbook]["rows"][0]] and "登记表.xlsx" in problems[workbook]["rows"][0]
    )
    assert problems[message]["problem"] == "missing" and problems[message]["rows"][0].startswith("邮件 #")
    assert report["unrecorded"] == [str(stray)]
    code, said = run_verify(tmp_path, database_url)
    assert code == 1 and f"缺失: {message}" in said and f"被改动（现 SHA-256 {problems[workbook]['actual']}）" in said
    assert "核对 3 个文件：缺失 1 个，被改动 1 个，未记录 1 个" in said


def test_mail_spooled_and_not_yet_derived_is_verified_too(tmp_path, database_url):
    """GIVEN two messages archived raw and not yet derived (spooled), one of whose files is then deleted
    WHEN verified THEN the missing one is a finding naming its spool row, the other is checked, not
    listed as unrecorded, and the exit is 1."""
    from archive.ingest import Incoming
    from archive.spool import spool
    from archive.store import sha256_hex
    from bot.config import load_config
    from bot.daemon.deps import open_deps

    env = {"MAILROOM_DATABASE_URL": database_url, "MAILROOM_ARCHIVE_PATH": str(tmp_path / "archive")}
    deps = open_deps(load_config(ROOT / "config.example.toml", environ=env))
    raws = [mail("专项信息（1）", "正文一", MAY), mail("专项信息（2）", "正文二", MAY)]
    spool(deps.intake, [Incoming(raw=raw, mailbox="bgs", source="imap", uid=n) for n, raw in enumerate(raws)])
    gone = deps.store.message_path(sha256_hex(raws[0]))
    gone.unlink()
    deps.close()
    code, report = run_verify(tmp_path, database_url, "--json")
    assert (code, report["checked"], report["unrecorded"]) == (1, 2, [])
    assert [(f["problem"], f["path"], f["rows"][0][:6]) for f in report["findings"]] == [
        ("missing", str(gone), "待识别邮件 ")
    ]
