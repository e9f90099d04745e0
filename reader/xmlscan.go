package reader

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"unicode/utf8"
)

// xmlScanner is a small streaming XML tokenizer for the two big parts of a
// workbook, the sheet and the shared strings. encoding/xml allocates for
// every token and spent two thirds of the time of reading a sheet; this one
// reuses its buffers and leaves attributes unparsed until asked. It knows
// what those parts hold: elements, attributes, text with the predefined and
// numeric entities, CDATA, comments and processing instructions. A DOCTYPE
// is refused. Names are compared without their namespace prefix.
type xmlScanner struct {
	r *bufio.Reader

	kind  xmlKind
	name  []byte // local name of a start or end tag
	attrs []byte // raw attributes of a start tag
	empty bool   // a start tag that closes itself: <c/>
	text  []byte // decoded text

	tag []byte // the current tag, for name and attrs
	buf []byte // scratch for decoding
}

type xmlKind uint8

const (
	xmlStart xmlKind = iota + 1
	xmlEnd
	xmlText
)

var errDoctype = errors.New("XML with a DOCTYPE")

func newXMLScanner(r io.Reader) *xmlScanner {
	br := bufio.NewReaderSize(r, 64<<10)
	if b, err := br.Peek(3); err == nil && bytes.Equal(b, []byte{0xEF, 0xBB, 0xBF}) {
		br.Discard(3)
	}
	return &xmlScanner{r: br}
}

// next reads the next token. It returns io.EOF at the end of the input,
// errTokenTooLong for a token longer than maxTokenBytes.
func (s *xmlScanner) next() error {
	if s.empty {
		// The end of a self-closing tag, as a token of its own.
		s.empty = false
		s.kind = xmlEnd
		return nil
	}
	b, err := s.r.Peek(1)
	if err != nil {
		if err == io.EOF && len(b) == 0 {
			return io.EOF
		}
		return err
	}
	if b[0] != '<' {
		return s.readText()
	}
	s.r.Discard(1)
	b, err = s.r.Peek(1)
	if err != nil {
		return unexpectedEOF(err)
	}
	switch b[0] {
	case '/':
		s.r.Discard(1)
		if err := s.readTag(); err != nil {
			return err
		}
		s.kind = xmlEnd
		s.name = localName(trimSpaceRight(s.tag))
		return nil
	case '?':
		if err := s.skipTo("?>"); err != nil {
			return err
		}
		return s.next()
	case '!':
		b, _ := s.r.Peek(8)
		switch {
		case bytes.HasPrefix(b, []byte("![CDATA[")):
			s.r.Discard(8)
			return s.readCDATA()
		case bytes.HasPrefix(b, []byte("!--")):
			if err := s.skipTo("-->"); err != nil {
				return err
			}
			return s.next()
		}
		return errDoctype
	}
	if err := s.readTag(); err != nil {
		return err
	}
	tag := s.tag
	if n := len(tag); n > 0 && tag[n-1] == '/' {
		s.empty = true
		tag = tag[:n-1]
	}
	end := 0
	for end < len(tag) && !isXMLSpace(tag[end]) {
		end++
	}
	if bytes.IndexByte(tag, '<') >= 0 {
		return errors.New("XML syntax error: '<' inside a tag")
	}
	s.kind = xmlStart
	s.name = localName(tag[:end])
	s.attrs = tag[end:]
	if len(s.name) == 0 {
		return errors.New("XML syntax error: empty element name")
	}
	return nil
}

func unexpectedEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

func localName(name []byte) []byte {
	if i := bytes.IndexByte(name, ':'); i >= 0 {
		return name[i+1:]
	}
	return name
}

// readTag reads up to the '>' that ends a tag outside quoted attribute
// values, into s.tag without the '>'.
func (s *xmlScanner) readTag() error {
	s.tag = s.tag[:0]
	var quote byte
	for {
		chunk, err := s.r.ReadSlice('>')
		for _, c := range chunk {
			switch {
			case quote != 0 && c == quote:
				quote = 0
			case quote == 0 && (c == '"' || c == '\''):
				quote = c
			}
		}
		s.tag = append(s.tag, chunk...)
		if len(s.tag) > maxTokenBytes {
			return errTokenTooLong
		}
		switch {
		case err == nil && quote == 0:
			s.tag = s.tag[:len(s.tag)-1]
			return nil
		case err == nil, err == bufio.ErrBufferFull:
		default:
			return unexpectedEOF(err)
		}
	}
}

func (s *xmlScanner) readText() error {
	s.buf = s.buf[:0]
	for {
		chunk, err := s.r.ReadSlice('<')
		if err == nil {
			chunk = chunk[:len(chunk)-1]
			s.r.UnreadByte()
		}
		s.buf = append(s.buf, chunk...)
		if len(s.buf) > maxTokenBytes {
			return errTokenTooLong
		}
		if err == nil || err == io.EOF {
			break
		}
		if err != bufio.ErrBufferFull {
			return err
		}
	}
	s.kind = xmlText
	var err error
	s.text, err = unescape(s.text[:0], s.buf)
	return err
}

