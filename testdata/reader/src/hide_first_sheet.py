#!/usr/bin/env python3
"""Marks the first sheet of an .xlsx hidden and the second one active.

LibreOffice 7.4 run headless exports every sheet as visible (it takes the
displayed sheet, which it never hides, from a view it does not have), so the
hidden sheet is set here and the result is opened and saved again by
LibreOffice (see ../README.md): the fixture is still LibreOffice's own output.

Usage: python3 hide_first_sheet.py IN.xlsx OUT.xlsx
"""
import re
import sys
import zipfile

src, dst = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
    for item in zin.infolist():
        data = zin.read(item.filename)
        if item.filename == "xl/workbook.xml":
            text = data.decode("utf-8")
            text = re.sub(r'(<sheet [^>]*?)state="visible"', r'\1state="hidden"', text, count=1)
            text = re.sub(r'activeTab="\d+"', 'activeTab="1"', text)
            text = re.sub(r'firstSheet="\d+"', 'firstSheet="1"', text)
            data = text.encode("utf-8")
        zout.writestr(item, data)
