package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/app"
	"github.com/darsi-ma/darsi/bot/store/redisstore"
	"github.com/darsi-ma/darsi/bot/twilio/twiliotest"
)

// askDB is the Redis database of TestAskCoachOverWebhook.
const askDB = 7

// coachReplySID is the coach_reply template of the test, in French.
const coachReplySID = "HX0000000000000000000000000000c0a1"

// TestAskCoachOverWebhook runs the real "darsi serve" on Redis against the
// fake Twilio: two learners on WhatsApp ask their coach mid-lesson with
// the coach word; the coach sees both questions in the API with the
// learners' context and answers. The learner who wrote an hour ago gets
// the answer as free text, the one whose window has closed as the
// coach_reply template: each once, never both, whatever the answer is
// sent twice; the thread shows each answer's status.
func TestAskCoachOverWebhook(t *testing.T) {
	store := redisDB(t, askDB)
	token := addCoach(t, store, "fatima", "coach", "fatima-secret-1")
	templates := filepath.Join(t.TempDir(), "templates.yaml")
	if err := os.WriteFile(templates, []byte("coach_reply:\n  fr: {sid: "+coachReplySID+", vars: {\"1\": text}}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	fake := twiliotest.NewFake(t, e2eAccount, e2eToken)
	t.Setenv("TWILIO_API_BASE_URL", fake.URL)
	t.Setenv("TWILIO_WHATSAPP_FROM", "whatsapp:+14155238886")
	// Conversations by TwiML: this test counts what the outbox sends.
	t.Setenv("DARSI_INTERACTIVE", "off")
	t.Setenv("DARSI_QUIET_HOURS", notQuietNow(t))
	t.Setenv("DARSI_TEMPLATES", templates)
	// A short lease: a job the killed replica held comes back soon.
	t.Setenv("DARSI_OUTBOX_LEASE", "3s")
	r := startReplica(t, store)
	api := func(method, path string, body any, want int) string {
		t.Helper()
		var rd io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			rd = strings.NewReader(string(b))
		}
		req, _ := http.NewRequest(method, r.base+path, rd)
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != want {
			t.Fatalf("%s %s: %d, want %d\n%s", method, path, resp.StatusCode, want, data)
		}
		return string(data)
	}
	var co struct{ Code string }
	json.Unmarshal([]byte(api("POST", "/coach/api/cohorts", map[string]string{"name": "Couture Salé"}, http.StatusCreated)), &co)

	inside, outside := "whatsapp:+212600000901", "whatsapp:+212600000902"
	for _, id := range []string{inside, outside} {
		number := strings.TrimPrefix(id, "whatsapp:")
		for i, body := range []string{"salam", "3", "1", co.Code, "1"} {
			r.send(number, id+"-"+string(rune('a'+i)), body)
		}
		replies := r.send(number, id+"-q", "coach combien je compte pour l'électricité ?")
		if len(replies) == 0 || !strings.Contains(replies[0], "transmis à ton coach") {
			t.Fatalf("%s asked: replies %q", bot.Mask(id), replies)
		}
	}
	// The second learner's last message was two days ago: their window
	// has closed.
	ctx := context.Background()
	s, err := redisstore.Open(ctx, store, redisstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Update(ctx, outside, "", func(l *bot.Learner) (app.Change, error) {
		l.LastInboundAt = time.Now().Add(-48 * time.Hour)
		return app.Change{}, nil
	}); err != nil {
		t.Fatal(err)
	}

	var threads []struct {
		Key      string
		Learner  string
		Unread   int
		Messages []struct {
			Text    string
			Context *app.AskContext
		}
	}
	json.Unmarshal([]byte(api("GET", "/coach/api/inbox", nil, http.StatusOK)), &threads)
	if len(threads) != 2 {
		t.Fatalf("inbox: %d threads, want 2", len(threads))
	}
	keys := map[string]string{}
	for _, th := range threads {
		if th.Unread != 1 || len(th.Messages) != 1 || th.Messages[0].Text != "combien je compte pour l'électricité ?" {
			t.Errorf("thread %+v", th)
		}
		keys[th.Learner] = th.Key
	}
	for _, id := range []string{inside, outside} {
		key := keys[bot.Mask(id)]
		body := api("GET", "/coach/api/inbox/"+key, nil, http.StatusOK)
		if !strings.Contains(body, `"lesson":"costing-1"`) || !strings.Contains(body, `"lang":"fr"`) {
			t.Errorf("the thread of %s lacks the learner's context: %s", bot.Mask(id), body)
		}
		route := `"route":"free"`
		if id == outside {
			route = `"route":"template"`
		}
		if !strings.Contains(body, route) {
			t.Errorf("the thread of %s says %s, want %s", bot.Mask(id), body, route)
		}
		answer := map[string]string{"text": "Divise la facture par le nombre de pièces."}
		api("POST", "/coach/api/inbox/"+key+"/answers", answer, http.StatusAccepted)
		// A retried call queues nothing more.
		if body := api("POST", "/coach/api/inbox/"+key+"/answers", answer, http.StatusOK); !strings.Contains(body, `"already":true`) {
			t.Errorf("the same answer again: %s", body)
		}
	}

	// The fake receives each answer once: free text inside the window,
	// the template outside it.
	deadline := time.Now().Add(15 * time.Second)
	for len(fake.Messages()) < 2 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(2 * time.Second) // anything more would have come by now
	msgs := fake.Messages()
	if len(msgs) != 2 {
		t.Fatalf("the fake received %d messages, want 2: %+v", len(msgs), msgs)
	}
	for _, m := range msgs {
		switch m.To {
		case inside:
			if m.ContentSID != "" || m.Body != "Réponse de ton coach : Divise la facture par le nombre de pièces." {
				t.Errorf("inside the window: body %q, template %q; want the free text only", m.Body, m.ContentSID)
			}
		case outside:
			if m.ContentSID != coachReplySID || m.Body != "" || m.ContentVariables["1"] != "Divise la facture par le nombre de pièces." {
				t.Errorf("outside the window: body %q, template %q %v; want the coach_reply template only", m.Body, m.ContentSID, m.ContentVariables)
			}
		default:
			t.Errorf("a message to %s", bot.Mask(m.To))
		}
	}
	for _, id := range []string{inside, outside} {
		body := api("GET", "/coach/api/inbox/"+keys[bot.Mask(id)], nil, http.StatusOK)
		if !strings.Contains(body, `"status":"sent"`) {
			t.Errorf("the thread of %s does not show the answer sent: %s", bot.Mask(id), body)
		}
	}

	// Twilio reports each answer delivered, and retries the callback; a
	// late "sent" comes after. The threads show them delivered, and
	// nothing is sent again.
	for _, m := range msgs {
		for _, st := range []bot.DeliveryStatus{bot.StatusDelivered, bot.StatusDelivered, bot.StatusSent} {
			if err := fake.Callback(ctx, m.SID, st, 0); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, id := range []string{inside, outside} {
		body := api("GET", "/coach/api/inbox/"+keys[bot.Mask(id)], nil, http.StatusOK)
		if !strings.Contains(body, `"status":"delivered"`) || strings.Contains(body, `"status":"sent"`) {
			t.Errorf("after the callbacks the thread of %s reads %s, want the answer delivered", bot.Mask(id), body)
		}
	}

	// The replica dies while Twilio holds the next answer's send, which
	// Twilio has taken: the replica that starts next finds it in Twilio's
	// list and does not send it again.
	fake.SetHold(time.Minute)
	again := map[string]string{"text": "Et le gaz aussi, de la même façon."}
	api("POST", "/coach/api/inbox/"+keys[bot.Mask(inside)]+"/answers", again, http.StatusAccepted)
	for deadline := time.Now().Add(15 * time.Second); len(fake.Messages()) < 3; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the second answer never reached the fake\n%s", r.logs)
		}
	}
	r.cmd.Process.Kill()
	r.cmd.Wait()
	fake.SetHold(0)
	r = startReplica(t, store)
	var status string
	for deadline := time.Now().Add(15 * time.Second); status != "sent" && time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		var th struct {
			Messages []struct{ Text, Status string }
		}
		json.Unmarshal([]byte(api("GET", "/coach/api/inbox/"+keys[bot.Mask(inside)], nil, http.StatusOK)), &th)
		for _, m := range th.Messages {
			if m.Text == again["text"] {
				status = m.Status
			}
		}
	}
	if status != "sent" {
		t.Errorf("after the restart the second answer is %q, want sent\n%s", status, r.logs)
	}
	time.Sleep(time.Second) // a second send would have come by now
	msgs = fake.Messages()
	if len(msgs) != 3 {
		t.Fatalf("the fake received %d messages, want 3 (each answer once): %+v", len(msgs), msgs)
	}
	if m := msgs[2]; m.To != inside || m.ContentSID != "" || m.Body != "Réponse de ton coach : "+again["text"] {
		t.Errorf("the second answer went as %+v, want free text once", m)
	}
}
