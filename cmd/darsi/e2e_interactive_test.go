package main

import (
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/dialog"
	"github.com/darsi-ma/darsi/bot/lesson"
	"github.com/darsi-ma/darsi/bot/twilio"
	"github.com/darsi-ma/darsi/bot/twilio/twiliotest"
	"github.com/google/go-cmp/cmp"
)

// interactiveDB is the Redis database of the interactive end-to-end test.
const interactiveDB = 6

// waLearner is one WhatsApp learner talking to the replicas, with a
// shadow of their state played by the engine in the test, which says what
// each question wants and what the learner must receive.
type waLearner struct {
	t       *testing.T
	number  string
	tap     bool // answers questions with buttons by tapping them
	fake    *twiliotest.Fake
	content *dialog.Content
	shadow  bot.Learner
	sent    int // messages sent over REST to the learner so far
	n       int
	cur     *twiliotest.FakeContent // the last content received
	taps    int
	// lastTap is the form of the last tap whose turn went over REST.
	lastTap url.Values
}

func (l *waLearner) to() string { return "whatsapp:" + l.number }

// restMessages returns the messages the fake took for the learner.
func (l *waLearner) restMessages() []twiliotest.FakeMessage {
	var out []twiliotest.FakeMessage
	for _, m := range l.fake.Messages() {
		if m.To == l.to() {
			out = append(out, m)
		}
	}
	return out
}

// postWebhook sends a signed webhook with form to r and returns the TwiML
// messages of the answer.
func postWebhook(t *testing.T, r *replica, form url.Values) []twimlMessage {
	t.Helper()
	target := r.base + "/twilio/messages"
	req, _ := http.NewRequest(http.MethodPost, target, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", twiliotest.Signature(e2eToken, target, form))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Error(err)
		return nil
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Errorf("webhook: %d %s\n%s", resp.StatusCode, data, r.logs)
		return nil
	}
	var doc struct {
		Messages []twimlMessage `xml:"Message"`
	}
	if err := xml.Unmarshal(data, &doc); err != nil {
		t.Errorf("TwiML %q: %v", data, err)
	}
	return doc.Messages
}

// step sends one message to r: text typed, or option n of the last
// content tapped (tap > 0). It checks what came back against the shadow:
// TwiML when no reply is interactive, else nothing in TwiML and every
// reply over REST, in order, the interactive one as its content.
func (l *waLearner) step(r *replica, text string, tap int) {
	l.t.Helper()
	l.n++
	sid := messageSID(fmt.Sprintf("%s-%d", l.number, l.n))
	form := url.Values{
		"MessageSid": {sid}, "SmsSid": {sid}, "AccountSid": {e2eAccount},
		"From": {l.to()}, "To": {"whatsapp:+212500000000"}, "Body": {text}, "NumMedia": {"0"},
	}
	in := bot.Inbound{ID: sid, From: l.to(), Channel: bot.WhatsApp, Text: text}
	if tap > 0 {
		o := l.cur.Options[tap-1]
		form.Set("Body", o.Title)
		if l.cur.Type == twilio.ListPicker {
			form.Set("ListId", o.ID)
			form.Set("ListTitle", o.Title)
		} else {
			form.Set("ButtonPayload", o.ID)
			form.Set("ButtonText", o.Title)
		}
		in.Text, in.Payload = o.Title, o.ID
		l.taps++
	}
	out := dialog.Step(l.shadow, in, time.Now(), l.content)
	l.shadow = out.Learner
	got := postWebhook(l.t, r, form)
	want := twilio.RESTMessages(out.Replies)
	if !twilio.Interactive(out.Replies) {
		if len(got) == 0 {
			l.t.Fatalf("%s %q: no TwiML, want %q", l.shadow.Lang, text, bot.Texts(out.Replies))
		}
		return
	}
	if len(got) != 0 {
		l.t.Fatalf("%q: TwiML %v for a turn with an interactive reply", text, got)
	}
	if tap > 0 {
		l.lastTap = form
	}
	msgs := l.waitREST(len(want))
	for i, m := range msgs {
		w := want[i]
		switch {
		case w.Choice != nil:
			if m.ContentSID == "" || m.Body != w.Choice.Body {
				l.t.Fatalf("reply %d of %q: %+v, want the content of %q", i, text, m, w.Choice.Body)
			}
			for _, c := range l.fake.Contents() {
				if c.SID == m.ContentSID {
					l.cur = &c
				}
			}
			if l.cur == nil || l.cur.SID != m.ContentSID || len(l.cur.Options) != len(w.Choice.Options) {
				l.t.Fatalf("content %s: %+v, want the options %+v", m.ContentSID, l.cur, w.Choice.Options)
			}
		case m.ContentSID != "" || m.Body != w.Text:
			l.t.Fatalf("reply %d of %q: %+v, want %q", i, text, m, w.Text)
		}
	}
}

