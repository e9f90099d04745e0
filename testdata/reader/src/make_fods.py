#!/usr/bin/env python3
"""Writes the flat-ODS sources of the reader fixtures (see ../README.md).

LibreOffice opens these and saves them as .xlsx, .xls, .ods and text, so the
fixtures are files written by a real spreadsheet program. Run from this
directory: python3 make_fods.py
"""
from xml.sax.saxutils import escape

HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<office:document xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"
 xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0"
 xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"
 xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0"
 xmlns:number="urn:oasis:names:tc:opendocument:xmlns:datastyle:1.0"
 xmlns:fo="urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0"
 xmlns:of="urn:oasis:names:tc:opendocument:xmlns:of:1.2"
 xmlns:config="urn:oasis:names:tc:opendocument:xmlns:config:1.0"
 office:version="1.3" office:mimetype="application/vnd.oasis.opendocument.spreadsheet">
<office:settings><config:config-item-set config:name="ooo:view-settings">
 <config:config-item-map-indexed config:name="Views"><config:config-item-map-entry>
  <config:config-item config:name="ViewId" config:type="string">view1</config:config-item>
  <config:config-item config:name="ActiveTable" config:type="string">%(active)s</config:config-item>
 </config:config-item-map-entry></config:config-item-map-indexed>
</config:config-item-set></office:settings>
<office:automatic-styles>
 <number:number-style style:name="N0"><number:number number:decimal-places="0" number:min-decimal-places="0" number:min-integer-digits="1"/></number:number-style>
 <number:number-style style:name="N2"><number:number number:decimal-places="2" number:min-decimal-places="2" number:min-integer-digits="1" number:grouping="true"/></number:number-style>
 <number:date-style style:name="D1"><number:year number:style="long"/><number:text>-</number:text><number:month number:style="long"/><number:text>-</number:text><number:day number:style="long"/></number:date-style>
 <number:text-style style:name="T1"><number:text-content/></number:text-style>
 <style:style style:name="zero" style:family="table-cell" style:data-style-name="N0"/>
 <style:style style:name="money" style:family="table-cell" style:data-style-name="N2"/>
 <style:style style:name="date" style:family="table-cell" style:data-style-name="D1"/>
 <style:style style:name="text" style:family="table-cell" style:data-style-name="T1"/>
 <style:style style:name="shown" style:family="table" style:master-page-name="Default"><style:table-properties table:display="true" style:writing-mode="lr-tb"/></style:style>
 <style:style style:name="hidden" style:family="table" style:master-page-name="Default"><style:table-properties table:display="false" style:writing-mode="lr-tb"/></style:style>
