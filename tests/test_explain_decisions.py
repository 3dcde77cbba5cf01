"""Each point line of `explain` and of the unit's page that a staff decision earned or lost names the decision
and its mail: a package moved to another unit or month, a briefing no longer counted, a 附件2 gone, and the
unit that gained the package; a closed year's kept lines by the decisions in force when it was closed. On the
demo's April–June, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from pathlib import Path

from bot.config import load_config
from bot.daemon.deps import open_deps
from bot.web.app import create_app
from tests.test_correction_notices import demo, ok, package_of  # noqa: F401 (demo: the fixture)
from tests.test_rederive import mailroom_json, mailroom_json_list, set_outbox
from tests.webapp import add_accounts, log_in


def line_of(explained: str, start: str) -> str:
    found = [line for line in explained.splitlines() if start in line]
    assert len(found) == 1, (start, explained)
    return found[0]


def said_of(explained: str, start: str) -> str:
    """The line without the messages it cites (after "  ← ")."""
    return line_of(explained, start).split("  ← ")[0]


def briefing_of(config: Path, unit: str, month: str) -> int:
    return mailroom_json_list(config, "search", "--unit", unit, "--month", month, "--kind", "briefing")[0]["id"]


def correct(config: Path, message_id: int, *args: str) -> None:
    ok(config, "correct", str(message_id), *args, "--reason", "电话核实", "--by", "孙倩")


def test_a_line_lost_or_earned_by_a_decision_names_it_and_its_mail(demo):  # noqa: F811
    """GIVEN 冀州区's June package corrected to 阜城县, its April package to May, a June briefing not counted
    WHEN `explain` 冀州区 THEN the June and April package lines, the June briefings line and the tasks judged at
    the end of June without June's 附件2 each name the correction and the mail it lost; May's package line,
    which counts the April package, names the correction beside it; lines it did not change name none;
    阜城县's lines that count the June package name the correction beside it; the unit's page says the same,
    the mail linked."""
    june, april = package_of(demo, "冀州区", "2020-06"), package_of(demo, "冀州区", "2020-04")
    briefing = briefing_of(demo, "冀州区", "2020-06")
    correct(demo, june, "--unit", "阜城")
    correct(demo, april, "--month", "2020-05")
    correct(demo, briefing, "--not-counted")
    explained = ok(demo, "explain", "冀州区", "--month", "2020-06")
    june_line = said_of(explained, "6月份报表")
    assert june_line.startswith("  -3  6月份报表漏报：缺附件") and june_line.endswith(
        f"（邮件 #{june} 依更正 #1：报送单位更正为阜城县，不再计入）"
    )
    assert said_of(explained, "4月份报表").endswith(f"（邮件 #{april} 依更正 #2：报送月份更正为2020年5月，不再计入）")
    may = line_of(explained, "5月份报表")
    assert (
        may.startswith("  +0  5月份报表按时报送（邮件 #")
        and f"（邮件 #{april} 依更正 #2：报送月份更正为2020年5月）" in may
    )
    quarter = line_of(explained, "第二季度每月按时上报")
    assert f"邮件 #{april}、" in quarter and "更正" not in quarter  # the month alone: what it earns is May's line
    assert line_of(explained, "6月报送简报信息").startswith("  +0  6月报送简报信息 7 篇，未达到 8 篇")
    assert f"（邮件 #{briefing} 依更正 #3：经核实不计入报送，不再计入）  ← 邮件 #" in line_of(explained, "6月报送简报")
    tasks = [line for line in explained.splitlines() if "截至6月底" in line]
    assert any(line.startswith("  +0") for line in tasks)
    for line in tasks:  # judged on May's 附件2 (or none): a line with no points lost June's
        assert (f"邮件 #{june} 依更正 #1：报送单位更正为阜城县，不再计入" in line) == line.startswith("  +0"), line
    for untouched in ("4月报送简报信息", "5月报送简报信息", "全年目标为 0"):
        assert "更正" not in line_of(explained, untouched), untouched
    gained = ok(demo, "explain", "阜城县", "--month", "2020-06")
    points = gained.split("工作人员的决定")[0].splitlines()
    cited = [line for line in points if f"邮件 #{june}、" in line or line.endswith(f"邮件 #{june}")]
    assert cited and all(f"（邮件 #{june} 依更正 #1：报送单位更正为阜城县）" in line for line in cited)
    assert "，不再计入" not in gained

    pages = unit_pages(demo, "2020-06", "冀州区", "阜城县")
    page = pages["冀州区"]
    assert re.search(
        rf'6月份报表漏报：缺附件[^<]*<span class="decision">（<a href="/message/{june}">邮件 #{june}</a>'
        r' 依<a href="/queue#correction-1">更正 #1</a>：报送单位更正为阜城县，不再计入）</span>',
        page,
    ), page
    assert (
        f'<a href="/message/{briefing}">邮件 #{briefing}</a> 依<a href="/queue#correction-3">更正 #3</a>：'
        "经核实不计入报送，不再计入"
    ) in page
    assert (
        f'<a href="/message/{june}">邮件 #{june}</a> 依<a href="/queue#correction-1">更正 #1</a>：报送单位更正为阜城县'
    ) in pages["阜城县"]


def test_a_closed_year_s_kept_lines_name_the_decisions_in_force_when_it_was_closed(demo):  # noqa: F811
    """GIVEN 冀州区's April package corrected to 阜城县 and 2020 closed WHEN the correction is revoked, and 桃城区's
    April package's month corrected, after closing THEN the kept April lines of 冀州区 (lost) and of 阜城县 (gained)
    still name the revoked correction and the mail, and no kept line of 桃城区 names the later correction."""
    package = package_of(demo, "冀州区", "2020-04")
    correct(demo, package, "--unit", "阜城")
    set_outbox(demo, f"change:{package}", "sent")
    ok(demo, "digest", "--month", "2020-12", "--send")
    ok(demo, "year", "close", "2020", "--by", "孙倩")
    ok(demo, "correct", "--revoke", "1", "--reason", "核实有误", "--by", "孙倩")
    taocheng = package_of(demo, "桃城区", "2020-04")
    correct(demo, taocheng, "--month", "2020-05")
    lost = ok(demo, "explain", "冀州区", "--month", "2020-06")
    assert said_of(lost, "4月份报表").endswith(f"（邮件 #{package} 依更正 #1：报送单位更正为阜城县，不再计入）")
    gained = ok(demo, "explain", "阜城县", "--month", "2020-06")
    assert f"（邮件 #{package} 依更正 #1：报送单位更正为阜城县）" in line_of(gained, "4月份报表")
    kept = ok(demo, "explain", "桃城区", "--month", "2020-06")
    assert "更正 #2：报送月份更正为2020年5月；结账后登记" in kept
    assert not [line for line in kept.split("工作人员的决定")[0].splitlines() if "更正 #2" in line]


def test_a_package_corrected_to_a_briefing_is_named_on_the_package_line_it_left(demo):  # noqa: F811
    """GIVEN 冀州区's May package corrected to a briefing WHEN `explain` 冀州区 THEN May's package line, now
    missing its forms, names the correction and the mail as no longer counted as the package, and May's briefing
    line, which counts it as an article now, names the correction beside it without saying so."""
    may = package_of(demo, "冀州区", "2020-05")
    correct(demo, may, "--kind", "briefing")
    explained = ok(demo, "explain", "冀州区", "--month", "2020-06")
    package = said_of(explained, "5月份报表")
    assert package.startswith("  -3  5月份报表漏报：缺附件") and package.endswith(
        f"（邮件 #{may} 依更正 #1：邮件类别更正为简报信息，不再计入报表）"
    )
    briefings = line_of(explained, "5月报送简报信息")
    assert f"（邮件 #{may} 依更正 #1：邮件类别更正为简报信息）  ← 邮件 #" in briefings
    for untouched in ("4月份报表", "6月份报表", "4月报送简报信息"):
        assert "更正" not in line_of(explained, untouched), untouched


def test_a_package_titled_for_the_month_its_subject_does_not_name_is_named_on_the_line_its_correction_earned(
    demo,  # noqa: F811
    tmp_path,
):
    """GIVEN 景县's June package sent again on 19 June under May's subject left unchanged (its forms titled June:
    counted for May), corrected to June WHEN `explain` 景县 THEN June's now on-time package line names the
    correction and the mail: it named none, the forms' June taken for a month the mail counted in before."""
    import email.header

    [june] = [
        row["id"]
        for row in mailroom_json_list(demo, "search", "--unit", "景县", "--month", "2020-06", "--kind", "report")
        if "6月份残疾人服务工程进展情况报告及附件" in row["subject"]
    ]
    assert said_of(ok(demo, "explain", "景县", "--month", "2020-06"), "6月份报表").startswith("  -3  6月份报表迟报")
    raw = Path(mailroom_json(demo, "show", str(june))["raw_path"]).read_bytes().decode("ascii")
    head, body = raw.split("\n\n", 1)
    subject = email.header.Header("景 县5月份残疾人服务工程进展情况报告及附件", "utf-8").encode()
    head = re.sub(r"Subject:.*?\n(?=\S)", f"Subject: {subject}\n", head, count=1, flags=re.S)
    head = re.sub(r"Date:.*?\n(?=\S)", "Date: Fri, 19 Jun 2020 09:29:00 +0800\n", head, count=1, flags=re.S)
    head = re.sub(r"Received:.*?\n(?=\S)", "", head, flags=re.S)
    head = re.sub(r"Message-ID:.*?\n(?=\S)", "Message-ID: <again0619@163.com>\n", head, count=1, flags=re.S | re.I)
    (tmp_path / "again.eml").write_text(f"{head}\n\n{body}", encoding="ascii")
    ok(demo, "import", str(tmp_path / "again.eml"))
    again = max(row["id"] for row in mailroom_json_list(demo, "search", "--unit", "景县", "--limit", "0"))
    assert mailroom_json(demo, "show", str(again))["month"] == "2020-05"
    correct(demo, again, "--month", "2020-06")
    line = said_of(ok(demo, "explain", "景县", "--month", "2020-06"), "6月份报表")
    assert line == f"  +0  6月份报表按时报送（邮件 #{again} 依更正 #1：报送月份更正为2020年6月）"


