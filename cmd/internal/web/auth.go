package web

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// sessionCookie is the name of the session cookie.
const sessionCookie = "cardverify_session"

// sessionTTL is how long a session lasts without use.
const sessionTTL = 12 * time.Hour

// maxSessions bounds the sessions kept in memory: the oldest go first.
const maxSessions = 10000

// session is one visitor. Every visitor has one (the CSRF token is tied to
// it); authed says whether it logged in (always true without a password).
type session struct {
	id      string
	csrf    string
	authed  bool
	expires time.Time
}

// sessions is the in-memory session table: a restart of serve logs
// everyone out. It is safe for concurrent use.
type sessions struct {
	now    func() time.Time
	secret [32]byte // keys the CSRF tokens
	mu     sync.Mutex
	m      map[string]*session
}

func newSessions(now func() time.Time) *sessions {
	s := &sessions{now: now, m: map[string]*session{}}
	rand.Read(s.secret[:])
	return s
}

func randomToken() string {
	var b [32]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// get returns the live session of id, or nil.
func (ss *sessions) get(id string) *session {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s := ss.m[id]
	if s == nil {
		return nil
	}
	now := ss.now()
	if now.After(s.expires) {
		delete(ss.m, id)
		return nil
	}
	s.expires = now.Add(sessionTTL)
	cp := *s
	return &cp
}

// create makes a new session.
func (ss *sessions) create(authed bool) *session {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	now := ss.now()
	if len(ss.m) >= maxSessions {
		var oldest *session
		for _, s := range ss.m {
			if now.After(s.expires) {
				delete(ss.m, s.id)
			} else if oldest == nil || s.expires.Before(oldest.expires) {
				oldest = s
			}
		}
		if len(ss.m) >= maxSessions && oldest != nil {
			delete(ss.m, oldest.id)
		}
	}
	id := randomToken()
	m := hmac.New(sha256.New, ss.secret[:])
	m.Write([]byte(id))
	s := &session{id: id, csrf: hex.EncodeToString(m.Sum(nil)), authed: authed, expires: now.Add(sessionTTL)}
	ss.m[id] = s
	cp := *s
	return &cp
}

func (ss *sessions) drop(id string) {
	ss.mu.Lock()
	delete(ss.m, id)
	ss.mu.Unlock()
}

type ctxKey struct{}

// sessionOf returns the session the session middleware attached to r.
func sessionOf(r *http.Request) *session {
	s, _ := r.Context().Value(ctxKey{}).(*session)
	if s == nil {
		return &session{}
	}
	return s
}

// session gives every request a session: the cookie's, or a new one
// (logged in at once when the console has no password).
func (s *Server) session(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var sess *session
		if c, err := r.Cookie(sessionCookie); err == nil {
			sess = s.sessions.get(c.Value)
		}
		if sess == nil {
			sess = s.sessions.create(s.opt.Password == "")
			s.setCookie(w, sess.id, int(sessionTTL.Seconds()))
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, sess)))
	})
}

func (s *Server) setCookie(w http.ResponseWriter, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, SameSite: http.SameSiteStrictMode})
}

// csrf checks the token of every POST, after limiting the body's size: a
// larger body is refused with a page that states the limit.
//
// An upload (multipart/form-data) is not parsed here: net/http would put
// a file past its memory limit in a temporary file in $TMPDIR, which a
// kill of serve would leave behind with the list's names and cards. The
// token must be the form's first part; the rest is left to filePart,
// which streams the file into the job's own folder.
func (s *Server) csrf(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			next.ServeHTTP(w, r)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, s.opt.MaxUpload+1<<20)
		var got string
		if mr, err := r.MultipartReader(); err == nil {
			if got, err = firstField(mr, "csrf"); err != nil {
				s.formFailed(w, r, err)
				return
			}
			r = r.WithContext(context.WithValue(r.Context(), multipartKey{}, mr))
		} else if !errors.Is(err, http.ErrNotMultipart) {
			s.fail(w, r, http.StatusBadRequest, "err_form")
			return
		} else if err := r.ParseForm(); err != nil {
			s.formFailed(w, r, err)
			return
		} else {
			got = r.PostFormValue("csrf")
		}
		want := sessionOf(r).csrf
		if want == "" || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
			s.fail(w, r, http.StatusForbidden, "err_csrf")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// formFailed renders the error of reading a form: the size limit's page