</office:automatic-styles>
<office:body><office:spreadsheet>
"""
TAIL = "</office:spreadsheet></office:body></office:document>\n"


def s(text, span=1, rows=1):
    """A text cell, optionally merged over span columns and rows rows."""
    attrs = ' office:value-type="string" table:style-name="text"'
    if span > 1 or rows > 1:
        attrs += f' table:number-columns-spanned="{span}" table:number-rows-spanned="{rows}"'
    return f'<table:table-cell{attrs}><text:p>{escape(text)}</text:p></table:table-cell>'


def n(value, style=None):
    st = f' table:style-name="{style}"' if style else ''
    return f'<table:table-cell{st} office:value-type="float" office:value="{value}"/>'


def d(iso):
    return f'<table:table-cell table:style-name="date" office:value-type="date" office:date-value="{iso}"/>'


def f_num(formula, value):
    return f'<table:table-cell table:formula="{escape(formula)}" office:value-type="float" office:value="{value}"/>'


def f_str(formula, value):
    return (f'<table:table-cell table:formula="{escape(formula, {chr(34): "&quot;"})}" office:value-type="string" '
            f'office:string-value="{escape(value)}"><text:p>{escape(value)}</text:p></table:table-cell>')


def covered():
    return '<table:covered-table-cell/>'


def empty():
    return '<table:table-cell/>'


def table(name, rows, hidden=False):
    out = [f'<table:table table:name="{name}" table:style-name="{"hidden" if hidden else "shown"}">',
           '<table:table-column table:number-columns-repeated="6"/>']
    for cells in rows:
        out.append('<table:table-row>' + ''.join(cells) + '</table:table-row>')
    out.append('</table:table>')
    return '\n'.join(out)


def write(path, *tables, active='Sheet1'):
    with open(path, 'w', encoding='utf-8') as fh:
        fh.write(HEAD % {'active': active} + '\n'.join(tables) + TAIL)


A = '6222021234567890128'  # 19 digits, Luhn-valid
B = '6217001234567893'     # 16 digits, Luhn-valid
C = '621700123456789011'   # 18 digits, Luhn-valid
D = '622202123452'         # 12 digits, Luhn-valid
E = '6228480012345678903'  # 19 digits, Luhn-valid
F = '6222021234567890127'  # 19 digits, fails Luhn

# layout: a hidden first sheet, a merged title, a note, the header on row 3,
# formulas, dates, merged names, a blank row, and rows to refuse.
write('layout.fods',
      table('说明', [[s('姓名'), s('银行卡号')], [s('不应读取'), s(A)]], hidden=True),
      table('客户', [
          [s('2026年11月 客户银行卡核验名单', span=5), covered(), covered(), covered(), covered()],
          [s('制表：合规部'), empty(), empty(), s('日期'), d('2026-11-27')],
          [s('序号'), s('姓名'), s('银行卡号'), s('开户日期'), s('金额')],
          [f_num('of:=ROW()-3', 1), s('张三'), s(A), d('2020-01-15'), n(1234.5, 'money')],
          [f_num('of:=ROW()-3', 2), s('李 四'), s('6217-0012-3456-7893'), d('2021-02-28'), n(20, 'money')],
          [f_num('of:=ROW()-3', 3), s('王五', rows=2), s(C), d('2019-12-31'), n(0.5, 'money')],
          [f_num('of:=ROW()-3', 4), covered(), s(E), empty(), empty()],
          [],
          [f_num('of:=ROW()-3', 6), s('阿依古丽•买买提'), s('６２２２０２１２３４５６７８９０１２８'), empty(), empty()],
          [f_num('of:=ROW()-3', 7), s('赵六'), f_str('of:="622202"&"123452"', D), empty(), empty()],
          [f_num('of:=ROW()-3', 8), s('钱七'), s('12345'), empty(), empty()],
          [f_num('of:=ROW()-3', 9), empty(), s(A), empty(), empty()],
          [f_num('of:=ROW()-3', 10), s('孙八'), s("'" + B), empty(), empty()],
          [f_num('of:=ROW()-3', 11), s('周九'), s(F), empty(), empty()],
          [empty(), empty(), empty(), empty(), n(0)],
      ]), active='客户')

# cards typed as numbers, in General format (-general) and in "0" format
# (-zero); the last row keeps its card as text.
for suffix, style in (('general', None), ('zero', 'zero')):
    write(f'cards-{suffix}.fods', table('Sheet1', [
        [s('姓名'), s('卡号')],
        [s('张三'), n(A, style)],
        [s('李四'), n(D, style)],
        [s('王五'), n(B, style)],
        [s('赵六'), s(E)],
    ]))

# list: the source of the text files in every encoding and delimiter.
write('list.fods', table('Sheet1', [
    [s('客户姓名'), s('银行卡号'), s('备注')],
    [s('张三'), s(A), s('首次, 核验')],
    [s('阿依古丽·买买提'), s(C), s('"VIP"')],
    [s('李四'), s('123'), s('')],
    [s('王五'), s(F), s('')],
]))

# names: what no person is called, and look-alikes to normalise (issue #12).
write('names.fods', table('Sheet1', [
    [s('姓名'), s('银行卡号')],
    [s('张三'), s(A)],
    [s('王\u202e伟'), s(A)],                      # right-to-left override inside
    [s('\u200e\u200f'), s(A)],                    # only direction marks
    [s('\U0001f600\U0001f600'), s(A)],            # emoji only
    [s('=HYPERLINK("http://x","y")'), s(A)],       # formula text
    [s('@马娟'), s(A)],
    [s('Ｊｏｈｎ Ｓｍｉｔｈ'), s(A)],               # full-width Latin
    [s('阿依古丽.买买提'), s(A)],                  # ASCII full stop between Chinese
    [s('王．伟'), s(A)],                           # full-width full stop
    [s('\U0001f468\u200d\U0001f469\u200d\U0001f467'), s(A)],  # emoji joined by ZWJ
    [s('李\u200b娜'), s(A)],                       # zero-width space inside
]))
