package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserCoachLoop is a trial as "make run" gives it (the embedded
// store, no Twilio), in a headless Chromium: a learner in the simulator
// asks their coach a question mid-lesson; the coach, logged in to the
// dashboard in another tab, sees it in the inbox with the learner's
// context (language, course, lesson, step, answers typed) and answers;
// the answer appears in the simulator's chat by itself, and the thread
// shows it delivered. A reminder to the cohort reaches the simulator's
// learner too (none "unreachable"); the chat survives a reload; "new
// learner" starts an empty conversation with another number.
func TestBrowserCoachLoop(t *testing.T) {
	exe := chromiumPath(t)
	store := filepath.Join(t.TempDir(), "darsi.db")
	const password = "fatima-secret-1"
	token := addCoach(t, store, "fatima", "coach", password)
	t.Setenv("DARSI_QUIET_HOURS", notQuietNow(t))
	r := startReplica(t, store, "TWILIO_AUTH_TOKEN=", "TWILIO_ACCOUNT_SID=")
	api := func(method, path, body string, want int) string {
		t.Helper()
		req, _ := http.NewRequest(method, r.base+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != want {
			t.Fatalf("%s %s: %d, want %d: %s", method, path, resp.StatusCode, want, data)
		}
		return string(data)
	}
	var co struct{ Code string }
	json.Unmarshal([]byte(api("POST", "/coach/api/cohorts", `{"name":"Couturières de Salé"}`, http.StatusCreated)), &co)

	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()
	sim := startBrowser(t, ctx, exe)
	coach, closeCoach := chromedp.NewContext(sim) // another tab
	defer closeCoach()
	do := func(tab context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(tab, actions...); err != nil {
			t.Fatalf("%s: %v\n%s", what, err, r.logs)
		}
	}
	eval := func(tab context.Context, js string) string {
		t.Helper()
		s, err := chromedp.Run(tab, chromedp.Evaluate[string](js))
		if err != nil {
			t.Fatalf("%s: %v", js, err)
		}
		return s
	}
	text := func(tab context.Context, sel string) string {
		t.Helper()
		s, err := chromedp.Run(tab, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("read %s: %v", sel, err)
		}
		return strings.TrimSpace(s)
	}
	const lastBubble = `[...document.querySelectorAll("#log .msg")].pop().textContent`
	const learner = "+212600000701"
	say := func(msg string) string {
		t.Helper()
		n := eval(sim, `document.getElementById("log").dataset.answered`)
		do(sim, "say "+msg, chromedp.SendKeys(chromedp.ID("text"), msg+"\n"))
		if _, err := chromedp.Run(sim, chromedp.Poll[chromedp.Void](`document.getElementById("log").dataset.answered > `+n,
			chromedp.WithPollingMutation(), chromedp.WithPollingTimeout(20*time.Second))); err != nil {
			t.Fatalf("no answer to %q: %v\n%s", msg, err, r.logs)
		}
		return eval(sim, lastBubble)
	}
	outbox := func(n int) string {
		t.Helper()
		if _, err := chromedp.Run(sim, chromedp.Poll[chromedp.Void](fmt.Sprintf(`document.getElementById("log").dataset.outbox >= %d`, n),
			chromedp.WithPollingMutation(), chromedp.WithPollingTimeout(30*time.Second))); err != nil {
			t.Fatalf("the simulator's chat never showed outbox message %d: %v\n%s", n, err, r.logs)
		}
		return eval(sim, `[...document.querySelectorAll("#log .out")].pop().textContent`)
	}

	do(sim, "open the simulator",
		chromedp.EmulateViewport(412, 860),
		chromedp.Navigate(r.base+"/"),
		chromedp.WaitVisible(chromedp.ID("text")),
		chromedp.Click(chromedp.ID("from")),
		chromedp.KeyEvent("a", chromedp.KeyModifiers(chromedp.ModifierCtrl)),
		chromedp.KeyEvent(learner),
		chromedp.Click(chromedp.ID("text")),
	)
	for _, msg := range []string{"salam", "3", "1", "join " + co.Code, "1"} {
		say(msg)
	}
	// Mid-lesson, with answers typed: the product and its matter.
	for _, msg := range []string{"2", "3", "tagine", "300"} {
		say(msg)
	}
	question := "Est-ce que je compte l'électricité dans le coût ?"
	if got := say("coach " + question); !strings.Contains(eval(sim, `document.getElementById("log").textContent`), "transmis à ton coach") {
		t.Fatalf("the learner asked; the chat ends with %q", got)
	}

	do(coach, "log in",
		chromedp.EmulateViewport(1280, 800),
		chromedp.Navigate(r.base+"/coach/"),
		chromedp.WaitVisible(chromedp.ID("password")),
		chromedp.SendKeys(chromedp.ID("login"), "fatima"),
		chromedp.SendKeys(chromedp.ID("password"), password),
		chromedp.Click(chromedp.CSS(`form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.ID("create")),
	)
	if got := text(coach, "#unread"); got != "1" {
		t.Errorf("the header counts %q unread questions, want 1", got)
	}
	do(coach, "the inbox", chromedp.Click(chromedp.ID("inbox-link")), chromedp.WaitVisible(chromedp.ID("threads")))
	if got := text(coach, "#threads li"); !strings.Contains(got, question) || strings.Contains(got, "600000701") {
		t.Errorf("the inbox shows %q", got)
	}
	do(coach, "the question", chromedp.Click(chromedp.CSS("#threads a")), chromedp.WaitVisible(chromedp.ID("answer-form")))
	if got := text(coach, "#learner"); !strings.Contains(got, "2126******01") || !strings.Contains(strings.ToLower(got), "français") || !strings.Contains(got, co.Code) {
		t.Errorf("the learner reads %q, want the masked number, the cohort and the language", got)
	}
	ctxText := text(coach, "#messages .question .context")
	for _, want := range []string{"Pendant la leçon « ", "du cours « ", "Réponses tapées", "tagine", "300"} {
		if !strings.Contains(ctxText, want) {
			t.Errorf("the question's context reads %q, want %q in it", ctxText, want)
		}
	}
	if got := text(coach, "#route"); !strings.HasPrefix(got, "fenêtre WhatsApp ouverte jusqu'à") {
		t.Errorf("the answer's route reads %q, want free text inside the window", got)
	}
	answer := "Oui : divise la facture du mois par le nombre de pièces."
	do(coach, "answer",
		chromedp.SendKeys(chromedp.ID("text"), answer),
		chromedp.Click(chromedp.CSS(`#answer-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.ID("sent")),
	)

	// The answer arrives in the simulator's chat by itself.
	if got := outbox(1); !strings.Contains(got, answer) || !strings.Contains(got, "Réponse de ton coach") {
		t.Errorf("the simulator's chat shows %q, want the coach's answer", got)
	}
	status := ""
	for deadline := time.Now().Add(15 * time.Second); status != "remis" && time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		do(coach, "the thread", chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("answer-form")))
		status = text(coach, "#messages .answer .status strong")
	}
	if status != "remis" {
		t.Errorf("the answer's status reads %q, want remis\n%s", status, r.logs)
	}

	// A reminder to the cohort reaches the simulator's learner.
	body := api("POST", "/coach/api/cohorts/"+co.Code+"/reminders", `{"text":"Rendez-vous samedi à 10 h."}`, http.StatusAccepted)
	var rem struct{ Queued, Unreachable int }
	json.Unmarshal([]byte(body), &rem)
	if rem.Queued != 1 || rem.Unreachable != 0 {
		t.Errorf("the reminder: %s, want 1 queued and none unreachable", body)
	}
	if got := outbox(2); !strings.Contains(got, "Rendez-vous samedi à 10 h.") {
		t.Errorf("the simulator's chat shows %q, want the reminder", got)
	}

	// A reload shows the same chat, and nothing twice.
	before := eval(sim, `document.getElementById("log").textContent`)
	do(sim, "reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("text")))
	time.Sleep(time.Second) // an event sent again would show by now
	if after := eval(sim, `document.getElementById("log").textContent`); after != before {
		t.Errorf("after a reload the chat reads\n%q\nwant\n%q", after, before)
	}
	if got := eval(sim, `document.getElementById("from").value`); got != learner {
		t.Errorf("after a reload the number is %q, want %q", got, learner)
	}

	// A new learner: another number, an empty chat, a new conversation.
	do(sim, "new learner", chromedp.Click(chromedp.ID("new-learner")))
	if got := eval(sim, `document.getElementById("from").value`); got == learner || !strings.HasPrefix(got, "+2126") {
		t.Errorf("a new learner has the number %q", got)
	}
	if n := eval(sim, `String(document.querySelectorAll("#log .msg").length)`); n != "0" {
		t.Errorf("a new learner's chat has %s bubbles, want none", n)
	}
	if got := say("salam"); !strings.Contains(got, "Choisis ta langue") {
		t.Errorf("a new learner's salam gets %q, want the language menu", got)
	}
}
