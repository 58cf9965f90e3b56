package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/app"
	"github.com/darsi-ma/darsi/bot/schedule"
	"github.com/darsi-ma/darsi/bot/twilio"
	"github.com/darsi-ma/darsi/bot/twilio/twiliotest"
)

// bsuidDB is the Redis database of the BSUID test, emptied before and
// after.
const bsuidDB = 10

// The learners of the test: one known by their WhatsApp BSUID alone, one
// whose number comes with a BSUID first and then the BSUID alone.
const (
	bsuidLearner = "whatsapp:MA.1502576394655843"
	pairedNumber = "whatsapp:+212600000055"
	pairedBSUID  = "MA.9902576394655801"
	waSender     = "whatsapp:+14155238886"
)

// TestBSUIDLearner takes WhatsApp learners who hide their number behind a
// username through the real webhook, on both stores: a BSUID gets the
// language menu, takes a lesson, receives a coach's reminder after quiet
// hours in Casablanca time and is erased on request, and a replay of their
// requests brings no one back; a message from a number carrying
// ExternalUserId, then one from that BSUID alone, are one learner;
// malformed addresses get 400.
func TestBSUIDLearner(t *testing.T) {
	t.Run("embedded", func(t *testing.T) {
		cfg := defaultConfig(t)
		cfg.Store = filepath.Join(t.TempDir(), "darsi.db")
		bsuidScenario(t, cfg)
	})
	t.Run("redis", func(t *testing.T) {
		cfg := defaultConfig(t)
		cfg.Store = redisDB(t, bsuidDB)
		bsuidScenario(t, cfg)
	})
}

