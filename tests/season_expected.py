"""The standings the season of bot/demo/season must produce, worked out by hand from its design.

Nothing here calls scoring/: each unit's comment gives the design (targets from config.example.toml,
完成数 at the end of June / September / December, late or missing months, briefing counts) and the
arithmetic of the plan's rules (SPEC "The scoring rules", config defaults):

- q2_tasks / q3_tasks: 3 per task (康复, 辅具, 实用技术培训, 托养, 无障碍改造) whose 完成数 ≥ 50% / 100% of the
  city's target as of the last instant of June / September; a task with target 0 always earns.
- q2_on_time / q3_on_time: 15 − 3 per report month (Apr–Jun / Jul–Sep) late or incomplete; closed once
  June 20 / September 20 has passed, so 0 in the standings of June for Q3.
- q4_exceed: 2 per task (上大学 included, its target is 0 for every unit, so it always earns) strictly
  above target at the end of December; capped at 10; 0 before December.
- briefings: 2 per month April–November with ≥ 8 counted articles, months up to the standings' month.
- media / innovation: staff entries (STAFF_ENTRIES) dated on or before the end of the month.

Completion is read from the latest 附件2 received by the quarter's last instant, whichever month it is
for: that is what makes the corrections at 06-30 23:59:59 count and those at 07-01 00:00:01 not.
"""

from __future__ import annotations

from dataclasses import dataclass

COMPONENTS = ("q2_tasks", "q2_on_time", "q3_tasks", "q3_on_time", "q4_exceed", "briefings", "media", "innovation")

