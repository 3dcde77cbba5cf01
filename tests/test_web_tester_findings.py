"""What an exploratory tester found in the web app, each kept fixed: the CSV keeps 残疾人证号 and phones as the
text written (in Excel, WPS and LibreOffice), a long attachment name keeps its extension and an all-Chinese one
has an ASCII fallback, an oversized or garbled id in a staff form is a Chinese 4xx page, a unit clerk's error
pages lead to 自查, and an award no plan year would count is refused (web and command line)."""

from __future__ import annotations

import csv
import io
import re
import shutil
import subprocess
from datetime import date, datetime
from html import unescape
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from click.testing import CliRunner
from flask import Flask, g
from sqlalchemy import select

from archive.entries import add_entry, list_entries
from archive.models import Attachment, FormReadingRow, PersonRow
from archive.users import add_user
from bot.cli.group import main
from bot.demo.folder import compose
from bot.web.auth import Viewer
from bot.web.download import NAME_CHARS, csv_bytes, safe_filename
from bot.web.present import Masker
from parsers.errors import InputError
from tests import test_web_hardening
from tests.conftest import ROOT
from tests.webapp import BOOKS, PERSON, PERSON_ID, REHAB, SHANGHAI, csrf_token, log_in, store_one

# The app on SQLite and PostgreSQL with a few telling messages and staff and auditor accounts (tests.webapp).
site = test_web_hardening.site
signed_in = test_web_hardening.signed_in
ID_20 = "13112419620315011842"  # 残疾人证号: 18-digit ID and 2 digits of category and grade
ID_18 = "131127198001010017"
PHONE = "13903181234"
LANDLINE = "03185551234"  # a leading zero


# ---------------------------------------------------------------------------------------------------------
# 1. The CSV: identifiers stay the text written, quantities stay numbers, Chinese opens in Excel


def _exported(reading: FormReadingRow, hide: bool = False) -> bytes:
    """csv_bytes as staff's download makes it (the pages' masking step reads the viewer from the request)."""
    with Flask(__name__).app_context():
        g.viewer = Viewer(1, "孙倩", "staff", personal=False)
        return csv_bytes(reading, Masker(hide=hide))


def _registry(*persons: dict[str, str]) -> FormReadingRow:
    """A 附件3 reading, never stored: csv_bytes needs only its form and persons."""
    rows = [PersonRow(form=3, sheet="康复", row=5 + n, fields=fields) for n, fields in enumerate(persons)]
    return FormReadingRow(form=3, tasks={}, persons=rows)


