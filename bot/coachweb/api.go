package coachweb

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/app"
	"github.com/darsi-ma/darsi/bot/cohort"
	"github.com/darsi-ma/darsi/bot/schedule"
)

// maxAPIBody bounds an API request body (a reminder's texts in four
// languages and its first, 1,600 characters each).
const maxAPIBody = 64 << 10

// APICohort is a cohort in the API's answers.
type APICohort struct {
	Code      string `json:"code"`
	Name      string `json:"name"`
	Coach     string `json:"coach"`
	Link      string `json:"link"`
	Members   int    `json:"members"`
	CreatedAt string `json:"created_at"`
}

// CohortRequest is the body of POST /coach/api/cohorts. Coach names the
// owner; only an admin may name another coach.
type CohortRequest struct {
	Name  string `json:"name"`
	Coach string `json:"coach,omitempty"`
}

// CohortResponse is the answer to POST /coach/api/cohorts, the same as
// "darsi cohort create NAME --json".
type CohortResponse struct {
	Code string `json:"code"`
	Link string `json:"link"`
}

// ReminderRequest is the body of POST /coach/api/cohorts/{code}/reminders.
type ReminderRequest struct {
	// Text is the coach's words for every language without a text of its
	// own in Texts; it may be left out when Texts has one.
	Text string `json:"text"`
	// Texts are the coach's words per language ("ary", "ar", "fr",
	// "zgh"): each member gets their language's.
	Texts    map[bot.Lang]string `json:"texts,omitempty"`
	At       string              `json:"at,omitempty"`       // RFC 3339; empty is now
	Template string              `json:"template,omitempty"` // the template kind outside the window
	Kind     string              `json:"kind,omitempty"`     // reminder (default) or broadcast
}

// ReminderResponse says how many jobs were queued, and why members got
// none.
type ReminderResponse struct {
	Queued      int    `json:"queued"`
	Already     int    `json:"already"`     // queued by an earlier call of the same reminder
	OptedOut    int    `json:"opted_out"`   // members who opted out
	Unreachable int    `json:"unreachable"` // members on the terminal or the simulator
	ID          string `json:"id"`          // the reminder's id, the start of its jobs' ids
	DueAt       string `json:"due_at"`
	// Warning says why nothing was queued when nobody in the cohort can
	// receive it; "" otherwise.
	Warning string `json:"warning,omitempty"`
}

