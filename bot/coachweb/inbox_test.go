package coachweb_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/app"
	"github.com/darsi-ma/darsi/bot/coachweb"
	"github.com/darsi-ma/darsi/bot/schedule"
)

// ask files a learner's question in the inbox, as the conversation does.
func (x *harness) ask(id, msgID, text string) string {
	x.t.Helper()
	l, err := x.store.Get(context.Background(), id)
	if err != nil {
		x.t.Fatal(err)
	}
	key := x.store.Keys().Learner(id)
	th := app.Thread{Key: key, Learner: id, Cohort: app.CohortKey(l.Cohort), Name: l.Name, Lang: l.Lang}
	m := app.InboxMessage{ID: msgID, Text: text, At: x.now, Context: &app.AskContext{Lang: l.Lang, Phase: l.Phase,
		Course: l.Course, Lesson: l.Lesson, Step: l.Step, Answers: map[string]string{"materials": "120"}, Done: len(l.Completed)}}
	if _, err := x.store.FileInbox(context.Background(), th, m); err != nil {
		x.t.Fatal(err)
	}
	return key
}

func TestInboxPages(t *testing.T) {
	x := newHarness(t)
	inWindow := x.ask("whatsapp:+212600000001", "SM1", "Combien je compte pour l'électricité ?")
	outside := x.ask("whatsapp:+212600000002", "SM2", "كيف أحسب الكراء؟")

	fatima := x.browser()
	fatima.login("fatima")
	home := fatima.get("/coach/")
	want(t, "home", home, http.StatusOK, `id="inbox-link"`, `id="unread" title="2 questions non lues">2<`)
	inbox := fatima.get("/coach/inbox")
	want(t, "inbox", inbox, http.StatusOK, "Khadija &lt;Tapis&gt;", "Combien je compte pour l&#39;électricité ?", "كيف أحسب الكراء؟", "1 non lue")
	// Learner 2 shared no name: a coach sees words, not a number.
	if strings.Contains(inbox.body, "600000002") || strings.Contains(inbox.body, "600000001") {
		t.Errorf("the inbox shows a phone number:\n%s", clip(inbox.body))
	}

	thread := fatima.get("/coach/inbox/" + inWindow)
	want(t, "thread inside the window", thread, http.StatusOK, "Combien je compte", "Pendant la leçon « ", "materials = 120",
		"fenêtre WhatsApp ouverte jusqu&#39;à", "2126******01")
	if strings.Contains(thread.body, "costing-2 »") {
		t.Errorf("the thread shows the lesson's id, not its title:\n%s", clip(thread.body))
	}
	// Reading it leaves one unread thread.
	want(t, "home after reading", fatima.get("/coach/"), http.StatusOK, `id="unread" title="1 question non lue">1<`)

	other := fatima.get("/coach/inbox/" + outside)
	want(t, "thread outside the window", other, http.StatusOK, "hors de la fenêtre de 24 h : modèle « coach_reply »",
		"aucun modèle configuré pour cette langue", `class="warn"`)

	r := fatima.post("/coach/inbox/"+inWindow, url.Values{"text": {"Divise la facture du mois par le nombre de pièces."}})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/coach/inbox/"+inWindow+"?sent=1" {
		t.Fatalf("answer: %d %s %s", r.status, r.header.Get("Location"), clip(r.body))
	}
	// Sent twice (a double click): one job.
	fatima.post("/coach/inbox/"+inWindow, url.Values{"text": {"Divise la facture du mois par le nombre de pièces."}})
	after := fatima.get("/coach/inbox/" + inWindow + "?sent=1")
	want(t, "thread after the answer", after, http.StatusOK, `id="sent"`, "Réponse de fatima", "en attente d&#39;envoi")
	want(t, "an empty answer", fatima.post("/coach/inbox/"+inWindow, url.Values{"text": {"   "}}), http.StatusBadRequest, "answer is empty")
	jobs, _, err := x.store.Jobs(context.Background(), schedule.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs) != 1 || jobs[0].Kind != schedule.CoachReply || jobs[0].Learner != "whatsapp:+212600000001" {
		t.Errorf("jobs = %+v, want one coach_reply to the learner", jobs)
	}

	// Another coach: neither the count nor the thread.
	youssef := x.browser()
	youssef.login("youssef")
	if r := youssef.get("/coach/"); strings.Contains(r.body, `id="unread"`) {
		t.Errorf("youssef sees an unread count:\n%s", clip(r.body))
	}
	want(t, "another coach's thread", youssef.get("/coach/inbox/"+inWindow), http.StatusNotFound)
	want(t, "another coach answers", youssef.post("/coach/inbox/"+inWindow, url.Values{"text": {"hello"}}), http.StatusNotFound)
	want(t, "a key of no shape", youssef.get("/coach/inbox/..%2f..%2fetc"), http.StatusNotFound)
}

