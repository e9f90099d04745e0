package web

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/cardverify/cardverify/cmd/internal/job"
	"github.com/cardverify/cardverify/pipeline"
	"github.com/cardverify/cardverify/pipeline/msg"
	"github.com/cardverify/cardverify/reader"
	"github.com/cardverify/cardverify/store"
)

// The states of a job, as job.json records them.
const (
	Draft   = "draft"   // uploaded, previewed, not started
	Queued  = "queued"  // waiting for the job before it (one at a time per key)
	Running = "running" // job.Run is going on
	Stopped = "stopped" // stopped by a person, interrupted, or rows left to do
	Done    = "done"    // every row has a final status
	Failed  = "failed"  // the run was refused: input, API or configuration
)

// Record is a job as job.json holds it: its settings and state, never the
// API key, never a name or a card number.
type Record struct {
	ID      string    `json:"id"`      // the job's name in URLs and its directory's name under the data directory
	Seq     int       `json:"seq"`     // creation order: the queue's order
	Name    string    `json:"name"`    // the uploaded file's name
	Input   string    `json:"input"`   // the saved upload's file name in the job's directory ("input.xlsx")
	Created time.Time `json:"created"` // when the upload was saved
	Updated time.Time `json:"updated"` // when the record last changed
	State   string    `json:"state"`   // Draft, Queued, Running, Stopped, Done or Failed
	// Note is the catalogue code of why the job stopped, when serve
	// stopped it; Message the text of package job's error otherwise.
	Note     string         `json:"note,omitempty"`
	Message  said           `json:"message,omitzero"` // zh and en; zero when Note is set or nothing went wrong
	Sandbox  bool           `json:"sandbox"`          // the job runs against the simulated API (serve --sandbox)
	Lang     string         `json:"lang"`             // of the output
	Read     reader.Options // how to read the input: sheet, header row, columns, encoding
	MaskCard bool           `json:"mask_card"` // write cards masked (first 6, last 4 digits) in the output
	// RetryFailed sends failed rows again on the next run (Resume asks).
	RetryFailed bool `json:"retry_failed"`
	// Preview is the latest dry run; PreviewErr why it could not be made.
	Preview    *job.Preview `json:"preview,omitempty"`
	PreviewErr said         `json:"preview_error,omitzero"` // zh and en; zero when Preview was made
	// Previewing is set while a dry run for the preview goes on.
	Previewing bool `json:"previewing,omitempty"`
	// Confirmed is the number of calls the person agreed to pay for.
	Confirmed int `json:"confirmed"`
	// Status is the checkpoint's status after the latest run.
	Status *store.Status `json:"status,omitempty"`
}

// dir returns the directory of job id under data.
func jobDir(data, id string) string { return filepath.Join(data, "jobs", id) }

// validID matches the ids newID makes: nothing from a request that does not
// match it is ever joined to a path.
var validID = regexp.MustCompile(`^[0-9a-f]{16}$`)

func newID() string {
	var b [8]byte
	rand.Read(b[:]) // never fails (crypto/rand)
	return hex.EncodeToString(b[:])
}

// live is what a running job reports while it runs.
type live struct {
	stats   pipeline.Stats
	total   int
	rate    float64 // calls per second over the last few seconds
	lastAt  time.Time
	lastN   int
	stop    chan struct{}
	stopped bool
}

// Jobs keeps the jobs under a data directory and runs the queued ones, one
// at a time, since the vendor's rate limit is per API key and serve has one
// key. It is safe for concurrent use. Its runner goroutine ends when the
// context given to Start is cancelled or Close is called.
type Jobs struct {
	data    string
	api     job.Config // the API settings of every job; holds the key
	version string
	now     func() time.Time

	mu   sync.Mutex
	jobs map[string]*Record
	seq  int
	live map[string]*live // the running job's progress
	// statuses are the checkpoint statuses read lately, by job.
	statuses map[string]cachedStatus
	wake     chan struct{}
	closing  bool
	done     chan struct{}
	outMu    sync.Mutex // one output written at a time

	// previews are the dry runs going on, by job: each has its own
	// number, so that only the latest one asked for is kept.
	previews   map[string]int
	previewN   int
	previewCtx context.Context // cancelled by Close
	stopPrev   context.CancelFunc
	previewWG  sync.WaitGroup
}

// staleUpload is the age past which a job folder without job.json is
// taken as an upload that never finished (serve was killed while it
// arrived), and an audit's copy of an output (audit-*) as one a killed
// serve left: an upload under way writes to its file as its bytes come,
// and an audit takes minutes at most.
const staleUpload = 6 * time.Hour

