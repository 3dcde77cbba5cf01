"""`mailroom demo DIR`: a self-contained demo on the embedded default.

It writes DIR/config.toml (the example config with every department mailbox a local Maildir, SQLite and
the archive inside DIR) and fills the Maildirs with a month of plausible mail from the 13 units, so the
main job runs on a fresh machine with no server at all.
"""

from __future__ import annotations

import json
import random
import re
import shutil
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from io import BytesIO
from pathlib import Path
from zoneinfo import ZoneInfo

from openpyxl import Workbook

from bot.config import Config, Mailbox, load_config
from bot.maildir import ensure_maildir

EXAMPLE = Path(__file__).resolve().parent.parent / "config.example.toml"
SHANGHAI = ZoneInfo("Asia/Shanghai")
FORM_TITLES = {1: "目标任务进展情况报告", 2: "目标任务完成情况汇总表", 3: "康复服务实名制登记表",
               4: "辅助器具适配实名制登记表", 5: "农村实用技术培训实名制登记表", 6: "职业技能培训实名制登记表",
               7: "托养服务补贴实名制登记表", 8: "残疾人家庭无障碍改造实名制登记表"}


# Which department each form goes to ("by task category", plan §三): completeness is per unit and month
# across all four mailboxes, so the demo spreads every package over three of them.
DEPARTMENT_FORMS = {"jjb": (1, 2, 5, 6), "kfb": (3, 4), "fwb": (7, 8)}


def write_demo(directory: Path, year: int = 2020, month: int = 4, seed: int = 2020) -> tuple[Config, int]:
    """Write the demo config and mail afresh (a previous demo in DIR is replaced).

    Returns the config and the number of messages written."""
    if (directory / "config.toml").exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "config.toml"
    path.write_text(demo_config_text(EXAMPLE.read_text(encoding="utf-8")), encoding="utf-8")
    config = load_config(path, environ={})
    rng = random.Random(seed)
    offices = {box.key: box for box in config.mailboxes}
    written = 0
    for box in config.mailboxes:
        ensure_maildir(box.path)
    for unit in config.units:
        sender = unit.senders[0]
        for number in range(rng.randint(5, 10)):
            arrival = datetime(year, month, rng.randint(1, 28), rng.randint(8, 18), rng.randint(0, 59),
                               tzinfo=SHANGHAI)
            subject = f"{unit.name}贫困残疾人服务工程专项信息（{number + 1}）"
            written += _deliver(offices["bgs"], compose(sender, offices["bgs"].address, subject, arrival))
        day = rng.choice([12, 18, 20, 20, 21, 23])
        for key, forms in DEPARTMENT_FORMS.items():
            arrival = datetime(year, month, day, rng.randint(8, 18), rng.randint(0, 59), tzinfo=SHANGHAI)
            message = compose(sender, offices[key].address, f"{unit.name}{month}月份目标任务进展情况及登记表", arrival)
            for form in forms:
                message.add_attachment(_workbook(unit.name, month, FORM_TITLES[form]), maintype="application",
                                       subtype="octet-stream", filename=f"附件{form}.xlsx")
            written += _deliver(offices[key], message)
    return config, written


def demo_config_text(example: str) -> str:
    """The example config with local paths and Maildir mailboxes instead of the real servers."""
    text = example.replace('url = "sqlite:///var/mailroom.db"', 'url = "sqlite:///mailroom.db"')
    text = text.replace('path = "var/archive"', 'path = "archive"')
    text = text.replace('transport = "smtp"', 'transport = "folder"').replace('folder = "var/outbox"', 'folder = "outbox"')
    text = text.replace("receipts_max_age_days = 7 ", "receipts_max_age_days = 0 ")  # the demo's mail is from 2020
    boxes = re.findall(r'\[\[mailbox\]\]\nkey = "(\w+)"\nname = "(\w+)"\naddress = "([^"]+)"', text)
    return with_mailboxes(text, [{"key": key, "name": name, "address": address, "source": "maildir",
                                  "path": f"mail/{key}"} for key, name, address in boxes])


def with_mailboxes(config_text: str, mailboxes: list[dict[str, str | int]]) -> str:
    """Config text with its [[mailbox]] tables replaced by these (string and integer values)."""
    text = re.sub(r"\[\[mailbox\]\]\n(?:[^\[\n#].*\n|\n)*", "", config_text)
    tables = "".join("[[mailbox]]\n" + "".join(f"{key} = {json.dumps(value, ensure_ascii=False)}\n"
                                                 for key, value in box.items()) + "\n" for box in mailboxes)
    marker = "# The 13 reporting units."
    return text.replace(marker, tables + marker)


def compose(sender: str, to: str, subject: str, arrival: datetime | None, *, sent: datetime | None = None,
            body: str | None = None, cc: str | None = None) -> EmailMessage:
    """A plain UTF-8 message as a unit's client would send it, with the receiving server's Received line
    stamped at `arrival` (None: no Received line) and a Date header of `sent` (default: a minute before)."""
    message = EmailMessage()
    if arrival is not None:
        message["Received"] = (f"from mail.example.cn (unknown [127.0.0.1]) by mx.example.cn; "
                               f"{format_datetime(arrival)}")
    message["From"] = sender
    message["To"] = to
    if cc:
        message["Cc"] = cc
    message["Subject"] = subject
    sent = sent or (arrival - timedelta(minutes=1) if arrival else None)
    if sent is not None:
        message["Date"] = format_datetime(sent)
    message["Message-ID"] = make_msgid(domain=sender.split("@")[1])
    message.set_content(body if body is not None else f"{subject}\n\n请查收。", charset="utf-8")
    return message


def _workbook(unit: str, month: int, title: str) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append([f"{unit}残联 {month} 月份{title}"])
    sheet.append([f"填报单位：{unit}残联", None, "填表人：张三", None, "联系电话：0318-1234567"])
    buffer = BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _deliver(box: Mailbox, message: EmailMessage) -> int:
    name = message["Message-ID"].strip("<>").replace("/", "_")
    (box.path / "new" / name).write_bytes(message.as_bytes())
    return 1