def _cells(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf"), "no UTF-8 BOM: Excel would read the Chinese as GBK"
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def test_the_csv_keeps_ids_phones_and_leading_zeros_as_text_and_counts_as_numbers():
    """GIVEN a registry with a 20-digit 残疾人证号, an 18-digit one, a mobile, a landline with its leading zero and a
    birth month WHEN exported THEN each is written after a tab (text in Excel, WPS and LibreOffice), the row
    numbers stay bare numbers, and 附件2's 目标数 and 完成数 too; a masked number needs nothing."""
    data = _exported(
        _registry(
            {"name": "王斐", "disability_id": ID_20, "phone": PHONE, "grade": "2", "remark": "1998.10"},
            {"name": "李四", "disability_id": ID_18, "phone": LANDLINE, "remark": "0012"},
        )
    )
    header, first, second = _cells(data)
    column = {label: header.index(label) for label in header}
    assert first[column["残疾人证号"]] == "\t" + ID_20 and second[column["残疾人证号"]] == "\t" + ID_18
    assert first[column["联系电话"]] == "\t" + PHONE and second[column["联系电话"]] == "\t" + LANDLINE
    assert first[column["备注"]] == "\t1998.10" and second[column["备注"]] == "\t0012"
    assert first[column["姓名"]] == "王斐" and first[column["行"]] == "5" and second[column["行"]] == "6"
    masked = _cells(_exported(_registry({"name": "王斐", "disability_id": ID_20}), hide=True))[1]
    assert masked[header.index("残疾人证号")] == "131124**********1842"
    tasks = FormReadingRow(form=2, tasks={"rehab": {"target": 120, "done": 95, "percent": 79.2}}, persons=[])
    assert _cells(_exported(tasks))[1] == ["康复服务", "120", "95", "79.2%"]


def test_a_formula_in_the_mail_stays_inert_text():
    """The guard against formulas (mail is untrusted) still comes first: a tab of its own is not trusted."""
    header, row = _cells(_exported(_registry({"name": "=1+2", "remark": "\t12345678901234"})))
    assert row[header.index("姓名")] == "'=1+2" and row[header.index("备注")] == "'\t12345678901234"


# LibreOffice's Text Import dialog as it opens a double-clicked CSV (its defaults: formulas not evaluated, no
# special numbers), and as a headless conversion reads one (formulas evaluated, special numbers detected).
LIBREOFFICE_IMPORTS = {
    "dialog defaults": "44,34,76,1,,0,false,false,false,false,false,-1,false",
    "formulas and special numbers": "44,34,76,1,,0,false,true,true,false,false,-1,true",
}


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice is not installed")
@pytest.mark.parametrize("options", LIBREOFFICE_IMPORTS.values(), ids=LIBREOFFICE_IMPORTS.keys())
def test_libreoffice_opens_the_csv_with_every_digit_of_the_ids(tmp_path, options):
    """GIVEN the exported CSV WHEN LibreOffice opens it (converted to .xlsx and read back) THEN the 残疾人证号 and
    the phones are text cells holding every digit as written, the Chinese is Chinese, and the row number is a
    number."""
    from openpyxl import load_workbook

    source = tmp_path / "registry.csv"
    source.write_bytes(_exported(_registry({"name": "王斐", "disability_id": ID_20, "phone": LANDLINE})))
    subprocess.run(
        [
            "soffice",
            f"-env:UserInstallation=file://{tmp_path}/profile",
            "--headless",
            f"--infilter=CSV:{options}",
            "--convert-to",
            "xlsx",
            "--outdir",
            str(tmp_path),
            str(source),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    sheet = load_workbook(source.with_suffix(".xlsx"), data_only=True).active
    header, row = [[cell.value for cell in line] for line in sheet.iter_rows()]
    values = dict(zip(header, row))
    assert values["姓名"] == "王斐"
    assert values["残疾人证号"] == "\t" + ID_20 and values["联系电话"] == "\t" + LANDLINE
    assert values["行"] == 5


def test_the_registry_csv_downloaded_keeps_the_id_whole(site):
    app, _, archive = site
    client = signed_in(app, "孙倩")
    html = client.get(f"/message/{archive.package}").get_data(as_text=True)
    exported = [
        _cells(client.get(path).data)
        for path in sorted(set(re.findall(rf"/message/{archive.package}/reading/\d+\.csv", html)))
    ]
    header, person = next((table[0], row) for table in exported for row in table[1:] if PERSON in row)
    assert person[header.index("残疾人证号")] == "\t" + PERSON_ID
    assert person[header.index("行")].isdigit()


# ---------------------------------------------------------------------------------------------------------
# 2. Attachment names: shortened in the middle, the extension kept; an ASCII fallback for a Chinese name


def test_a_long_attachment_name_is_shortened_in_the_middle_and_keeps_its_extension():
    name = "桃城区" + "残疾人服务工程实名制登记表" * 20 + "（第二次修订）.xlsx"
    shortened = safe_filename(name, "x")
    assert len(shortened) == NAME_CHARS
    assert shortened.startswith("桃城区残疾人服务工程") and shortened.endswith("（第二次修订）.xlsx")
    assert "…" in shortened
    assert safe_filename("a" * 300, "x") == "a" * 90 + "…" + "a" * 89
    assert safe_filename("报表.xlsx", "x") == "报表.xlsx" and safe_filename(" . ", "备用") == "备用"


def test_a_downloaded_name_keeps_no_bidi_override():
    """An attachment stored before its name was cleaned (附件3\u202eslx.exe, shown as 附件3exe.xls) is downloaded
    under the name as it is (web attacker)."""
    assert safe_filename("附件3\u202eslx.exe", "x") == "附件3slx.exe"


def _archive_attachment(deps, filename: str) -> tuple[int, int]:
    """A message with one workbook attached as `filename`: (message id, the attachment's ordinal)."""
    mail = compose("tcqcl@163.com", REHAB, "桃城区4月份报表", datetime(2020, 4, 15, 10, tzinfo=SHANGHAI))
    mail.set_content("见附件")
    workbook = (BOOKS / "summary-unit-row-only.xlsx").read_bytes()
    mail.add_attachment(workbook, maintype="application", subtype="octet-stream", filename=filename)
    message_id = store_one(deps, mail.as_bytes())
    with deps.db.session() as session:
        ordinal = session.scalar(select(Attachment.ordinal).where(Attachment.message_id == message_id))
    return message_id, ordinal


def test_a_downloaded_attachment_keeps_its_extension_and_has_an_ascii_fallback(site):
    """GIVEN an attachment whose all-Chinese name is over NAME_CHARS long WHEN staff download it THEN the name
    given (filename*) ends in .xlsx and the plain filename= is attachment.xlsx, not "" or ".xlsx"."""
    app, deps, _ = site
    name = "桃城区" + "残疾人服务工程实名制登记表" * 20 + "汇总.xlsx"
    message_id, ordinal = _archive_attachment(deps, name)
    response = signed_in(app, "孙倩").get(f"/message/{message_id}/attachment/{ordinal}")
    assert response.status_code == 200
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment; filename=attachment.xlsx; filename*=UTF-8''"), disposition
    given = unquote(disposition.split("filename*=UTF-8''", 1)[1])
    assert given.endswith("汇总.xlsx") and given.startswith("桃城区残疾人") and len(given) == NAME_CHARS
    short, ordinal = _archive_attachment(deps, "附件.xlsx")
    plain = signed_in(app, "孙倩").get(f"/message/{short}/attachment/{ordinal}").headers["Content-Disposition"]
    assert plain == "attachment; filename=attachment.xlsx; filename*=UTF-8''%E9%99%84%E4%BB%B6.xlsx"


def test_the_original_mail_and_a_csv_have_an_ascii_fallback_too(site):
    app, _, archive = site
    client = signed_in(app, "孙倩")
    original = client.get(f"/message/{archive.package}/original.eml").headers["Content-Disposition"]
    assert original.startswith(f"attachment; filename=mail-{archive.package}.eml; filename*=UTF-8''")
    html = client.get(f"/message/{archive.package}").get_data(as_text=True)
    reading = re.search(r"/reading/(\d+)\.csv", html).group(1)
    exported = client.get(f"/message/{archive.package}/reading/{reading}.csv").headers["Content-Disposition"]
    assert exported.startswith(f"attachment; filename=mail-{archive.package}-table-{reading}.csv; filename*=")


# ---------------------------------------------------------------------------------------------------------
# 3. A staff form's message id: an oversized or garbled one is a Chinese 4xx page, never a 500


@pytest.mark.parametrize("path", ["/corrections", "/senders"])
def test_a_bad_message_id_in_a_staff_form_is_a_chinese_400(site, path):
    """GIVEN staff's form posted with a message id SQLite or PostgreSQL cannot hold, or no number at all THEN a
    400 page says so in Chinese (int()'s English never shows, and nothing is a 500)."""
    app, _, _ = site
    client = signed_in(app, "孙倩")
    token = csrf_token(client.get("/queue").get_data(as_text=True))
    for message_id in ("99999999999999999999", str(2**31), str(2**63), "abc", "-1", "1.5", "١٢", ""):
        posted = {"csrf_token": token, "message_id": message_id, "reason": "电话核实", "kind": "other"}
        response = client.post(path, data=posted)
        text = response.get_data(as_text=True)
        assert response.status_code == 400, (message_id, response.status_code, text[:300])
        assert "邮件编号无效" in text and "invalid literal" not in text, message_id
        assert response.headers["Cache-Control"] == "no-store"


def test_a_message_id_at_the_limit_is_simply_not_found(site):
    app, _, _ = site
    client = signed_in(app, "孙倩")
    token = csrf_token(client.get("/queue").get_data(as_text=True))
    posted = {"csrf_token": token, "message_id": str(2**31 - 1), "reason": "核实", "kind": "other"}
    assert client.post("/corrections", data=posted).status_code == 302
    assert f"未更正：没有编号为 {2**31 - 1} 的邮件" in client.get("/queue").get_data(as_text=True)


# ---------------------------------------------------------------------------------------------------------
# 4. An error page leads somewhere the account may go


def test_a_unit_clerks_error_pages_lead_to_selfcheck(site):
    app, deps, archive = site
    with deps.db.session() as session:
        add_user(session, "景县填报员", "correct horse battery", "unit", unit="景县")
    clerk = app.test_client()
    assert log_in(clerk, "景县填报员").location == "/selfcheck"
    for path in ("/search", "/standings?month=2020-05", f"/message/{archive.package}", "/entries"):
        refused = clerk.get(path)
        html = refused.get_data(as_text=True)
        assert refused.status_code == 403, path
        assert 'href="/selfcheck"' in html and "返回自查" in html, path
        assert "返回归档检索" not in html and 'href="/search"' not in html, path
    assert clerk.get("/selfcheck").status_code == 200
    staff_page = signed_in(app, "孙倩").get("/message/2147483647").get_data(as_text=True)
    assert 'href="/search"' in staff_page and "返回归档检索" in staff_page


def test_an_anonymous_error_page_leads_to_the_login(site):
    app, _, _ = site
    refused = app.test_client().post("/login", data={"name": "孙倩", "password": "x"})  # no CSRF token
    html = refused.get_data(as_text=True)
    assert refused.status_code == 400 and "页面已过期" in html
    assert 'href="/login"' in html and "前往登录" in html and "返回归档检索" not in html


def test_a_signed_in_clerk_with_a_stale_form_goes_home(site):
    """A CSRF refusal comes before the session is looked up: the link goes home, which sends a clerk to 自查."""
    app, deps, _ = site
    with deps.db.session() as session:
        add_user(session, "景县填报员", "correct horse battery", "unit", unit="景县")
    clerk = app.test_client()
    log_in(clerk, "景县填报员")
    refused = clerk.post("/selfcheck", data={"csrf_token": "stale"})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 400 and 'href="/"' in html and "返回归档检索" not in html
    assert clerk.get("/").location == "/selfcheck"


# ---------------------------------------------------------------------------------------------------------
# 5. An award no plan year covers is refused: it would never count


def test_the_web_refuses_an_award_dated_outside_every_plan_year(site):
    """GIVEN only 2020 is planned WHEN staff enter an award dated in another year THEN it is refused, saying
    which year and months the plans cover, and nothing is recorded; a date early in 2020 counts (a month counts
    the entries from 1 January) and is accepted."""
    app, deps, _ = site
    client = signed_in(app, "孙倩")
    token = csrf_token(client.get("/entries").get_data(as_text=True))
    posted = {"csrf_token": token, "unit": "桃城区", "kind_level": "media:city", "evidence": "衡水日报"}
    for day in ("0001-01-01", "2021-05-01", "1900-01-01", "2019-12-31"):
        assert client.post("/entries", data=dict(posted, date=day)).status_code == 302
        page = client.get("/entries").get_data(as_text=True)
        assert f"未登记：不能登记日期为 {day} 的事项" in page, day
        assert "计划覆盖 2020年4月至2020年12月" in page and "只有计划年度（2020 年）内的日期计分" in page
    with deps.db.session() as session:
        assert list_entries(session) == []
    accepted = dict(posted, date="2020-02-10")  # 1 January to the month's end counts: early in the year too
    assert client.post("/entries", data=accepted).status_code == 302
    assert "已登记 #" in client.get("/entries").get_data(as_text=True)


def test_a_refused_award_keeps_what_was_typed_for_the_next_try(site):
    """GIVEN staff entering 景县's provincial media report with evidence of spaces only WHEN refused THEN the form
    comes back with 景县, the level and the date still chosen, where it came back blank with the first unit
    chosen (a hurried second try would be entered for 桃城区); a form accepted comes back empty."""
    import re

    app, _, _ = site
    client = signed_in(app, "孙倩")
    token = csrf_token(client.get("/entries").get_data(as_text=True))
    posted = {
        "csrf_token": token,
        "unit": "景县",
        "kind_level": "media:provincial",
        "date": "2020-05-10",
        "evidence": "  ",
    }
    refused = client.post("/entries", data=posted)
    assert refused.status_code == 302 and refused.location.endswith("#new")
    page = client.get(refused.location).get_data(as_text=True)
    assert "未登记：" in page
    assert re.search(r"<option selected>景县</option>", page) and 'value="media:provincial" selected' in page
    assert 'name="date" type="date" required value="2020-05-10"' in page
    accepted = client.post("/entries", data=dict(posted, evidence="河北日报 2020-05-10"))
    assert accepted.location.endswith("/entries") and "<option selected>" not in client.get("/entries").get_data(
        as_text=True
    )


@pytest.mark.parametrize("back", ["queue", "message"])
def test_a_refused_correction_keeps_what_was_chosen_beside_why(site, back):
    """GIVEN staff correcting 饶阳县's message to 景县, a reply, April and not counted, with a reason of spaces only
    WHEN refused THEN the page they came from comes back at that message's form with every choice and the reason
    still there and why it was refused beside it, where it came back blank (a hurried second try corrected
    nothing or the wrong thing); other messages' forms stay blank, and a correction accepted comes back empty."""
    app, _, archive = site
    client = signed_in(app, "孙倩")
    came_from = "/queue" if back == "queue" else f"/message/{archive.text_script}"
    token = csrf_token(client.get(came_from).get_data(as_text=True))
    posted = {
        "csrf_token": token,
        "message_id": str(archive.text_script),
        "back": back,
        "unit": "景县",
        "kind": "reply",
        "month": "2020-04",
        "counted": "no",
        "reason": "  ",
    }
    refused = client.post("/corrections", data=posted)
    assert refused.status_code == 302 and refused.location.endswith("#correcting")
    assert refused.location.startswith(came_from)
    page = client.get(refused.location).get_data(as_text=True)
    [block] = re.findall(r'<div id="correcting">.*?</form>', page, re.S)  # where the page opens: why, then the form
    [form] = re.findall(r'<form class="inline correct".*?</form>', block, re.S)
    assert f'name="message_id" value="{archive.text_script}"' in form
    assert "<option selected>景县</option>" in form and 'value="reply" selected' in form
    assert "<option selected>2020-04</option>" in form and 'value="no" selected' in form
    why = re.search(
        r'<p class="note error" role="alert" id="([\w-]+)">(未更正：[^<]+)</p>\s*<form class="inline', block
    )
    assert why and "原因" in why.group(2) and page.count(why.group(2)) == 1  # beside the form, once
    assert f'aria-describedby="{why.group(1)}"' in form  # the reason field, read with it
    assert page.count(" selected") == form.count(" selected")  # no other form chosen for
    if back == "message":  # the search the page was opened from is still the way back, not the choices made
        opened = client.get(f"{came_from}?q=王斐&month=2020-05").get_data(as_text=True)
        [searched] = re.findall(r'name="searched" value="([^"]+)"', opened)
        again = client.post(
            "/corrections", data=dict(posted, csrf_token=csrf_token(opened), searched=unescape(searched))
        )
        shown = client.get(again.location).get_data(as_text=True)
        [way_back] = re.findall(r'<a href="([^"]+)">← 归档检索</a>', shown)
        assert "<option selected>景县</option>" in shown
        assert parse_qs(urlsplit(unescape(way_back)).query) == {"q": ["王斐"], "month": ["2020-05"]}
    accepted = client.post("/corrections", data=dict(posted, reason="单位的答复"))
    assert accepted.status_code == 302 and not accepted.location.endswith("#correcting")
    assert "已登记更正 #" in client.get(accepted.location).get_data(as_text=True)


def test_a_refused_correction_of_a_message_no_longer_waiting_still_says_why(site):
    """GIVEN a correction refused for a message with no form on 待处理 (another staff member's correction settled
    its item meanwhile) WHEN the page comes back THEN why it was refused is at the page's top, where it was hidden
    with nowhere to show it; a message with two items shows the choices in one form only."""
    from tests.webapp import _message, queue_reasons

    app, deps, _ = site
    client = signed_in(app, "孙倩")
    when = datetime(2020, 5, 6, 10, tzinfo=SHANGHAI)
    settled = store_one(deps, _message("jxcl2020@163.com", "景县贫困残疾人服务工程专项信息（1）", when, "一篇稿件"))
    twice = store_one(deps, _message("2851736642@qq.com", "景县4月份报表", when, "见附件", ("encrypted.xlsx",)))
    assert settled not in queue_reasons(deps) and len(queue_reasons(deps)[twice]) == 2
    token = csrf_token(client.get("/queue").get_data(as_text=True))
    posted = {"csrf_token": token, "message_id": str(settled), "unit": "景县", "reason": "  "}
    page = client.get(client.post("/corrections", data=posted).location).get_data(as_text=True)
    assert re.search(r'<main>\s*<p class="note error" role="alert">未更正：', page) and 'id="correcting"' not in page
    posted["message_id"] = str(twice)
    page = client.get(client.post("/corrections", data=posted).location).get_data(as_text=True)
    assert page.count('id="correcting"') == 1 and page.count("<option selected>景县</option>") == 1


def test_add_entry_refuses_a_year_no_plan_covers_and_a_unit_not_in_its_plan(config, deps):
    with deps.db.session() as session:
        with pytest.raises(InputError, match="2021 年不在任何年度计划内"):
            add_entry(session, "桃城区", "media", "city", date(2021, 5, 1), "x", "孙倩", config.plans)
        with pytest.raises(InputError, match="不在 2020 年的计划内"):
            add_entry(session, "不存在的单位", "media", "city", date(2020, 5, 1), "y", "孙倩", config.plans)
        assert add_entry(session, "桃城区", "media", "city", date(2020, 5, 1), "z", "孙倩", config.plans).id


@pytest.mark.parametrize("day", ["1900-01-01", "2021-05-01"])
def test_the_command_line_refuses_an_award_dated_outside_every_plan_year(tmp_path, database_url, day):
    env = {"MAILROOM_DATABASE_URL": database_url, "MAILROOM_ARCHIVE_PATH": str(tmp_path / "archive")}
    args = ["award", "桃城区", "--kind", "media", "--level", "city", "--date", day, "--evidence", "衡水日报"]
    result = CliRunner().invoke(main, ["--config", str(ROOT / "config.example.toml"), *args], env=env)
    assert result.exit_code == 2, result.output
    assert f"用法错误 (usage error): 不能登记日期为 {day} 的事项" in result.stderr
    assert "计划覆盖 2020年4月至2020年12月" in result.stderr