// removeStale removes path, a file or a folder, once its newest file (or
// the folder itself, when it holds none) is older than staleUpload at
// now: a younger one may be another serve's upload under way. What it
// removes holds names and cards.
func removeStale(path string, now time.Time) {
	var newest time.Time
	filepath.WalkDir(path, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return nil
		}
		if info, err := d.Info(); err == nil && info.ModTime().After(newest) {
			newest = info.ModTime()
		}
		return nil
	})
	if newest.IsZero() {
		info, err := os.Stat(path)
		if err != nil {
			return
		}
		newest = info.ModTime()
	}
	if now.Sub(newest) > staleUpload {
		os.RemoveAll(path)
	}
}

// OpenJobs loads the jobs under data. An upload that never finished, and
// an audit's copy a killed serve left, are removed once stale
// (removeStale). A job that was running when serve ended (a crash or a
// kill) is marked stopped: it waits for Resume, so that nothing is spent
// after a crash without a person asking. Queued jobs stay queued and run
// in their order.
func OpenJobs(data string, api job.Config, version string, now func() time.Time) (*Jobs, error) {
	j := &Jobs{data: data, api: api, version: version, now: now, jobs: map[string]*Record{},
		live: map[string]*live{}, statuses: map[string]cachedStatus{}, previews: map[string]int{}, wake: make(chan struct{}, 1), done: make(chan struct{})}
	if err := os.MkdirAll(filepath.Join(data, "jobs"), 0o700); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	ents, err := os.ReadDir(filepath.Join(data, "jobs"))
	if err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	j.previewCtx, j.stopPrev = context.WithCancel(context.Background())
	var again []string
	for _, e := range ents {
		if !e.IsDir() || !validID.MatchString(e.Name()) {
			continue
		}
		b, err := os.ReadFile(filepath.Join(jobDir(data, e.Name()), "job.json"))
		if errors.Is(err, fs.ErrNotExist) {
			removeStale(jobDir(data, e.Name()), now())
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("job %s: %w", e.Name(), err)
		}
		var r Record
		if err := json.Unmarshal(b, &r); err != nil || r.ID != e.Name() {
			return nil, fmt.Errorf("job %s: job.json is damaged: %v", e.Name(), err)
		}
		audits, _ := filepath.Glob(filepath.Join(jobDir(data, r.ID), "audit-*"))
		for _, a := range audits {
			removeStale(a, now())
		}
		if r.State == Running {
			r.State, r.Note, r.Message = Stopped, "note_interrupted", said{}
			// What the run did before it died is in the checkpoint only.
			if st, err := readStatus(context.Background(), filepath.Join(jobDir(data, r.ID), "checkpoint.db")); err == nil {
				r.Status = &st
			}
			j.logf(&r, "note_interrupted")
			if err := j.save(&r); err != nil {
				return nil, err
			}
		}
		if r.Previewing {
			again = append(again, r.ID) // serve ended during the preview
		}
		j.jobs[r.ID] = &r
		j.seq = max(j.seq, r.Seq)
	}
	for _, id := range again {
		r := j.jobs[id]
		j.StartPreview(id, r.Read, r.MaskCard)
	}
	return j, nil
}

// Start runs queued jobs until ctx is cancelled or Close is called.
func (j *Jobs) Start(ctx context.Context) {
	go j.loop(ctx)
	j.kick()
}

func (j *Jobs) kick() {
	select {
	case j.wake <- struct{}{}:
	default:
	}
}

// loop runs the next queued job, in Seq order, whenever there is one. It
// ends when ctx is done or Close was called, after the running job ended.
func (j *Jobs) loop(ctx context.Context) {
	defer close(j.done)
	for {
		r, lv := j.next()
		if r != nil {
			j.run(ctx, r, lv)
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-j.wake:
			j.mu.Lock()
			closing := j.closing
			j.mu.Unlock()
			if closing {
				return
			}
		}
	}
}

// next marks the first queued job running and returns it.
func (j *Jobs) next() (*Record, *live) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.closing {
		return nil, nil
	}
	var first *Record
	for _, r := range j.jobs {
		// A job runs only with the kind of API it was confirmed for.
		if r.State == Queued && r.Sandbox == j.api.Sandbox && (first == nil || r.Seq < first.Seq) {
			first = r
		}
	}
	if first == nil {
		return nil, nil
	}
	first.State, first.Note, first.Message = Running, "", said{}
	j.touch(first)
	lv := &live{stop: make(chan struct{}), lastAt: j.now()}
	j.live[first.ID] = lv
	return first, lv
}