func TestInboxAPI(t *testing.T) {
	x := newHarness(t)
	key := x.ask("whatsapp:+212600000001", "SM1", "Combien ?")
	x.ask("whatsapp:+212600000005", "SM5", "Youssef's learner")

	r := x.api("fatima", http.MethodGet, "/coach/api/inbox", nil)
	want(t, "list", r, http.StatusOK)
	var threads []coachweb.APIThread
	if err := json.Unmarshal([]byte(r.body), &threads); err != nil {
		t.Fatal(err)
	}
	if len(threads) != 1 || threads[0].Key != key || threads[0].Unread != 1 || threads[0].Learner != bot.Mask("whatsapp:+212600000001") ||
		len(threads[0].Messages) != 1 || threads[0].Messages[0].Text != "Combien ?" {
		t.Errorf("threads = %+v", threads)
	}
	if r.header.Get("X-Unread-Count") != "1" {
		t.Errorf("X-Unread-Count = %q, want 1", r.header.Get("X-Unread-Count"))
	}

	r = x.api("fatima", http.MethodGet, "/coach/api/inbox/"+key, nil)
	var th coachweb.APIThread
	if err := json.Unmarshal([]byte(r.body), &th); err != nil {
		t.Fatal(err)
	}
	if th.Answer == nil || th.Answer.Route != schedule.RouteFree || !th.Answer.Reachable || th.Messages[0].Context == nil {
		t.Errorf("thread = %+v (answer %+v)", th, th.Answer)
	}

	first := x.api("fatima", http.MethodPost, "/coach/api/inbox/"+key+"/answers", coachweb.AnswerRequest{Text: "20 DH par pièce."})
	want(t, "answer", first, http.StatusAccepted, `"status":"queued"`, `"already":false`)
	again := x.api("fatima", http.MethodPost, "/coach/api/inbox/"+key+"/answers", coachweb.AnswerRequest{Text: "20 DH par pièce."})
	want(t, "the same answer again", again, http.StatusOK, `"already":true`)
	var a, b coachweb.AnswerResponse
	json.Unmarshal([]byte(first.body), &a)
	json.Unmarshal([]byte(again.body), &b)
	if a.Job == "" || a.Job != b.Job || strings.Contains(a.Job, "600000001") {
		t.Errorf("jobs %q and %q: want one, without the number", a.Job, b.Job)
	}
	want(t, "empty", x.api("fatima", http.MethodPost, "/coach/api/inbox/"+key+"/answers", coachweb.AnswerRequest{Text: ""}), http.StatusBadRequest)
	want(t, "another coach", x.api("youssef", http.MethodGet, "/coach/api/inbox/"+key, nil), http.StatusNotFound)
	want(t, "another coach answers", x.api("youssef", http.MethodPost, "/coach/api/inbox/"+key+"/answers", coachweb.AnswerRequest{Text: "x"}), http.StatusNotFound)
	want(t, "no token", x.api("", http.MethodGet, "/coach/api/inbox", nil), http.StatusUnauthorized)

	r = x.api("fatima", http.MethodGet, "/coach/api/inbox/"+key, nil)
	want(t, "thread after the answer", r, http.StatusOK, `"from":"fatima"`, `"status":"queued"`)
	// The audit log says the coach answered, without the text.
	r = x.api("amal", http.MethodGet, "/coach/api/audit", nil)
	want(t, "audit", r, http.StatusOK, `"action":"inbox.answer"`, `"actor":"fatima"`)
	if strings.Contains(r.body, "20 DH") {
		t.Errorf("the audit log holds the answer's text: %s", clip(r.body))
	}
}
