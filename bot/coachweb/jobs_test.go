package coachweb_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/darsi-ma/darsi/bot/app"
	"github.com/darsi-ma/darsi/bot/coachweb"
	"github.com/darsi-ma/darsi/bot/schedule"
)

// queueJobs queues a reminder of cohort code for its members by the API,
// and returns the jobs' ids.
func queueJobs(t *testing.T, x *harness, login, code, text string) []string {
	t.Helper()
	r := x.api(login, "POST", "/coach/api/cohorts/"+code+"/reminders", map[string]string{"text": text, "at": x.now.Add(time.Hour).UTC().Format(time.RFC3339)})
	if r.status != http.StatusAccepted {
		t.Fatalf("reminder: %d %s", r.status, r.body)
	}
	jobs, _, err := x.outbox.Jobs(context.Background(), schedule.Filter{Cohort: code, Status: []schedule.Status{schedule.Queued}})
	if err != nil || len(jobs) == 0 {
		t.Fatalf("queued jobs: %d, %v", len(jobs), err)
	}
	var ids []string
	for _, j := range jobs {
		if strings.Contains(j.Text, text) {
			ids = append(ids, j.ID)
		}
	}
	return ids
}

// TestCancelFromOutboxPage: each queued job has a cancel button on the
// outbox page, a same-origin form; pressing it cancels the job, says so,
// and the audit log records who cancelled which job. Another coach's job
// is a 404, a cross-origin post is refused, and a job a replica began to
// send is too late, which the page says.
func TestCancelFromOutboxPage(t *testing.T) {
	x := newHarness(t)
	ctx := context.Background()
	ids := queueJobs(t, x, "fatima", fatimaCohort, "Atelier samedi")
	other := queueJobs(t, x, "youssef", youssefCohort, "Marché dimanche")
	b := x.browser()
	b.login("fatima")
	page := b.get("/coach/cohorts/" + fatimaCohort + "/outbox")
	for _, id := range ids {
		want(t, "outbox", page, 200, `action="/coach/cohorts/`+fatimaCohort+`/jobs/`+id+`/cancel"`)
	}
	r := b.post("/coach/cohorts/"+fatimaCohort+"/jobs/"+ids[0]+"/cancel", url.Values{})
	if r.status != http.StatusSeeOther || !strings.Contains(r.header.Get("Location"), "cancelled=1") {
		t.Fatalf("cancel: %d %s → %s", r.status, r.body, r.header.Get("Location"))
	}
	if j, _ := x.outbox.Job(ctx, ids[0]); j.Status != schedule.Cancelled {
		t.Errorf("after the cancel: %s, want cancelled", j.Status)
	}
	page = b.get(r.header.Get("Location"))
	want(t, "outbox after the cancel", page, 200, `id="cancelled"`, `data-status="cancelled"`)
	if strings.Contains(page.body, `/jobs/`+ids[0]+`/cancel"`) {
		t.Errorf("a cancelled job still has its cancel button")
	}
	entries, _, err := x.coaching.AuditPage(ctx, app.Operator, "", 10)
	if err != nil || len(entries) == 0 || entries[0].Action != app.AuditJobCancelled || entries[0].Actor != "fatima" ||
		entries[0].Target != fatimaCohort || !strings.Contains(entries[0].Detail, ids[0]) || entries[0].Via != "dashboard" {
		t.Errorf("audit log: %+v, %v; want fatima's cancel of %s first", entries, err, ids[0])
	}

	// Youssef's job, through Fatima's cohort or his: not hers to see.
	for _, path := range []string{"/coach/cohorts/" + fatimaCohort + "/jobs/" + other[0] + "/cancel", "/coach/cohorts/" + youssefCohort + "/jobs/" + other[0] + "/cancel"} {
		want(t, "cancel of another coach's job", b.post(path, url.Values{}), http.StatusNotFound)
	}
	if j, _ := x.outbox.Job(ctx, other[0]); j.Status != schedule.Queued {
		t.Errorf("another coach's job after the attempts: %s, want queued", j.Status)
	}

	// A post from another site: refused, nothing cancelled.
	req, _ := http.NewRequest(http.MethodPost, x.srv.URL+"/coach/cohorts/"+fatimaCohort+"/jobs/"+ids[1]+"/cancel", nil)
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	req.Header.Set("Origin", "https://evil.example")
	want(t, "cross-origin cancel", b.do(req), http.StatusForbidden)
	if j, _ := x.outbox.Job(ctx, ids[1]); j.Status != schedule.Queued {
		t.Errorf("after a cross-origin post: %s, want queued", j.Status)
	}

	// A replica claimed the job and passed the send fence: too late.
	_, claimed, err := x.outbox.ClaimJob(ctx, "w1", ids[1], x.now.Add(2*time.Hour), time.Minute)
	if err != nil || !claimed {
		t.Fatalf("claim: %v %v", claimed, err)
	}
	if _, err := x.outbox.BeginSend(ctx, ids[1], "w1", x.now.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	r = b.post("/coach/cohorts/"+fatimaCohort+"/jobs/"+ids[1]+"/cancel", url.Values{})
	if r.status != http.StatusSeeOther || !strings.Contains(r.header.Get("Location"), "late=1") {
		t.Fatalf("cancel of a job being sent: %d → %s", r.status, r.header.Get("Location"))
	}
	want(t, "outbox after a late cancel", b.get(r.header.Get("Location")), 200, `id="too-late"`)
	if j, _ := x.outbox.Job(ctx, ids[1]); j.Status != schedule.Claimed {
		t.Errorf("a job being sent after a refused cancel: %s, want still claimed", j.Status)
	}
}

// TestCancelByAPI: POST /coach/api/jobs/{id}/cancel cancels a coach's own
// cohort's job (200, then the same again: 200), another coach's is 404,
// an admin's reaches every job, and a sent job is 409.
func TestCancelByAPI(t *testing.T) {
	x := newHarness(t)
	ctx := context.Background()
	ids := queueJobs(t, x, "fatima", fatimaCohort, "Atelier samedi")
	other := queueJobs(t, x, "youssef", youssefCohort, "Marché dimanche")

	var res coachweb.CancelResponse
	for range 2 {
		r := x.api("fatima", "POST", "/coach/api/jobs/"+ids[0]+"/cancel", nil)
		if r.status != http.StatusOK || json.Unmarshal([]byte(r.body), &res) != nil || res.Status != schedule.Cancelled || res.ID != ids[0] {
			t.Fatalf("cancel by the API: %d %s", r.status, r.body)
		}
	}
	want(t, "another coach's job", x.api("fatima", "POST", "/coach/api/jobs/"+other[0]+"/cancel", nil), http.StatusNotFound)
	want(t, "an unknown job", x.api("fatima", "POST", "/coach/api/jobs/reminder-nope/cancel", nil), http.StatusNotFound)
	want(t, "no token", x.api("", "POST", "/coach/api/jobs/"+ids[1]+"/cancel", nil), http.StatusUnauthorized)
	want(t, "an admin", x.api("amal", "POST", "/coach/api/jobs/"+other[0]+"/cancel", nil), http.StatusOK, `"status":"cancelled"`)

	// Sent: too late.
	jobs, err := x.outbox.Claim(ctx, "w1", x.now.Add(2*time.Hour), time.Minute, 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range jobs {
		if j.ID != ids[1] {
			continue
		}
		j.Status, j.SID, j.SentAt = schedule.Sent, "SM00000000000000000000000000000001", x.now.Add(2*time.Hour)
		if err := x.outbox.Settle(ctx, j); err != nil {
			t.Fatal(err)
		}
	}
	want(t, "a sent job", x.api("fatima", "POST", "/coach/api/jobs/"+ids[1]+"/cancel", nil), http.StatusConflict)
	entries, _, _ := x.coaching.AuditPage(ctx, app.Operator, "", 10)
	n := 0
	for _, e := range entries {
		if e.Action == app.AuditJobCancelled {
			n++
			if e.Via != "api" {
				t.Errorf("audit entry %+v: want via api", e)
			}
		}
	}
	if n != 2 {
		t.Errorf("%d cancels in the audit log, want 2 (a repeated cancel changes nothing)", n)
	}
}

// TestReminderTextPerLanguage: the form has a text per language; the
// preview fills the empty ones with the first text for the coach to adapt,
// shows each language with its own, and each member gets theirs when it
// is queued.
func TestReminderTextPerLanguage(t *testing.T) {
	x := newHarness(t)
	b := x.browser()
	b.login("fatima")
	page := b.get("/coach/cohorts/" + fatimaCohort + "/remind")
	for _, lang := range []string{"ary", "ar", "fr", "zgh"} {
		want(t, "the form", page, 200, `name="text_`+lang+`"`)
	}
	form := url.Values{"action": {"preview"}, "text": {"Atelier samedi"}, "text_ar": {"ورشة يوم السبت"}}
	page = b.post("/coach/cohorts/"+fatimaCohort+"/remind", form)
	want(t, "preview", page, 200, `id="text_fr" rows="3" maxlength="1600" dir="ltr" lang="fr">Atelier samedi</textarea>`,
		`id="text_ar" rows="3" maxlength="1600" dir="rtl" lang="ar">ورشة يوم السبت</textarea>`, `id="queue"`)
	form.Set("action", "queue")
	if r := b.post("/coach/cohorts/"+fatimaCohort+"/remind", form); r.status != http.StatusSeeOther {
		t.Fatalf("queue: %d %s", r.status, r.body)
	}
	jobs, _, err := x.outbox.Jobs(context.Background(), schedule.Filter{Cohort: fatimaCohort})
	if err != nil || len(jobs) != 3 {
		t.Fatalf("jobs: %d, %v", len(jobs), err)
	}
	for _, j := range jobs {
		wantText := "Atelier samedi"
		if j.Learner == "whatsapp:+212600000002" { // writes Arabic
			wantText = "ورشة يوم السبت"
		}
		if j.Text != wantText {
			t.Errorf("the job of %s says %q, want %q", j.Learner, j.Text, wantText)
		}
	}
}

// TestReminderToNobody: a cohort where nobody can receive a message gets a
// warning on the preview, and no button to queue it.
func TestReminderToNobody(t *testing.T) {
	x := newHarness(t)
	b := x.browser()
	b.login("fatima")
	r := b.post("/coach/cohorts", url.Values{"name": {"Cohorte vide"}})
	if r.status != http.StatusSeeOther && r.status != http.StatusOK {
		t.Fatalf("create a cohort: %d", r.status)
	}
	cs, err := x.coaching.ListCohorts(context.Background(), app.Operator, "fatima")
	if err != nil {
		t.Fatal(err)
	}
	code := ""
	for _, c := range cs {
		if c.Name == "Cohorte vide" {
			code = c.Code
		}
	}
	page := b.post("/coach/cohorts/"+code+"/remind", url.Values{"action": {"preview"}, "text": {"Atelier samedi"}})
	want(t, "preview to nobody", page, 200, `id="nobody"`)
	if strings.Contains(page.body, `id="queue"`) {
		t.Errorf("the preview to nobody offers to queue it")
	}
	// By the API: no success either.
	want(t, "the API's reminder to nobody", x.api("fatima", "POST", "/coach/api/cohorts/"+code+"/reminders", map[string]string{"text": "Atelier samedi"}),
		http.StatusUnprocessableEntity, `"queued":0`, `"warning":"nobody in cohort`)
}
