package reader

import (
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// scanAll returns the tokens of doc as strings: <name attrs>, </name>, "text".
func scanAll(r io.Reader) ([]string, error) {
	sc := newXMLScanner(r)
	var toks []string
	for {
		err := sc.next()
		if err == io.EOF {
			return toks, nil
		}
		if err != nil {
			return toks, err
		}
		switch sc.kind {
		case xmlStart:
			var attrs []string
			if err := sc.eachAttr(func(n, v []byte) { attrs = append(attrs, string(n)+"="+attrValue(v)) }); err != nil {
				return toks, err
			}
			toks = append(toks, "<"+string(sc.name)+" "+strings.Join(attrs, ",")+">")
		case xmlEnd:
			toks = append(toks, "</"+string(sc.name)+">")
		case xmlText:
			toks = append(toks, `"`+string(sc.text)+`"`)
		}
	}
}

func TestXMLScanner(t *testing.T) {
	doc := "\xef\xbb\xbf<?xml version=\"1.0\"?>\n<x:worksheet xmlns:x=\"urn:x\"><!-- a > comment -->" +
		`<x:c xmlns:r="urn:r" r="A1" t='s' note="a>b &amp; &#x4E2D;&#25991;"/>` +
		`<v>1 &lt; 2 &quot;&apos;&gt;</v><t><![CDATA[<not a tag> & ]]></t></x:worksheet>`
	want := []string{`"` + "\n" + `"`, "<worksheet >", "<c r=A1,t=s,note=a>b & 中文>", "</c>",
		"<v >", `"1 < 2 "'>"`, "</v>", "<t >", `"<not a tag> & "`, "</t>", "</worksheet>"}
	for name, r := range map[string]io.Reader{
		"plain":    strings.NewReader(doc),
		"one byte": iotest.OneByteReader(strings.NewReader(doc)),
		"half":     iotest.HalfReader(strings.NewReader(doc)),
	} {
		got, err := scanAll(r)
		if err != nil {
			t.Fatalf("%s: %v after %q", name, err, got)
		}
		if strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("%s:\n got %q\nwant %q", name, got, want)
		}
	}
}

// TestXMLScannerSpaces reads tags with XML white space (space, tab, CR,
// LF) around attribute names, their = and before a tag's end, which XML
// allows and some writers emit.
func TestXMLScannerSpaces(t *testing.T) {
	doc := "<c \r\n r = \"A1\"\n\tt=\t's' ></c \t\r\n><v\n>x</v>"
	want := []string{"<c r=A1,t=s>", "</c>", "<v >", `"x"`, "</v>"}
	got, err := scanAll(strings.NewReader(doc))
	if err != nil || strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("got %q, %v\nwant %q", got, err, want)
	}
}

func TestXMLScannerErrors(t *testing.T) {
	tests := []struct{ name, doc string }{
		{"doctype", `<!DOCTYPE x [<!ENTITY a "b">]><x/>`},
		{"unknown entity", `<x>&bomb;</x>`},
		{"bad char ref", `<x>&#xFFFFFFFF;</x>`},
		{"unclosed tag", `<x a="1"`},
		{"unclosed comment", `<!-- x`},
		{"unclosed cdata", `<x><![CDATA[abc`},
		{"tag in tag", `<x<y>`},
		{"huge tag", "<x a=\"" + strings.Repeat("a", maxTokenBytes+10) + "\"/>"},
		{"huge text", "<x>" + strings.Repeat("a", maxTokenBytes+10) + "</x>"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := scanAll(strings.NewReader(tc.doc)); err == nil {
				t.Errorf("scanning %.40q succeeded", tc.doc)
			} else if strings.HasPrefix(tc.name, "huge") && !errors.Is(err, errTokenTooLong) {
				t.Errorf("err = %v, want errTokenTooLong", err)
			}
		})
	}
}

func TestParseRefBytes(t *testing.T) {
	tests := []struct {
		ref      string
		row, col int
		ok       bool
	}{
		{"A1", 1, 0, true},
		{"$B$12", 12, 1, true},
		{"XFD1048576", 1048576, 16383, true},
		{"XFE1", 0, 0, false},
		{"A1048577", 0, 0, false},
		{"A0", 0, 0, false},
		{"1", 0, 0, false},
		{"ABCD1", 0, 0, false},
		{"", 0, 0, false},
	}
	for _, tc := range tests {
		r, c, ok := parseRefBytes([]byte(tc.ref))
		if r != tc.row || c != tc.col || ok != tc.ok {
			t.Errorf("parseRefBytes(%q) = %d, %d, %v; want %d, %d, %v", tc.ref, r, c, ok, tc.row, tc.col, tc.ok)
		}
		r2, c2, ok2 := parseRef(tc.ref)
		if r2 != r || c2 != c || ok2 != ok {
			t.Errorf("parseRef(%q) = %d, %d, %v; parseRefBytes disagrees", tc.ref, r2, c2, ok2)
		}
	}
}

// FuzzXMLScanner checks that the scanner never panics and never returns a
// token longer than its limit.
func FuzzXMLScanner(f *testing.F) {
	f.Add(`<row r="1"><c r="A1" t="s"><v>0</v></c></row>`)
	f.Add(`<x a='&amp;&#20013;'><![CDATA[]]]]><!----></x>`)
	f.Fuzz(func(t *testing.T, doc string) {
		toks, _ := scanAll(strings.NewReader(doc))
		for _, tok := range toks {
			if len(tok) > maxTokenBytes+64 {
				t.Fatalf("token of %d bytes", len(tok))
			}
		}
	})
}