func bsuidScenario(t *testing.T, cfg Config) {
	ctx := context.Background()
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
	a.Cohorts = s
	// A Wednesday in June: Casablanca is at UTC+1.
	clock := time.Date(2026, 6, 10, 12, 0, 0, 0, time.UTC)
	a.Now = func() time.Time { return clock }
	coaching := newCoaching(cfg, s, a.Content, discardLog())
	coaching.Now = a.Now
	co, err := coaching.CreateCohort(ctx, app.Operator, "Tissage Azrou", "")
	if err != nil {
		t.Fatal(err)
	}
	cfg.TwilioAuthToken, cfg.Simulator = e2eToken, "off"
	// Every log line of the webhook and the outbox, at debug level: none
	// may name a BSUID or a number whole.
	var logs syncBuffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv := httptest.NewServer(routes(cfg, a, s, nil, log))
	t.Cleanup(srv.Close)

	var sent []url.Values
	// send posts a signed message from from (Twilio's From) with extra
	// parameters, and returns the status and the TwiML.
	send := func(from, body string, extra ...string) (int, string) {
		t.Helper()
		sid := make([]byte, 16)
		rand.Read(sid)
		form := url.Values{
			"MessageSid": {"SM" + hex.EncodeToString(sid)}, "AccountSid": {"AC00000000000000000000000000000000"},
			"From": {from}, "To": {waSender}, "Body": {body}, "NumMedia": {"0"}, "ProfileName": {"Hanane"},
		}
		for i := 0; i+1 < len(extra); i += 2 {
			if extra[i] != "" {
				form.Set(extra[i], extra[i+1])
			}
		}
		target := srv.URL + "/twilio/messages"
		req, _ := http.NewRequest(http.MethodPost, target, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Twilio-Signature", twiliotest.Signature(e2eToken, target, form))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode == http.StatusOK {
			sent = append(sent, form)
		}
		return resp.StatusCode, string(b)
	}
	must := func(from, body string, extra ...string) string {
		t.Helper()
		status, twiml := send(from, body, extra...)
		if status != http.StatusOK {
			t.Fatalf("webhook %q from %s: %d %s", body, bot.Mask(from), status, twiml)
		}
		return twiml
	}

	// The language menu.
	menu := must(bsuidLearner, "salam")
	for _, want := range []string{"<Response>", "Français", "العربية"} {
		if !strings.Contains(menu, want) {
			t.Errorf("the first answer lacks %q:\n%s", want, menu)
		}
	}
	if _, err := s.Get(ctx, bsuidLearner); err != nil {
		t.Fatalf("no learner under the BSUID after its first message: %v", err)
	}
	// French, consent, the cohort, the first course, then the lesson to
	// its end.
	for _, body := range []string{"3", "1", co.Code, "menu", "1"} {
		must(bsuidLearner, body)
	}
	if l, err := s.Get(ctx, bsuidLearner); err != nil || l.Phase != bot.PhaseLesson || l.Cohort != co.Code || l.Name != "Hanane" {
		t.Fatalf("before the lesson: %+v, %v; want in a lesson, in cohort %s", l, err, co.Code)
	}
	takeLesson(t, s, a, bsuidLearner, bot.French, func(text string) { must(bsuidLearner, text) })

	// A coach's reminder for 22:30 in Casablanca: held by quiet hours to
	// 08:00 there (07:00 UTC), when WhatsApp's window is still open.
	fake := twiliotest.NewFake(t, "AC00000000000000000000000000000000", e2eToken)
	sender, err := twilio.NewSender(twilio.SenderConfig{AccountSID: "AC00000000000000000000000000000000", AuthToken: e2eToken, BaseURL: fake.URL})
	if err != nil {
		t.Fatal(err)
	}
	runner, err := schedule.NewRunner(schedule.Config{Outbox: s, Learners: s, Sender: sender, Text: a.Content().Text,
		Deliveries: s, Limiter: s, Policy: *cfg.policy(), WhatsAppFrom: waSender, Worker: "test",
		Now: func() time.Time { return clock }, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	res, err := coaching.Remind(ctx, app.Operator, app.Reminder{Cohort: co.Code, Text: "Atelier demain à Azrou",
		At: time.Date(2026, 6, 10, 21, 30, 0, 0, time.UTC)})
	if err != nil || res.Queued != 1 {
		t.Fatalf("remind: %+v, %v", res, err)
	}
	for _, at := range []time.Time{
		time.Date(2026, 6, 10, 21, 31, 0, 0, time.UTC), // 22:31 in Casablanca
		time.Date(2026, 6, 11, 6, 58, 0, 0, time.UTC),  // 07:58 in Casablanca
	} {
		clock = at
		if _, err := runner.RunOnce(ctx); err != nil {
			t.Fatal(err)
		}
		if msgs := fake.Messages(); len(msgs) != 0 {
			t.Fatalf("at %s in Casablanca, sent %+v; want nothing in quiet hours", at.In(casablanca(t)).Format("15:04"), msgs)
		}
	}
	clock = time.Date(2026, 6, 11, 7, 0, 30, 0, time.UTC)
	if n, err := runner.RunOnce(ctx); err != nil || n != 1 {
		t.Fatalf("at 08:00 in Casablanca: claimed %d, %v; want the reminder", n, err)
	}
	msgs := fake.Messages()
	if len(msgs) != 1 || msgs[0].To != bsuidLearner || msgs[0].From != waSender || !strings.Contains(msgs[0].Body, "Atelier demain à Azrou") {
		t.Fatalf("sent %+v; want the reminder to %s by WhatsApp", msgs, bot.Mask(bsuidLearner))
	}
	if counts, _ := s.Counts(ctx, co.Code); counts[schedule.Sent] != 1 {
		t.Errorf("the cohort's jobs: %v, want the reminder sent", counts)
	}

	// The erase, asked for by the learner.
	must(bsuidLearner, "effacer mes données")
	must(bsuidLearner, "1")
	if _, err := s.Get(ctx, bsuidLearner); bot.KindOf(err) != bot.NotFound {
		t.Fatalf("after the erase: %v, want no learner", err)
	}
	if counts, _ := s.Counts(ctx, ""); len(counts) != 0 {
		t.Errorf("jobs left after the erase: %v", counts)
	}

	// A number carrying its BSUID, then the BSUID alone: one learner.
	clock = clock.Add(time.Hour)
	must(pairedNumber, "salam", "ExternalUserId", pairedBSUID)
	must("whatsapp:"+pairedBSUID, "3")
	must("whatsapp:"+pairedBSUID, "1")
	l, err := s.Get(ctx, pairedNumber)
	if err != nil || l.Lang != bot.French || !l.Consent || l.BSUID != "whatsapp:"+pairedBSUID {
		t.Fatalf("the learner by number: %+v, %v; want French and consent, from the BSUID's messages", l, err)
	}
	if _, err := s.Get(ctx, "whatsapp:"+pairedBSUID); bot.KindOf(err) != bot.NotFound {
		t.Errorf("a learner under the paired BSUID: %v, want none", err)
	}
	// Erased by the BSUID: the pair goes too.
	must("whatsapp:"+pairedBSUID, "effacer mes données")
	must("whatsapp:"+pairedBSUID, "1")
	if _, err := s.Get(ctx, pairedNumber); bot.KindOf(err) != bot.NotFound {
		t.Fatalf("after the paired learner's erase: %v, want no learner", err)
	}
	if _, replay, err := s.Alias(ctx, "whatsapp:"+pairedBSUID, ""); replay || bot.KindOf(err) != bot.NotFound {
		t.Errorf("the pair after the erase: replay %v, %v; want gone", replay, err)
	}

	// Every request, replayed byte for byte: no one comes back.
	replays := sent
	for _, form := range replays {
		target := srv.URL + "/twilio/messages"
		req, _ := http.NewRequest(http.MethodPost, target, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Twilio-Signature", twiliotest.Signature(e2eToken, target, form))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("replay: %d", resp.StatusCode)
		}
	}
	for _, id := range []string{bsuidLearner, pairedNumber, "whatsapp:" + pairedBSUID} {
		if l, err := s.Get(ctx, id); bot.KindOf(err) != bot.NotFound {
			t.Errorf("after the replays, %s: %+v, %v; want no learner", bot.Mask(id), l, err)
		}
	}

	// Malformed addresses: 400, and nothing stored.
	for _, tc := range []struct{ from, extra, value string }{
		{"whatsapp:MA..1502576394655843", "", ""},
		{"whatsapp:ma.1502576394655843", "", ""},
		{"whatsapp:MA.1502576394655843.1.2.3", "", ""},
		{"MA.1502576394655843", "", ""}, // a BSUID by SMS
		{"whatsapp:+0612345678", "", ""},
		{pairedNumber, "ExternalUserId", "MA."},
		{pairedNumber, "ExternalUserId", "+212600000055"},
	} {
		status, _ := send(tc.from, "salam", tc.extra, tc.value)
		if status != http.StatusBadRequest {
			t.Errorf("From %q, %s %q: %d, want 400", tc.from, tc.extra, tc.value, status)
		}
	}
	n := 0
	if err := s.Learners(ctx, func(bot.Learner) error { n++; return nil }); err != nil || n != 0 {
		t.Errorf("%d learners in the store at the end, %v; want none", n, err)
	}
	text := logs.String()
	if !strings.Contains(text, "MA.15…43") {
		t.Errorf("the logs never name the BSUID learner masked:\n%s", text)
	}
	for _, whole := range []string{"1502576394655843", "9902576394655801", "212600000055"} {
		if strings.Contains(text, whole) {
			t.Errorf("the logs name %s whole", whole)
		}
	}
}

// syncBuffer is a bytes.Buffer that the server's goroutines may write to
// while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func casablanca(t *testing.T) *time.Location {
	loc, err := time.LoadLocation("Africa/Casablanca")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// TestBSUIDRoundTrips measures Redis round trips per message: a BSUID
// with a learner of its own costs what a number costs, and only a BSUID
// without one pays for the alias lookup.
func TestBSUIDRoundTrips(t *testing.T) {
	cfg := defaultConfig(t)
	cfg.Store = redisDB(t, bsuidDB)
	ctx := context.Background()
	s, err := cfg.openStore(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	trips := s.(interface{ RoundTrips() uint64 })
	content, err := loadContent("")
	if err != nil {
		t.Fatal(err)
	}
	a := app.New(s, content)
	n := 0
	handle := func(from, bsuid, text string) uint64 {
		t.Helper()
		n++
		before := trips.RoundTrips()
		if _, err := a.HandleInbound(ctx, bot.Inbound{ID: "SM" + strings.Repeat("0", 30) + string(rune('a'+n/10)) + string(rune('a'+n%10)),
			From: from, BSUID: bsuid, Channel: bot.WhatsApp, Text: text}); err != nil {
			t.Fatal(err)
		}
		return trips.RoundTrips() - before
	}
	handle(pairedNumber, "", "salam")
	number := handle(pairedNumber, "", "3")
	handle(bsuidLearner, "", "salam")
	own := handle(bsuidLearner, "", "3")
	handle("whatsapp:+212600000066", "whatsapp:"+pairedBSUID, "salam")
	aliased := handle("whatsapp:"+pairedBSUID, "", "3")
	t.Logf("Redis round trips per message: number %d, BSUID with its own learner %d, BSUID paired with a number %d", number, own, aliased)
	if own != number {
		t.Errorf("a BSUID's own learner: %d round trips, a number's %d: want the same", own, number)
	}
	if aliased > number+2 {
		t.Errorf("a paired BSUID: %d round trips, want at most %d (its read, the alias, the learner's update)", aliased, number+2)
	}
}