# 桃城区 — targets 康复 179, 辅具 184; 实用技术培训, 托养, 无障碍改造 (and 上大学) are 0: they earn by rule.
#   June 95 ≥ 89.5 ✓, 92 ≥ 92 ✓ + 3 zero tasks → q2_tasks 15. Sept 179, 184 (= targets) ✓ → q3_tasks 15.
#   Dec 186 > 179 ✓, 190 > 184 ✓ + 4 zero tasks = 6 × 2 = 12, capped → q4_exceed 10.
#   Packages: April–July on time; August late — 教就部's mail was received 08-21 09:15 though its Date
#   header says 08-20 18:00 → q2_on_time 15, q3_on_time 12.
#   Briefings Apr–Nov 8 9 10 8 8 8 9 8, every month ≥ 8 → 6 / 12 / 16.
#   Staff: central media (人民日报, 2020-05-10) +4 from May; the same evidence entered again is refused.
#   06: 15+15+6+4 = 40.  09: 15+15+15+12+12+4 = 73.  12: 15+15+15+12+10+16+4 = 87.
#
# 冀州区 — targets 140, 184, 120, 49, 0.
#   June package (June 9–12): 75 ≥ 70 ✓, 95 ≥ 92 ✓, 55 < 60 ✗, 25 ≥ 24.5 ✓, zero ✓ → q2_tasks 12. The
#   correction to 60 arrives 07-01 00:00:01, one second too late for Q2 (and June stays on time).
#   Sept 140, 184, 120, 49 (= targets) ✓ → 15. Dec 141 > 140 ✓, 184 = 184 ✗, 125 > 120 ✓, 49 = 49 ✗,
#   zero ✓, 上大学 ✓ → 4 × 2 = 8. Every package on time → 15 / 15.
#   Briefings 8 8 8 8 6 8 8 5: August and November short → 6 / 10 (Apr May Jun Jul Sep) / 12 (+ Oct).
#   Staff: city media (衡水日报, 2020-11-02) +1, only in December's standings.
#   06: 12+15+6 = 33.  09: 12+15+15+15+10 = 67.  12: 12+15+15+15+8+12+1 = 78.
#
# 枣强县 — targets 573, 115, 67, 67, 149.
#   June 287 ≥ 286.5, 58 ≥ 57.5, 34 ≥ 33.5, 34 ≥ 33.5, 75 ≥ 74.5 → 15. Sept = targets → 15.
#   Dec 580 ✓, 120 ✓, 70 ✓, 67 = 67 ✗, 149 = 149 ✗, 上大学 ✓ → 8.
#   Every package on time; July's corrected full resend on 07-28 does not make July late → 15 / 15.
#   Briefings 9 8 7 8 8 8 8 8: in June one of 7 articles is forwarded again with the same .docx, counted
#   once (7, not 8) → 4 (Apr May) / 10 (+ Jul Aug Sep) / 14 (+ Oct Nov).
#   06: 15+15+4 = 34.  09: 15+15+15+15+10 = 70.  12: 70+8+4 = 82.
#
# 武邑县 — targets 233, 115, 100, 38, 0.
#   June 120 ≥ 116.5, 60 ≥ 57.5, 50 ≥ 50, 19 ≥ 19, zero → 15.
#   Sept 225 < 233 ✗ (the correction to 233 arrives 10-01 00:00:01: too late), 115, 100, 38, zero → 12.
#   Dec 250 ✓, 118 ✓, 100 = 100 ✗, 40 ✓, zero ✓, 上大学 ✓ → 10.
#   May's package (subject 5月份) arrives 06-03: May late → q2_on_time 12; Q3 on time → 15.
#   Briefings 8 9 8 4 5 8 4 8 → 6 / 8 (+ Sep) / 10 (+ Nov).
#   06: 15+12+6 = 33.  09: 15+12+12+15+8 = 62.  12: 62+10+2 = 74.
#
# 深州市 — targets 255, 344, 103, 131, 75.
#   June package says 辅具 160 < 172 (50% of 344), corrected to 172 at 06-30 23:59:59, the last second of
#   June: 130 ≥ 127.5, 172 ≥ 172, 52 ≥ 51.5, 66 ≥ 65.5, 38 ≥ 37.5 → 15.
#   Sept 255 ✓, 330 < 344 ✗, 103, 131, 75 ✓ → 12. Dec 256 ✓, 344 = 344 ✗, 103 = 103 ✗, 132 ✓, 76 ✓,
#   上大学 ✓ → 8. Every package on time → 15 / 15.
#   Briefings 8 8 8 7 8 8 8 4 → 6 / 10 (Apr May Jun Aug Sep) / 12 (+ Oct).
#   06: 15+15+6 = 36.  09: 15+15+12+15+10 = 67.  12: 67+8+2 = 77.
#
# 武强县 — targets 212, 115, 41, 35, 8.
#   June 106 ≥ 106, 58 ≥ 57.5, 21 ≥ 20.5, 17 < 17.5 ✗, 4 ≥ 4 → 12.
#   Sept 200 < 212 ✗, 115, 41, 35, 8 ✓ → 12. Dec 212 = 212 ✗, 116, 45, 36, 9 ✓, 上大学 ✓ → 10.
#   May: 附件3–4 reach 康复部 at 05-21 00:00:30 +08:00 (still May 20 in UTC) → late → 12; Q3 → 15.
#   Briefings 8 8 8 8 8 8 6 8 → 6 / 12 / 14.
#   06: 12+12+6 = 30.  09: 12+12+12+15+12 = 63.  12: 63+10+2 = 75.
#
# 饶阳县 — targets 2078, 299, 61, 38, 3. Never reaches 50% of 康复 by June.
#   June 150 < 1039 ✗, 150 ≥ 149.5, 31 ≥ 30.5, 19 ≥ 19, 2 ≥ 1.5 → 12.
#   Sept 320 ✗, 299, 61, 38, 3 ✓ → 12. Dec 480 ✗, 310, 65, 40, 4 ✓, 上大学 ✓ → 10.
#   Packages (.xls; October's 附件7–8 as .et; all .xlsx when xlwt is missing) all on time → 15 / 15.
#   Briefings 8 8 5 8 8 8 8 6: September's 8 are five mails of one article and one mail of three → 4 /
#   10 (Apr May Jul Aug Sep) / 12 (+ Oct).
#   06: 12+15+4 = 31.  09: 12+15+12+15+10 = 64.  12: 64+10+2 = 76.
#
# 安平县 — targets 212, 115, 59, 30, 1.
#   June 110 ≥ 106, 60 ≥ 57.5, 30 ≥ 29.5, 15 ≥ 15, 1 ≥ 0.5 → 15.
#   Sept 212 ✓, 100 < 115 ✗, 59, 30, 1 ✓ → 12. Dec 220 ✓, 115 = 115 ✗, 60 ✓, 31 ✓, 1 = 1 ✗, 上大学 ✓ → 8.
#   July's 附件6 never arrives: July incomplete → q3_on_time 12; Q2 → 15.
#   Briefings 8 8 8 7 7 4 8 8: July has 7 and the 8th arrives 08-01 00:00:00, counting for August
#   (which then has 7) → 6 / 6 / 10 (+ Oct Nov).
#   06: 15+15+6 = 36.  09: 15+15+12+12+6 = 60.  12: 60+8+4 = 72.
#
# 故城县 — targets 382, 115, 103, 76, 6.
#   June 191 ≥ 191, 58 ≥ 57.5, 52 ≥ 51.5, 38 ≥ 38, 3 ≥ 3 → 15.
#   Sept package says 托养 70 < 76, corrected to 76 at 09-30 23:59:59 → 382, 115, 103, 76, 6 → 15.
#   Dec 390, 120, 110, 80, 7 all above, 上大学 ✓ → 12, capped → 10.
#   Every package on time (康复部's forms zipped, .xls) → 15 / 15.
#   Briefings 8 8 8 8 8 8 7 8: October's two extra articles come from an unregistered QQ address →
#   6 / 12 / 14 (+ Nov).
#   06: 15+15+6 = 36.  09: 15+15+15+15+12 = 72.  12: 72+10+2 = 84.
#
# 景县 — targets 233, 115, 88, 48, 32. One mail a month to 教就部, Cc 康复部 (the same message twice).
#   June 100 < 116.5 ✗, 58 ≥ 57.5, 44 ≥ 44, 24 ≥ 24, 16 ≥ 16 → 12. Sept = targets → 15.
#   Dec 233 = 233 ✗, 115 = 115 ✗, 90, 50, 33 ✓, 上大学 ✓ → 8.
#   June's package arrives 06-23 → late → q2_on_time 12. September's at 09-20 23:59:59 is on time → 15.
#   Briefings 6 8 8 8 8 8 8 8: May's 8th arrives 05-31 23:59:59, still May → 4 (May Jun) / 10 / 14.
#   06: 12+12+4 = 28.  09: 12+12+15+15+10 = 64.  12: 64+8+4 = 76.
#
# 阜城县 — targets 255, 299, 67, 40, 3.
#   June 128 ≥ 127.5, 150 ≥ 149.5, 34 ≥ 33.5, 20 ≥ 20, 2 ≥ 1.5 → 15.
#   Sept 255 ✓, 280 < 299 ✗, 67, 40, 3 ✓ → 12. Dec 260 ✓, 299 = 299 ✗, 68 ✓, 41 ✓, 3 = 3 ✗, 上大学 ✓ → 8.
#   实用技术培训 goes 60 (July) → 56 (August): an honesty finding, no score change.
#   June's 教就部 mail (a GBK-named .zip) arrives 06-20 23:59:59: on time. All on time → 15 / 15.
#   Briefings 8 8 8 8 7 8 8 8: August's reply and auto-reply, each with an article file, never count →
#   6 / 10 (Apr–Jul Sep) / 14.
#   06: 15+15+6 = 36.  09: 15+15+12+15+10 = 67.  12: 67+8+4 = 79.
#
# 高新区 — target 康复 11, every other task 0 (4 zero tasks in Q2/Q3, 5 with 上大学 in Q4).
#   June 6 ≥ 5.5 → 15. Sept 11 → 15. Dec 12 > 11 + 5 zero tasks = 12, capped → 10.
#   April: the Date headers say 04-22 (clock three days fast), the server got them 04-19 → on time.
#   September: 附件9–10 arrive 09-25 → late → q3_on_time 12; q2_on_time 15.
#   Briefings 4 5 8 4 8 4 4 8 → 2 (Jun) / 4 (+ Aug) / 6 (+ Nov).
#   Staff: provincial innovation (省残联通报表扬, 2020-09-15) +5 from September.
#   06: 15+15+2 = 32.  09: 15+15+15+12+4+5 = 66.  12: 15+15+15+12+10+6+5 = 78.
#
# 滨湖新区 — target 康复 11, the rest 0.
#   June 5 < 5.5 ✗ → 12. Sept 11 → 15. Dec 11 = 11 ✗ + 5 zero tasks → 10.
#   April's package first comes from an unregistered QQ address (04-18, never counted), then from the
#   registered one on 04-24 → late → q2_on_time 12. No August package at all → q3_on_time 12.
#   Briefings never reach 8 (4 5 6 4 7 5 4 6) → 0.
#   06: 12+12 = 24.  09: 12+12+15+12 = 51.  12: 51+10 = 61.
#
# Ties share a rank and keep the config's order of units.

