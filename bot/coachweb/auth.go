package coachweb

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
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
// long for an unknown login as for a wrong password, behind the login
// backoff (throttle.go).
func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxLoginBody)
	if err := r.ParseForm(); err != nil {
		http.Error(w, h.t(r, "dash.error.form"), http.StatusBadRequest)
		return
	}
	login := strings.TrimSpace(r.PostForm.Get("login"))
	password := r.PostForm.Get("password")
	next := safeNext(r.PostForm.Get("next"))
	view := loginView{Next: next, Login: login}
	if login == "" || password == "" || len(login) > 100 || len(password) > 200 {
		view.Error = h.t(r, "dash.login.required")
		h.render(w, r, http.StatusBadRequest, "login", view)
		return
	}
	now := h.cfg.Now()
	key, addr := strings.ToLower(login), clientKey(clientAddr(r))
	if wait := h.throttle.wait(key, addr, now); wait > 0 {
		secs := int((wait + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		view.Error = h.n(r, "dash.login.throttled", secs)
		h.render(w, r, http.StatusTooManyRequests, "login", view)
		return
	}
	in, err := h.cfg.Coaching.LogIn(r.Context(), login, password)
	if bot.KindOf(err) == bot.Forbidden {
		h.throttle.failed(key, addr, now)
		h.cfg.Log.Warn("coach login refused", "login", login, "addr", addr)
		view.Error = h.t(r, "dash.login.wrong")
		h.render(w, r, http.StatusUnauthorized, "login", view)
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.throttle.succeeded(key, addr)
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: in.Token, Path: Prefix + "/",
		Expires: in.End, MaxAge: int(in.End.Sub(now) / time.Second),
		HttpOnly: true, Secure: h.secureCookie(r), SameSite: http.SameSiteLaxMode,
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
		HttpOnly: true, Secure: h.secureCookie(r), SameSite: http.SameSiteLaxMode,
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

// coachName is what the header shows.
func coachName(c cohort.Coach) string {
	if c.Name != "" {
		return c.Name
	}
	return c.Login
}

// isAdmin reports whether c is an administrator.
func isAdmin(c *cohort.Coach) bool { return c != nil && c.Role == cohort.RoleAdmin }

// coachNameOf is what the header shows of c.
func coachNameOf(c *cohort.Coach) string { return coachName(*c) }
