package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/app"
	"github.com/darsi-ma/darsi/bot/schedule"
	"github.com/darsi-ma/darsi/bot/twilio/twiliotest"
)

// eraseDB is the Redis database of the erase test, emptied before and
// after.
const eraseDB = 9

// The learner who erases their data, and what they type that must not
// outlive the erase.
const (
	eraseNumber = "+212600000077"
	eraseMarker = "Zellige4242"
	eraseName   = "Aminatou Ouzzine"
	// eraseBSUID is the learner's WhatsApp BSUID, which their messages
	// carry (ExternalUserId) and some come from alone.
	eraseBSUID = "MA.7702576394655877"
)

// TestEraseLeavesNothing takes a learner through what leaves traces (a
// cohort, a lesson with a text answer, a question to their coach and its
// answer, a reminder sent and delivered, nudges and a review queued,
// messages from their WhatsApp BSUID beside their number and from the
// BSUID alone), erases them, then looks at everything the store keeps:
// every key and value of Redis, every byte of the embedded store's file
// after its compaction. Neither the number, nor the BSUID, nor what the
// learner typed is anywhere. Replaying the learner's signed requests
// afterwards, by number and by BSUID, brings no one back.
func TestEraseLeavesNothing(t *testing.T) {
	t.Run("embedded", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "darsi.db")
		cfg := defaultConfig(t)
		cfg.Store = path
		s := eraseScenario(t, cfg)
		if err := s.Close(); err != nil { // an erase marked the file: Close compacts it
			t.Fatal(err)
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, secret := range []string{strings.TrimPrefix(eraseNumber, "+"), eraseMarker, eraseName, eraseBSUID[3:]} {
			if strings.Contains(string(raw), secret) {
				t.Errorf("the store's file holds %q after the erase", secret)
			}
		}
	})
	t.Run("redis", func(t *testing.T) {
		cfg := defaultConfig(t)
		cfg.Store = redisDB(t, eraseDB)
		s := eraseScenario(t, cfg)
		defer s.Close()
		opts, _ := redis.ParseURL(cfg.Store)
		rdb := redis.NewClient(opts)
		defer rdb.Close()
		ctx := context.Background()
		iter := rdb.Scan(ctx, 0, "*", 1000).Iterator()
		keys := 0
		for iter.Next(ctx) {
			keys++
			key := iter.Val()
			var value string
			switch typ := rdb.Type(ctx, key).Val(); typ {
			case "string":
				value = rdb.Get(ctx, key).Val()
			case "hash":
				value = strings.Join(mapValues(rdb.HGetAll(ctx, key).Val()), "\n")
			case "set":
				value = strings.Join(rdb.SMembers(ctx, key).Val(), "\n")
			case "zset":
				value = strings.Join(rdb.ZRange(ctx, key, 0, -1).Val(), "\n")
			case "list":
				value = strings.Join(rdb.LRange(ctx, key, 0, -1).Val(), "\n")
			case "stream":
				for _, m := range rdb.XRange(ctx, key, "-", "+").Val() {
					for k, v := range m.Values {
						value += fmt.Sprintf("%s\n%v\n", k, v)
					}
				}
			default:
				t.Errorf("key %s of type %s: not looked at", key, typ)
			}
			for _, secret := range []string{strings.TrimPrefix(eraseNumber, "+"), eraseMarker, eraseName, eraseBSUID[3:]} {
				if strings.Contains(key, secret) || strings.Contains(value, secret) {
					t.Errorf("key %s holds %q after the erase", key, secret)
				}
			}
		}
		if err := iter.Err(); err != nil {
			t.Fatal(err)
		}
		if keys == 0 {
			t.Error("no keys at all: the scan looked at nothing")
		}
	})
}

func mapValues(m map[string]string) []string {
	var out []string
	for k, v := range m {
		out = append(out, k, v)
	}
	return out
}

