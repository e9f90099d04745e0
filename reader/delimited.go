package reader

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/htmlindex"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"

	"github.com/cardverify/cardverify/pipeline"
)

const (
	// sniffSize is how much of a text file is read to guess its encoding
	// and delimiter.
	sniffSize = 64 << 10
	// maxRecordBytes bounds one record of a text file, so that a file
	// without line breaks cannot take unbounded memory.
	maxRecordBytes = 4 << 20
)

var errRecordTooLong = errors.New("record too long")

// NewDelimited returns a Reader of the delimited text in r (CSV, TSV, or
// any of the encodings and delimiters Open accepts). It reads r to the end
// or until Close; the caller closes r itself. Layout().EstimatedRows is 0.
func NewDelimited(r io.Reader, opt Options) (*Reader, error) {
	return newDelimited("", r, opt, false)
}

func newDelimited(path string, in io.Reader, opt Options, tsv bool) (*Reader, error) {
	br := bufio.NewReaderSize(in, sniffSize)
	sample, err := br.Peek(sniffSize)
	if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	name, enc, bom, err := chooseEncoding(path, sample, opt.Encoding)
	if err != nil {
		return nil, err
	}
	if _, err := br.Discard(bom); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	var text io.Reader = br
	if enc != nil {
		text = transform.NewReader(br, enc.NewDecoder())
	}
	tr := bufio.NewReaderSize(text, sniffSize)
	decoded, err := tr.Peek(sniffSize)
	if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
		return nil, &pipeline.InputError{Path: path, Msg: pipeline.Reason(pipeline.ErrDecode, name), Err: err,
			Hint: pipeline.Reason(pipeline.HintEncoding)}
	}
	delim := sniffDelimiter(decoded, tsv)

	// A lone CR ends a line (classic Mac OS, Excel for Mac's "CSV
	// (Macintosh)"); encoding/csv would keep it inside the field and read
	// the whole file as one record.
	lim := &limitReader{r: loneCR{tr}}
	cr := csv.NewReader(lim)
	cr.Comma = delim
	cr.LazyQuotes = true
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true

	src := &textSource{path: path, csv: cr, lim: lim}
	if c, ok := in.(io.Closer); ok && path != "" {
		src.closer = c
	}
	r := &Reader{path: path, src: src}
	r.layout = Layout{Format: "csv", Delimiter: delim, Encoding: name}
	if err := r.start(opt); err != nil {
		return nil, err
	}
	return r, nil
}

// loneCR turns a CR that no LF follows into an LF. It reads from a
// bufio.Reader so that a CR at the end of a read can be judged by the next
// byte.
type loneCR struct{ r *bufio.Reader }

func (l loneCR) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	for i := 0; i < n; {
		j := bytes.IndexByte(p[i:n], '\r')
		if j < 0 {
			break
		}
		i += j
		if i+1 < n {
			if p[i+1] != '\n' {
				p[i] = '\n'
			}
		} else if next, perr := l.r.Peek(1); perr != nil || next[0] != '\n' {
			p[i] = '\n'
		}
		i++
	}
	return n, err
}

