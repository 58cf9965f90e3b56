package main

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/twilio/twiliotest"
)

// TestBrowserInbox drives the inbox of the real "darsi serve" in a
// headless Chromium: a learner on WhatsApp asks their coach mid-lesson;
// the coach sees the count in the header, the question in the inbox with
// the learner's context (the lesson's title in French), the answer's
// route (free text: the learner wrote a moment ago), answers; the fake
// Twilio receives the answer once, reports it delivered, and the thread
// shows it delivered. The inbox and the thread are photographed at
// 1280×800 and 390×844, kept in the test's artefacts (go test -artifacts).
func TestBrowserInbox(t *testing.T) {
	exe := chromiumPath(t)
	store := filepath.Join(t.TempDir(), "darsi.db")
	const fatimaPW = "fatima-secret-1"
	token := addCoach(t, store, "fatima", "coach", fatimaPW)
	fake := twiliotest.NewFake(t, e2eAccount, e2eToken)
	t.Setenv("TWILIO_API_BASE_URL", fake.URL)
	t.Setenv("TWILIO_WHATSAPP_FROM", "whatsapp:+14155238886")
	// Conversations by TwiML: this test counts what the outbox sends.
	t.Setenv("DARSI_INTERACTIVE", "off")
	t.Setenv("DARSI_QUIET_HOURS", notQuietNow(t))
	r := startReplica(t, store)

	req, _ := http.NewRequest("POST", r.base+"/coach/api/cohorts", strings.NewReader(`{"name":"Couturières de Salé"}`))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var co struct{ Code string }
	json.NewDecoder(resp.Body).Decode(&co)
	resp.Body.Close()
	learner := "+212600000401"
	for i, msg := range []string{"salam", "3", "1", "join " + co.Code, "1"} {
		r.send(learner, messageSID("inbox-"+string(rune('a'+i))), msg)
	}
	question := "Est-ce que je compte l'électricité dans le coût ?"
	if got := r.send(learner, messageSID("inbox-q"), "coach "+question); len(got) == 0 || !strings.Contains(got[0], "transmis à ton coach") {
		t.Fatalf("the learner asked: %q", got)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	bctx := startBrowser(t, ctx, exe)
	do := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(bctx, actions...); err != nil {
			t.Fatalf("%s: %v\n%s", what, err, r.logs)
		}
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(bctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("read %s: %v", sel, err)
		}
		return strings.TrimSpace(s)
	}
	shots := t.ArtifactDir()
	shoot := func(name string) {
		t.Helper()
		for _, size := range []struct {
			name string
			w, h int64
		}{{"1280x800", 1280, 800}, {"390x844", 390, 844}} {
			do("screen "+size.name, chromedp.EmulateViewport(size.w, size.h))
			png, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
			if err != nil {
				t.Fatalf("screenshot %s: %v", name, err)
			}
			if err := os.WriteFile(filepath.Join(shots, name+"-"+size.name+".png"), png, 0o644); err != nil {
				t.Fatal(err)
			}
			overflow, _ := chromedp.Run(bctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth + 1`))
			if overflow {
				t.Errorf("%s is wider than a %s screen", name, size.name)
			}
		}
	}

	do("log in",
		chromedp.EmulateViewport(390, 844),
		chromedp.Navigate(r.base+"/coach/"),
		chromedp.WaitVisible(chromedp.ID("password")),
		chromedp.SendKeys(chromedp.ID("login"), "fatima"),
		chromedp.SendKeys(chromedp.ID("password"), fatimaPW),
		chromedp.Click(chromedp.CSS(`form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.ID("create")),
	)
	if got := text("#unread"); got != "1" {
		t.Errorf("the header counts %q unread questions, want 1", got)
	}
	do("the inbox", chromedp.Click(chromedp.ID("inbox-link")), chromedp.WaitVisible(chromedp.ID("threads")))
	if got := text("#threads li"); !strings.Contains(got, question) || !strings.Contains(got, "1 non lue") || strings.Contains(got, "600000401") {
		t.Errorf("the inbox shows %q", got)
	}
	shoot("inbox")
	do("the question", chromedp.Click(chromedp.CSS("#threads a")), chromedp.WaitVisible(chromedp.ID("answer-form")))
	if got := text("#messages .question .context"); !strings.Contains(got, "Pendant la leçon « ") || strings.Contains(got, "costing-") {
		t.Errorf("the question's context reads %q, want the lesson's title", got)
	}
	if got := text("#route"); !strings.HasPrefix(got, "fenêtre WhatsApp ouverte jusqu'à") {
		t.Errorf("the answer's route reads %q, want free text inside the window", got)
	}
	if got := text("#learner"); !strings.Contains(got, "2126******01") {
		t.Errorf("the learner is shown as %q, want the masked number", got)
	}
	shoot("thread")
	answer := "Oui : divise la facture du mois par le nombre de pièces."
	do("answer",
		chromedp.SendKeys(chromedp.ID("text"), answer),
		chromedp.Click(chromedp.CSS(`#answer-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.ID("sent")),
	)

	var sid string
	for deadline := time.Now().Add(30 * time.Second); sid == "" && time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		for _, m := range fake.Messages() {
			if m.To == "whatsapp:"+learner && strings.HasSuffix(m.Body, answer) {
				sid = m.SID
			}
		}
	}
	if sid == "" {
		t.Fatalf("the answer never reached the fake Twilio; it got %d messages\n%s", len(fake.Messages()), r.logs)
	}
	if err := fake.Callback(ctx, sid, bot.StatusDelivered, 0); err != nil {
		t.Fatal(err)
	}
	status := ""
	for deadline := time.Now().Add(15 * time.Second); status != "remis" && time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		do("the thread", chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("answer-form")))
		status = text("#messages .answer .status strong")
	}
	if status != "remis" {
		t.Errorf("the answer's status reads %q, want remis\n%s", status, r.logs)
	}
	shoot("thread-answered")
	if n := len(fake.Messages()); n != 1 {
		t.Errorf("the fake Twilio got %d messages, want the one answer", n)
	}
}