Row = tuple[str, int, int, tuple[int, ...]]  # unit, rank, total, components in COMPONENTS order

EXPECTED: dict[str, tuple[Row, ...]] = {
    "2020-06": (
        ("桃城区", 1, 40, (15, 15, 0, 0, 0, 6, 4, 0)),
        ("深州市", 2, 36, (15, 15, 0, 0, 0, 6, 0, 0)),
        ("安平县", 2, 36, (15, 15, 0, 0, 0, 6, 0, 0)),
        ("故城县", 2, 36, (15, 15, 0, 0, 0, 6, 0, 0)),
        ("阜城县", 2, 36, (15, 15, 0, 0, 0, 6, 0, 0)),
        ("枣强县", 6, 34, (15, 15, 0, 0, 0, 4, 0, 0)),
        ("冀州区", 7, 33, (12, 15, 0, 0, 0, 6, 0, 0)),
        ("武邑县", 7, 33, (15, 12, 0, 0, 0, 6, 0, 0)),
        ("高新区", 9, 32, (15, 15, 0, 0, 0, 2, 0, 0)),
        ("饶阳县", 10, 31, (12, 15, 0, 0, 0, 4, 0, 0)),
        ("武强县", 11, 30, (12, 12, 0, 0, 0, 6, 0, 0)),
        ("景县", 12, 28, (12, 12, 0, 0, 0, 4, 0, 0)),
        ("滨湖新区", 13, 24, (12, 12, 0, 0, 0, 0, 0, 0)),
    ),
    "2020-09": (
        ("桃城区", 1, 73, (15, 15, 15, 12, 0, 12, 4, 0)),
        ("故城县", 2, 72, (15, 15, 15, 15, 0, 12, 0, 0)),
        ("枣强县", 3, 70, (15, 15, 15, 15, 0, 10, 0, 0)),
        ("冀州区", 4, 67, (12, 15, 15, 15, 0, 10, 0, 0)),
        ("深州市", 4, 67, (15, 15, 12, 15, 0, 10, 0, 0)),
        ("阜城县", 4, 67, (15, 15, 12, 15, 0, 10, 0, 0)),
        ("高新区", 7, 66, (15, 15, 15, 12, 0, 4, 0, 5)),
        ("饶阳县", 8, 64, (12, 15, 12, 15, 0, 10, 0, 0)),
        ("景县", 8, 64, (12, 12, 15, 15, 0, 10, 0, 0)),
        ("武强县", 10, 63, (12, 12, 12, 15, 0, 12, 0, 0)),
        ("武邑县", 11, 62, (15, 12, 12, 15, 0, 8, 0, 0)),
        ("安平县", 12, 60, (15, 15, 12, 12, 0, 6, 0, 0)),
        ("滨湖新区", 13, 51, (12, 12, 15, 12, 0, 0, 0, 0)),
    ),
    "2020-12": (
        ("桃城区", 1, 87, (15, 15, 15, 12, 10, 16, 4, 0)),
        ("故城县", 2, 84, (15, 15, 15, 15, 10, 14, 0, 0)),
        ("枣强县", 3, 82, (15, 15, 15, 15, 8, 14, 0, 0)),
        ("阜城县", 4, 79, (15, 15, 12, 15, 8, 14, 0, 0)),
        ("冀州区", 5, 78, (12, 15, 15, 15, 8, 12, 1, 0)),
        ("高新区", 5, 78, (15, 15, 15, 12, 10, 6, 0, 5)),
        ("深州市", 7, 77, (15, 15, 12, 15, 8, 12, 0, 0)),
        ("饶阳县", 8, 76, (12, 15, 12, 15, 10, 12, 0, 0)),
        ("景县", 8, 76, (12, 12, 15, 15, 8, 14, 0, 0)),
        ("武强县", 10, 75, (12, 12, 12, 15, 10, 14, 0, 0)),
        ("武邑县", 11, 74, (15, 12, 12, 15, 10, 10, 0, 0)),
        ("安平县", 12, 72, (15, 15, 12, 12, 8, 10, 0, 0)),
        ("滨湖新区", 13, 61, (12, 12, 15, 12, 10, 0, 0, 0)),
    ),
}


