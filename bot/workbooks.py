"""Workbooks we write (openpyxl): they must open cleanly in WPS and Excel, Chinese text and all."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font

from scoring.standings import COMPONENT_LABELS



def write_standings(path: Path, data: dict[str, Any]) -> None:
    """The standings of one month: rank, unit, total and every component, frozen header, sized columns."""
    book = Workbook()
    sheet = book.active
    sheet.title = f"{data['month']} 排名"
    names = list(data["units"][0]["components"]) if data["units"] else list(COMPONENT_LABELS)
    sheet.append([f"{data['month']} 残疾人服务工程督导累计得分排名"])
    sheet.append(["名次", "单位", "总分", *(COMPONENT_LABELS[name] for name in names)])
    for row in data["units"]:
        sheet.append([row["rank"], row["unit"], row["total"], *(row["components"][name] for name in names)])
    sheet["A1"].font = Font(bold=True, size=14)
    for cell in sheet[2]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(horizontal="center", wrap_text=True)
    sheet.freeze_panes = "C3"
    sheet.column_dimensions["A"].width = 6
    sheet.column_dimensions["B"].width = 12
    for index in range(3, 4 + len(names)):
        sheet.column_dimensions[sheet.cell(row=2, column=index).column_letter].width = 14
    book.save(path)
