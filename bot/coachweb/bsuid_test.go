package coachweb_test

import (
	"context"
	"strings"
	"testing"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/app"
)

// TestBSUIDLearnersMasked: a learner known by their WhatsApp BSUID shows on
// the learners page, in its CSV and in the API by their profile name and a
// short masked id (MA.15…43), never the whole BSUID.
func TestBSUIDLearnersMasked(t *testing.T) {
	x := newHarness(t)
	for _, l := range []bot.Learner{
		{ID: "whatsapp:MA.1502576394655843", Channel: bot.WhatsApp, Lang: bot.Darija, Consent: true, Cohort: fatimaCohort,
			Name: "Hanane", Phase: bot.PhaseMenu, LastInboundAt: x.now},
		{ID: "whatsapp:US.ENT.11815799212886844830", Channel: bot.WhatsApp, Lang: bot.French, Consent: true, Cohort: fatimaCohort,
			Phase: bot.PhaseMenu, LastInboundAt: x.now},
	} {
		if _, err := x.store.Update(context.Background(), l.ID, "", func(stored *bot.Learner) (app.Change, error) {
			*stored = l
			return app.Change{}, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	b := x.browser()
	b.login("fatima")
	page := b.get("/coach/cohorts/" + fatimaCohort)
	want(t, "learners", page, 200, "whatsapp:MA.15…43", `<bdi class="name">Hanane</bdi>`, "whatsapp:US.EN…30")
	csv := b.get("/coach/cohorts/" + fatimaCohort + "/learners.csv")
	want(t, "learners.csv", csv, 200, "whatsapp:MA.15…43", "Hanane", "whatsapp:US.EN…30")
	api := x.api("fatima", "GET", "/coach/api/cohorts/"+fatimaCohort+"/learners", nil)
	want(t, "API learners", api, 200, "whatsapp:MA.15…43", "Hanane", "whatsapp:US.EN…30")
	for what, r := range map[string]response{"page": page, "CSV": csv, "API": api} {
		for _, whole := range []string{"1502576394655843", "11815799212886844830"} {
			if strings.Contains(r.body, whole) {
				t.Errorf("the %s shows the BSUID %s whole", what, whole)
			}
		}
	}
}
