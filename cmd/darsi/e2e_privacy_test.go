package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/twilio/twiliotest"
)

// seen is everything a test saw leave the server: responses with their
// headers, by what was asked.
type seen struct {
	t     *testing.T
	texts []seenText
}

type seenText struct{ what, text string }

func (s *seen) add(what, text string) { s.texts = append(s.texts, seenText{what, text}) }

// do sends req with client and records the response, its status line and
// headers included; it fails the test unless the status is want.
func (s *seen) do(client *http.Client, req *http.Request, want int) string {
	s.t.Helper()
	resp, err := client.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n", resp.Status)
	resp.Header.Write(&b)
	b.Write(body)
	what := req.Method + " " + req.URL.RequestURI()
	s.add(what, b.String())
	if resp.StatusCode != want {
		s.t.Fatalf("%s: %d, want %d\n%s", what, resp.StatusCode, want, body)
	}
	return string(body)
}

// TestNoNumberLeavesTheServer runs the real "darsi serve" with its log at
// debug level and drives it as learners, Twilio and coaches do: learners
// on WhatsApp and SMS join a cohort and take a lesson, one asks for their
// data, one erases it; a coach reminds the cohort, Twilio reports the
// deliveries; coaches and an admin read every page, CSV and API answer,
// the audit log included.
// Then no response, page, CSV, callback URL Twilio was given, metric or
// log line holds a full phone number.
func TestNoNumberLeavesTheServer(t *testing.T) {
	store := filepath.Join(t.TempDir(), "darsi.db")
	const coachPW, adminPW = "fatima-secret-1", "amal-secret-12"
	coachToken := addCoach(t, store, "fatima", "coach", coachPW)
	adminToken := addCoach(t, store, "amal", "admin", adminPW)

	fake := twiliotest.NewFake(t, e2eAccount, e2eToken)
	t.Setenv("TWILIO_API_BASE_URL", fake.URL)
	t.Setenv("TWILIO_WHATSAPP_FROM", "whatsapp:+14155238886")
	// Conversations by TwiML: this test counts what the outbox sends.
	t.Setenv("DARSI_INTERACTIVE", "off")
	t.Setenv("TWILIO_SMS_FROM", "+14155238887")
	t.Setenv("DARSI_QUIET_HOURS", notQuietNow(t))
	t.Setenv("DARSI_LOG_LEVEL", "debug")
	t.Setenv("DARSI_CONTROLLER", "Association Darsi Maroc")
	r := startReplica(t, store)
	s := &seen{t: t}
	plain := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	api := func(token, method, path string, body any, want int) string {
		t.Helper()
		var rd io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			rd = strings.NewReader(string(b))
		}
		req, _ := http.NewRequest(method, r.base+path, rd)
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		return s.do(plain, req, want)
	}

	// The coach's cohort, from the API.
	var created struct{ Code string }
	if err := json.Unmarshal([]byte(api(coachToken, "POST", "/coach/api/cohorts", map[string]string{"name": "Couture Salé"}, http.StatusCreated)), &created); err != nil || created.Code == "" {
		t.Fatalf("cohort: %+v, %v", created, err)
	}

	// Learners: two on WhatsApp, one by SMS, one who will erase.
	type learner struct{ channel, number string }
	learners := []learner{
		{"whatsapp", "+212600000811"}, {"whatsapp", "+212600000812"}, {"sms", "+15145550813"}, {"whatsapp", "+212600000814"},
	}
	n := 0
	say := func(l learner, body string) {
		t.Helper()
		n++
		sid := messageSID(fmt.Sprintf("privacy-%d", n))
		from, to := l.number, "+14155238887"
		form := url.Values{
			"MessageSid": {sid}, "SmsSid": {sid}, "AccountSid": {e2eAccount},
			"Body": {body}, "NumMedia": {"0"},
		}
		if l.channel == "whatsapp" {
			from, to = "whatsapp:"+l.number, "whatsapp:+14155238886"
			form.Set("WaId", strings.TrimPrefix(l.number, "+"))
			form.Set("ProfileName", "Amina")
		}
		form.Set("From", from)
		form.Set("To", to)
		target := r.base + "/twilio/messages"
		req, _ := http.NewRequest(http.MethodPost, target, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Twilio-Signature", twiliotest.Signature(e2eToken, target, form))
		s.do(plain, req, http.StatusOK)
	}
	for _, l := range learners {
		for _, body := range []string{"salam", "3", "1", created.Code, "menu", "1", "2", "3", "tapis", "300"} {
			say(l, body)
		}
	}
	say(learners[0], "mes données")
	say(learners[1], "coach est-ce que je peux payer en deux fois ?")
	say(learners[3], "effacer mes données")
	say(learners[3], "1")

	// A reminder to the cohort, sent and delivered.
	var queued struct{ Queued int }
	json.Unmarshal([]byte(api(coachToken, "POST", "/coach/api/cohorts/"+created.Code+"/reminders", map[string]string{"text": "Atelier samedi à 10 h."}, http.StatusAccepted)), &queued)
	if queued.Queued != 3 {
		t.Fatalf("reminder queued for %d learners, want the 3 members left", queued.Queued)
	}
	deadline := time.Now().Add(30 * time.Second)
	for len(fake.Messages()) < queued.Queued {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d reminders sent:\n%s", len(fake.Messages()), queued.Queued, r.logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, m := range fake.Messages() {
		s.add("the StatusCallback URL of a message to "+bot.Mask(m.To), m.StatusCallback)
		if err := fake.Callback(context.Background(), m.SID, bot.StatusDelivered, 0); err != nil {
			t.Fatal(err)
		}
	}
	// A report of a failure too: its error code is logged.
	if err := fake.Callback(context.Background(), fake.Messages()[0].SID, bot.StatusUndelivered, 63016); err != nil {
		t.Fatal(err)
	}

	// Every page, CSV and API answer, as the coach and as the admin.
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar}
	get := func(path string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, r.base+path, nil)
		s.do(browser, req, http.StatusOK)
	}
	login := func(who, password string) {
		t.Helper()
		get("/coach/login")
		req, _ := http.NewRequest(http.MethodPost, r.base+"/coach/login", strings.NewReader(url.Values{"login": {who}, "password": {password}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		s.do(browser, req, http.StatusOK) // the redirect, followed
	}
	c := "/coach/cohorts/" + created.Code
	for _, who := range []struct{ login, password, token string }{{"fatima", coachPW, coachToken}, {"amal", adminPW, adminToken}} {
		login(who.login, who.password)
		for _, path := range []string{"/coach/", c, c + "/learners.csv", c + "/outbox", c + "/outbox.csv", c + "/indicators", c + "/remind"} {
			get(path)
		}
		req, _ := http.NewRequest(http.MethodPost, r.base+c+"/remind", strings.NewReader(url.Values{"text": {"Rappel : atelier samedi."}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		s.do(browser, req, http.StatusOK) // the preview, with each member's decision
		for _, path := range []string{"/coach/api/cohorts", "/coach/api/cohorts/" + created.Code + "/learners", "/coach/api/cohorts/" + created.Code + "/jobs"} {
			api(who.token, "GET", path, nil, http.StatusOK)
		}
	}
	// The coach's inbox and the question's thread, on pages and in the API.
	var threads []struct{ Key string }
	json.Unmarshal([]byte(api(coachToken, "GET", "/coach/api/inbox", nil, http.StatusOK)), &threads)
	if len(threads) != 1 {
		t.Fatalf("the coach's inbox holds %d threads, want the question", len(threads))
	}
	login("fatima", coachPW)
	get("/coach/inbox")
	get("/coach/inbox/" + threads[0].Key)
	api(coachToken, "GET", "/coach/api/inbox/"+threads[0].Key, nil, http.StatusOK)
	login("amal", adminPW)

	// The admin's audit log, on its page and in the API.
	get("/coach/audit")
	api(adminToken, "GET", "/coach/api/audit", nil, http.StatusOK)
	for _, path := range []string{"/privacy", "/healthz", "/readyz"} {
		get(path)
	}
	req, _ := http.NewRequest(http.MethodGet, r.admin+"/metrics", nil)
	s.do(plain, req, http.StatusOK)

	// The learners' own numbers were sent, so the check would see them.
	found := 0
	for _, l := range learners {
		for _, m := range fake.Messages() {
			if strings.HasSuffix(m.To, l.number) {
				found++
				break
			}
		}
	}
	if found != 3 {
		t.Fatalf("the fake saw %d of the 3 members' numbers: the test sent nothing to check", found)
	}
	for _, x := range s.texts {
		noNumbers(t, x.what, x.text, "14155238886", "14155238887")
	}
	if len(s.texts) < 60 {
		t.Errorf("only %d responses looked at", len(s.texts))
	}
	r.stop() // its log is checked as it stops
}
