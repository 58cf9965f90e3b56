package coachweb_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/app"
)

// TestOutcomes: a learner answered "yes" at the end of the course and
// "not yet" to the follow-up six weeks later; the cohort's indicators
// page, its CSV, the overall page and the API show both side by side,
// with the number of answers, in the coach's words.
func TestOutcomes(t *testing.T) {
	x := newHarness(t)
	_, err := x.store.Update(context.Background(), "whatsapp:+212600000001", "", func(l *bot.Learner) (app.Change, error) {
		l.Followups = []bot.FollowupAnswer{{Survey: "revenue_stable", Value: "not_yet", At: x.now}}
		return app.Change{}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	b := x.browser()
	b.login("fatima")
	page := b.get("/coach/cohorts/" + fatimaCohort + "/indicators")
	want(t, "indicators", page, http.StatusOK, "Depuis que tu calcules tes prix de revient", "Fin du cours", "Suivi, des semaines après",
		`<tr data-value="yes"><td>Oui</td><td class="baseline">1</td><td class="followup">0</td></tr>`,
		`<td class="followup">1</td></tr>`, `<td class="baseline-total">1</td><td class="followup-total">1</td>`)
	csv := b.get("/coach/cohorts/" + fatimaCohort + "/outcomes.csv")
	want(t, "outcomes CSV", csv, http.StatusOK, `"K7M2QX","revenue_stable","Depuis que tu calcules tes prix de revient, tes revenus sont-ils plus réguliers ?","yes","Oui","1","0","1","1"`,
		`"not_yet"`)
	want(t, "overall", b.get("/coach/outcomes"), http.StatusOK, `<td class="followup-total">1</td>`)
	want(t, "overall CSV", b.get("/coach/outcomes.csv"), http.StatusOK, `"revenue_stable"`)

	r := x.api("fatima", http.MethodGet, "/coach/api/cohorts/"+fatimaCohort+"/outcomes", nil)
	var os []app.Outcome
	if err := json.Unmarshal([]byte(r.body), &os); err != nil {
		t.Fatal(err)
	}
	if len(os) != 1 || os[0].Key != "revenue_stable" || os[0].Baseline != 1 || os[0].Followup != 1 {
		t.Errorf("API outcomes = %+v", os)
	}
	// Another coach: not the cohort's, and nothing of it overall.
	want(t, "another coach's CSV", x.api("youssef", http.MethodGet, "/coach/api/cohorts/"+fatimaCohort+"/outcomes", nil), http.StatusNotFound)
	if r := x.api("youssef", http.MethodGet, "/coach/api/outcomes", nil); strings.Contains(r.body, "revenue_stable") {
		t.Errorf("youssef's outcomes show fatima's learners: %s", r.body)
	}
}