def unit_pages(config_path: Path, month: str, *units: str) -> dict[str, str]:
    """The units' pages of `month` as staff see them."""
    pages = staff_pages(config_path, *(f"/unit/{unit}?month={month}" for unit in units))
    return dict(zip(units, pages, strict=True))


def staff_pages(config_path: Path, *paths: str) -> list[str]:
    """The pages as staff see them (the Flask test client)."""
    config = load_config(config_path, environ={})
    deps = open_deps(config, sandbox=None)
    try:
        add_accounts(deps)
        client = create_app(config, deps, secret_key="explain").test_client()
        assert log_in(client, "孙倩").status_code == 302
        pages = []
        for path in paths:
            response = client.get(path)
            assert response.status_code == 200
            pages.append(response.get_data(as_text=True))
        return pages
    finally:
        deps.close()


def test_what_was_mailed_about_a_message_is_on_its_page_and_in_show(demo):  # noqa: F811
    """GIVEN 冀州区's April package, its receipt composed, then corrected to May (a 核实通知 owed) WHEN staff open it
    (show, the web page) THEN each mail about it is listed, kind, state and recipient, with its text: staff asked
    "what did our receipt say?" could only read the outbox's files (staff tester)."""
    april = package_of(demo, "冀州区", "2020-04")
    set_outbox(demo, f"receipt:{april}", "sent")
    correct(demo, april, "--month", "2020-05")
    shown = ok(demo, "show", str(april))
    listed = shown.split("就此邮件发出的邮件（正文见 --json）：\n")[1].split("\n\n")[0].splitlines()
    assert [line.split(" · ")[:2][0] for line in listed] == ["- 回执", "- 核实通知"]
    assert listed[0].split(" · ")[1].startswith("已发出") and listed[1].split(" · ")[1].startswith("待发")
    answers = mailroom_json(demo, "show", str(april))["answers"]
    assert [answer["kind"] for answer in answers] == ["receipt", "change"] and "您单位的邮件已收到" in answers[0][
        "text"
    ]
    [page] = staff_pages(demo, f"/message/{april}")
    assert '<section class="answers" id="answers">' in page and "<summary>回执 · 已发出" in page
    assert "您单位的邮件已收到" in page.split('id="answers"')[1]
