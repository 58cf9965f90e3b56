package coachweb_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/darsi-ma/darsi/bot/app"
	"github.com/darsi-ma/darsi/bot/coachweb"
	"github.com/darsi-ma/darsi/bot/schedule"
)

// TestBroadcastToSegments: an admin previews broadcasts to segments (a
// language, cohorts, a course's progress, inactivity) with the count
// before sending, then queues one: one job per reachable learner of the
// segment, in their language, carrying their cohort; the same broadcast
// again queues nothing; the audit log has it. Coaches get 404 on the page
// and the API.
func TestBroadcastToSegments(t *testing.T) {
	x := newHarness(t)
	x.coaching.Everyone = x.store
	preview := func(seg map[string]any) coachweb.BroadcastPreview {
		t.Helper()
		r := x.api("amal", "POST", "/coach/api/broadcasts/preview", map[string]any{"segment": seg, "text": "Salon samedi"})
		var p coachweb.BroadcastPreview
		if r.status != http.StatusOK || json.Unmarshal([]byte(r.body), &p) != nil {
			t.Fatalf("preview %v: %d %s", seg, r.status, r.body)
		}
		return p
	}
	for _, tt := range []struct {
		name                   string
		seg                    map[string]any
		matched, sending, skip int
	}{
		{"everyone", map[string]any{}, 6, 4, 2},
		{"French", map[string]any{"langs": []string{"fr"}}, 3, 2, 1},
		{"Youssef's cohort", map[string]any{"cohorts": []string{"p3r4tw"}}, 1, 1, 0},
		{"started costing", map[string]any{"course": "costing", "progress": "started"}, 3, 3, 0},
		{"silent three days", map[string]any{"inactive_days": 3}, 2, 2, 0},
		{"Fatima's, in Arabic", map[string]any{"cohorts": []string{fatimaCohort}, "langs": []string{"ar"}}, 1, 1, 0},
	} {
		p := preview(tt.seg)
		if p.Matched != tt.matched || p.Sending != tt.sending || p.Skipped != tt.skip {
			t.Errorf("%s: matched %d, sending %d, skipped %d; want %d, %d, %d", tt.name, p.Matched, p.Sending, p.Skipped, tt.matched, tt.sending, tt.skip)
		}
	}
	r := x.api("amal", "POST", "/coach/api/broadcasts/preview", map[string]any{"segment": map[string]any{"course": "nope", "progress": "started"}, "text": "x"})
	want(t, "an unknown course", r, http.StatusBadRequest)

	body := map[string]any{"segment": map[string]any{"langs": []string{"fr", "ar"}}, "text": "Salon samedi", "texts": map[string]string{"ar": "معرض يوم السبت"}}
	var res app.Broadcasted
	r = x.api("amal", "POST", "/coach/api/broadcasts", body)
	if r.status != http.StatusAccepted || json.Unmarshal([]byte(r.body), &res) != nil || res.Queued != 3 || res.Matched != 4 || res.Unreachable != 1 {
		t.Fatalf("broadcast: %d %s; want 3 queued of 4 matched", r.status, r.body)
	}
	if r = x.api("amal", "POST", "/coach/api/broadcasts", body); json.Unmarshal([]byte(r.body), &res) != nil || res.Queued != 0 || res.Already != 3 {
		t.Errorf("the same broadcast again: %s; want nothing queued twice", r.body)
	}
	jobs, _, err := x.outbox.Jobs(context.Background(), schedule.Filter{})
	if err != nil || len(jobs) != 3 {
		t.Fatalf("jobs: %d, %v", len(jobs), err)
	}
	for _, j := range jobs {
		wantText, wantCohort := "Salon samedi", fatimaCohort
		switch j.Learner {
		case "whatsapp:+212600000002":
			wantText = "معرض يوم السبت"
		case "whatsapp:+212600000005":
			wantCohort = youssefCohort
		}
		if j.Kind != schedule.Broadcast || j.Text != wantText || j.Cohort != wantCohort {
			t.Errorf("job of %s: %s %q in %q; want a broadcast %q in %q", j.Learner, j.Kind, j.Text, j.Cohort, wantText, wantCohort)
		}
	}
	entries, _, _ := x.coaching.AuditPage(context.Background(), app.Operator, "", 10)
	if len(entries) == 0 || entries[0].Action != app.AuditBroadcast || entries[0].Actor != "amal" || entries[0].Target != "segment" {
		t.Errorf("audit log: %+v", entries)
	}

	// Coaches: 404, nothing queued.
	want(t, "a coach's broadcast", x.api("fatima", "POST", "/coach/api/broadcasts", body), http.StatusNotFound)
	want(t, "a coach's preview", x.api("fatima", "POST", "/coach/api/broadcasts/preview", body), http.StatusNotFound)
	b := x.browser()
	b.login("fatima")
	want(t, "a coach's broadcast page", b.get("/coach/broadcast"), http.StatusNotFound)

	// The page, for an admin: the count before sending, and nobody warned.
	admin := x.browser()
	admin.login("amal")
	want(t, "the broadcast page", admin.get("/coach/broadcast"), http.StatusOK, `name="lang_zgh"`, `name="inactive_days"`, `id="broadcast-link"`)
	if strings.Contains(b.get("/coach/").body, `id="broadcast-link"`) {
		t.Errorf("a coach sees the link to broadcasts")
	}
	page := admin.post("/coach/broadcast", url.Values{"action": {"preview"}, "lang_zgh": {"1"}, "text": {"Salon samedi"}})
	want(t, "the page's preview", page, http.StatusOK, `id="matched"`, `1 apprenant·e dans le segment`, `id="queue"`)
	page = admin.post("/coach/broadcast", url.Values{"action": {"preview"}, "lang_ary": {"1"}, "text": {"Salon samedi"}})
	want(t, "a preview to nobody reachable", page, http.StatusOK, `id="nobody"`)
}