// Close stops the running job gracefully and waits for it to end, or for
// ctx.
func (j *Jobs) Close(ctx context.Context) error {
	j.stopPrev()
	j.previewWG.Wait()
	j.mu.Lock()
	j.closing = true
	for _, lv := range j.live {
		if !lv.stopped {
			lv.stopped = true
			close(lv.stop)
		}
	}
	j.mu.Unlock()
	j.kick()
	select {
	case <-j.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// config is the job.Config of a run of r.
func (j *Jobs) config(r *Record) job.Config {
	c := j.api
	dir := jobDir(j.data, r.ID)
	c.Input = filepath.Join(dir, r.Input)
	c.DB = filepath.Join(dir, "checkpoint.db")
	c.Out = filepath.Join(dir, "output"+outExt(r.Input))
	c.Read, c.Lang, c.MaskCard, c.RetryFailed = r.Read, r.Lang, r.MaskCard, r.RetryFailed
	c.Progress = "none"
	return c
}

// outExt is the extension of the output job.Run writes for an input.
func outExt(input string) string {
	if e := filepath.Ext(input); e == ".xlsx" {
		return e
	}
	return ".csv"
}

// run runs r until it ends, records how, and saves it.
func (j *Jobs) run(ctx context.Context, r *Record, lv *live) {
	j.mu.Lock()
	c := j.config(r)
	j.logf(r, "log_started", c.Endpoint)
	j.mu.Unlock()
	logw := &logWriter{j: j, r: r}
	env := job.Env{Version: j.version, Stop: lv.stop, Now: j.now, Notice: logw,
		Progress: func(total func() int) (func(pipeline.Stats), func()) {
			return func(s pipeline.Stats) { j.update(lv, s, total()) }, func() {}
		}}
	res, err := job.Run(ctx, c, env)
	st := res.Status
	if !res.Written {
		st, _ = readStatus(ctx, c.DB)
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	delete(j.live, r.ID)
	delete(j.statuses, r.ID)
	if res.Written || st.Rows > 0 {
		r.Status = &st
	}
	r.RetryFailed = false
	switch {
	case err == nil:
		r.State, r.Note, r.Message = Done, "", said{}
		j.logf(r, "log_done", st.Rows, st.Match, st.Mismatch, st.Invalid, st.Rejected, st.Deferred, st.Failed, st.Calls, st.BilledCalls)
	case errors.Is(err, pipeline.ErrIncomplete) || errors.Is(err, pipeline.ErrBudget):
		r.State, r.Note, r.Message = Stopped, "", j.clean(r, err)
		// Stopped as asked: the CLI's advice ("run the same command")
		// does not fit a page with a Resume button.
		switch {
		case j.closing:
			r.Note, r.Message = "note_serve_stopped", said{}
		case lv.stopped:
			r.Note, r.Message = "note_stopped", said{}
		}
		if r.Note != "" {
			j.logf(r, r.Note)
		} else {
			j.logf(r, "log_stopped", err)
		}
	default:
		r.State, r.Note, r.Message = Failed, "", j.clean(r, err)
		j.logf(r, "log_failed", err)
	}
	j.touch(r)
}

// said is a message in both languages of the pages.
type said struct {
	Zh string `json:"zh,omitempty"`
	En string `json:"en,omitempty"`
}

// In is the message in lang.
func (s said) In(lang string) string {
	if lang == "en" {
		return s.En
	}
	return s.Zh
}

// clean is a job's error as a page shows it, in both languages: with the
// input named as uploaded, not by where serve keeps it.
func (j *Jobs) clean(r *Record, err error) said {
	dir := jobDir(j.data, r.ID)
	fix := strings.NewReplacer(filepath.Join(dir, r.Input), r.Name, dir+string(filepath.Separator), "")
	return said{Zh: fix.Replace(msg.Render("zh", err)), En: fix.Replace(msg.Render("en", err))}
}

// readStatus reads the status of the checkpoint at path, if there is one.
func readStatus(ctx context.Context, path string) (store.Status, error) {
	if _, err := os.Stat(path); err != nil {
		return store.Status{}, err
	}
	db, err := store.OpenReadOnly(ctx, path, "") // counts need no key
	if err != nil {
		return store.Status{}, err
	}
	defer db.Close()
	return db.Status(ctx)
}

// update records the latest counters of a running job, and the data rows
// it expects (0 while not known).
func (j *Jobs) update(lv *live, s pipeline.Stats, total int) {
	j.mu.Lock()
	defer j.mu.Unlock()
	lv.total = total
	now := j.now()
	if d := now.Sub(lv.lastAt); d >= 2*time.Second {
		lv.rate = float64(s.Calls-lv.lastN) / d.Seconds()
		lv.lastAt, lv.lastN = now, s.Calls
	} else if lv.rate == 0 && d > 0 && s.Calls > lv.lastN {
		lv.rate = float64(s.Calls-lv.lastN) / d.Seconds()
	}
	lv.stats = s
}

// Live returns the counters of job id while it runs.
func (j *Jobs) Live(id string) (s pipeline.Stats, total int, rate float64, ok bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	lv, ok := j.live[id]
	if !ok {
		return s, 0, 0, false
	}
	return lv.stats, lv.total, lv.rate, true
}

// StopAsked reports whether a Stop of running job id is under way.
func (j *Jobs) StopAsked(id string) bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	lv := j.live[id]
	return lv != nil && lv.stopped
}

// Get returns a copy of job id.
func (j *Jobs) Get(id string) (Record, bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	r, ok := j.jobs[id]
	if !ok {
		return Record{}, false
	}
	return *r, true
}

// List returns every job, newest first.
func (j *Jobs) List() []Record {
	j.mu.Lock()
	defer j.mu.Unlock()
	out := make([]Record, 0, len(j.jobs))
	for _, r := range j.jobs {
		out = append(out, *r)
	}
	sort.Slice(out, func(a, b int) bool { return out[a].Seq > out[b].Seq })
	return out
}

// Create makes a draft job from an uploaded file: src is copied into the
// job's directory as input + ext.
func (j *Jobs) Create(name, ext, lang string, src io.Reader) (Record, error) {
	id := newID()
	dir := jobDir(j.data, id)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return Record{}, fmt.Errorf("create job: %w", err)
	}
	in := "input" + ext
	f, err := os.OpenFile(filepath.Join(dir, in), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return Record{}, fmt.Errorf("create job: %w", err)
	}
	if _, err := io.Copy(f, src); err != nil {
		f.Close()
		os.RemoveAll(dir)
		return Record{}, fmt.Errorf("save the upload: %w", err)
	}
	if err := f.Close(); err != nil {
		os.RemoveAll(dir)
		return Record{}, fmt.Errorf("save the upload: %w", err)
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	j.seq++
	now := j.now()
	r := &Record{ID: id, Seq: j.seq, Name: name, Input: in, Created: now, Updated: now, State: Draft,
		Sandbox: j.api.Sandbox, Lang: lang}
	if err := j.save(r); err != nil {
		os.RemoveAll(dir)
		return Record{}, err
	}
	j.jobs[id] = r
	j.logf(r, "log_uploaded", name)
	return *r, nil
}

// StartPreview starts the dry run of draft job id with the reading options
// ro, in the background: the job is Previewing until it ends. A later
// StartPreview of the same job supersedes this one.
func (j *Jobs) StartPreview(id string, ro reader.Options, mask bool) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	r, ok := j.jobs[id]
	if !ok || r.State != Draft {
		return errNotDraft
	}
	j.previewN++
	n := j.previewN
	j.previews[id] = n
	r.Previewing = true
	j.touch(r)
	j.previewWG.Add(1)
	// The preview goroutine ends with the dry run, or when Close cancels
	// previewCtx.
	go func() {
		defer j.previewWG.Done()
		j.preview(j.previewCtx, id, n, ro, mask)
	}()
	return nil
}

// preview makes the dry run number n of draft job id with the reading
// options ro, and keeps it if no later one was asked for.
func (j *Jobs) preview(ctx context.Context, id string, n int, ro reader.Options, mask bool) {
	j.mu.Lock()
	r := j.jobs[id]
	// The options change with the preview, never before: a Start while
	// this preview runs confirms the figure of the options it showed.
	next := *r
	next.Read, next.MaskCard = ro, mask
	c := j.config(&next)
	j.mu.Unlock()
	p, err := job.DryPreview(ctx, c)
	j.mu.Lock()
	defer j.mu.Unlock()
	if r.State != Draft || j.previews[id] != n || ctx.Err() != nil {
		return // started, superseded, or serve is ending: Previewing stays for the restart
	}
	delete(j.previews, id)
	r.Read, r.MaskCard, r.Previewing = ro, mask, false
	if err != nil {
		r.Preview, r.PreviewErr = nil, j.clean(r, err)
	} else {
		r.Preview, r.PreviewErr = &p, said{}
	}
	j.touch(r)
}

// errNotDraft is the error of an action that needs a job not started yet.
var errNotDraft = errors.New("this job has started already")

// errNoCheckpoint is the error of a download of a job that made no
// checkpoint: it never ran, or its input was refused.
var errNoCheckpoint = errors.New("this job has no result yet")

// errState is the error of an action the job's state does not allow.
var errState = errors.New("not possible in this job's state")

// Begin queues draft job id, once the person confirmed calls, the figure
// of its preview.
func (j *Jobs) Begin(id string, calls int) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	r, ok := j.jobs[id]
	if !ok || r.State != Draft {
		return errNotDraft
	}
	if r.Previewing || r.Preview == nil || r.Preview.Calls != calls {
		return errors.New("the preview changed: check the figure and confirm again")
	}
	r.State, r.Confirmed = Queued, calls
	j.logf(r, "log_queued", calls)
	j.touch(r)
	j.kick()
	return nil
}

