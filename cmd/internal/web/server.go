// Package web is the web console of cardverify ("cardverify serve"): the
// second face, beside the command line, over the job logic of package job.
// Server renders the pages (html/template files embedded in the binary),
// Jobs keeps the jobs under the data directory and runs them one at a time.
package web

import (
	"embed"
	"html/template"
	"io"
	"io/fs"
	"log"
	"net"
	"net/http"
	"strings"
	"time"

	"golang.org/x/time/rate"

	"github.com/cardverify/cardverify/pipeline/msg"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Options configure a Server.
type Options struct {
	// Addr is the address serve listens on; any other than loopback needs
	// a Password.
	Addr string
	// Password, when not empty, is asked on a login page.
	Password string
	// MaxUpload is the largest file accepted, in bytes.
	MaxUpload int64
	// Price is the price of one billed call in yuan; 0 when not given.
	Price float64
	// Sandbox marks every page: the answers are simulated.
	Sandbox bool
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Log receives the server's own messages (default: discarded).
	Log io.Writer
}

// DefaultMaxUpload is the default upload limit: a million-row CSV fits.
const DefaultMaxUpload = 200 << 20

// Server is the HTTP face of the console. Build it with New; it is safe for
// concurrent use.
type Server struct {
	opt      Options
	jobs     *Jobs
	pages    map[string]*template.Template
	sessions *sessions
	logins   *loginLimiter
	log      *log.Logger
	handler  http.Handler
}

// IsLoopback reports whether addr (host:port) is bound to the loopback
// interface only: 127.0.0.1, ::1 or localhost. Any other address, 0.0.0.0
// included, reaches other machines and needs a password.
func IsLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	return host == "127.0.0.1" || host == "::1" || host == "localhost"
}

// New returns the console over jobs. It refuses a non-loopback address
// without a password.
func New(jobs *Jobs, opt Options) (*Server, error) {
	if !IsLoopback(opt.Addr) && opt.Password == "" {
		return nil, msg.Usagef(msg.ServePassword, opt.Addr)
	}
	if opt.MaxUpload <= 0 {
		opt.MaxUpload = DefaultMaxUpload
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Log == nil {
		opt.Log = io.Discard
	}
	s := &Server{opt: opt, jobs: jobs, sessions: newSessions(opt.Now),
		logins: &loginLimiter{all: rate.NewLimiter(rate.Every(time.Second), 10), per: map[string]*rate.Limiter{}},
		log:    log.New(opt.Log, "serve: ", 0)}
	var err error
	if s.pages, err = parsePages(); err != nil {
		return nil, err
	}
	s.handler = s.secure(s.routes())
	return s, nil
}

// ServeHTTP serves the console.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// routes lists every path of the console.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	static, _ := fs.Sub(staticFS, "static")
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	mux.HandleFunc("GET /login", s.loginPage())
	mux.HandleFunc("POST /login", s.login())
	mux.HandleFunc("POST /logout", s.logout())

	mux.Handle("GET /{$}", s.authed(s.newJobPage()))
	mux.Handle("POST /jobs", s.authed(s.upload()))
	mux.Handle("GET /jobs", s.authed(s.jobsPage()))
	mux.Handle("GET /jobs/{id}", s.authed(s.withJob(s.jobPage())))
	mux.Handle("GET /jobs/{id}/events", s.authed(s.withJob(s.events())))
	mux.Handle("POST /jobs/{id}/preview", s.authed(s.withJob(s.preview())))
	mux.Handle("POST /jobs/{id}/start", s.authed(s.withJob(s.start())))
	mux.Handle("POST /jobs/{id}/stop", s.authed(s.withJob(s.stop())))
	mux.Handle("POST /jobs/{id}/resume", s.authed(s.withJob(s.resume())))
	mux.Handle("GET /jobs/{id}/download/{format}", s.authed(s.withJob(s.download())))
	mux.Handle("GET /jobs/{id}/summary", s.authed(s.withJob(s.summaryPage())))
	mux.Handle("GET /jobs/{id}/audit", s.authed(s.withJob(s.auditPage())))
	mux.Handle("POST /jobs/{id}/audit", s.authed(s.withJob(s.audit())))
	return mux
}

// secure adds the security headers to every response, refuses cross-site
// requests (http.CrossOriginProtection), gives every visitor a session and
// checks the CSRF token of every form.
func (s *Server) secure(next http.Handler) http.Handler {
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "cross-origin request refused", http.StatusForbidden)
	}))
	inner := cop.Handler(s.session(s.csrf(next)))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
		if !strings.HasPrefix(r.URL.Path, "/static/") {
			h.Set("Cache-Control", "no-store")
		}
		inner.ServeHTTP(w, r)
	})
}

// withJob resolves the {id} of the path to a job: an id of another shape
// than the ones serve makes, or of no job, is 404.
func (s *Server) withJob(next func(http.ResponseWriter, *http.Request, Record)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		if !validID.MatchString(id) {
			s.notFound(w, r)
			return
		}
		rec, ok := s.jobs.Get(id)
		if !ok {
			s.notFound(w, r)
			return
		}
		next(w, r, rec)
	})
}
