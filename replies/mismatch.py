"""A form whose own title names another unit or month than the mail it came in: the commonest slip is last
month's file, or a neighbour's, attached again. The receipt tells the unit (replies.receipt), the attention
queue and `show` tell staff: both from the same facts, decided here once.

A form is counted for the mail's unit, and for the mail's month when its subject names one (else for the
month the form's own title names: parsers.records.counted_month), whatever the form says; so a month is a
mismatch only against the one month read from the subject (a subject naming several counts each form for
its own title's month)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from scoring.settings import month_label

# The kinds that are a submission whatever they carry: a report package, a briefing's article. A reply is one
# when it carries forms (a package sent by pressing 回复 on the notice or on our receipt): is_submission.
SUBMISSION_KINDS = ("report", "briefing")


class Mail(Protocol):
    """A message as the receipt knows it (replies.receipt.MessageFacts) or as stored (archive.models.Message)."""

    @property
    def unit(self) -> str | None: ...

    @property
    def month(self) -> str | None: ...

    @property
    def month_source(self) -> str: ...


class Form(Protocol):
    """A form read (replies.receipt.FileFacts, archive.models.FormReadingRow): what its own title names."""

    @property
    def source(self) -> str: ...

    @property
    def form(self) -> int | None: ...

    @property
    def unit(self) -> str | None: ...

    @property
    def month(self) -> str | None: ...


@dataclass(frozen=True)
class Mismatch:
    """One form against its mail: `unit`/`month` are what the form says where it differs (else None);
    `mail_unit` is the unit the mail is recorded for, `mail_month` the month its subject names (or None)."""

    source: str
    form: int | None
    mail_unit: str | None
    mail_month: str | None
    unit: str | None = None
    month: str | None = None

    @property
    def other_year(self) -> bool:
        """The form's month is of another year than the subject's (a package filed into a closed year)."""
        return bool(self.month and self.mail_month and self.month[:4] != self.mail_month[:4])


def is_submission(kind: str, forms: Iterable[Form]) -> bool:
    """Whether a mail's forms are counted for its unit and month as a package (archive.evidence: a report's, and
    a reply's that carries forms; never a briefing's, which counts by its articles), so that a form disagreeing
    with it is told to the unit and to staff."""
    return kind == "report" or (kind == "reply" and any(form.form for form in forms))


def form_mismatch(mail: Mail, form: Form) -> Mismatch | None:
    """How `form` disagrees with `mail`, or None."""
    unit = form.unit if form.unit and mail.unit and form.unit != mail.unit else None
    subject_month = mail.month if mail.month_source == "subject" else None
    month = form.month if subject_month and form.month and form.month != subject_month else None
    if unit is None and month is None:
        return None
    return Mismatch(form.source, form.form, mail.unit, subject_month, unit, month)


def mismatches(mail: Mail, forms: Iterable[Form]) -> list[Mismatch]:
    """Every form of the mail that disagrees with it, in the order given."""
    return [found for form in forms if (found := form_mismatch(mail, form)) is not None]


def staff_lines(kind: str, mail: Mail, forms: Iterable[Form]) -> list[str]:
    """What staff read among a message's problems (`show`, the message's page): a line a form that disagrees
    with a submission (other mail counts no forms, so nothing of it disagrees)."""
    forms = list(forms)
    return [staff_line(found) for found in mismatches(mail, forms)] if is_submission(kind, forms) else []


def receipt_line(mismatch: Mismatch) -> str:
    """What the receipt tells the unit of one form (replies.receipt.problems_by_file says it first)."""
    said = []
    if mismatch.unit:
        said.append(f"表中写的单位是{mismatch.unit}，本邮件是{mismatch.mail_unit}的报送")
    if mismatch.month and mismatch.mail_month:
        said.append(f"表中写的月份是{month_label(mismatch.month)}，本邮件报送的是{month_label(mismatch.mail_month)}")
    recorded = f"{mismatch.mail_unit}{month_label(mismatch.mail_month) if mismatch.mail_month else ''}"
    return f"{'；'.join(said)}，已按{recorded}记录；请核对是否附错了文件"


def staff_line(mismatch: Mismatch) -> str:
    """What staff read of one form (`show`, the message's page, 待处理's detail): the form and its file, what
    the form says and what the mail is recorded for."""
    return f"{_form_name(mismatch)}（{mismatch.source}）{_said(mismatch)}：已按邮件记录，请核对是否附错了文件"


def staff_summary(found: Iterable[Mismatch]) -> str:
    """The forms of one mail that disagree with it, those saying the same named together: "附件2、附件3
    表中写的月份是2021年4月，主题写的是2020年4月（不是同一年）"; another year first, as it files a package
    into a closed year."""
    grouped: dict[str, list[str]] = {}
    for mismatch in sorted(found, key=lambda mismatch: not mismatch.other_year):
        names = grouped.setdefault(_said(mismatch), [])
        if _form_name(mismatch) not in names:
            names.append(_form_name(mismatch))
    return "；".join(f"{'、'.join(names)}{said}" for said, names in grouped.items())


def _form_name(mismatch: Mismatch) -> str:
    return f"附件{mismatch.form}" if mismatch.form else "表格"


def _said(mismatch: Mismatch) -> str:
    said = []
    if mismatch.unit:
        said.append(f"表中写的单位是{mismatch.unit}，邮件记为{mismatch.mail_unit}的报送")
    if mismatch.month and mismatch.mail_month:
        year = "（不是同一年）" if mismatch.other_year else ""
        said.append(f"表中写的月份是{month_label(mismatch.month)}，主题写的是{month_label(mismatch.mail_month)}{year}")
    return "，".join(said)
