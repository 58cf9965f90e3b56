package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/app"
	"github.com/darsi-ma/darsi/bot/lesson"
	"github.com/darsi-ma/darsi/bot/schedule"
	"github.com/darsi-ma/darsi/bot/twilio/twiliotest"
)

// followupSID is the followup template of TestFollowupEndToEnd, in French.
const followupSID = "HX000000000000000000000000000000f1"

// TestFollowupEndToEnd: on a fake clock, a learner joins a cohort and
// completes the costing course through the real webhook (its survey
// answered at the end: the baseline); every day the sweep and the outbox
// runner run (reviews and nudges fall due, and, outside the window with
// no template of theirs, fail); five weeks on no follow-up has gone, six
// weeks on the course's
// follow-up survey reaches the fake Twilio as the followup template (the
// window closed long ago), once; the learner answers it through the
// webhook; the cohort's indicators page and its CSV, over HTTP, show one
// baseline answer and one follow-up answer for the indicator.
func TestFollowupEndToEnd(t *testing.T) {
	ctx := context.Background()
	cfg := defaultConfig(t)
	cfg.Store = filepath.Join(t.TempDir(), "darsi.db")
	cfg.Simulator = "off"
	cfg.Interactive = "off"
	fake := twiliotest.NewFake(t, e2eAccount, e2eToken)
	cfg.TwilioAccountSID, cfg.TwilioAuthToken, cfg.TwilioAPIBaseURL, cfg.WhatsAppFrom = e2eAccount, e2eToken, fake.URL, waSender
	var err error
	cfg.Templates, err = schedule.ParseTemplates("templates.yaml", []byte("followup:\n  fr: {sid: "+followupSID+", vars: {\"1\": body}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	// Tomorrow, 09:00 UTC (10:00 in Casablanca): outside quiet hours.
	start := time.Now().UTC().Truncate(24 * time.Hour).Add(33 * time.Hour)
	clock := &fakeClock{t: start}
	fake.SetClock(clock.Now)

	s, err := cfg.openStore(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	content, err := loadContent("")
	if err != nil {
		t.Fatal(err)
	}
	a := app.New(s, content)
	a.Now = clock.Now
	a.Cohorts, a.Inbox, a.Aliases = s, s, s
	a.Outreach = outreach(cfg, s, discardLog())
	runner, err := outboxRunner(cfg, s, a, discardLog(), nil, nil)
	if err != nil || runner == nil {
		t.Fatalf("outbox runner: %v", err)
	}
	coaching := newCoaching(cfg, s, a.Content, discardLog())
	if _, _, err := coaching.AddCoach(ctx, app.NewCoach{Login: "salma", Password: []byte("salma-secret-1"), Role: "coach"}); err != nil {
		t.Fatal(err)
	}
	co, err := coaching.CreateCohort(ctx, app.Operator, "Couture Salé", "salma")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(routes(cfg, a, s, nil, discardLog()))
	t.Cleanup(srv.Close)

	const who = "whatsapp:+212600000931"
	say := func(body string) {
		t.Helper()
		sid := make([]byte, 16)
		rand.Read(sid)
		form := url.Values{"MessageSid": {"SM" + hex.EncodeToString(sid)}, "AccountSid": {e2eAccount},
			"From": {who}, "To": {waSender}, "Body": {body}, "NumMedia": {"0"}}
		target := srv.URL + "/twilio/messages"
		req, _ := http.NewRequest(http.MethodPost, target, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Twilio-Signature", twiliotest.Signature(e2eToken, target, form))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("webhook %q: %d", body, resp.StatusCode)
		}
	}
	for _, body := range []string{"salam", "3", "1", "join " + co.Code, "1"} {
		say(body)
	}
	course := a.Content().Lessons.Course("costing")
	survey := course.Followups[0].Survey
	for i := range course.Lessons {
		if i > 0 {
			say("1") // the next lesson
		}
		for n := 0; ; n++ {
			l, err := s.Get(ctx, who)
			if err != nil {
				t.Fatal(err)
			}
			if l.Phase == bot.PhaseDone {
				break
			}
			if n > 40 {
				t.Fatalf("lesson %s never ends; at %q", l.Lesson, l.Step)
			}
			st, _ := a.Content().Lessons.Lesson(l.Lesson).Step(l.Step)
			switch {
			case st.Kind == lesson.Question:
				say(strconv.Itoa(st.Correct() + 1))
			case st.Kind == lesson.Survey:
				say("2")
			case st.InputKind == "text":
				say("tapis")
			default:
				say("25")
			}
		}
	}
	l, err := s.Get(ctx, who)
	if err != nil || l.Indicators[survey] == "" || !l.Done(course.Lessons[len(course.Lessons)-1].ID) {
		t.Fatalf("after the course: %+v, %v; want it completed with %s answered", l.Completed, err, survey)
	}

	followups := func() []twiliotest.FakeMessage {
		var out []twiliotest.FakeMessage
		for _, m := range fake.Messages() {
			if m.ContentSID == followupSID {
				out = append(out, m)
			}
		}
		return out
	}
	// Day after day, the sweep and the outbox, as every replica runs them.
	for day := 1; day <= 43; day++ {
		clock.Set(start.Add(time.Duration(day) * 24 * time.Hour))
		if _, err := a.Sweep(ctx, clock.Now()); err != nil {
			t.Fatal(err)
		}
		for {
			n, err := runner.RunOnce(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if n == 0 {
				break
			}
		}
		if day == 35 && len(followups()) != 0 {
			t.Fatalf("a follow-up went out after five weeks: %+v", followups())
		}
	}
	got := followups()
	if len(got) != 1 || got[0].To != who || got[0].Body != "" || !strings.Contains(got[0].ContentVariables["1"], "?") {
		t.Fatalf("follow-ups received by the fake Twilio: %+v; want the followup template once, with the survey's question", got)
	}
	if sent := got[0].At.Sub(start); sent < 6*7*24*time.Hour || sent > 6*7*24*time.Hour+48*time.Hour {
		t.Errorf("the follow-up went %v after the course, want six weeks", sent)
	}
	for _, m := range fake.Messages() {
		if m.ContentSID == "" && m.Body == "" {
			t.Errorf("an empty message: %+v", m)
		}
	}

	t.Logf("the fake Twilio received %d messages in six weeks, the follow-up %v after the course", len(fake.Messages()), got[0].At.Sub(start))
	say("1") // the answer to the follow-up
	l, err = s.Get(ctx, who)
	if err != nil || len(l.Followups) != 1 || l.Followups[0].Survey != survey {
		t.Fatalf("the learner's follow-up answers: %+v, %v", l.Followups, err)
	}
	baseline, followup := l.Indicators[survey], l.Followups[0].Value

	// The dashboard, over HTTP, with a session.
	jar := &cookieJar{}
	client := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	form := url.Values{"login": {"salma"}, "password": {"salma-secret-1"}, "next": {"/coach/"}}
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/coach/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", srv.URL)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, err := client.Do(req)
	if err != nil || resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("log in: %v %v", resp, err)
	}
	resp.Body.Close()
	get := func(path string) string {
		t.Helper()
		resp, err := client.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d\n%s", path, resp.StatusCode, b)
		}
		return string(b)
	}
	page := strings.ReplaceAll(get("/coach/cohorts/"+co.Code+"/indicators"), "\n", " ")
	block := regexp.MustCompile(`data-indicator="` + survey + `".*?</table>`).FindString(page)
	if block == "" {
		t.Fatalf("the indicators page has no %s:\n%s", survey, page)
	}
	cell := func(class, value string) string {
		m := regexp.MustCompile(`<tr data-value="` + value + `">.*?<td class="` + class + `">([^<]*)</td>`).FindStringSubmatch(block)
		if m == nil {
			return ""
		}
		return m[1]
	}
	total := func(class string) string {
		m := regexp.MustCompile(`<td class="` + class + `">([^<]*)</td>`).FindStringSubmatch(block)
		if m == nil {
			return ""
		}
		return m[1]
	}
	if cell("baseline", baseline) != "1" || cell("followup", followup) != "1" || total("baseline-total") != "1" || total("followup-total") != "1" {
		t.Errorf("the indicators page shows baseline %q=%s, follow-up %q=%s, totals %s and %s; want 1 each:\n%s",
			baseline, cell("baseline", baseline), followup, cell("followup", followup), total("baseline-total"), total("followup-total"), block)
	}
	csv := get("/coach/cohorts/" + co.Code + "/outcomes.csv")
	recs := map[string][]string{}
	for line := range strings.Lines(strings.TrimPrefix(csv, "\ufeff")) {
		var cells []string
		for _, c := range strings.Split(strings.TrimRight(line, "\r\n"), `","`) {
			cells = append(cells, strings.Trim(c, `"`))
		}
		if len(cells) == 9 && cells[1] == survey {
			recs[cells[3]] = cells
		}
	}
	if b := recs[baseline]; b == nil || b[5] != "1" || b[7] != "1" || b[8] != "1" {
		t.Errorf("outcomes.csv, %s=%s: %q; want baseline 1, totals 1 and 1\n%s", survey, baseline, b, csv)
	}
	if f := recs[followup]; f == nil || f[6] != "1" {
		t.Errorf("outcomes.csv, %s=%s: %q; want follow-up 1\n%s", survey, followup, f, csv)
	}
}