// eraseScenario runs the learner's story on the store cfg names, through
// the real webhook, and returns the store, open.
func eraseScenario(t *testing.T, cfg Config) store {
	t.Helper()
	ctx := context.Background()
	s, err := cfg.openStore(ctx)
	if err != nil {
		t.Fatal(err)
	}
	content, err := loadContent("")
	if err != nil {
		t.Fatal(err)
	}
	a := app.New(s, content)
	a.Cohorts = s
	a.Outreach = outreach(cfg, s, discardLog())
	clock := time.Now()
	a.Now = func() time.Time { return clock }
	coaching := newCoaching(cfg, s, a.Content, discardLog())
	coaching.Now = a.Now
	co, err := coaching.CreateCohort(ctx, app.Operator, "Couture Salé", "")
	if err != nil {
		t.Fatal(err)
	}

	cfg.TwilioAuthToken, cfg.Simulator = e2eToken, "off"
	srv := httptest.NewServer(routes(cfg, a, s, nil, discardLog()))
	t.Cleanup(srv.Close)
	var sent []url.Values
	// send posts a message from the learner's number, which carries their
	// BSUID, or when byBSUID from the BSUID alone.
	sendAs := func(byBSUID bool, body string) {
		t.Helper()
		sid := make([]byte, 16)
		rand.Read(sid)
		form := url.Values{
			"MessageSid": {"SM" + hex.EncodeToString(sid)}, "AccountSid": {"AC00000000000000000000000000000000"},
			"From": {"whatsapp:" + eraseNumber}, "To": {"whatsapp:+14155238886"}, "Body": {body},
			"NumMedia": {"0"}, "WaId": {strings.TrimPrefix(eraseNumber, "+")}, "ProfileName": {eraseName},
			"ExternalUserId": {eraseBSUID},
		}
		if byBSUID {
			form.Set("From", "whatsapp:"+eraseBSUID)
			form.Del("WaId")
			form.Del("ExternalUserId")
		}
		post(t, srv.URL, form)
		sent = append(sent, form)
	}
	// Onboarding, the cohort, a lesson with the marker as the product's
	// name, to its end; some of it from the BSUID alone.
	for i, body := range []string{"salam", "3", "1", co.Code, "menu", "1", "2", "3", eraseMarker, "300", "20"} {
		sendAs(i == 4 || i == 8, body)
	}
	learner := bot.LearnerID(bot.WhatsApp, eraseNumber)
	l, err := s.Get(ctx, learner)
	if err != nil || !l.Done("costing-1") || l.Cohort != co.Code || l.Vars["product"] != eraseMarker || l.Name != eraseName || l.BSUID != "whatsapp:"+eraseBSUID {
		t.Fatalf("before the erase: %+v, %v; want costing-1 done in cohort %s, the product %s", l, err, co.Code, eraseMarker)
	}

	// A question to the coach, with the marker, and its answer.
	sendAs(false, "coach "+eraseMarker+" : combien ?")
	key := s.Keys().Learner(learner)
	if th, err := s.InboxThread(ctx, key); err != nil || len(th.Messages) != 1 {
		t.Fatalf("the question in the inbox: %+v, %v", th, err)
	}
	if _, err := coaching.Answer(ctx, app.Operator, key, eraseMarker+" : 20 DH de plus"); err != nil {
		t.Fatalf("answer: %v", err)
	}

	// A reminder, sent and delivered; then, days later, a nudge and a
	// review queued.
	res, err := coaching.Remind(ctx, app.Operator, app.Reminder{Cohort: co.Code, Text: "Atelier demain"})
	if err != nil || res.Queued != 1 {
		t.Fatalf("remind: %+v, %v", res, err)
	}
	claimed, err := s.Claim(ctx, "w", clock.Add(time.Minute), time.Minute, 10)
	if err != nil || len(claimed) != 2 {
		t.Fatalf("claim: %d, %v; want the answer and the reminder", len(claimed), err)
	}
	j := claimed[0]
	if j.Kind != schedule.Reminder {
		j = claimed[1]
	}
	j.Status, j.SID, j.SentAt = schedule.Sent, "SM0123456789abcdef0123456789abcdef", clock
	if err := s.Settle(ctx, j); err != nil {
		t.Fatal(err)
	}
	reports := app.DeliveryReports{Deliveries: s, Outbox: s}
	if _, err := reports.AdvanceDelivery(ctx, bot.Delivery{SID: j.SID, To: learner, Status: bot.StatusDelivered, JobID: j.ID, UpdatedAt: clock}); err != nil {
		t.Fatal(err)
	}
	later := clock.Add(4 * 24 * time.Hour)
	if _, err := a.Sweep(ctx, later); err != nil {
		t.Fatal(err)
	}
	counts, err := s.Counts(ctx, co.Code)
	if err != nil || counts[schedule.Delivered] != 1 || counts[schedule.Queued] < 2 {
		t.Fatalf("before the erase, the cohort's jobs: %v, %v; want 1 delivered, a nudge and a review queued", counts, err)
	}

	// The erase, as the learner asks for it, by the BSUID alone.
	sendAs(true, "effacer mes données")
	sendAs(true, "1")
	if _, err := s.Get(ctx, learner); bot.KindOf(err) != bot.NotFound {
		t.Fatalf("after the erase: %v, want no learner", err)
	}
	if counts, _ := s.Counts(ctx, ""); len(counts) != 0 {
		t.Errorf("jobs left after the erase: %v", counts)
	}
	if c, _ := s.CohortCounts(ctx, co.Code); len(c) != 0 {
		t.Errorf("the cohort's counters after the erase: %v, want none", c)
	}
	if _, err := s.Delivery(ctx, j.SID); bot.KindOf(err) != bot.NotFound {
		t.Errorf("the reminder's delivery record after the erase: %v, want none", err)
	}
	if _, err := s.InboxThread(ctx, key); bot.KindOf(err) != bot.NotFound {
		t.Errorf("the thread with the coach after the erase: %v, want none", err)
	}

	// Every request the learner sent, replayed byte for byte: no one comes
	// back.
	for _, form := range sent {
		post(t, srv.URL, form)
	}
	for _, id := range []string{learner, "whatsapp:" + eraseBSUID} {
		if l, err := s.Get(ctx, id); bot.KindOf(err) != bot.NotFound {
			t.Errorf("after replaying the learner's requests: %+v, %v; want no learner", l, err)
		}
	}
	return s
}

// post sends one signed webhook and fails the test unless it is answered
// 200.
func post(t *testing.T, base string, form url.Values) {
	t.Helper()
	target := base + "/twilio/messages"
	req, _ := http.NewRequest(http.MethodPost, target, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", twiliotest.Signature(e2eToken, target, form))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("webhook %q: %d", form.Get("Body"), resp.StatusCode)
	}
}
