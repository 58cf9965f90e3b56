// Package coachweb is the coaches' dashboard at /coach/ and its JSON API at
// /coach/api/: cohorts with their join code, wa.me link and QR poster; a
// cohort's learners, progress and indicators; reminders and broadcasts
// queued in the outbox, with a preview of what each member will get; the
// outbox with delivery status; CSV exports.
//
// Pages are rendered on the server with html/template from embedded files,
// with no script at all, so that they work on any phone. Coaches log in with
// a password (bcrypt, behind a backoff: throttle.go) and get a session
// cookie; programs use the API with a bearer token. A coach sees only their
// own cohorts (another's answers 404, as if it did not exist); an admin
// sees every cohort, and the audit log.
package coachweb

import (
	"context"
	"embed"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"
	_ "time/tzdata" // the program's time zone on any machine

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/app"
	"github.com/darsi-ma/darsi/bot/cohort"
	"github.com/darsi-ma/darsi/bot/locale"
	"github.com/darsi-ma/darsi/locales"
)

// Prefix is where the handler expects to be mounted.
const Prefix = "/coach"

// DefaultLocation is Config.Location's default.
const DefaultLocation = "Africa/Casablanca"

// sessionCookie names the dashboard's session cookie.
const sessionCookie = "darsi_coach"

// Deliveries is what the outbox page reads of Twilio's delivery reports;
// app.Deliveries implements it.
type Deliveries interface {
	// Delivery returns what is stored for a MessageSid, or NotFound.
	Delivery(ctx context.Context, sid string) (bot.Delivery, error)
}

// Config is what the dashboard needs. Coaching is required, with its
// Outbox: the pages and the API are a face on its use cases.
type Config struct {
	Coaching *app.Coaching
	// Deliveries, when set, adds Twilio's last reported status (read,
	// undelivered with its error code…) to the outbox page.
	Deliveries Deliveries

	// PublicURL is the base URL the server is reached by
	// (DARSI_PUBLIC_URL), "" when unknown: its scheme decides whether the
	// session cookie is Secure (see secureCookie).
	PublicURL string
	// Location is the programme's time zone, for the times coaches type and
	// read (default Africa/Casablanca).
	Location *time.Location
	// Now is the clock (default time.Now).
	Now func() time.Time
	Log *slog.Logger
	// Words are the dashboard's messages in French and Arabic (default:
	// locale.LoadDashboard of the embedded locales).
	Words *locale.Bundle
}

// Handler serves the dashboard and the API. Mount it at /coach/.
type Handler struct {
	cfg Config
	mux *http.ServeMux
	h   http.Handler
	// pages are the parsed templates by language, then by name.
	pages map[bot.Lang]map[string]*template.Template
	dash  *locale.Bundle
	// throttle slows failed logins down.
	throttle *throttle
	// publicScheme is PublicURL's scheme, "" without one.
	publicScheme string
}

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// New returns the dashboard's handler. It fails with kind Invalid when a
// required part of cfg is missing, or PublicURL is not an http or https
// URL.
func New(cfg Config) (*Handler, error) {
	const op = "coachweb.New"
	if cfg.Coaching == nil || cfg.Coaching.Outbox == nil {
		return nil, bot.Errorf(op, bot.Invalid, "the coaching use cases, with an outbox, are required")
	}
	scheme := ""
	if cfg.PublicURL != "" {
		u, err := url.Parse(cfg.PublicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, bot.Errorf(op, bot.Invalid, "public URL %q: want http:// or https:// and a host", cfg.PublicURL)
		}
		scheme = u.Scheme
	}
	if cfg.Location == nil {
		loc, err := time.LoadLocation(DefaultLocation)
		if err != nil {
			return nil, bot.E(op, bot.Internal, err)
		}
		cfg.Location = loc
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Words == nil {
		w, err := locale.LoadDashboard(locales.FS)
		if err != nil {
			return nil, bot.E(op, bot.Internal, err)
		}
		cfg.Words = w
	}
	h := &Handler{cfg: cfg, mux: http.NewServeMux(), throttle: newThrottle(maxTracked), publicScheme: scheme, dash: cfg.Words}
	if err := h.parseTemplates(); err != nil {
		return nil, bot.E(op, bot.Internal, err)
	}
	h.routes()
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if isAPI(r) {
			writeJSONError(w, http.StatusForbidden, "cross-origin request refused")
			return
		}
		http.Error(w, h.t(r, "dash.error.crossOrigin"), http.StatusForbidden)
	}))
	h.h = cop.Handler(h.mux)
	return h, nil
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Referrer-Policy", "same-origin")
	w.Header().Set("X-Frame-Options", "DENY")
	w.Header().Set("Cache-Control", "no-store")
	via := "dashboard"
	if isAPI(r) {
		via = "api"
	} else {
		r = h.withLang(w, r)
	}
	addr := ""
	if a := clientAddr(r); a.IsValid() {
		addr = a.String()
	}
	h.h.ServeHTTP(w, r.WithContext(app.WithOrigin(r.Context(), app.Origin{Via: via, Addr: addr})))
}