// when the body was too large, else a bad request.
func (s *Server) formFailed(w http.ResponseWriter, r *http.Request, err error) {
	if !s.tooBig(w, r, err) {
		s.fail(w, r, http.StatusBadRequest, "err_form")
	}
}

// tooBig renders the size limit's page and reports true when err is that
// of a body past the limit.
func (s *Server) tooBig(w http.ResponseWriter, r *http.Request, err error) bool {
	var e *http.MaxBytesError
	if !errors.As(err, &e) {
		return false
	}
	s.fail(w, r, http.StatusRequestEntityTooLarge, "err_too_big", mib(s.opt.MaxUpload))
	return true
}

// multipartKey keys the multipart reader that csrf leaves, after the
// token, in the request's context.
type multipartKey struct{}

// firstField reads the form's first part, which must be the field name
// (not a file) of at most 1 KiB, and returns its value. A form that does
// not begin with it gives "" and no error: the token check refuses it.
func firstField(mr *multipart.Reader, name string) (string, error) {
	p, err := mr.NextPart()
	if err == io.EOF {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	defer p.Close()
	if p.FormName() != name || p.FileName() != "" {
		return "", nil
	}
	b, err := io.ReadAll(io.LimitReader(p, 1<<10))
	return string(b), err
}

// authed sends a visitor who has not logged in to the login page.
func (s *Server) authed(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !sessionOf(r).authed {
			if r.Method == http.MethodGet {
				http.Redirect(w, r, "/login", http.StatusSeeOther)
				return
			}
			s.fail(w, r, http.StatusUnauthorized, "err_login_needed")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// loginLimiter limits login attempts: a few per client address, and a
// few more in all, so that guessing the password takes years.
type loginLimiter struct {
	all *rate.Limiter
	mu  sync.Mutex
	per map[string]*rate.Limiter
}

// allow reports whether a login attempt from remote may be checked now.
func (l *loginLimiter) allow(remote string) bool {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	l.mu.Lock()
	lim := l.per[host]
	if lim == nil {
		if len(l.per) > 10000 {
			l.per = map[string]*rate.Limiter{}
		}
		lim = rate.NewLimiter(rate.Every(10*time.Second), 5)
		l.per[host] = lim
	}
	l.mu.Unlock()
	return lim.Allow() && l.all.Allow()
}

func (s *Server) loginPage() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if sessionOf(r).authed {
			http.Redirect(w, r, "/", http.StatusSeeOther)
			return
		}
		s.render(w, r, http.StatusOK, "login", nil)
	}
}

func (s *Server) login() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.opt.Password == "" {
			http.Redirect(w, r, "/", http.StatusSeeOther)
			return
		}
		if !s.logins.allow(r.RemoteAddr) {
			s.fail(w, r, http.StatusTooManyRequests, "err_login_rate")
			return
		}
		got := sha256.Sum256([]byte(r.PostFormValue("password")))
		want := sha256.Sum256([]byte(s.opt.Password))
		if subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
			s.log.Printf("failed login from %s", r.RemoteAddr)
			s.render(w, r, http.StatusUnauthorized, "login", map[string]any{"Error": "err_password"})
			return
		}
		// A new session at login: a session id known before it is useless.
		s.sessions.drop(sessionOf(r).id)
		sess := s.sessions.create(true)
		s.setCookie(w, sess.id, int(sessionTTL.Seconds()))
		http.Redirect(w, r, "/", http.StatusSeeOther)
	}
}

func (s *Server) logout() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.sessions.drop(sessionOf(r).id)
		s.setCookie(w, "", -1)
		http.Redirect(w, r, "/login", http.StatusSeeOther)
	}
}
