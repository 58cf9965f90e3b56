package coachweb

import (
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/cohort"
)

// maxLoginBody bounds the login form.
const maxLoginBody = 4 << 10

func (h *Handler) loginPage(w http.ResponseWriter, r *http.Request) {
	if _, err := h.sessionCoach(r); err == nil {
		http.Redirect(w, r, safeNext(r.URL.Query().Get("next")), http.StatusSeeOther)
		return
	}
	h.render(w, r, http.StatusOK, "login", loginView{Next: safeNext(r.URL.Query().Get("next"))})
}

type loginView struct {
	Next, Login, Error string
}

// login checks a password through app.Coaching.LogIn, which takes as
// long for an unknown login as for a wrong password.
func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxLoginBody)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "Formulaire invalide.", http.StatusBadRequest)
		return
	}
	login := strings.TrimSpace(r.PostForm.Get("login"))
	password := r.PostForm.Get("password")
	next := safeNext(r.PostForm.Get("next"))
	view := loginView{Next: next, Login: login}
	if login == "" || password == "" || len(login) > 100 || len(password) > 200 {
		view.Error = "Identifiant et mot de passe requis."
		h.render(w, r, http.StatusBadRequest, "login", view)
		return
	}
	now := h.cfg.Now()
	key := strings.ToLower(login) // the rate limit's key
	if !h.fails.allow(key, now) {
		view.Error = "Trop d'essais : réessaie dans quelques minutes."
		h.render(w, r, http.StatusTooManyRequests, "login", view)
		return
	}
	in, err := h.cfg.Coaching.LogIn(r.Context(), login, password)
	if bot.KindOf(err) == bot.Forbidden {
		h.fails.fail(key, now)
		h.cfg.Log.Warn("coach login refused", "login", login)
		view.Error = "Identifiant ou mot de passe incorrect."
		h.render(w, r, http.StatusUnauthorized, "login", view)
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.fails.reset(key)
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: in.Token, Path: Prefix + "/",
		Expires: in.End, MaxAge: int(in.End.Sub(now) / time.Second),
		HttpOnly: true, Secure: secureCookie(r), SameSite: http.SameSiteLaxMode,
	})
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (h *Handler) logout(w http.ResponseWriter, r *http.Request) {
	if ck, err := r.Cookie(sessionCookie); err == nil {
		if err := h.cfg.Coaching.LogOut(r.Context(), ck.Value); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: "", Path: Prefix + "/", MaxAge: -1,
		HttpOnly: true, Secure: secureCookie(r), SameSite: http.SameSiteLaxMode,
	})
	http.Redirect(w, r, Prefix+"/login", http.StatusSeeOther)
}

// safeNext keeps a redirect after login inside the dashboard.
func safeNext(next string) string {
	if !strings.HasPrefix(next, Prefix+"/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") ||
		strings.HasPrefix(next, Prefix+"/login") {
		return Prefix + "/"
	}
	return next
}

func queryEscape(s string) string { return url.QueryEscape(s) }

// limiter counts failed logins per login: after max failures within
// window, the login is refused until the window has passed since the first
// of them. It keeps at most maxTracked logins.
type limiter struct {
	mu     sync.Mutex
	max    int
	window time.Duration
	seen   map[string]*failures
}

type failures struct {
	n     int
	first time.Time
}

const maxTracked = 10000

func newLimiter(max int, window time.Duration) *limiter {
	return &limiter{max: max, window: window, seen: map[string]*failures{}}
}

func (l *limiter) allow(login string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	f, ok := l.seen[login]
	if !ok {
		return true
	}
	if now.Sub(f.first) >= l.window {
		delete(l.seen, login)
		return true
	}
	return f.n < l.max
}

func (l *limiter) fail(login string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	f, ok := l.seen[login]
	if !ok || now.Sub(f.first) >= l.window {
		if len(l.seen) >= maxTracked {
			for k, v := range l.seen { // drop the expired, or any one
				if now.Sub(v.first) >= l.window || len(l.seen) >= maxTracked {
					delete(l.seen, k)
				}
				if len(l.seen) < maxTracked/2 {
					break
				}
			}
		}
		l.seen[login] = &failures{n: 1, first: now}
		return
	}
	f.n++
}

func (l *limiter) reset(login string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.seen, login)
}

// coachName is what the header shows.
func coachName(c cohort.Coach) string {
	if c.Name != "" {
		return c.Name
	}
	return c.Login
}
