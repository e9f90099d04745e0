package web

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/cardverify/cardverify/cmd/internal/job"
	"github.com/cardverify/cardverify/pipeline/msg"
	"github.com/cardverify/cardverify/reader"
	"github.com/cardverify/cardverify/store"
	"github.com/cardverify/cardverify/writer"
)

func (s *Server) newJobPage() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.render(w, r, http.StatusOK, "new", map[string]any{"Limit": mib(s.opt.MaxUpload)})
	}
}

// acceptedExt are the extensions an upload may have.
var acceptedExt = map[string]bool{".csv": true, ".tsv": true, ".txt": true, ".xlsx": true}

// uploaded checks the file of form field "file": an accepted extension
// and content that fits it. It returns the file as a stream of the
// request's body, its name and extension, or renders the error and
// returns ok false. The stream is read once, where the upload is kept;
// its error may be the size limit's (see saveFailed).
func (s *Server) uploaded(w http.ResponseWriter, r *http.Request) (f io.Reader, name, ext string, ok bool) {
	p, err := filePart(r, "file")
	if err != nil {
		s.formFailed(w, r, err)
		return nil, "", "", false
	}
	if p == nil {
		s.fail(w, r, http.StatusBadRequest, "err_no_file")
		return nil, "", "", false
	}
	name = filepath.Base(strings.ReplaceAll(p.FileName(), `\`, "/"))
	ext = strings.ToLower(filepath.Ext(name))
	if !acceptedExt[ext] {
		s.fail(w, r, http.StatusUnsupportedMediaType, "err_type")
		return nil, "", "", false
	}
	br := bufio.NewReaderSize(p, 4096)
	head, err := br.Peek(512)
	if err != nil && err != io.EOF { // io.EOF: a file shorter than 512 bytes
		s.formFailed(w, r, err)
		return nil, "", "", false
	}
	if !contentFits(ext, head) {
		s.fail(w, r, http.StatusUnsupportedMediaType, "err_content", name, ext)
		return nil, "", "", false
	}
	return br, name, ext, true
}

// filePart returns the part of the upload that is the file of form field
// name, the fields before it skipped; nil when there is none. csrf read
// the form's token and left the rest in the request's context.
func filePart(r *http.Request, name string) (*multipart.Part, error) {
	mr, _ := r.Context().Value(multipartKey{}).(*multipart.Reader)
	if mr == nil {
		return nil, nil // not a multipart form
	}
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		if p.FormName() == name && p.FileName() != "" {
			return p, nil
		}
		if _, err := io.Copy(io.Discard, p); err != nil {
			return nil, err
		}
	}
}

// saveFailed renders the error of keeping an upload: the size limit's
// page when the body was too large, else an internal error that says
// detail.
func (s *Server) saveFailed(w http.ResponseWriter, r *http.Request, err error, detail string) {
	if !s.tooBig(w, r, err) {
		s.fail(w, r, http.StatusInternalServerError, "err_internal", detail)
	}
}

// contentFits reports whether the first bytes of a file fit its extension:
// an XLSX is a zip; a text file is not a zip, PDF or other binary (a NUL
// byte is allowed only with a UTF-16 byte order mark).
func contentFits(ext string, head []byte) bool {
	zip := bytes.HasPrefix(head, []byte("PK\x03\x04"))
	if ext == ".xlsx" {
		return zip
	}
	if zip || bytes.HasPrefix(head, []byte("%PDF")) || bytes.HasPrefix(head, []byte("\xD0\xCF\x11\xE0")) {
		return false
	}
	utf16 := bytes.HasPrefix(head, []byte("\xFF\xFE")) || bytes.HasPrefix(head, []byte("\xFE\xFF"))
	return utf16 || !bytes.Contains(head, []byte{0})
}

func (s *Server) upload() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		f, name, ext, ok := s.uploaded(w, r)
		if !ok {
			return
		}
		rec, err := s.jobs.Create(name, ext, lang(w, r), f)
		if err != nil {
			s.saveFailed(w, r, err, err.Error())
			return
		}
		if err := s.jobs.StartPreview(rec.ID, reader.Options{}, false); err != nil {
			s.fail(w, r, http.StatusInternalServerError, "err_internal", err.Error())
			return
		}
		http.Redirect(w, r, "/jobs/"+rec.ID, http.StatusSeeOther)
	}
}

// column is a choice of column in the preview's form.
type column struct {
	Value, Label string
	Selected     bool
}

// columns lists the header's cells as choices, the one at chosen (0-based)
// selected.
func columns(header []string, chosen int) []column {
	out := make([]column, 0, len(header))
	for i, h := range header {
		label := fmt.Sprintf("%s · %s", colLetter(i), h)
		out = append(out, column{Value: strconv.Itoa(i + 1), Label: label, Selected: i == chosen})
	}
	return out
}

// colLetter is the spreadsheet letter of 0-based column i.
func colLetter(i int) string {
	s := ""
	for i++; i > 0; i = (i - 1) / 26 {
		s = string(rune('A'+(i-1)%26)) + s
	}
	return s
}

// previewData is what the preview page shows.
type previewData struct {
	Job        Record
	P          *job.Preview
	NameCols   []column
	CardCols   []column
	Valid      int
	Price      string
	Cost       string
	MoreInv    map[string]int
	HeaderText string
}

func (s *Server) previewPage(w http.ResponseWriter, r *http.Request, rec Record) {
	d := previewData{Job: rec, P: rec.Preview}
	if p := rec.Preview; p != nil {
		d.NameCols = columns(p.Layout.Header, p.Layout.NameCol)
		d.CardCols = columns(p.Layout.Header, p.Layout.CardCol)
		d.Valid = p.Stats.Rows - p.Stats.Invalid
		if s.opt.Price > 0 {
			d.Price = strconv.FormatFloat(s.opt.Price, 'f', -1, 64)
			d.Cost = fmt.Sprintf("%.2f", s.opt.Price*float64(p.Calls))
		}
	}
	s.render(w, r, http.StatusOK, "preview", d)
}

func (s *Server) preview() func(http.ResponseWriter, *http.Request, Record) {
	return func(w http.ResponseWriter, r *http.Request, rec Record) {
		ro := reader.Options{Sheet: strings.TrimSpace(r.PostFormValue("sheet")),
			NameCol: r.PostFormValue("name_col"), CardCol: r.PostFormValue("card_col")}
		if hr := strings.TrimSpace(r.PostFormValue("header_row")); hr != "" {
			n, err := strconv.Atoi(hr)
			if err != nil || n < 1 || n > 1000 {
				s.fail(w, r, http.StatusBadRequest, "err_header_row")
				return
			}
			ro.HeaderRow = n
		}
		if err := s.jobs.StartPreview(rec.ID, ro, r.PostFormValue("mask_card") == "on"); err != nil {
			s.fail(w, r, http.StatusConflict, "err_state")
			return
		}
		http.Redirect(w, r, "/jobs/"+rec.ID, http.StatusSeeOther)
	}
}

func (s *Server) start() func(http.ResponseWriter, *http.Request, Record) {
	return func(w http.ResponseWriter, r *http.Request, rec Record) {
		if r.PostFormValue("confirm") != "yes" {
			s.fail(w, r, http.StatusBadRequest, "err_confirm")
			return
		}
		calls, err := strconv.Atoi(r.PostFormValue("calls"))
		if err != nil {
			s.fail(w, r, http.StatusBadRequest, "err_changed")
			return
		}
		if err := s.jobs.Begin(rec.ID, calls); err != nil {
			code := "err_changed"
			if errors.Is(err, errNotDraft) {
				code = "err_state"
			}
			s.fail(w, r, http.StatusConflict, code)
			return
		}
		http.Redirect(w, r, "/jobs/"+rec.ID, http.StatusSeeOther)
	}
}

func (s *Server) stop() func(http.ResponseWriter, *http.Request, Record) {
	return func(w http.ResponseWriter, r *http.Request, rec Record) {
		if err := s.jobs.Stop(rec.ID); err != nil {
			s.fail(w, r, http.StatusConflict, "err_state")
			return
		}
		http.Redirect(w, r, "/jobs/"+rec.ID, http.StatusSeeOther)
	}
}

func (s *Server) resume() func(http.ResponseWriter, *http.Request, Record) {
	return func(w http.ResponseWriter, r *http.Request, rec Record) {
		if err := s.jobs.Resume(rec.ID, r.PostFormValue("retry_failed") == "on"); err != nil {
			s.fail(w, r, http.StatusConflict, "err_state")
			return
		}
		http.Redirect(w, r, "/jobs/"+rec.ID, http.StatusSeeOther)
	}
}

// listRow is one line of the jobs page.
type listRow struct {
	Record
	Progress string
	Created  string
}

func (s *Server) jobsPage() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var rows []listRow
		for _, rec := range s.jobs.List() {
			v := s.progress(r, rec, false)
			rows = append(rows, listRow{Record: rec, Progress: v["rows"], Created: rec.Created.In(cst).Format("2006-01-02 15:04")})
		}
		s.render(w, r, http.StatusOK, "jobs", rows)
	}
}

// jobData is what the job page shows.
type jobData struct {
	Job     Record
	V       map[string]string
	Log     []string
	Created string
	Stopped bool
}

func (s *Server) jobPage() func(http.ResponseWriter, *http.Request, Record) {
	return func(w http.ResponseWriter, r *http.Request, rec Record) {
		if rec.State == Draft {
			s.previewPage(w, r, rec)
			return
		}
		_, _, _, running := s.jobs.Live(rec.ID)
		s.render(w, r, http.StatusOK, "job", jobData{Job: rec, V: s.progress(r, rec, true), Log: s.jobs.Log(rec.ID, lang(w, r), 200),
			Created: rec.Created.In(cst).Format("2006-01-02 15:04:05"), Stopped: running && rec.State == Running && s.jobs.StopAsked(rec.ID)})
	}
}

// progress is the figures the job page shows (and the events update),
// formatted in the request's language. withStatus reads the checkpoint
// while the job runs, for the counts of the whole job.
func (s *Server) progress(r *http.Request, rec Record, withStatus bool) map[string]string {
	l := lang(noCookie{}, r)
	v := map[string]string{"state": tr(l, "state_"+rec.State), "state_code": rec.State}
	st := store.Status{}
	if rec.Status != nil {
		st = *rec.Status
	}
	stats, total, rate, running := s.jobs.Live(rec.ID)
	if running && withStatus {
		if now, err := s.jobs.Status(r.Context(), rec.ID); err == nil {
			st = now
		}
	}
	dash := "—"
	v["rate"], v["eta"], v["throttle"] = dash, dash, tr(l, "throttle_none")
	if running {
		done := stats.Resolved()
		total = max(total, done)
		v["rows"] = fmt.Sprintf("%d / %d", done, total)
		v["pct"] = pct(done, total)
		v["rate"] = tr(l, "per_s", strconv.FormatFloat(rate, 'f', 1, 64))
		if eta := stats.ETA(total, s.opt.Now()); eta > 0 {
			v["eta"] = eta.Round(time.Second).String()
		}
		if stats.Limit > 0 && stats.Limit < s.jobs.api.QPS*0.99 {
			v["throttle"] = tr(l, "throttle_on", strconv.FormatFloat(stats.Limit, 'f', 1, 64), strconv.FormatFloat(s.jobs.api.QPS, 'f', -1, 64))
		}
	} else {
		rows := st.Rows
		if rows == 0 && rec.Preview != nil {
			rows = rec.Preview.Stats.Rows
		}
		v["rows"] = fmt.Sprintf("%d / %d", st.Rows-st.Pending, rows)
		v["pct"] = pct(st.Rows-st.Pending, rows)
	}
	for k, n := range map[string]int{"match": st.Match, "mismatch": st.Mismatch, "invalid": st.Invalid, "rejected": st.Rejected,
		"deferred": st.Deferred, "failed": st.Failed, "pending": st.Pending, "calls": st.Calls, "billed": st.BilledCalls,
		"possibly": st.PossiblyBilled + st.InFlight, "simulated": st.SimulatedCalls} {
		v[k] = strconv.Itoa(n)
	}
	return v
}

func pct(done, total int) string {
	if total <= 0 {
		return "0"
	}
	return strconv.Itoa(min(100, done*100/total))
}

// noCookie is a ResponseWriter for lang that drops the cookie it may set.
type noCookie struct{}

func (noCookie) Header() http.Header       { return http.Header{} }
func (noCookie) Write([]byte) (int, error) { return 0, nil }
func (noCookie) WriteHeader(int)           {}

// eventsPeriod is how often the events stream sends the progress.
const eventsPeriod = time.Second

// events streams the job's progress as server-sent events, one JSON object
// of figures per event, until the job's state differs from ?state= (the
// page then reloads) or the client goes away.
func (s *Server) events() func(http.ResponseWriter, *http.Request, Record) {
	return func(w http.ResponseWriter, r *http.Request, rec Record) {
		flusher, ok := w.(http.Flusher)
		if !ok {
			http.Error(w, "streaming unsupported", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("Cache-Control", "no-store")
		seen := r.URL.Query().Get("state")
		tick := time.NewTicker(eventsPeriod)
		defer tick.Stop()
		for {
			cur, ok := s.jobs.Get(rec.ID)
			if !ok {
				return
			}
			v := s.progress(r, cur, true)
			reload := cur.State != seen
			b, _ := json.Marshal(map[string]any{"fields": v, "reload": reload})
			fmt.Fprintf(w, "data: %s\n\n", b)
			flusher.Flush()
			if reload {
				return
			}
			select {
			case <-r.Context().Done():
				return
			case <-tick.C:
			}
		}
	}
}

// formats are the download formats, by the path's {format}.
var formats = map[string]string{"xlsx": ".xlsx", "csv": ".csv"}

func (s *Server) download() func(http.ResponseWriter, *http.Request, Record) {
	return func(w http.ResponseWriter, r *http.Request, rec Record) {
		ext, ok := formats[r.PathValue("format")]
		if !ok {
			s.notFound(w, r)
			return
		}
		if rec.State == Draft {
			s.fail(w, r, http.StatusConflict, "err_not_started")
			return
		}
		path, err := s.jobs.Output(r.Context(), rec.ID, ext)
		if errors.Is(err, errNoCheckpoint) {
			s.fail(w, r, http.StatusConflict, "err_not_started")
			return
		}
		if err != nil {
			s.failText(w, r, http.StatusInternalServerError, msg.Render(lang(w, r), err))
			return
		}
		f, err := os.Open(path)
		if err != nil {
			s.fail(w, r, http.StatusInternalServerError, "err_internal", "open the output")
			return
		}
		defer f.Close()
		fi, err := f.Stat()
		if err != nil {
			s.fail(w, r, http.StatusInternalServerError, "err_internal", "open the output")
			return
		}
		stem := strings.TrimSuffix(rec.Name, filepath.Ext(rec.Name))
		name := stem + ".verified" + ext
		w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
		if ext == ".xlsx" {
			w.Header().Set("Content-Type", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
		} else {
			w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		}
		http.ServeContent(w, r, name, fi.ModTime(), f)
	}
}

// summaryData is what the Summary page shows.
type summaryData struct {
	Job     Record
	S       writer.Summary
	St      store.Status
	Start   string
	End     string
	Meaning map[int]string
}

func (s *Server) summaryPage() func(http.ResponseWriter, *http.Request, Record) {
	return func(w http.ResponseWriter, r *http.Request, rec Record) {
		if rec.State == Draft {
			s.fail(w, r, http.StatusConflict, "err_not_started")
			return
		}
		st, err := s.jobs.Status(r.Context(), rec.ID)
		if err != nil {
			if rec.Status == nil {
				s.fail(w, r, http.StatusConflict, "err_not_started")
				return
			}
			st = *rec.Status
		}
		sheet := ""
		if rec.Preview != nil {
			sheet = rec.Preview.Layout.Sheet
		}
		sum := job.SummaryOf(st, job.Output{Input: rec.Name, Version: s.jobs.version, Price: s.opt.Price}, sheet, s.opt.Now())
		d := summaryData{Job: rec, S: sum, St: st, Meaning: map[int]string{}}
		for _, c := range sum.Codes {
			if m, ok := msg.APIMeaning(lang(w, r), c.Code); ok {
				d.Meaning[c.Code] = m
			}
		}
		if !sum.Start.IsZero() {
			d.Start = sum.Start.In(cst).Format("2006-01-02 15:04:05")
		}
		if !sum.End.IsZero() {
			d.End = sum.End.In(cst).Format("2006-01-02 15:04:05")
		}
		s.render(w, r, http.StatusOK, "summary", d)
	}
}

// auditData is what the Audit page shows.
type auditData struct {
	Job    Record
	Done   bool
	Result job.AuditReport
	Error  string
}

func (s *Server) auditPage() func(http.ResponseWriter, *http.Request, Record) {
	return func(w http.ResponseWriter, r *http.Request, rec Record) {
		s.render(w, r, http.StatusOK, "audit", auditData{Job: rec})
	}
}

func (s *Server) audit() func(http.ResponseWriter, *http.Request, Record) {
	return func(w http.ResponseWriter, r *http.Request, rec Record) {
		if rec.State == Draft {
			s.fail(w, r, http.StatusConflict, "err_not_started")
			return
		}
		f, name, ext, ok := s.uploaded(w, r)
		if !ok {
			return
		}
		tmp, err := os.CreateTemp(jobDir(s.jobs.data, rec.ID), "audit-*"+ext)
		if err != nil {
			s.fail(w, r, http.StatusInternalServerError, "err_internal", "save the upload")
			return
		}
		defer os.Remove(tmp.Name())
		_, err = io.Copy(tmp, f)
		if cerr := tmp.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			s.saveFailed(w, r, err, "save the upload")
			return
		}
		d := auditData{Job: rec, Done: true}
		d.Result, err = s.jobs.Audit(r.Context(), rec.ID, tmp.Name())
		if err != nil {
			// The message names the uploaded file, not where serve keeps it.
			d.Done, d.Error = false, strings.ReplaceAll(msg.Render(lang(w, r), err), tmp.Name(), name)
		}
		s.render(w, r, http.StatusOK, "audit", d)
	}
}