// chooseEncoding returns the encoding of a text file from its first bytes
// or the label the user gave: its name, a decoder (nil for UTF-8, which
// needs none) and the length of the byte order mark to skip. A byte order
// mark is skipped whatever the label says, and one that the text after it
// contradicts (a UTF-8 mark before GBK text) is an *pipeline.InputError
// naming --encoding.
func chooseEncoding(path string, sample []byte, label string) (string, encoding.Encoding, int, error) {
	bom := 0
	switch {
	case bytes.HasPrefix(sample, []byte{0xEF, 0xBB, 0xBF}):
		bom = 3
	case bytes.HasPrefix(sample, []byte{0xFF, 0xFE}), bytes.HasPrefix(sample, []byte{0xFE, 0xFF}):
		bom = 2
	}
	if label != "" {
		l := strings.ToLower(strings.TrimSpace(label))
		switch l {
		case "utf-8", "utf8":
			return "utf-8", nil, bom, nil
		case "utf-16", "utf16":
			// The byte order mark decides; without one, little endian,
			// as Windows writes.
			if bom == 2 && sample[0] == 0xFE {
				return "utf-16be", unicode.UTF16(unicode.BigEndian, unicode.IgnoreBOM), 2, nil
			}
			return "utf-16le", unicode.UTF16(unicode.LittleEndian, unicode.IgnoreBOM), bom, nil
		case "utf-16le", "utf-16be", "utf16le", "utf16be":
			order := unicode.LittleEndian
			if strings.HasSuffix(l, "be") {
				order = unicode.BigEndian
			}
			return strings.Replace(l, "utf16", "utf-16", 1), unicode.UTF16(order, unicode.IgnoreBOM), bom, nil
		}
		enc, err := htmlindex.Get(l)
		if err != nil {
			return "", nil, 0, &pipeline.InputError{Path: path, Msg: pipeline.Reason(pipeline.ErrEncodingName, label),
				Hint: pipeline.Reason(pipeline.HintEncodings)}
		}
		// The user named the encoding: a byte order mark before the text
		// (left by a tool that added one to a file already in GBK) is
		// not text, and decoded as GBK it would be mojibake in the first
		// header.
		return l, enc, bom, nil
	}
	switch {
	case bom == 3 && !validUTF8Prefix(sample[3:]):
		return "", nil, 0, &pipeline.InputError{Path: path,
			Msg:  pipeline.Reason(pipeline.ErrBOM8),
			Hint: pipeline.Reason(pipeline.HintBOM8)}
	case bom == 2 && len(sample) > 8 && bytes.IndexByte(sample[2:], 0) < 0:
		// UTF-16 text of a list has a zero byte in every ASCII
		// character: its delimiters and line ends.
		return "", nil, 0, &pipeline.InputError{Path: path,
			Msg:  pipeline.Reason(pipeline.ErrBOM16),
			Hint: pipeline.Reason(pipeline.HintBOM16)}
	case bom == 3:
		return "utf-8-bom", nil, 3, nil
	case bom == 2 && sample[0] == 0xFF:
		return "utf-16le", unicode.UTF16(unicode.LittleEndian, unicode.IgnoreBOM), 2, nil
	case bom == 2:
		return "utf-16be", unicode.UTF16(unicode.BigEndian, unicode.IgnoreBOM), 2, nil
	}
	if err := checkText(path, sample); err != nil {
		return "", nil, 0, err
	}
	if validUTF8Prefix(sample) {
		return "utf-8", nil, 0, nil
	}
	return "gb18030", simplifiedchinese.GB18030, 0, nil
}

// checkText refuses what is plainly not a text file.
func checkText(path string, sample []byte) error {
	var msg string
	switch {
	case len(sample) == 0:
		return &pipeline.InputError{Path: path, Msg: pipeline.Reason(pipeline.ErrEmpty), Hint: pipeline.Reason(pipeline.HintRightFile)}
	case bytes.HasPrefix(sample, []byte("PK\x03\x04")):
		msg = pipeline.Reason(pipeline.ErrZipNotText)
	case bytes.HasPrefix(sample, []byte{0xD0, 0xCF, 0x11, 0xE0}):
		msg = pipeline.Reason(pipeline.ErrXLSNotText)
	case bytes.IndexByte(sample, 0) >= 0:
		msg = pipeline.Reason(pipeline.ErrBinary)
	default:
		return nil
	}
	return &pipeline.InputError{Path: path, Msg: msg,
		Hint: pipeline.Reason(pipeline.HintNotText)}
}

// validUTF8Prefix reports whether b is valid UTF-8, allowing a character
// cut at the end of the sample.
func validUTF8Prefix(b []byte) bool {
	if utf8.Valid(b) {
		return true
	}
	for cut := 1; cut <= 3 && cut < len(b); cut++ {
		if utf8.Valid(b[:len(b)-cut]) && !utf8.FullRune(b[len(b)-cut:]) {
			return true
		}
	}
	return false
}