// Stop stops job id: gracefully while it runs (calls in flight finish),
// at once while it waits in the queue.
func (j *Jobs) Stop(id string) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	r, ok := j.jobs[id]
	if !ok {
		return errState
	}
	switch r.State {
	case Queued:
		r.State, r.Note = Stopped, "note_stopped_queued"
		j.logf(r, "note_stopped_queued")
		j.touch(r)
	case Running:
		lv := j.live[id]
		if lv != nil && !lv.stopped {
			lv.stopped = true
			close(lv.stop)
			j.logf(r, "log_stop_asked")
		}
	default:
		return errState
	}
	return nil
}

// Resume queues a stopped or failed job again; retryFailed sends its
// failed rows again.
func (j *Jobs) Resume(id string, retryFailed bool) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	r, ok := j.jobs[id]
	if !ok || (r.State != Stopped && r.State != Failed) || r.Sandbox != j.api.Sandbox {
		return errState
	}
	r.State, r.Note, r.Message, r.RetryFailed = Queued, "", said{}, retryFailed
	if retryFailed {
		j.logf(r, "log_resume_failed")
	} else {
		j.logf(r, "log_resume")
	}
	j.touch(r)
	j.kick()
	return nil
}

// touch saves r after a change; j.mu is held. A failed save is logged in
// the job's log: the state in memory stays right until a restart.
func (j *Jobs) touch(r *Record) {
	r.Updated = j.now()
	if err := j.save(r); err != nil {
		j.logf(r, "log_save_failed", err)
	}
}