func (s *xmlScanner) readCDATA() error {
	s.text = s.text[:0]
	for {
		chunk, err := s.r.ReadSlice('>')
		s.text = append(s.text, chunk...)
		if len(s.text) > maxTokenBytes {
			return errTokenTooLong
		}
		if bytes.HasSuffix(s.text, []byte("]]>")) {
			s.text = s.text[:len(s.text)-3]
			s.kind = xmlText
			return nil
		}
		if err != nil && err != bufio.ErrBufferFull {
			return unexpectedEOF(err)
		}
	}
}

// skipTo discards input up to and including end.
func (s *xmlScanner) skipTo(end string) error {
	last := end[len(end)-1]
	s.buf = s.buf[:0]
	for {
		chunk, err := s.r.ReadSlice(last)
		s.buf = append(s.buf, chunk...)
		if len(s.buf) > maxTokenBytes {
			return errTokenTooLong
		}
		if bytes.HasSuffix(s.buf, []byte(end)) {
			return nil
		}
		if err != nil && err != bufio.ErrBufferFull {
			return unexpectedEOF(err)
		}
	}
}

// eachAttr calls fn with the local name and the raw (still escaped) value
// of each attribute of the current start tag, namespace declarations left
// out.
func (s *xmlScanner) eachAttr(fn func(name, value []byte)) error {
	a := s.attrs
	for {
		a = trimSpaceLeft(a)
		if len(a) == 0 {
			return nil
		}
		eq := bytes.IndexByte(a, '=')
		if eq < 0 {
			return fmt.Errorf("XML syntax error: attribute without a value in <%s>", s.name)
		}
		name := trimSpaceRight(a[:eq])
		a = trimSpaceLeft(a[eq+1:])
		if len(a) == 0 || (a[0] != '"' && a[0] != '\'') {
			return fmt.Errorf("XML syntax error: unquoted attribute in <%s>", s.name)
		}
		end := bytes.IndexByte(a[1:], a[0])
		if end < 0 {
			return fmt.Errorf("XML syntax error: unclosed attribute in <%s>", s.name)
		}
		if !bytes.Equal(name, []byte("xmlns")) && !bytes.HasPrefix(name, []byte("xmlns:")) {
			// Namespace declarations are not attributes: xmlns:r would
			// otherwise pass for r.
			fn(localName(name), a[1:1+end])
		}
		a = a[2+end:]
	}
}

// attrValue decodes the entities of a raw attribute value.
func attrValue(raw []byte) string {
	if bytes.IndexByte(raw, '&') < 0 {
		return string(raw)
	}
	v, err := unescape(nil, raw)
	if err != nil {
		return string(raw)
	}
	return string(v)
}

// unescape appends text with its entities decoded to dst.
func unescape(dst, text []byte) ([]byte, error) {
	for {
		i := bytes.IndexByte(text, '&')
		if i < 0 {
			return append(dst, text...), nil
		}
		dst = append(dst, text[:i]...)
		text = text[i:]
		semi := bytes.IndexByte(text, ';')
		if semi < 0 || semi > 12 {
			return dst, errors.New("XML syntax error: bad entity")
		}
		ent := text[1:semi]
		text = text[semi+1:]
		switch string(ent) {
		case "lt":
			dst = append(dst, '<')
		case "gt":
			dst = append(dst, '>')
		case "amp":
			dst = append(dst, '&')
		case "quot":
			dst = append(dst, '"')
		case "apos":
			dst = append(dst, '\'')
		default:
			if len(ent) < 2 || ent[0] != '#' {
				return dst, fmt.Errorf("XML syntax error: unknown entity &%s;", ent)
			}
			var n uint64
			var err error
			if ent[1] == 'x' || ent[1] == 'X' {
				n, err = strconv.ParseUint(string(ent[2:]), 16, 32)
			} else {
				n, err = strconv.ParseUint(string(ent[1:]), 10, 32)
			}
			if err != nil || n > utf8.MaxRune {
				return dst, fmt.Errorf("XML syntax error: bad character reference &%s;", ent)
			}
			dst = utf8.AppendRune(dst, rune(n))
		}
	}
}

// atoiBytes parses a non-negative decimal number, false if b is not one.
func atoiBytes(b []byte) (int, bool) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || len(b) > 9 {
		return 0, false
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// parseRefBytes is parseRef without the allocation.
func parseRefBytes(ref []byte) (row, col int, ok bool) {
	i := 0
	col = 0
	for i < len(ref) && ref[i] == '$' {
		i++
	}
	start := i
	for i < len(ref) && (ref[i]|0x20) >= 'a' && (ref[i]|0x20) <= 'z' {
		col = col*26 + int(ref[i]|0x20-'a'+1)
		i++
	}
	if i == start || i-start > 3 || col > 16384 {
		return 0, 0, false
	}
	if i < len(ref) && ref[i] == '$' {
		i++
	}
	r, ok := atoiBytes(ref[i:])
	if !ok || r < 1 || r > maxRows {
		return 0, 0, false
	}
	return r, col - 1, true
}

// trimSpaceLeft and trimSpaceRight cut XML white space (space, tab, CR,
// LF) off b: bytes.TrimLeft and TrimRight (and IndexAny) with a cutset
// build the set at every call, a fifth of a sheet's scan.
func trimSpaceLeft(b []byte) []byte {
	for len(b) > 0 && isXMLSpace(b[0]) {
		b = b[1:]
	}
	return b
}

func trimSpaceRight(b []byte) []byte {
	for len(b) > 0 && isXMLSpace(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

func isXMLSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\r' || c == '\n'
}
