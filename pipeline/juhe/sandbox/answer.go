package sandbox

import (
	"io"
	"math"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/cardverify/cardverify/pipeline/juhe"
)

// maxForm caps the request body read: a real request is a few hundred bytes.
const maxForm = 64 << 10

// buffer is a reusable byte slice for reading a request and writing an
// answer, so that a busy fake allocates little per request.
type buffer struct{ b []byte }

var bufPool = sync.Pool{New: func() any { return &buffer{b: make([]byte, 0, 1024)} }}

// readBody reads up to maxForm bytes of the request body into the buffer.
func (b *buffer) readBody(r *http.Request) []byte {
	b.b = b.b[:0]
	lr := io.LimitReader(r.Body, maxForm)
	for {
		if len(b.b) == cap(b.b) {
			b.b = append(b.b, 0)[:len(b.b)]
		}
		n, err := lr.Read(b.b[len(b.b):cap(b.b)])
		b.b = b.b[:len(b.b)+n]
		if err != nil {
			return b.b
		}
	}
}

var (
	jsonType = []string{"application/json;charset=utf-8"}
	htmlType = []string{"text/html"}
)

// answer writes reply for exchange x and fills in what was answered.
func (h *Handler) answer(w http.ResponseWriter, x *exchange, reply Reply, plain, wantJobID bool, buf *buffer) {
	switch reply.kind {
	case kindStatus:
		x.status = reply.status
		if reply.retryAfter != "" {
			w.Header()["Retry-After"] = []string{reply.retryAfter}
		}
		writeHTML(w, reply.status)
		return
	case kindRaw:
		x.status = reply.status
		w.Header()["Content-Type"] = []string{reply.contentType}
		w.WriteHeader(reply.status)
		io.WriteString(w, reply.body)
		return
	case kindHangup:
		x.status = 0
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				conn.Close()
				return
			}
		}
		panic(http.ErrAbortHandler) // net/http closes the connection
	}

	code, res, reason := reply.code, reply.res, reply.reason
	if reply.kind == kindRule || reply.kind == kindTruncated {
		code, res = Rule(x.card)
	}
	x.code, x.res = code, res
	if code != 0 {
		x.res = 0
	}
	if code == 0 && wantJobID && !reply.noJobID {
		x.jobID = jobID(h.seed, x.n)
		if h.prefix != "SANDBOX" {
			x.jobID = h.prefix + x.jobID[len("SANDBOX"):]
		}
	}
	echo := x.card
	if reply.echo != "" {
		echo = reply.echo
	}
	b := appendAnswer(buf.b[:0], x, echo, reason, plain)
	buf.b = b
	if reply.kind == kindTruncated {
		b = b[:len(b)/2]
		x.fault = "truncated"
	} else if code == 0 {
		x.billed = true
		h.billed.Add(1)
	}
	w.Header()["Content-Type"] = jsonType
	w.Write(b)
}

// appendAnswer appends the JSON answer for x to b, in the vendor's layout.
func appendAnswer(b []byte, x *exchange, echo, reason string, plain bool) []byte {
	if reason == "" {
		reason = simulatedReason(x.code)
	}
	b = append(b, `{"reason":`...)
	b = appendString(b, reason)
	if x.code != 0 {
		b = append(b, `,"result":null,"error_code":`...)
		b = strconv.AppendInt(b, int64(x.code), 10)
		return append(b, '}')
	}
	b = append(b, `,"result":{`...)
	if plain {
		// The plain endpoint echoes the name and a masked card.
		b = append(b, `"realname":`...)
		b = appendString(b, x.name)
		b = append(b, `,"bankcard":"`...)
		b = append(b, echo[:min(5, len(echo))]...)
		b = append(b, `*****",`...)
	}
	b = append(b, `"res":`...)
	b = strconv.AppendInt(b, int64(x.res), 10)
	if x.jobID != "" {
		b = append(b, `,"jobid":"`...)
		b = append(b, x.jobID...)
		b = append(b, '"')
	}
	return append(b, `},"error_code":0}`...)
}

// simulatedReason is the vendor's text for code, marked as simulated.
func simulatedReason(code int) string {
	if c, ok := juhe.Lookup(code); ok {
		if code == 0 {
			return "成功(模拟)"
		}
		return c.Meaning + "(模拟)"
	}
	return "未知错误(模拟)"
}

// jobID returns the jobid of call n: "SANDBOX" and 16 hex digits.
func jobID(seed, n uint64) string {
	const hexDigits = "0123456789ABCDEF"
	var b [7 + 16]byte
	copy(b[:], "SANDBOX")
	v := mix(seed ^ (n * 0x2545f4914f6cdd1d))
	for i := len(b) - 1; i >= 7; i-- {
		b[i] = hexDigits[v&15]
		v >>= 4
	}
	return string(b[:])
}

// appendString appends s as a JSON string, replacing invalid UTF-8.
func appendString(b []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&15])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, `\ufffd`...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}

// writeHTML writes an nginx-like HTML error page.
func writeHTML(w http.ResponseWriter, status int) {
	text := strconv.Itoa(status) + " " + http.StatusText(status)
	w.Header()["Content-Type"] = htmlType
	w.WriteHeader(status)
	io.WriteString(w, "<html>\r\n<head><title>"+text+"</title></head>\r\n<body>\r\n<center><h1>"+text+
		"</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n")
}

// qpsWindow admits at most size requests in any window of size/qps seconds.
type qpsWindow struct {
	on     atomic.Bool // read without the lock on every request
	mu     sync.Mutex
	window time.Duration
	times  []time.Time // ring of the last admitted requests' times
	next   int         // the oldest entry once the ring is full
	filled int
}

func (q *qpsWindow) set(qps float64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if qps <= 0 || math.IsNaN(qps) || math.IsInf(qps, 0) {
		q.times, q.filled, q.next = nil, 0, 0
		q.on.Store(false)
		return
	}
	size := int(math.Ceil(qps))
	q.window = time.Duration(float64(size) / qps * float64(time.Second))
	q.times, q.filled, q.next = make([]time.Time, size), 0, 0
	q.on.Store(true)
}

func (q *qpsWindow) enabled() bool { return q.on.Load() }

// allow reports whether a request at now is within the limit, and if so
// counts it.
func (q *qpsWindow) allow(now time.Time) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.times) == 0 {
		return true // the limit was removed meanwhile
	}
	if q.filled == len(q.times) && now.Sub(q.times[q.next]) < q.window {
		return false
	}
	q.times[q.next] = now
	q.next = (q.next + 1) % len(q.times)
	q.filled = min(q.filled+1, len(q.times))
	return true
}