// save writes r's job.json atomically.
func (j *Jobs) save(r *Record) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	dir := jobDir(j.data, r.ID)
	tmp := filepath.Join(dir, "job.json.tmp")
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("save job %s: %w", r.ID, err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, "job.json")); err != nil {
		return fmt.Errorf("save job %s: %w", r.ID, err)
	}
	return nil
}

// logLine is one entry of a job's log (log.jsonl): a catalogue code and
// its parameters, so that the log reads in the page's language.
type logLine struct {
	At   time.Time `json:"at"`
	Code string    `json:"code"`
	Args []string  `json:"args,omitempty"`
	// ArgsEn, when set, are the args in English: an error is kept
	// rendered in both languages.
	ArgsEn []string `json:"args_en,omitempty"`
}

// logf appends an entry to r's log. Its args are formatted with %v, an
// error rendered in both languages.
func (j *Jobs) logf(r *Record, code string, args ...any) {
	l := logLine{At: j.now(), Code: code}
	for _, a := range args {
		zh, en := fmt.Sprint(a), fmt.Sprint(a)
		if err, ok := a.(error); ok {
			s := j.clean(r, err)
			zh, en = s.Zh, s.En
		}
		l.Args = append(l.Args, zh)
		l.ArgsEn = append(l.ArgsEn, en)
	}
	b, _ := json.Marshal(l)
	f, err := os.OpenFile(filepath.Join(jobDir(j.data, r.ID), "log.jsonl"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return
	}
	f.Write(append(b, '\n'))
	f.Close()
}

// cst is China Standard Time, the zone of every time a person reads.
var cst = time.FixedZone("CST", 8*3600)

// Log returns the last maxLines entries of job id's log, in lang, each
// with its time in China Standard Time.
func (j *Jobs) Log(id, lang string, maxLines int) []string {
	b, err := os.ReadFile(filepath.Join(jobDir(j.data, id), "log.jsonl"))
	if err != nil {
		return nil
	}
	lines := splitLines(string(b))
	if len(lines) > maxLines {
		lines = lines[len(lines)-maxLines:]
	}
	out := make([]string, 0, len(lines))
	for _, l := range lines {
		var e logLine
		if json.Unmarshal([]byte(l), &e) != nil {
			continue
		}
		as := e.Args
		if lang == "en" && len(e.ArgsEn) == len(e.Args) {
			as = e.ArgsEn
		}
		args := make([]any, len(as))
		for i, a := range as {
			args[i] = a
		}
		out = append(out, e.At.In(cst).Format("2006-01-02 15:04:05")+"  "+tr(lang, e.Code, args...))
	}
	return out
}

func splitLines(s string) []string {
	var out []string
	for len(s) > 0 {
		i := 0
		for i < len(s) && s[i] != '\n' {
			i++
		}
		if i > 0 {
			out = append(out, s[:i])
		}
		if i == len(s) {
			break
		}
		s = s[i+1:]
	}
	return out
}

// logWriter sends a job's notices (the sandbox banner) to its log.
type logWriter struct {
	j *Jobs
	r *Record
}

func (w *logWriter) Write(p []byte) (int, error) {
	for _, l := range splitLines(string(p)) {
		if strings.HasPrefix(l, "SANDBOX:") {
			w.j.logf(w.r, "sandbox_banner")
			continue
		}
		w.j.logf(w.r, "log_notice", l)
	}
	return len(p), nil
}

// Output writes (when it is older than the job's latest change, or the job
// is running) the annotated output of job id in format ext (".xlsx" or
// ".csv") and returns its path.
func (j *Jobs) Output(ctx context.Context, id, ext string) (string, error) {
	r, ok := j.Get(id)
	if !ok {
		return "", errState
	}
	j.mu.Lock()
	c := j.config(&r)
	j.mu.Unlock()
	path := filepath.Join(jobDir(j.data, id), "download."+r.Lang+ext)
	j.outMu.Lock()
	defer j.outMu.Unlock()
	if fi, err := os.Stat(path); err == nil && r.State != Running && fi.ModTime().After(r.Updated) {
		return path, nil
	}
	if _, err := os.Stat(c.DB); err != nil {
		return "", errNoCheckpoint
	}
	// Not job.Export: it takes the checkpoint's lock a moment to remove
	// stale temporaries, and a job starting then would find it taken.
	keyFile, err := job.KeyFile(c.KeyFile)
	if err != nil {
		return "", err
	}
	db, err := store.OpenReadOnly(ctx, c.DB, keyFile)
	if err != nil {
		return "", err
	}
	defer db.Close()
	st, err := job.SameInput(ctx, db, c.Input)
	if err != nil {
		return "", err
	}
	if err := job.WriteOutput(ctx, db, &st, job.Output{Input: c.Input, Path: path, Read: c.Read, Lang: c.Lang, MaskCard: c.MaskCard, Price: c.Price, Version: j.version, Now: j.now}); err != nil {
		return "", err
	}
	return path, nil
}

// statusTTL is how long a status read from a checkpoint is reused: every
// page open on a running job asks for it every second, and counting a
// million rows is not free.
const statusTTL = 2 * time.Second

// Status reads job id's checkpoint status (while it runs, too), or returns
// the one read less than statusTTL ago.
func (j *Jobs) Status(ctx context.Context, id string) (store.Status, error) {
	j.mu.Lock()
	c, ok := j.statuses[id]
	j.mu.Unlock()
	if ok && j.now().Sub(c.at) < statusTTL {
		return c.st, nil
	}
	st, err := readStatus(ctx, filepath.Join(jobDir(j.data, id), "checkpoint.db"))
	if err == nil {
		j.mu.Lock()
		j.statuses[id] = cachedStatus{st: st, at: j.now()}
		j.mu.Unlock()
	}
	return st, err
}

// cachedStatus is a checkpoint's status and when it was read.
type cachedStatus struct {
	st store.Status
	at time.Time
}

// Audit checks the annotated output at path against job id's checkpoint.
func (j *Jobs) Audit(ctx context.Context, id, path string) (job.AuditReport, error) {
	return job.Audit(ctx, job.AuditConfig{Output: path, DB: filepath.Join(jobDir(j.data, id), "checkpoint.db"), KeyFile: j.api.KeyFile})
}