// waitREST waits for n more messages over REST and returns them.
func (l *waLearner) waitREST(n int) []twiliotest.FakeMessage {
	l.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		msgs := l.restMessages()
		if len(msgs) >= l.sent+n {
			// A little longer: nothing more may come.
			time.Sleep(50 * time.Millisecond)
			if msgs = l.restMessages(); len(msgs) != l.sent+n {
				l.t.Fatalf("%d messages over REST, want %d", len(msgs)-l.sent, n)
			}
			got := msgs[l.sent:]
			l.sent = len(msgs)
			return got
		}
		if time.Now().After(deadline) {
			l.t.Fatalf("%d of %d messages over REST in time", len(msgs)-l.sent, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// answer answers what the shadow says the learner is asked: a number, a
// word, or an option of a question (the second, or the right one when
// right is set), tapped when the learner taps and the question came with
// buttons.
func (l *waLearner) answer(r *replica, right bool) {
	l.t.Helper()
	les := l.content.Lessons.Lesson(l.shadow.Lesson)
	st, _ := les.Step(l.shadow.Step)
	n := 2
	if right && st.Kind == lesson.Question {
		n = st.Correct() + 1
	} else if right {
		n = 1
	}
	switch {
	case st.Kind == lesson.Input && st.InputKind == "number":
		l.step(r, "12", 0)
	case st.Kind == lesson.Input:
		l.step(r, "Atelier", 0)
	case l.tap && l.cur != nil && l.cur.Options[0].ID == bot.ChoicePayload(dialog.StepScope(les.ID, st.ID), 1):
		l.step(r, "", n)
	default:
		l.step(r, fmt.Sprint(n), 0)
	}
}

// TestTapOrTypeOverREST takes, in each language, the first lesson of the
// first course twice on two replicas with interactive messages on against
// a fake Twilio: once typing digits, once tapping the buttons and lists
// (ButtonPayload, ListId), and wants the same learner at the end; turns
// with an interactive reply go over REST, in order. Then a tapped answer's
// webhook comes again (nothing is sent twice), and one webhook goes to
// both replicas at once (each reply is sent once).
func TestTapOrTypeOverREST(t *testing.T) {
	store := redisDB(t, interactiveDB)
	fake := twiliotest.NewFake(t, e2eAccount, e2eToken)
	t.Setenv("TWILIO_API_BASE_URL", fake.URL)
	t.Setenv("TWILIO_WHATSAPP_FROM", "whatsapp:+212500000000")
	replicas := []*replica{startReplica(t, store), startReplica(t, store)}
	content, err := loadContent("")
	if err != nil {
		t.Fatal(err)
	}
	newLearner := func(number string, tap bool) *waLearner {
		return &waLearner{t: t, number: number, tap: tap, fake: fake, content: content}
	}
	var tapped *waLearner
	for i, lang := range bot.Langs {
		typer, tapper := newLearner(fmt.Sprintf("+2126110000%02d", i), false), newLearner(fmt.Sprintf("+2126120000%02d", i), true)
		for k, l := range []*waLearner{typer, tapper} {
			r := func() *replica { return replicas[(l.n+k)%2] } // alternate replicas
			l.step(r(), "salam", 0)
			if l.cur == nil || l.cur.Type != twilio.ListPicker || len(l.cur.Options) != 4 {
				t.Fatalf("the language menu came as %+v, want a list of 4", l.cur)
			}
			if l.tap {
				l.step(r(), "", i+1)
			} else {
				l.step(r(), fmt.Sprint(i+1), 0)
			}
			l.cur = nil
			l.step(r(), "1", 0) // consent
			l.step(r(), "1", 0) // the first course
			for turns := 0; l.shadow.Phase == bot.PhaseLesson; turns++ {
				if turns > 40 {
					t.Fatalf("%s: still in the lesson after 40 turns", lang)
				}
				l.answer(r(), false)
			}
			if l.shadow.Phase != bot.PhaseDone {
				t.Fatalf("%s: phase %s after the lesson", lang, l.shadow.Phase)
			}
		}
		if tapper.taps < 2 {
			t.Errorf("%s: %d taps, want the language and at least one question", lang, tapper.taps)
		}
		learners := exportLearners(t, store)
		a, b := learners[typer.to()], learners[tapper.to()]
		if a.Phase != bot.PhaseDone || len(a.Completed) != 1 {
			t.Fatalf("%s: the typing learner is %+v", lang, a)
		}
		if diff := cmp.Diff(a, b, sameLearning); diff != "" {
			t.Errorf("%s: typing and tapping differ (-typed +tapped):\n%s", lang, diff)
		}
	}

	// A tapped answer whose turn went over REST (the right answer to a
	// question whose next one has buttons), its webhook again, to the
	// other replica: nothing more is sent.
	tapped = newLearner("+212614000000", true)
	tapped.step(replicas[0], "salam", 0)
	tapped.step(replicas[0], "3", 0)
	tapped.step(replicas[1], "1", 0)
	tapped.step(replicas[1], "1", 0)
	for turns := 0; tapped.lastTap == nil; turns++ {
		if turns > 300 || tapped.shadow.Phase == bot.PhaseMenu {
			t.Fatal("no tap went over REST in the courses")
		}
		if tapped.shadow.Phase == bot.PhaseDone {
			tapped.step(replicas[turns%2], "1", 0) // the next lesson
			continue
		}
		tapped.answer(replicas[turns%2], true)
	}
	before := len(fake.Messages())
	if got := postWebhook(t, replicas[1], tapped.lastTap); len(got) != 0 {
		t.Errorf("the retry got TwiML %v", got)
	}
	postWebhook(t, replicas[0], tapped.lastTap)
	time.Sleep(1500 * time.Millisecond)
	if after := len(fake.Messages()); after != before {
		t.Errorf("a retried webhook sent %d messages more", after-before)
	}

	// One webhook at both replicas at once: each reply once.
	l := newLearner("+212613000000", false)
	l.step(replicas[0], "salam", 0)
	l.step(replicas[0], "3", 0) // French
	l.step(replicas[0], "1", 0)
	l.step(replicas[0], "1", 0) // costing-1, its first question
	if l.shadow.Step != "what-counts" {
		t.Fatalf("at step %q, want what-counts", l.shadow.Step)
	}
	l.n++
	sid := messageSID(fmt.Sprintf("%s-%d", l.number, l.n))
	form := url.Values{"MessageSid": {sid}, "SmsSid": {sid}, "AccountSid": {e2eAccount},
		"From": {l.to()}, "To": {"whatsapp:+212500000000"}, "Body": {"2"}, "NumMedia": {"0"}}
	out := dialog.Step(l.shadow, bot.Inbound{ID: sid, From: l.to(), Channel: bot.WhatsApp, Text: "2"}, time.Now(), content)
	want := twilio.RESTMessages(out.Replies)
	if !twilio.Interactive(out.Replies) || len(want) < 2 {
		t.Fatalf("the right answer to what-counts gives %d messages (interactive %v), want several ending with buttons", len(want), twilio.Interactive(out.Replies))
	}
	var wg sync.WaitGroup
	for _, r := range replicas {
		wg.Go(func() { postWebhook(t, r, form) })
	}
	wg.Wait()
	got := l.waitREST(len(want))
	time.Sleep(1500 * time.Millisecond)
	if n := len(l.restMessages()); n != l.sent {
		t.Errorf("%d messages more than the replies", n-l.sent)
	}
	bodies := func(ms []twiliotest.FakeMessage) []string {
		var out []string
		for _, m := range ms {
			out = append(out, m.Body)
		}
		return out
	}
	var wantBodies []string
	for _, w := range want {
		if w.Choice != nil {
			wantBodies = append(wantBodies, w.Choice.Body)
		} else {
			wantBodies = append(wantBodies, w.Text)
		}
	}
	if !slices.Equal(bodies(got), wantBodies) {
		t.Errorf("two replicas sent %q, want %q", bodies(got), wantBodies)
	}
}
