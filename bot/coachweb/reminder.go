package coachweb

import (
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/locale"
	"github.com/darsi-ma/darsi/bot/schedule"
)

// MaxReminderText bounds a reminder: WhatsApp and Twilio take 1,600
// characters in a body.
const MaxReminderText = 1600

// Window is WhatsApp's customer-service window: free text may be sent
// until this long after the learner's last message.
const Window = schedule.WhatsAppWindow

var templatePattern = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,39}$`)

// Reminder is a coach's message to every member of a cohort.
type Reminder struct {
	Kind     schedule.Kind // Reminder or Broadcast
	Cohort   string
	Text     string
	Template string // the template kind outside the window; "" for the job's kind
	DueAt    time.Time
	By       string // the coach's login
}

// Check validates a reminder; errors are of kind Invalid.
func (rm Reminder) Check() error {
	const op = "coachweb.Reminder"
	switch {
	case rm.Kind != schedule.Reminder && rm.Kind != schedule.Broadcast:
		return bot.Errorf(op, bot.Invalid, "kind must be reminder or broadcast")
	case strings.TrimSpace(rm.Text) == "":
		return bot.Errorf(op, bot.Invalid, "the text is empty")
	case !utf8.ValidString(rm.Text) || strings.ContainsRune(rm.Text, 0):
		return bot.Errorf(op, bot.Invalid, "the text is not valid UTF-8")
	case utf8.RuneCountInString(rm.Text) > MaxReminderText:
		return bot.Errorf(op, bot.Invalid, "the text has more than %d characters", MaxReminderText)
	case rm.Template != "" && !templatePattern.MatchString(rm.Template):
		return bot.Errorf(op, bot.Invalid, "template %q: want a kind such as reminder", rm.Template)
	case rm.Cohort == "":
		return bot.Errorf(op, bot.Invalid, "no cohort")
	}
	return nil
}

// ID identifies the reminder by what it says, to whom and when: the same
// reminder sent twice (a double click, a retried API call) queues nothing
// new, since its jobs keep their ids.
func (rm Reminder) ID() string {
	h := sha256.New()
	for _, s := range []string{string(rm.Kind), strings.ToUpper(rm.Cohort), rm.Template,
		strconv.FormatInt(rm.DueAt.Unix(), 10), rm.Text} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// JobID is the id of the reminder's job for one learner: the kind, the
// reminder's id and a hash of the learner (no phone number in URLs).
func (rm Reminder) JobID(learner string) string {
	sum := sha256.Sum256([]byte(learner))
	return string(rm.Kind) + "-" + rm.ID() + "-" + hex.EncodeToString(sum[:])[:12]
}

// Job returns the reminder's job for one learner.
func (rm Reminder) Job(learner string, now time.Time) schedule.Job {
	return schedule.Job{
		ID: rm.JobID(learner), Kind: rm.Kind, Learner: learner, Cohort: rm.Cohort,
		Text: rm.Text, Template: rm.Template, DueAt: rm.DueAt,
		CreatedAt: now, CreatedBy: rm.By, Status: schedule.Queued, UpdatedAt: now,
	}
}

// Jobs returns one job per member who may receive it: learners who opted
// out get none, nor those who talk to the bot from the terminal or the
// simulator, where nothing can reach them.
func (rm Reminder) Jobs(members []bot.Learner, now time.Time) []schedule.Job {
	var jobs []schedule.Job
	for _, l := range members {
		if l.OptedOut || !reachable(l) {
			continue
		}
		jobs = append(jobs, rm.Job(l.ID, now))
	}
	return jobs
}

// channel is the learner's channel, from the record or the ID.
func channel(l bot.Learner) bot.Channel {
	if l.Channel != "" {
		return l.Channel
	}
	ch, _ := bot.SplitLearnerID(l.ID)
	return ch
}

// reachable reports whether a message can reach the learner: by WhatsApp
// or SMS.
func reachable(l bot.Learner) bool {
	ch := channel(l)
	return ch == bot.WhatsApp || ch == bot.SMS
}

// Route is how a reminder goes to one member.
type Route string

// Routes.
const (
	RouteFree     Route = "free"     // free text: inside the window, or SMS
	RouteTemplate Route = "template" // the approved template: outside the window
	RouteSkip     Route = "skip"     // nothing: opted out, or not on WhatsApp or SMS
)

// Decision is what happens to a reminder for one member.
type Decision struct {
	Learner string    `json:"learner"` // masked
	Lang    bot.Lang  `json:"lang"`
	Route   Route     `json:"route"`
	Why     string    `json:"why"`
	Until   time.Time `json:"window_until,omitzero"` // when the window closes, for free text on WhatsApp
	// NoTemplate is set when the route is a template but none is
	// configured for this kind and language: the send will fail.
	NoTemplate bool `json:"no_template,omitempty"`
}

// templateKind is the template a reminder uses outside the window.
func (rm Reminder) templateKind() string {
	if rm.Template != "" {
		return rm.Template
	}
	return string(rm.Kind)
}

// decide says how the reminder goes to l when it is due (quiet hours may
// still hold it later, which only closes more windows).
func (h *Handler) decide(rm Reminder, l bot.Learner) Decision {
	d := Decision{Learner: bot.Mask(l.ID), Lang: l.Lang}
	switch {
	case l.OptedOut:
		d.Route, d.Why = RouteSkip, "désinscrit (stop)"
	case !reachable(l):
		d.Route, d.Why = RouteSkip, "parle au bot depuis le terminal ou le simulateur : injoignable"
	case channel(l) == bot.WhatsApp:
		until := l.LastInboundAt.Add(Window)
		if !l.LastInboundAt.IsZero() && rm.DueAt.Before(until) {
			d.Route, d.Until = RouteFree, until
			d.Why = "fenêtre WhatsApp ouverte jusqu'à " + until.In(h.cfg.Location).Format("02/01 15:04")
		} else {
			d.Route = RouteTemplate
			d.Why = "hors de la fenêtre de 24 h : modèle « " + rm.templateKind() + " »"
			lang := l.Lang
			if !lang.Valid() {
				lang = bot.French
			}
			if h.cfg.HasTemplate != nil && !h.cfg.HasTemplate(rm.templateKind(), lang) {
				d.NoTemplate = true
				d.Why += " — aucun modèle configuré pour cette langue : l'envoi échouera"
			}
		}
	default:
		d.Route, d.Why = RouteFree, "SMS"
	}
	return d
}

// LangPreview is what a learner writing in one language gets.
type LangPreview struct {
	Lang     bot.Lang `json:"lang"`
	Name     string   `json:"name"`
	RTL      bool     `json:"rtl"`
	Text     string   `json:"text"`
	Encoding string   `json:"encoding"`
	Units    int      `json:"units"`
	Segments int      `json:"segments"`
	Members  int      `json:"members"`
}

var langNames = map[bot.Lang]string{
	bot.Darija: "الدارجة / Darija", bot.Arabic: "العربية", bot.French: "Français", bot.Tamazight: "ⵜⴰⵎⴰⵣⵉⵖⵜ / Tamaziɣt",
}

// preview renders the reminder in each language, with its SMS cost.
func (h *Handler) preview(rm Reminder, members []bot.Learner) []LangPreview {
	count := map[bot.Lang]int{}
	for _, l := range members {
		if !l.OptedOut && reachable(l) {
			count[l.Lang]++
		}
	}
	var out []LangPreview
	for _, lang := range bot.Langs {
		text := h.body(lang, rm.Job("", h.cfg.Now()))
		sms := locale.Segments(text)
		out = append(out, LangPreview{
			Lang: lang, Name: langNames[lang], RTL: lang.RTL(), Text: text,
			Encoding: string(sms.Encoding), Units: sms.Units, Segments: sms.Segments, Members: count[lang],
		})
	}
	return out
}

// parseDue reads the time a coach typed: RFC 3339, or the form's local
// "2006-01-02T15:04" in the program's time zone; empty is now. A time in
// the past is now.
func (h *Handler) parseDue(s string) (time.Time, error) {
	// Now is taken to the minute, so that the same reminder sent twice in
	// a minute keeps its id (see Reminder.ID).
	now := h.cfg.Now().Truncate(time.Minute)
	s = strings.TrimSpace(s)
	if s == "" {
		return now, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		var err2 error
		t, err2 = time.ParseInLocation("2006-01-02T15:04", s, h.cfg.Location)
		if err2 != nil {
			return time.Time{}, bot.Errorf("coachweb.due", bot.Invalid, "time %q: want RFC 3339, such as 2026-03-01T09:00:00+01:00", s)
		}
	}
	if t.Before(now) {
		t = now
	}
	if t.After(now.AddDate(1, 0, 0)) {
		return time.Time{}, bot.Errorf("coachweb.due", bot.Invalid, "time %q is more than a year away", s)
	}
	return t.Truncate(time.Second), nil
}

// body is the free text a learner in lang gets for j: Config.Render's, or
// what the scheduler sends (schedule.Render: the coach's words in the
// kind's frame, its directional marks included, which count in SMS
// segments).
func (h *Handler) body(lang bot.Lang, j schedule.Job) string {
	if h.cfg.Render != nil {
		return h.cfg.Render(lang, j)
	}
	words := h.cfg.Content().Text
	if words == nil {
		return strings.TrimSpace(j.Text)
	}
	body, err := schedule.Render(words, lang, j)
	if err != nil {
		return strings.TrimSpace(j.Text)
	}
	return body
}
