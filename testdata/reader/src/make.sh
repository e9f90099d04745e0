#!/bin/sh
# Rebuilds the reader fixtures with LibreOffice (made with 7.4.7, Debian 12's
# libreoffice-calc-nogui). Run from testdata/reader: sh src/make.sh
set -eu
profile=$(mktemp -d)
tmp=$(mktemp -d)
trap 'rm -rf "$profile" "$tmp"' EXIT
lo() { soffice -env:UserInstallation=file://"$profile" --headless "$@" >/dev/null 2>&1; }
csv() { # csv SOURCE OUT FILTER-OPTIONS: export the first sheet as text
	lo --convert-to "${2##*.}:Text - txt - csv (StarCalc):$3" --outdir "$tmp/csv" "$1"
	mv "$tmp/csv/$(basename "${1%.*}").${2##*.}" "$2"
}

(cd src && python3 make_fods.py)

# Workbooks. layout.xlsx gets its hidden first sheet in a second pass (see
# src/hide_first_sheet.py for why).
lo --convert-to xlsx --outdir . src/cards-general.fods src/cards-zero.fods
lo --convert-to xlsx --outdir "$tmp/1" src/layout.fods
python3 src/hide_first_sheet.py "$tmp/1/layout.xlsx" "$tmp/layout.xlsx"
lo --convert-to xlsx --outdir . "$tmp/layout.xlsx"

# Text files. The options are: separator, quote (34 = "), character set
# (76 UTF-8, 85 GBK/code page 936, 65535 UTF-16LE with a BOM), first line.
csv src/list.fods list-utf8.csv 44,34,76,1
{ printf '\357\273\277'; cat list-utf8.csv; } >list-utf8-bom.csv
csv src/list.fods list-gbk.csv 44,34,85,1
csv src/list.fods list-utf16.txt 9,34,65535,1
csv src/list.fods list-semicolon.csv 59,34,76,1
csv src/list.fods list-pipe.txt 124,34,76,1
csv src/cards-general.fods cards-general.csv 44,34,76,1
# Classic Mac OS line endings (a lone CR), as Excel for Mac's "CSV
# (Macintosh)" writes them: LibreOffice cannot, so tr turns its LF into CR.
tr '\n' '\r' <list-utf8.csv >list-cr.csv
# A UTF-8 byte order mark before GBK text, as a tool that adds the mark to a
# file already in GBK leaves it.
{ printf '\357\273\277'; cat list-gbk.csv; } >list-bom-gbk.csv
# Names that are not names (issue #12), as a workbook and as UTF-8 CSV.
lo --convert-to xlsx --outdir . src/names.fods
csv src/names.fods names.csv 44,34,76,1

# Formats to refuse.
lo --convert-to xls --outdir . src/list.fods
lo --convert-to ods --outdir . src/list.fods