// sniffDelimiter picks among comma, tab, semicolon and pipe the separator
// that appears the same number of times on most of the first lines.
func sniffDelimiter(sample []byte, tsv bool) rune {
	if bytes.IndexByte(sample, '\r') >= 0 {
		// Lines may end with CR LF or a lone CR.
		sample = bytes.ReplaceAll(bytes.ReplaceAll(sample, []byte("\r\n"), []byte{'\n'}), []byte{'\r'}, []byte{'\n'})
	}
	lines := bytes.Split(sample, []byte{'\n'})
	if len(lines) > 1 {
		lines = lines[:len(lines)-1] // the last line may be cut
	}
	if len(lines) > 50 {
		lines = lines[:50]
	}
	best, bestScore := ',', 0
	if tsv {
		best = '\t'
	}
	for _, d := range []byte{',', '\t', ';', '|'} {
		counts := map[int]int{}
		for _, l := range lines {
			if n := countOutsideQuotes(l, d); n > 0 {
				counts[n]++
			}
		}
		score := 0
		for _, c := range counts {
			score = max(score, c)
		}
		if score > bestScore {
			best, bestScore = rune(d), score
		}
	}
	return best
}

func countOutsideQuotes(line []byte, d byte) int {
	n, quoted := 0, false
	for _, c := range line {
		switch {
		case c == '"':
			quoted = !quoted
		case c == d && !quoted:
			n++
		}
	}
	return n
}

// limitReader fails a read when the csv.Reader has consumed more than
// maxRecordBytes since the end of the last record. (csv.Reader's
// InputOffset moves line by line, so a quoted field that never closes
// would go unnoticed by it.)
type limitReader struct {
	r     io.Reader
	n     int64
	start int64 // InputOffset at the end of the last record
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.n-l.start > maxRecordBytes {
		return 0, errRecordTooLong
	}
	k, err := l.r.Read(p)
	l.n += int64(k)
	return k, err
}

// textSource yields the records of a delimited text file.
type textSource struct {
	path   string
	csv    *csv.Reader
	lim    *limitReader
	closer io.Closer
	row    int
	cells  []pipeline.Cell
}

func (s *textSource) next() (int, []pipeline.Cell, error) {
	rec, err := s.csv.Read()
	if err == io.EOF {
		return 0, nil, io.EOF
	}
	row := s.row + 1
	if errors.Is(err, errRecordTooLong) {
		return 0, nil, &pipeline.InputError{Path: s.path, Row: row,
			Msg:  pipeline.Reason(pipeline.ErrLongRecord, maxRecordBytes>>20),
			Hint: pipeline.Reason(pipeline.HintQuotes)}
	}
	if err != nil {
		return 0, nil, &pipeline.InputError{Path: s.path, Row: row, Msg: pipeline.Reason(pipeline.ErrRecord), Err: err,
			Hint: pipeline.Reason(pipeline.HintRecord)}
	}
	if len(rec) > maxColumns {
		return 0, nil, &pipeline.InputError{Path: s.path, Row: row,
			Msg:  pipeline.Reason(pipeline.ErrWideRecord, len(rec), maxColumns),
			Hint: pipeline.Reason(pipeline.HintWideRecord)}
	}
	s.lim.start = s.csv.InputOffset()
	s.row = row
	s.cells = s.cells[:0]
	for i, f := range rec {
		if len(f) > maxCellChars && utf8.RuneCountInString(f) > maxCellChars {
			return 0, nil, &pipeline.InputError{Path: s.path, Row: row,
				Msg:  pipeline.Reason(pipeline.ErrLongColumn, columnName(i), maxCellChars),
				Hint: pipeline.Reason(pipeline.HintQuotes)}
		}
		s.cells = append(s.cells, pipeline.Cell{Value: f})
	}
	return row, s.cells, nil
}

func (s *textSource) close() error {
	if s.closer != nil {
		return s.closer.Close()
	}
	return nil
}