@dataclass(frozen=True)
class Award:
    """A staff entry the test makes with `mailroom award`, and the exit code it must end with."""

    unit: str
    kind: str
    level: str
    date: str
    evidence: str
    exit_code: int = 0

    @property
    def args(self) -> tuple[str, ...]:
        """The `mailroom award` command line that enters it, by 孙倩."""
        return (
            "award", self.unit, "--kind", self.kind, "--level", self.level, "--date", self.date,
            "--evidence", self.evidence, "--by", "孙倩",
        )  # fmt: skip


STAFF_ENTRIES = (
    Award(
        "桃城区", "media", "central", "2020-05-10", "人民日报 2020年5月10日 第4版《衡水桃城：贫困残疾人服务工程暖人心》"
    ),
    # The same article again (other spacing, full-width digits, short name): refused, never counts twice.
    Award(
        "桃城",
        "media",
        "central",
        "2020-05-12",
        "人民日报  ２０２０年5月10日 第4版《衡水桃城：贫困残疾人服务工程暖人心》",
        exit_code=1,
    ),
    Award(
        "高新区", "innovation", "provincial", "2020-09-15", "河北省残联通报表扬：高新区贫困重度残疾人“阳光家园”托养模式"
    ),
    Award(
        "冀州区", "media", "city", "2020-11-02", "衡水日报 2020年11月2日 第2版《冀州区残疾人家庭无障碍改造惠及百户》"
    ),
)

