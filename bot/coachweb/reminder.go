package coachweb

import (
	"strings"
	"time"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/app"
	"github.com/darsi-ma/darsi/bot/schedule"
)

// langPreview is a reminder in one language, as the page shows it.
type langPreview struct {
	app.LangPreview
	Name string
	RTL  bool
}

// decisionRow is what happens to a reminder for one member, in a coach's
// words.
type decisionRow struct {
	Learner string
	Lang    bot.Lang
	Route   schedule.Route
	Why     string
	// SendAt is when the outbox will send it (quiet hours and the
	// Friday prayer in the learner's zone, Zone, included).
	SendAt time.Time
	Zone   string
	// Local is SendAt in the learner's zone, "" when it is the
	// programme's.
	Local string
}

// parseAt reads the time a coach typed: RFC 3339, or the form's local
// "2006-01-02T15:04" in the programme's time zone. Empty is now (the zero
// time); app.Coaching.Remind moves a past time to now and refuses one more
// than a year away. Errors are of kind Invalid.
func (h *Handler) parseAt(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	t, err := time.ParseInLocation("2006-01-02T15:04", s, h.cfg.Location)
	if err != nil {
		return time.Time{}, bot.Errorf("coachweb.at", bot.Invalid, "time %q: want RFC 3339, such as 2026-03-01T09:00:00+01:00", s)
	}
	return t, nil
}

// why says in a coach's words what the outbox will do with the reminder
// for one member (schedule.Policy decided it).
func (h *Handler) why(w words, rm app.Reminder, d schedule.Decision) string {
	var parts []string
	if d.Held {
		parts = append(parts, w.t("dash.why.held", "At", w.when(d.SendAt, h.cfg.Location)))
	}
	switch {
	case d.Route == schedule.RouteSkip && d.Skip == schedule.SkipOptedOut:
		return w.t("dash.why.optedOut")
	case d.Route == schedule.RouteSkip:
		return w.t("dash.why.unreachable")
	case d.Route == schedule.RouteFree && d.WindowUntil.IsZero():
		parts = append(parts, w.t("dash.why.sms"))
	case d.Route == schedule.RouteFree:
		parts = append(parts, w.t("dash.why.window", "Until", w.when(d.WindowUntil, h.cfg.Location)))
	default:
		kind := rm.Template
		if kind == "" {
			kind = string(rm.Kind)
		}
		parts = append(parts, w.t("dash.why.template", "Template", w.ltr(kind)))
		if d.NoTemplate {
			parts = append(parts, w.t("dash.why.noTemplate"))
		}
	}
	return strings.Join(parts, w.t("dash.why.then"))
}