func isAPI(r *http.Request) bool { return strings.HasPrefix(r.URL.Path, Prefix+"/api/") }

func (h *Handler) routes() {
	m := h.mux
	static, _ := fs.Sub(staticFS, "static")
	m.Handle("GET "+Prefix+"/static/", http.StripPrefix(Prefix+"/static/", http.FileServerFS(static)))
	m.HandleFunc("GET "+Prefix+"/login", h.loginPage)
	m.HandleFunc("POST "+Prefix+"/login", h.login)
	m.HandleFunc("POST "+Prefix+"/logout", h.logout)

	m.HandleFunc("GET "+Prefix+"/{$}", h.page(h.cohortsPage))
	m.HandleFunc("POST "+Prefix+"/cohorts", h.page(h.createCohort))
	m.HandleFunc("GET "+Prefix+"/cohorts/{code}", h.cohortPage(h.learnersPage))
	m.HandleFunc("GET "+Prefix+"/cohorts/{code}/learners.csv", h.cohortPage(h.learnersCSV))
	m.HandleFunc("GET "+Prefix+"/cohorts/{code}/poster.svg", h.cohortPage(h.poster))
	m.HandleFunc("GET "+Prefix+"/cohorts/{code}/remind", h.cohortPage(h.remindPage))
	m.HandleFunc("POST "+Prefix+"/cohorts/{code}/remind", h.cohortPage(h.remind))
	m.HandleFunc("GET "+Prefix+"/cohorts/{code}/outbox", h.cohortPage(h.outboxPage))
	m.HandleFunc("GET "+Prefix+"/cohorts/{code}/outbox.csv", h.cohortPage(h.outboxCSV))
	m.HandleFunc("POST "+Prefix+"/cohorts/{code}/jobs/{id}/cancel", h.cohortPage(h.cancelJob))
	m.HandleFunc("GET "+Prefix+"/cohorts/{code}/indicators", h.cohortPage(h.indicatorsPage))
	m.HandleFunc("GET "+Prefix+"/cohorts/{code}/outcomes.csv", h.cohortPage(h.outcomesCSV))
	m.HandleFunc("GET "+Prefix+"/outcomes", h.page(h.allOutcomesPage))
	m.HandleFunc("GET "+Prefix+"/outcomes.csv", h.page(h.allOutcomesCSV))
	m.HandleFunc("GET "+Prefix+"/audit", h.page(h.auditPage))
	m.HandleFunc("GET "+Prefix+"/broadcast", h.page(h.broadcastPage))
	m.HandleFunc("POST "+Prefix+"/broadcast", h.page(h.broadcast))
	m.HandleFunc("GET "+Prefix+"/inbox", h.page(h.inboxPage))
	m.HandleFunc("GET "+Prefix+"/inbox/{key}", h.page(h.threadPage))
	m.HandleFunc("POST "+Prefix+"/inbox/{key}", h.page(h.answer))

	m.HandleFunc("GET "+Prefix+"/api/cohorts", h.api(h.apiCohorts))
	m.HandleFunc("POST "+Prefix+"/api/cohorts", h.api(h.apiCreateCohort))
	m.HandleFunc("GET "+Prefix+"/api/cohorts/{code}/learners", h.cohortAPI(h.apiLearners))
	m.HandleFunc("POST "+Prefix+"/api/cohorts/{code}/reminders", h.cohortAPI(h.apiRemind))
	m.HandleFunc("POST "+Prefix+"/api/cohorts/{code}/reminders/preview", h.cohortAPI(h.apiPreview))
	m.HandleFunc("GET "+Prefix+"/api/cohorts/{code}/jobs", h.cohortAPI(h.apiJobs))
	m.HandleFunc("POST "+Prefix+"/api/jobs/{id}/cancel", h.api(h.apiCancelJob))
	m.HandleFunc("POST "+Prefix+"/api/broadcasts", h.api(h.apiBroadcast))
	m.HandleFunc("POST "+Prefix+"/api/broadcasts/preview", h.api(h.apiBroadcastPreview))
	m.HandleFunc("GET "+Prefix+"/api/audit", h.api(h.apiAudit))
	m.HandleFunc("GET "+Prefix+"/api/inbox", h.api(h.apiInbox))
	m.HandleFunc("GET "+Prefix+"/api/outcomes", h.api(h.apiOutcomes))
	m.HandleFunc("GET "+Prefix+"/api/cohorts/{code}/outcomes", h.cohortAPI(func(w http.ResponseWriter, r *http.Request, c cohort.Coach, co cohort.Cohort) {
		h.writeOutcomes(w, r, c, co.Code)
	}))
	m.HandleFunc("GET "+Prefix+"/api/inbox/{key}", h.api(h.apiThread))
	m.HandleFunc("POST "+Prefix+"/api/inbox/{key}/answers", h.api(h.apiAnswer))
	m.HandleFunc(Prefix+"/api/", func(w http.ResponseWriter, r *http.Request) {
		writeJSONError(w, http.StatusNotFound, "no such API endpoint")
	})
}