# Articles that count per month, April to November (the design's numbers, after duplicates, replies,
# auto-replies, unregistered senders and the boundary instants are taken into account).
BRIEFING_COUNTS: dict[str, tuple[int, ...]] = {
    "桃城区": (8, 9, 10, 8, 8, 8, 9, 8),
    "冀州区": (8, 8, 8, 8, 6, 8, 8, 5),
    "枣强县": (9, 8, 7, 8, 8, 8, 8, 8),
    "武邑县": (8, 9, 8, 4, 5, 8, 4, 8),
    "深州市": (8, 8, 8, 7, 8, 8, 8, 4),
    "武强县": (8, 8, 8, 8, 8, 8, 6, 8),
    "饶阳县": (8, 8, 5, 8, 8, 8, 8, 6),
    "安平县": (8, 8, 8, 7, 7, 4, 8, 8),
    "故城县": (8, 8, 8, 8, 8, 8, 7, 8),
    "景县": (6, 8, 8, 8, 8, 8, 8, 8),
    "阜城县": (8, 8, 8, 8, 7, 8, 8, 8),
    "高新区": (4, 5, 8, 4, 8, 4, 4, 8),
    "滨湖新区": (4, 5, 6, 4, 7, 5, 4, 6),
}

# The submission matrix: every unit's package is on time every month except these (as known today).
PACKAGE_EXCEPTIONS: dict[tuple[str, str], str] = {
    ("滨湖新区", "2020-04"): "late",  # registered address only on 04-24
    ("武强县", "2020-05"): "late",  # 附件3–4 at 05-21 00:00:30
    ("武邑县", "2020-05"): "late",  # sent 06-03
    ("景县", "2020-06"): "late",  # sent 06-23
    ("安平县", "2020-07"): "missing",  # 附件6 never sent
    ("桃城区", "2020-08"): "late",  # received 08-21 09:15
    ("滨湖新区", "2020-08"): "missing",  # nothing sent
    ("高新区", "2020-09"): "late",  # 附件9–10 on 09-25
}

# Single cells of the matrix: (month, unit, form) → (status, arrival in ISO 8601; None: not compared).
MATRIX_CELLS: dict[tuple[str, str, int], tuple[str, str | None]] = {
    ("2020-05", "武强县", 3): ("late", "2020-05-21T00:00:30+08:00"),
    ("2020-05", "武强县", 4): ("late", "2020-05-21T00:00:30+08:00"),
    ("2020-06", "阜城县", 1): ("on_time", "2020-06-20T23:59:59+08:00"),
    ("2020-07", "安平县", 6): ("missing", None),
    ("2020-08", "桃城区", 1): ("late", "2020-08-21T09:15:00+08:00"),
    ("2020-08", "滨湖新区", 2): ("missing", None),
    ("2020-09", "高新区", 9): ("late", "2020-09-25T15:05:00+08:00"),
    ("2020-09", "景县", 8): ("on_time", "2020-09-20T23:59:59+08:00"),
    ("2020-10", "饶阳县", 7): ("on_time", None),  # an .et file, read (.xlsx without xlwt: see test_season)
}
