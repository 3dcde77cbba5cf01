"""A season of the 13 units' mail, April to December 2020, generated from a seed: the demo's mail, and
what tests/test_season.py checks against the standings worked out by hand in tests/season_expected.py.

Each month every unit sends its package (附件1 as .docx; 附件2–8, and 附件9–10 from September, as .xlsx,
.xls or zipped), spread over the departments by task category, and 4–12 briefing articles (.docx) to the
office; around them, replies, auto-replies, a bounce, spam and mail from unregistered addresses.

    plans.py    each unit's design (PLANS): 完成数 at the checkpoints, briefing counts, habits
    people.py   the persons on the registries
    sheets.py   the forms' worksheets as cells and merges
    files.py    .xlsx, .xls, .docx and .zip bytes (.xls only with xlwt installed, else .xlsx: WRITES_XLS)
    events.py   when each mail goes out, and every edge case with its reason
    mail.py     the messages rendered, and written to Maildirs or an mbox

Registries are cumulative, as the plan asks (所有表格…数据填报为累计数据): month M's registry lists everyone
served up to M, so its distinct persons always equal 附件2's 完成数 for the matching task (when a figure
goes down, the registry lists fewer people too). That costs ~46,000 person rows over the season; 完成数
sits just past each threshold the design needs to keep it there. A registry of only the month's new
persons would be ~7,000 rows, but every package after April would then fail the 完成数-vs-registry check.

Every byte is a function of the seed.
"""

from bot.demo.season.events import Dispatch, Spec, department_forms, noise_specs, standard_dispatches
from bot.demo.season.files import WRITES_XLS, docx_bytes, xls_bytes, xlsx_bytes, zip_bytes
from bot.demo.season.mail import (
    GeneratedMail,
    briefing_specs,
    compose,
    generate_season,
    mailbox_keys,
    mails_of,
    package_dispatches,
    write_maildirs,
    write_mbox,
)
from bot.demo.season.people import Person, person
from bot.demo.season.plans import (
    EXAMPLE_CONFIG,
    MONTHS,
    PLANS,
    QUARTER_TASKS,
    SHANGHAI,
    YEAR,
    UnitInfo,
    UnitPlan,
    at,
    load_units,
    month_figures,
)
from bot.demo.season.sheets import Sheet, person_row, registry_sheet, summary_sheet

__all__ = [
    "EXAMPLE_CONFIG",
    "MONTHS",
    "PLANS",
    "QUARTER_TASKS",
    "SHANGHAI",
    "WRITES_XLS",
    "YEAR",
    "Dispatch",
    "GeneratedMail",
    "Person",
    "Sheet",
    "Spec",
    "UnitInfo",
    "UnitPlan",
    "at",
    "briefing_specs",
    "compose",
    "department_forms",
    "docx_bytes",
    "generate_season",
    "load_units",
    "mailbox_keys",
    "mails_of",
    "month_figures",
    "noise_specs",
    "package_dispatches",
    "person",
    "person_row",
    "registry_sheet",
    "standard_dispatches",
    "summary_sheet",
    "write_maildirs",
    "write_mbox",
    "xls_bytes",
    "xlsx_bytes",
    "zip_bytes",
]
