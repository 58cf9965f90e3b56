package coachweb

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/darsi-ma/darsi/bot/app"
	"github.com/darsi-ma/darsi/bot/cohort"
	"github.com/darsi-ma/darsi/bot/schedule"
)

// maxAPIBody bounds an API request body.
const maxAPIBody = 16 << 10

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
	Text     string `json:"text"`
	At       string `json:"at,omitempty"`       // RFC 3339; empty is now
	Template string `json:"template,omitempty"` // the template kind outside the window
	Kind     string `json:"kind,omitempty"`     // reminder (default) or broadcast
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
	var req ReminderRequest
	if !decode(w, r, &req) {
		return
	}
	at, err := h.parseAt(req.At)
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	res, err := h.cfg.Coaching.Remind(r.Context(), c, app.Reminder{
		Kind: schedule.Kind(req.Kind), Cohort: co.Code, Text: req.Text, Template: req.Template, At: at})
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, ReminderResponse{Queued: res.Queued, Already: res.Already, OptedOut: res.OptedOut,
		Unreachable: res.Unreachable, ID: res.Reminder, DueAt: res.DueAt.UTC().Format("2006-01-02T15:04:05Z")})
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