// page wraps a page handler: it finds the coach of the session cookie, or
// sends the browser to the login page.
func (h *Handler) page(fn func(w http.ResponseWriter, r *http.Request, c cohort.Coach)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c, err := h.sessionCoach(r)
		if err != nil {
			if bot.KindOf(err) != bot.NotFound {
				h.fail(w, r, err)
				return
			}
			if r.Method == http.MethodGet {
				http.Redirect(w, r, Prefix+"/login?next="+queryEscape(r.URL.Path), http.StatusSeeOther)
				return
			}
			http.Error(w, h.t(r, "dash.error.session"), http.StatusUnauthorized)
			return
		}
		fn(w, r, c)
	}
}

// api wraps an API handler: it finds the coach of the bearer token.
func (h *Handler) api(fn func(w http.ResponseWriter, r *http.Request, c cohort.Coach)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		token = strings.TrimSpace(token)
		if !ok || token == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="darsi"`)
			writeJSONError(w, http.StatusUnauthorized, "missing bearer token")
			return
		}
		c, err := h.cfg.Coaching.CoachByToken(r.Context(), token)
		if err != nil {
			if bot.KindOf(err) == bot.NotFound {
				w.Header().Set("WWW-Authenticate", `Bearer realm="darsi", error="invalid_token"`)
				writeJSONError(w, http.StatusUnauthorized, "invalid token")
				return
			}
			h.apiFail(w, r, err)
			return
		}
		fn(w, r, c)
	}
}

// sessionCoach returns the coach of the request's session, or NotFound.
func (h *Handler) sessionCoach(r *http.Request) (cohort.Coach, error) {
	ck, err := r.Cookie(sessionCookie)
	if err != nil {
		return cohort.Coach{}, bot.Errorf("coachweb.session", bot.NotFound, "no session")
	}
	return h.cfg.Coaching.SessionCoach(r.Context(), ck.Value)
}

// cohortPage wraps a page about the cohort named by the request's {code}:
// the coach must be logged in and may see it (app.Coaching.Cohort:
// another coach's cohort is NotFound).
func (h *Handler) cohortPage(fn func(w http.ResponseWriter, r *http.Request, c cohort.Coach, co cohort.Cohort)) http.HandlerFunc {
	return h.page(func(w http.ResponseWriter, r *http.Request, c cohort.Coach) {
		co, err := h.cfg.Coaching.Cohort(r.Context(), c, r.PathValue("code"))
		if err != nil {
			h.fail(w, r, err)
			return
		}
		fn(w, r, c, co)
	})
}

// cohortAPI is cohortPage for the API: a bearer token, JSON errors.
func (h *Handler) cohortAPI(fn func(w http.ResponseWriter, r *http.Request, c cohort.Coach, co cohort.Cohort)) http.HandlerFunc {
	return h.api(func(w http.ResponseWriter, r *http.Request, c cohort.Coach) {
		co, err := h.cfg.Coaching.Cohort(r.Context(), c, r.PathValue("code"))
		if err != nil {
			h.apiFail(w, r, err)
			return
		}
		fn(w, r, c, co)
	})
}

// fail answers a page request that went wrong.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	status := statusOf(err)
	if status >= 500 {
		h.cfg.Log.Error("coach dashboard", "path", r.URL.Path, "err", err)
	}
	id, ok := map[int]string{
		http.StatusBadRequest:         "dash.error.badRequest",
		http.StatusForbidden:          "dash.error.forbidden",
		http.StatusNotFound:           "dash.error.notFound",
		http.StatusConflict:           "dash.error.conflict",
		http.StatusServiceUnavailable: "dash.error.unavailable",
	}[status]
	if !ok {
		id = "dash.error.internal"
	}
	msg := h.t(r, id)
	if status == http.StatusBadRequest {
		var e *bot.Error
		if errors.As(err, &e) && e.Err != nil {
			msg += " " + e.Err.Error()
		}
	}
	http.Error(w, msg, status)
}
