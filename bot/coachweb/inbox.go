package coachweb

import (
	"cmp"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/app"
	"github.com/darsi-ma/darsi/bot/cohort"
	"github.com/darsi-ma/darsi/bot/schedule"
)

// statusWord says a job's status in a coach's words (dash.status.*), or
// as it is when the dashboard has no word for it.
func statusWord(w words, s string) string { return w.word("dash.status.", s) }

// phaseWord says where a learner stands, outside a lesson, in a coach's
// words (dash.phase.*).
func phaseWord(w words, p string) string { return w.word("dash.phase.", p) }

// lessonTitleIn is a lesson's title in lang (the dashboard's language),
// else def, else its id when the lessons no longer have it.
func (h *Handler) lessonTitleIn(lang bot.Lang, id, def string) string {
	if id == "" {
		return ""
	}
	if c := h.cfg.Coaching.Content(); c != nil && c.Lessons != nil {
		if l := c.Lessons.Lesson(id); l != nil {
			if t := l.Title.In(lang); t != "" {
				return t
			}
		}
	}
	return cmp.Or(def, id)
}

// stepOf says where a step stands in its lesson, in words: "étape 2 sur
// 9"; "" when the lessons no longer have it.
func (h *Handler) stepOf(w words, lessonID, stepID string) string {
	c := h.cfg.Coaching.Content()
	if c == nil || c.Lessons == nil || stepID == "" {
		return ""
	}
	l := c.Lessons.Lesson(lessonID)
	if l == nil {
		return ""
	}
	for i, st := range l.Steps {
		if st.ID == stepID {
			return w.t("dash.progress.step", "Step", i+1, "Steps", len(l.Steps))
		}
	}
	return ""
}

// courseTitleIn is a course's title in lang, or its id.
func (h *Handler) courseTitleIn(lang bot.Lang, id string) string {
	if id == "" {
		return ""
	}
	if c := h.cfg.Coaching.Content(); c != nil && c.Lessons != nil {
		if co := c.Lessons.Course(id); co != nil {
			if t := co.Title.In(lang); t != "" {
				return t
			}
		}
	}
	return id
}

// threadRow is a thread in the inbox's list.
type threadRow struct {
	Key     string
	Who     string // the profile name, else "apprenant·e"
	Cohort  string
	Lang    bot.Lang
	Unread  int
	Updated time.Time
	Last    string
	FromYou bool // the last message is an answer
}

type inboxView struct {
	Threads []threadRow
	Cohort  string // the ?cohort= filter
	Next    string
	First   bool
}

func who(w words, name string) string {
	if name != "" {
		return name
	}
	return w.t("dash.inbox.anonymous")
}

// excerpt cuts a message for a list.
func excerpt(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}

func (h *Handler) inboxPage(w http.ResponseWriter, r *http.Request, c cohort.Coach) {
	cursor, limit := pageOf(r)
	only := r.URL.Query().Get("cohort")
	page, err := h.cfg.Coaching.Inbox(r.Context(), c, only, cursor, limit)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	v := inboxView{Cohort: only, Next: page.Next, First: cursor != ""}
	for _, t := range page.Threads {
		row := threadRow{Key: t.Key, Who: who(h.words(r), t.Name), Cohort: t.Cohort, Lang: t.Lang, Unread: t.Unread, Updated: t.UpdatedAt}
		if n := len(t.Messages); n > 0 {
			row.Last, row.FromYou = excerpt(t.Messages[n-1].Text, 120), t.Messages[n-1].From != ""
		}
		v.Threads = append(v.Threads, row)
	}
	h.show(w, r, http.StatusOK, "inbox", view{Coach: &c, Title: h.t(r, "dash.inbox.title"), Body: v})
}

// messageRow is a message of a thread as the page shows it.
type messageRow struct {
	app.InboxMessage
	Lesson, Course string // titles in the dashboard's language
	LessonOwn      string // the lesson's title in the learner's language, when another
	Step           string // where the step stands in the lesson, in words
	Status         string // an answer's status, in words
	StatusClass    schedule.Status
	Reason         string
}

