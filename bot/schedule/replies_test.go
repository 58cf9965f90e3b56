package schedule_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/app"
	"github.com/darsi-ma/darsi/bot/schedule"
	"github.com/darsi-ma/darsi/bot/twilio"
)

// replies returns a turn's reply jobs for l, the last with a yes/no choice.
func replies(l bot.Learner, msg string, texts ...string) []schedule.Job {
	var jobs []schedule.Job
	for i, text := range texts {
		j := schedule.Job{ID: schedule.ReplyID("L0123456789abcdef0123", msg, i), Kind: schedule.Reply, Learner: l.ID, Text: text}
		if i > 0 {
			j.After = jobs[i-1].ID
		}
		jobs = append(jobs, j)
	}
	jobs[len(jobs)-1].Choice = &bot.Choice{Scope: "q", Lang: bot.French, Body: "Prêt ?",
		Options: []bot.ChoiceOption{{ID: "darsi:q#1", Title: "Oui"}, {ID: "darsi:q#2", Title: "Non"}}}
	return jobs
}

// TestRepliesInOrderAnyTime: replies go in quiet hours, in order even when
// the runner's workers take them all at once, the interactive one as its
// content, and a content Twilio refuses goes as the reply's text.
func TestRepliesInOrderAnyTime(t *testing.T) {
	e := newEnv(t)
	// 23:00 in Casablanca: quiet hours, which hold no reply.
	e.clock.Set(time.Date(2026, 3, 10, 23, 0, 0, 0, time.UTC))
	l := e.whatsApp(1, bot.French, time.Minute)
	cfg := e.config()
	contents := &memContents{}
	cfg.Content = (&twilio.Contents{Store: contents, API: e.sender.Sender.(*twilio.Sender)}).Content
	cfg.Concurrency = 8
	r := e.runner(cfg)
	turn := replies(l, "SM1", "Bravo", "La suite", "Prêt ?\n1. Oui\n2. Non")
	e.enqueue(turn...)
	// The workers get all three at once: the later ones wait for the
	// ones before.
	for range 20 {
		e.drain(r)
		e.clock.Add(2 * time.Second)
	}
	got := e.sentTo(l.ID)
	var bodies []string
	for _, m := range got {
		bodies = append(bodies, m.Body)
	}
	if !slices.Equal(bodies, []string{"Bravo", "La suite", "Prêt ?"}) || got[2].ContentSID == "" {
		t.Fatalf("sent %q (last content %q), want the three replies in order, the last as its content", bodies, got[2].ContentSID)
	}
	for _, j := range turn {
		if st := e.job(j.ID).Status; st != schedule.Sent {
			t.Errorf("%s is %s", j.ID, st)
		}
	}

	// DeliverReplies: at once, in order; again, nothing.
	l2 := e.whatsApp(2, bot.French, time.Minute)
	turn2 := replies(l2, "SM2", "Un", "Deux")
	e.enqueue(turn2...)
	ids := []string{turn2[0].ID, turn2[1].ID}
	if n := r.DeliverReplies(context.Background(), ids); n != 2 {
		t.Fatalf("DeliverReplies sent %d, want 2", n)
	}
	if n := r.DeliverReplies(context.Background(), ids); n != 0 || len(e.sentTo(l2.ID)) != 2 {
		t.Fatalf("DeliverReplies again sent %d; %d messages", n, len(e.sentTo(l2.ID)))
	}

	// A content Twilio refuses: the numbered lines instead.
	l3 := e.whatsApp(3, bot.French, time.Minute)
	turn3 := replies(l3, "SM3", "Prêt ?\n1. Oui\n2. Non")
	e.fake.FailNext(l3.ID, 63021, 400)
	e.enqueue(turn3...)
	if n := r.DeliverReplies(context.Background(), []string{turn3[0].ID}); n != 1 {
		t.Fatalf("DeliverReplies sent %d, want 1", n)
	}
	if got := e.sentTo(l3.ID); len(got) != 1 || got[0].ContentSID != "" || got[0].Body != "Prêt ?\n1. Oui\n2. Non" {
		t.Fatalf("after a refused content: %+v", got)
	}
}

// memContents is app.Contents in a map.
type memContents struct{ m map[string]app.Content }

func (s *memContents) Content(_ context.Context, slot string) (app.Content, error) {
	c, ok := s.m[slot]
	if !ok {
		return app.Content{}, bot.Errorf("mem", bot.NotFound, "none")
	}
	return c, nil
}

func (s *memContents) PutContent(_ context.Context, slot string, c app.Content) error {
	if s.m == nil {
		s.m = map[string]app.Content{}
	}
	s.m[slot] = c
	return nil
}
