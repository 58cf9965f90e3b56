package coachweb_test

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestPlainWords: a coach reads statuses, phases, lesson titles and
// progress in French, and a reminder that reached nobody is no success.
func TestPlainWords(t *testing.T) {
	x := newHarness(t)
	b := x.browser()
	b.login("fatima")
	learners := b.get("/coach/cohorts/" + fatimaCohort)
	// Learner 2 writes Arabic: the title in French, the Arabic one beside.
	want(t, "learners", learners, http.StatusOK, "Le vrai prix de revient de ton produit", `class="muted own"`, "étape 1 sur", "au menu des cours")
	if strings.Contains(learners.body, ">menu<") {
		t.Errorf("the learners page shows a raw phase:\n%s", clip(learners.body))
	}
	// The template is chosen from the configured ones, with their languages.
	want(t, "remind form", b.get("/coach/cohorts/"+fatimaCohort+"/remind"), http.StatusOK, `<select name="template" id="template">`,
		`<option value="coach_reply">coach_reply — Français</option>`, `<option value="reminder">reminder — `)
	none := b.get("/coach/cohorts/" + fatimaCohort + "/outbox?queued=0")
	want(t, "nothing queued", none, http.StatusOK, `class="warn" role="alert" id="queued">Aucun message programmé`)
	if strings.Contains(none.body, `class="ok"`) {
		t.Errorf("0 messages queued is shown as a success:\n%s", clip(none.body))
	}
}

// TestStuckSaysDays: the learners page says how long a stuck learner has
// been silent in French, one day in the singular.
func TestStuckSaysDays(t *testing.T) {
	x := newHarness(t)
	b := x.browser()
	b.login("fatima")
	want(t, "learners, 3 days", b.get("/coach/cohorts/"+fatimaCohort), http.StatusOK, "sans message depuis 3 jours ou plus")
	x.coaching.StuckAfter = 24 * time.Hour
	page := b.get("/coach/cohorts/" + fatimaCohort)
	want(t, "learners, 1 day", page, http.StatusOK, "sans message depuis 1 jour ou plus")
	if strings.Contains(page.body, "1 jours") {
		t.Errorf("the learners page says \"1 jours\":\n%s", clip(page.body))
	}
}
