package coachweb

import (
	"net/http"
	"strings"
	"time"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/cohort"
	"github.com/darsi-ma/darsi/bot/schedule"
)

// cancelJob cancels a job of the cohort from its outbox page (a button per
// queued job), through the same use case as the API and the command line,
// then shows the outbox again saying what happened.
func (h *Handler) cancelJob(w http.ResponseWriter, r *http.Request, c cohort.Coach, co cohort.Cohort) {
	id := r.PathValue("id")
	back := Prefix + "/cohorts/" + co.Code + "/outbox"
	j, err := h.cfg.Coaching.Outbox.Job(r.Context(), id)
	if err == nil && !strings.EqualFold(j.Cohort, co.Code) {
		err = bot.Errorf("coachweb.cancel", bot.NotFound, "no job %q in cohort %s", id, co.Code)
	}
	if err == nil {
		_, err = h.cfg.Coaching.CancelJob(r.Context(), c, id)
	}
	switch {
	case err == nil:
		http.Redirect(w, r, back+"?cancelled=1", http.StatusSeeOther)
	case bot.KindOf(err) == bot.Conflict:
		http.Redirect(w, r, back+"?late=1", http.StatusSeeOther)
	default:
		h.fail(w, r, err)
	}
}

// CancelResponse is the answer of POST /coach/api/jobs/{id}/cancel.
type CancelResponse struct {
	ID     string          `json:"id"`
	Status schedule.Status `json:"status"`
	Cohort string          `json:"cohort,omitempty"`
	At     string          `json:"updated_at"`
}

// apiCancelJob cancels a job: a coach's only for their own cohorts (any
// other is 404), an admin's for any job. 200 with the job's status; 409
// when it is too late (the message is sent, or being sent).
func (h *Handler) apiCancelJob(w http.ResponseWriter, r *http.Request, c cohort.Coach) {
	j, err := h.cfg.Coaching.CancelJob(r.Context(), c, r.PathValue("id"))
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, CancelResponse{ID: j.ID, Status: j.Status, Cohort: j.Cohort, At: j.UpdatedAt.UTC().Format(time.RFC3339)})
}