// APIError is the body of every API error.
type APIError struct {
	Error string `json:"error"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}

func writeJSONError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, APIError{Error: msg})
}

// apiFail answers an API request that went wrong: the kind's status, and
// the message for input errors only.
func (h *Handler) apiFail(w http.ResponseWriter, r *http.Request, err error) {
	status := statusOf(err)
	msg := http.StatusText(status)
	switch {
	case status >= 500:
		h.cfg.Log.Error("coach API", "path", r.URL.Path, "err", err)
	case status == http.StatusBadRequest:
		msg = errText(err)
	case status == http.StatusNotFound:
		msg = "not found"
	}
	writeJSONError(w, status, strings.ToLower(msg))
}

// decode reads a JSON body into v; errors are of kind Invalid, or 413.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		writeJSONError(w, http.StatusUnsupportedMediaType, "send application/json")
		return false
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxAPIBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeJSONError(w, http.StatusRequestEntityTooLarge, "body too large")
			return false
		}
		writeJSONError(w, http.StatusBadRequest, "invalid JSON: "+err.Error())
		return false
	}
	return true
}

func (h *Handler) apiCohorts(w http.ResponseWriter, r *http.Request, c cohort.Coach) {
	cs, err := h.cfg.Coaching.ListCohorts(r.Context(), c, "")
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	out := make([]APICohort, 0, len(cs))
	for _, co := range cs {
		out = append(out, APICohort{Code: co.Code, Name: co.Name, Coach: co.Coach, Link: h.link(co.Code),
			Members: co.Members, CreatedAt: co.CreatedAt.UTC().Format("2006-01-02T15:04:05Z")})
	}
	writeJSON(w, http.StatusOK, out)
}

func (h *Handler) apiCreateCohort(w http.ResponseWriter, r *http.Request, c cohort.Coach) {
	var req CohortRequest
	if !decode(w, r, &req) {
		return
	}
	co, err := h.cfg.Coaching.CreateCohort(r.Context(), c, req.Name, req.Coach)
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	w.Header().Set("Location", Prefix+"/api/cohorts/"+co.Code+"/learners")
	writeJSON(w, http.StatusCreated, CohortResponse{Code: co.Code, Link: h.link(co.Code)})
}

// apiLearners answers a page of the cohort's members (?cursor=, ?limit=):
// the body is the page as a JSON array, the next page's URL is in a Link
// header (rel="next"), the cohort's size in X-Total-Count.
func (h *Handler) apiLearners(w http.ResponseWriter, r *http.Request, c cohort.Coach, co cohort.Cohort) {
	cursor, limit := pageOf(r)
	members, next, err := h.cfg.Coaching.MembersPage(r.Context(), co.Code, cursor, limit)
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	counts, err := h.cfg.Coaching.Members.CohortCounts(r.Context(), co.Code)
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	paged(w, r, next, limit, int(counts[app.CountMembers]))
	writeJSON(w, http.StatusOK, h.cfg.Coaching.Progress(members))
}

// paged sets the headers of a page: Link to the next one (none after the
// last), X-Total-Count.
func paged(w http.ResponseWriter, r *http.Request, next string, limit, total int) {
	if next != "" {
		u := *r.URL
		q := u.Query()
		q.Set("cursor", next)
		q.Set("limit", strconv.Itoa(limit))
		u.RawQuery = q.Encode()
		w.Header().Set("Link", "<"+u.RequestURI()+`>; rel="next"`)
	}
	w.Header().Set("X-Total-Count", strconv.Itoa(total))
}

func (h *Handler) apiRemind(w http.ResponseWriter, r *http.Request, c cohort.Coach, co cohort.Cohort) {
	rm, ok := h.reminderRequest(w, r, co)
	if !ok {
		return
	}
	res, err := h.cfg.Coaching.Remind(r.Context(), c, rm)
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	out := ReminderResponse{Queued: res.Queued, Already: res.Already, OptedOut: res.OptedOut,
		Unreachable: res.Unreachable, ID: res.Reminder, DueAt: res.DueAt.UTC().Format("2006-01-02T15:04:05Z")}
	status := http.StatusAccepted
	if res.Queued == 0 && res.Already == 0 {
		// Nothing will go out: no success to report.
		status = http.StatusUnprocessableEntity
		out.Warning = fmt.Sprintf("nobody in cohort %s can receive it (%d opted out, %d on the terminal or the simulator): nothing queued",
			co.Code, res.OptedOut, res.Unreachable)
	}
	writeJSON(w, status, out)
}

// PreviewLang is a reminder in one language, in the preview's answer.
type PreviewLang struct {
	Lang     bot.Lang `json:"lang"`
	Own      string   `json:"own"`  // the coach's words for the language
	Text     string   `json:"text"` // the message inside the window
	Segments int      `json:"segments"`
	Encoding string   `json:"encoding"`
	Members  int      `json:"members"`
}

// PreviewMember is what the reminder does for one member.
type PreviewMember struct {
	Learner string         `json:"learner"` // masked
	Lang    bot.Lang       `json:"lang"`
	Route   schedule.Route `json:"route"` // free, template or skip
	Skip    string         `json:"skip,omitempty"`
	// SendAt is when the outbox will send it: the due time, or the end of
	// the quiet hours (or Friday prayer) that hold it in Zone.
	SendAt     string `json:"send_at,omitempty"`
	Held       bool   `json:"held"`
	Zone       string `json:"zone,omitempty"`
	Template   string `json:"template,omitempty"` // the template's SID outside the window
	NoTemplate bool   `json:"no_template,omitempty"`
}

// PreviewResponse is the answer of POST
// /coach/api/cohorts/{code}/reminders/preview: what the same body would
// do, queued now, as the outbox will decide it.
type PreviewResponse struct {
	DueAt    string          `json:"due_at"`
	Langs    []PreviewLang   `json:"langs"`
	Members  []PreviewMember `json:"members"`
	Free     int             `json:"free"`
	Template int             `json:"template"`
	Skipped  int             `json:"skipped"`
	// Sending counts the members who would get it; 0 means nobody can.
	Sending int `json:"sending"`
}

// reminderRequest reads a ReminderRequest for cohort co, answering the
// error itself when it does not read.
func (h *Handler) reminderRequest(w http.ResponseWriter, r *http.Request, co cohort.Cohort) (app.Reminder, bool) {
	var req ReminderRequest
	if !decode(w, r, &req) {
		return app.Reminder{}, false
	}
	at, err := h.parseAt(req.At)
	if err != nil {
		h.apiFail(w, r, err)
		return app.Reminder{}, false
	}
	return app.Reminder{Kind: schedule.Kind(req.Kind), Cohort: co.Code, Text: req.Text, Texts: req.Texts,
		Template: req.Template, At: at}, true
}

// apiPreview says what a reminder would do, member by member, without
// queueing it.
func (h *Handler) apiPreview(w http.ResponseWriter, r *http.Request, c cohort.Coach, co cohort.Cohort) {
	rm, ok := h.reminderRequest(w, r, co)
	if !ok {
		return
	}
	plan, err := h.cfg.Coaching.Preview(r.Context(), c, rm)
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	res := PreviewResponse{DueAt: plan.DueAt.UTC().Format(time.RFC3339), Free: plan.Free, Template: plan.Template,
		Skipped: plan.Skipped, Sending: plan.Free + plan.Template, Langs: []PreviewLang{}, Members: []PreviewMember{}}
	for _, l := range plan.Langs {
		res.Langs = append(res.Langs, PreviewLang{Lang: l.Lang, Own: l.Own, Text: l.Text, Segments: l.Segments, Encoding: l.Encoding, Members: l.Members})
	}
	for _, m := range plan.Members {
		pm := PreviewMember{Learner: m.Learner, Lang: m.Lang, Route: m.Route, Skip: m.Skip, Held: m.Held, Zone: m.Zone,
			Template: m.Template.SID, NoTemplate: m.NoTemplate}
		if m.Route != schedule.RouteSkip {
			pm.SendAt = m.SendAt.UTC().Format(time.RFC3339Nano)
		}
		res.Members = append(res.Members, pm)
	}
	writeJSON(w, http.StatusOK, res)
}

// apiJobs answers a page of the cohort's jobs, newest due first, paged as
// apiLearners is.
func (h *Handler) apiJobs(w http.ResponseWriter, r *http.Request, c cohort.Coach, co cohort.Cohort) {
	cursor, limit := pageOf(r)
	rows, next, err := h.jobRows(r.Context(), co.Code, cursor, limit)
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	counts, err := h.cfg.Coaching.Outbox.Counts(r.Context(), co.Code)
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	total := 0
	for _, n := range counts {
		total += n
	}
	paged(w, r, next, limit, total)
	writeJSON(w, http.StatusOK, rows)
}

// apiOutcomes answers the outcomes over every cohort the coach sees: per
// indicator, the answers at the end of the course (baseline) and to the
// follow-up survey, with their counts.
func (h *Handler) apiOutcomes(w http.ResponseWriter, r *http.Request, c cohort.Coach) {
	h.writeOutcomes(w, r, c, "")
}

func (h *Handler) writeOutcomes(w http.ResponseWriter, r *http.Request, c cohort.Coach, code string) {
	os, err := h.cfg.Coaching.Outcomes(r.Context(), c, code)
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	if os == nil {
		os = []app.Outcome{}
	}
	writeJSON(w, http.StatusOK, os)
}