type threadView struct {
	Key       string
	Who       string
	Masked    string
	Cohort    string
	Lang      bot.Lang
	Messages  []messageRow
	Reachable bool
	// Route says what an answer sent now does, in a coach's words.
	Route   string
	Warning bool // an answer now will not arrive (no template, gone)
	Text    string
	Error   string
	Sent    bool
	Max     int
}

func (h *Handler) threadPage(w http.ResponseWriter, r *http.Request, c cohort.Coach) {
	h.showThread(w, r, c, http.StatusOK, threadView{Sent: r.URL.Query().Get("sent") == "1"})
}

func (h *Handler) showThread(w http.ResponseWriter, r *http.Request, c cohort.Coach, status int, v threadView) {
	t, err := h.cfg.Coaching.Thread(r.Context(), c, r.PathValue("key"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	wd := h.words(r)
	v.Key, v.Who, v.Masked, v.Cohort, v.Lang, v.Reachable, v.Max = t.Key, who(wd, t.Name), t.Masked, t.Cohort, t.Lang, t.Reachable, app.MaxAnswer
	for _, m := range t.Messages {
		row := messageRow{InboxMessage: m}
		if m.Context != nil {
			row.Lesson, row.Course = h.lessonTitleIn(wd.lang, m.Context.Lesson, ""), h.courseTitleIn(wd.lang, m.Context.Course)
			if own := h.lessonTitleIn(m.Context.Lang, m.Context.Lesson, ""); m.Context.Lang.Valid() && own != row.Lesson {
				row.LessonOwn = own
			}
			row.Step = h.stepOf(wd, m.Context.Lesson, m.Context.Step)
		}
		if m.Job != "" {
			if st, ok := t.Status[m.Job]; ok {
				row.Status, row.StatusClass, row.Reason = statusWord(wd, string(st)), st, t.Reason[m.Job]
			} else {
				row.Status = wd.t("dash.thread.jobGone")
			}
		}
		v.Messages = append(v.Messages, row)
	}
	switch {
	case !t.Reachable:
		v.Route, v.Warning = wd.t("dash.thread.unreachable"), true
	default:
		v.Route = h.why(wd, app.Reminder{Kind: schedule.CoachReply}, t.Answer)
		v.Warning = t.Answer.NoTemplate
	}
	h.show(w, r, status, "thread", view{Coach: &c, Title: wd.t("dash.thread.pageTitle", "Who", v.Who), Body: v})
}

func (h *Handler) answer(w http.ResponseWriter, r *http.Request, c cohort.Coach) {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		http.Error(w, h.t(r, "dash.error.formTooLong"), http.StatusRequestEntityTooLarge)
		return
	}
	key := r.PathValue("key")
	text := r.PostFormValue("text")
	if _, err := h.cfg.Coaching.Answer(r.Context(), c, key, text); err != nil {
		if bot.KindOf(err) == bot.Invalid {
			h.showThread(w, r, c, http.StatusBadRequest, threadView{Text: text, Error: errText(err)})
			return
		}
		h.fail(w, r, err)
		return
	}
	http.Redirect(w, r, Prefix+"/inbox/"+key+"?sent=1", http.StatusSeeOther)
}

// The API.

// APIMessage is a message of a thread in the API's answers.
type APIMessage struct {
	ID      string          `json:"id"`
	From    string          `json:"from,omitempty"` // the coach's login; "" for the learner
	Text    string          `json:"text"`
	At      string          `json:"at"`
	Context *app.AskContext `json:"context,omitempty"`
	Job     string          `json:"job,omitempty"`
	Status  schedule.Status `json:"status,omitempty"` // an answer's job status
	Reason  string          `json:"reason,omitempty"`
}

// APIThread is a thread in the API's answers. Learner is masked.
type APIThread struct {
	Key       string       `json:"key"`
	Learner   string       `json:"learner,omitempty"`
	Name      string       `json:"name,omitempty"`
	Cohort    string       `json:"cohort"`
	Lang      bot.Lang     `json:"lang,omitempty"`
	Unread    int          `json:"unread"`
	UpdatedAt string       `json:"updated_at"`
	Messages  []APIMessage `json:"messages"`
	// Answer says what an answer sent now would do: route (free,
	// template, skip), when it would go, until when WhatsApp's window is
	// open, and whether the template is missing.
	Answer *APIDecision `json:"answer,omitempty"`
}

// APIDecision is schedule.Decision in the API's answers.
type APIDecision struct {
	Route       schedule.Route `json:"route"`
	Skip        string         `json:"skip,omitempty"`
	SendAt      string         `json:"send_at,omitempty"`
	Held        bool           `json:"held"`
	WindowUntil string         `json:"window_until,omitempty"`
	Template    string         `json:"template,omitempty"`
	NoTemplate  bool           `json:"no_template"`
	Reachable   bool           `json:"reachable"`
}

// AnswerRequest is the body of POST /coach/api/inbox/{key}/answers.
type AnswerRequest struct {
	Text string `json:"text"`
}

// AnswerResponse is its answer.
type AnswerResponse struct {
	Job     string          `json:"job"`
	Status  schedule.Status `json:"status"`
	Already bool            `json:"already"`
}

func rfc3339(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func apiMessages(ms []app.InboxMessage, status map[string]schedule.Status, reason map[string]string) []APIMessage {
	out := make([]APIMessage, 0, len(ms))
	for _, m := range ms {
		out = append(out, APIMessage{ID: m.ID, From: m.From, Text: m.Text, At: rfc3339(m.At), Context: m.Context,
			Job: m.Job, Status: status[m.Job], Reason: reason[m.Job]})
	}
	return out
}

// apiInbox answers a page of the actor's threads (?cohort=, ?cursor=,
// ?limit=), each with its last message, paged as apiLearners is; the
// count of threads with unread questions is in X-Unread-Count.
func (h *Handler) apiInbox(w http.ResponseWriter, r *http.Request, c cohort.Coach) {
	cursor, limit := pageOf(r)
	only := r.URL.Query().Get("cohort")
	page, err := h.cfg.Coaching.Inbox(r.Context(), c, only, cursor, limit)
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	unread, err := h.cfg.Coaching.Unread(r.Context(), c)
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	out := make([]APIThread, 0, len(page.Threads))
	for _, t := range page.Threads {
		out = append(out, APIThread{Key: t.Key, Learner: bot.Mask(t.Learner), Name: t.Name, Cohort: t.Cohort, Lang: t.Lang,
			Unread: t.Unread, UpdatedAt: rfc3339(t.UpdatedAt), Messages: apiMessages(t.Messages, nil, nil)})
	}
	if page.Next != "" {
		u := *r.URL
		q := u.Query()
		q.Set("cursor", page.Next)
		q.Set("limit", itoa(limit))
		u.RawQuery = q.Encode()
		w.Header().Set("Link", "<"+u.RequestURI()+`>; rel="next"`)
	}
	w.Header().Set("X-Unread-Count", itoa(unread))
	writeJSON(w, http.StatusOK, out)
}

func (h *Handler) apiThread(w http.ResponseWriter, r *http.Request, c cohort.Coach) {
	t, err := h.cfg.Coaching.Thread(r.Context(), c, r.PathValue("key"))
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	d := t.Answer
	tmpl := ""
	if d.Route == schedule.RouteTemplate {
		tmpl = string(schedule.CoachReply)
	}
	writeJSON(w, http.StatusOK, APIThread{Key: t.Key, Learner: t.Masked, Name: t.Name, Cohort: t.Cohort, Lang: t.Lang,
		Unread: t.Unread, UpdatedAt: rfc3339(t.UpdatedAt), Messages: apiMessages(t.Messages, t.Status, t.Reason),
		Answer: &APIDecision{Route: d.Route, Skip: d.Skip, SendAt: rfc3339(d.SendAt), Held: d.Held, WindowUntil: rfc3339(d.WindowUntil),
			Template: tmpl, NoTemplate: d.NoTemplate, Reachable: t.Reachable}})
}

func (h *Handler) apiAnswer(w http.ResponseWriter, r *http.Request, c cohort.Coach) {
	var req AnswerRequest
	if !decode(w, r, &req) {
		return
	}
	res, err := h.cfg.Coaching.Answer(r.Context(), c, r.PathValue("key"), req.Text)
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	status := http.StatusAccepted
	if res.Already {
		status = http.StatusOK
	}
	writeJSON(w, status, AnswerResponse{Job: res.Job.ID, Status: res.Job.Status, Already: res.Already})
}

func itoa(n int) string { return strconv.Itoa(n) }
