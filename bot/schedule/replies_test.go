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

	// QueueReplies and DeliverReplies: at once, in order; again (Twilio
	// sent the webhook twice), nothing.
	l2 := e.whatsApp(2, bot.French, time.Minute)
	turn2 := replies(l2, "SM2", "Un", "Deux")
	if n := r.DeliverReplies(context.Background(), e.queueReplies(r, turn2)); n != 2 {
		t.Fatalf("DeliverReplies sent %d, want 2", n)
	}
	if n := r.DeliverReplies(context.Background(), e.queueReplies(r, turn2)); n != 0 || len(e.sentTo(l2.ID)) != 2 {
		t.Fatalf("DeliverReplies again sent %d; %d messages", n, len(e.sentTo(l2.ID)))
	}
	for _, j := range turn2 {
		if got := e.job(j.ID); got.Status != schedule.Sent || got.Worker != "replica-1" || got.Attempts != 1 {
			t.Errorf("%s is %s by %q after %d claims, want sent by replica-1 after 1", j.ID, got.Status, got.Worker, got.Attempts)
		}
		if d, err := e.outbox.Delivery(context.Background(), e.job(j.ID).SID); err != nil || d.JobID != j.ID {
			t.Errorf("the delivery of %s: %+v, %v", j.ID, d, err)
		}
	}

	// A content Twilio refuses: the numbered lines instead.
	l3 := e.whatsApp(3, bot.French, time.Minute)
	turn3 := replies(l3, "SM3", "Prêt ?\n1. Oui\n2. Non")
	e.fake.FailNext(l3.ID, 63021, 400)
	if n := r.DeliverReplies(context.Background(), e.queueReplies(r, turn3)); n != 1 {
		t.Fatalf("DeliverReplies sent %d, want 1", n)
	}
	if got := e.sentTo(l3.ID); len(got) != 1 || got[0].ContentSID != "" || got[0].Body != "Prêt ?\n1. Oui\n2. Non" {
		t.Fatalf("after a refused content: %+v", got)
	}
}

// queueReplies queues a turn's replies claimed by r.
func (e *env) queueReplies(r *schedule.Runner, jobs []schedule.Job) *schedule.Turn {
	e.tb.Helper()
	for i := range jobs {
		jobs[i].DueAt, jobs[i].CreatedAt = e.clock.Now(), e.clock.Now()
	}
	t, err := r.QueueReplies(context.Background(), jobs)
	if err != nil {
		e.tb.Fatal(err)
	}
	return t
}

// bodies returns what the fake accepted for a recipient.
func (e *env) bodies(to string) []string {
	var out []string
	for _, m := range e.sentTo(to) {
		out = append(out, m.Body)
	}
	return out
}

// TestRepliesReplicaDies: the replica that queued a turn's replies dies,
// before sending any or after sending the first: when the lease runs out,
// another replica's runner sends what is left, in order, and each reply
// reaches the learner once.
func TestRepliesReplicaDies(t *testing.T) {
	for _, sentBefore := range []int{0, 1} {
		e := newEnv(t)
		l := e.whatsApp(1, bot.French, time.Minute)
		dying := e.runner(e.config())
		turn := replies(l, "SM1", "Un", "Deux", "Trois ?\n1. Oui\n2. Non")
		queued := e.queueReplies(dying, turn)
		if queued.Len() != 3 {
			t.Fatalf("queued %d replies, want 3", queued.Len())
		}
		if sentBefore > 0 {
			// It sent the first reply, and died before its settle.
			if _, err := e.sender.Send(context.Background(), bot.Outbound{To: l.ID, From: whatsAppFrom, Body: "Un"}); err != nil {
				t.Fatal(err)
			}
		}
		cfg := e.config()
		cfg.Worker = "replica-2"
		other := e.runner(cfg)
		// Within the lease, the claims are the dead replica's.
		e.drain(other)
		if got := len(e.sentTo(l.ID)); got != sentBefore {
			t.Fatalf("sent %d within the lease, want %d", got, sentBefore)
		}
		for range 10 {
			e.clock.Add(schedule.DefaultLease)
			e.drain(other)
		}
		if got := e.bodies(l.ID); !slices.Equal(got, []string{"Un", "Deux", "Trois ?\n1. Oui\n2. Non"}) {
			t.Errorf("after %d sent by the dead replica: %q, want the three replies once, in order", sentBefore, got)
		}
		for _, j := range turn {
			if got := e.job(j.ID); got.Status != schedule.Sent || got.Worker != "replica-2" {
				t.Errorf("%s is %s by %q", j.ID, got.Status, got.Worker)
			}
		}
	}
}

// TestRepliesStopAtARetry: a reply Twilio throttles goes back to the queue,
// and so do the replies after it, unsent and no longer held by the
// replica (a claim takes them at once): the runner sends them after it,
// in order, once.
func TestRepliesStopAtARetry(t *testing.T) {
	e := newEnv(t)
	l := e.whatsApp(1, bot.French, time.Minute)
	r := e.runner(e.config())
	turn := replies(l, "SM1", "Un", "Deux", "Trois ?\n1. Oui\n2. Non")
	e.fake.FailNext(l.ID, 63018, 429)
	queued := e.queueReplies(r, turn)
	if n := r.DeliverReplies(context.Background(), queued); n != 0 {
		t.Fatalf("DeliverReplies sent %d, want none", n)
	}
	for i, j := range turn {
		got := e.job(j.ID)
		// Twilio refused the first: none may have gone, none is looked
		// for in Twilio's list before its next send.
		if got.Status != schedule.Queued || (i > 0) != got.DueAt.Equal(e.clock.Now()) || !got.ClaimedAt.IsZero() {
			t.Errorf("%s is %s, due %v, first claimed %v: want back in the queue unclaimed, the later ones due now",
				j.ID, got.Status, got.DueAt, got.ClaimedAt)
		}
	}
	for range 20 {
		e.clock.Add(10 * time.Second)
		e.drain(r)
	}
	if got := e.bodies(l.ID); !slices.Equal(got, []string{"Un", "Deux", "Trois ?\n1. Oui\n2. Non"}) {
		t.Errorf("sent %q, want the three replies once, in order", got)
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
