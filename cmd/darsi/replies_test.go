package main

import (
	"context"
	"testing"
	"time"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/app"
	"github.com/darsi-ma/darsi/bot/schedule"
	"github.com/darsi-ma/darsi/bot/store/redisstore"
	"github.com/darsi-ma/darsi/bot/twilio"
	"github.com/darsi-ma/darsi/bot/twilio/twiliotest"
)

// TestRESTTurnRoundTrips counts the Redis round trips of a turn whose
// replies go over REST: the learner's update, one write that queues every
// reply already claimed by the replica, and, after the last send, one
// write that settles them all with their delivery records, however many
// replies the turn has; the content's lookup once per process. A message
// delivered again costs the update and the write that finds its replies
// sent.
func TestRESTTurnRoundTrips(t *testing.T) {
	ctx := context.Background()
	s, err := redisstore.Open(ctx, redisDB(t, interactiveDB), redisstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	content, err := loadContent("")
	if err != nil {
		t.Fatal(err)
	}
	fake := twiliotest.NewFake(t, e2eAccount, e2eToken)
	sender, err := twilio.NewSender(twilio.SenderConfig{AccountSID: e2eAccount, AuthToken: e2eToken, BaseURL: fake.URL})
	if err != nil {
		t.Fatal(err)
	}
	a := app.New(s, content)
	runner, err := schedule.NewRunner(schedule.Config{Outbox: s, Learners: s, Sender: sender, Text: content.Text,
		Deliveries: s, WhatsAppFrom: "whatsapp:+212500000000", Content: (&twilio.Contents{Store: s, API: sender}).Content})
	if err != nil {
		t.Fatal(err)
	}
	lane := &replyLane{app: a, runner: runner, log: discardLog()}
	turn := func(from, label, text string) (trips uint64, replies int) {
		t.Helper()
		in := bot.Inbound{ID: messageSID(label), From: from, Channel: bot.WhatsApp, Text: text}
		before := s.RoundTrips()
		res, err := a.HandleInbound(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		if twilio.Interactive(res.Replies) {
			if err := lane.SendReplies(ctx, in, res.Replies); err != nil {
				t.Fatal(err)
			}
			lane.Wait()
			replies = len(twilio.RESTMessages(res.Replies))
		}
		return s.RoundTrips() - before, replies
	}
	// Two learners to costing-1's first question; the right answer
	// gives feedback, the lesson's next messages, and the next question
	// as buttons. The first one's makes the content, which the process
	// remembers.
	for _, from := range []string{"whatsapp:+212615000000", "whatsapp:+212615000001"} {
		for i, text := range []string{"salam", "3", "1", "1"} {
			turn(from, from+string(rune('a'+i)), text)
		}
	}
	turn("whatsapp:+212615000000", "rt-warm", "2")
	trips, n := turn("whatsapp:+212615000001", "rt-answer", "2")
	if n == 0 {
		t.Fatal("the turn did not go over REST")
	}
	t.Logf("a turn of %d replies over REST: %d round trips", n, trips)
	if trips > 3 {
		t.Errorf("a turn of %d replies over REST: %d round trips, want at most 3", n, trips)
	}
	again, _ := turn("whatsapp:+212615000001", "rt-answer", "2")
	t.Logf("the same message again: %d round trips", again)
	if again > 2 {
		t.Errorf("a repeated message: %d round trips, want at most 2", again)
	}
	if msgs := fake.Messages(); len(msgs) == 0 || time.Since(msgs[len(msgs)-1].At) > time.Minute {
		t.Errorf("nothing sent: %v", msgs)
	}
}
