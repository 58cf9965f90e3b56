package app_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/app"
	"github.com/darsi-ma/darsi/bot/schedule"
	"github.com/darsi-ma/darsi/bot/store/boltstore"
)

// TestOutreachBoundedOverSixtyDays runs the bot for 60 days on the
// embedded store, with a clock the store shares: one learner writes every
// day (and finishes a lesson on the first), another every fourth day. Each
// evening a sweep queues what is due and a stand-in for the runner sends
// it and has it delivered. Whatever the days add up to, the outbox holds
// no more than the jobs of the last job retention (the daily learner's
// three reviews at most; one nudge per silence for the other), and the due
// index no more than one entry per learner.
func TestOutreachBoundedOverSixtyDays(t *testing.T) {
	const days = 60
	ctx := context.Background()
	start := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	now := start
	clock := func() time.Time { return now }
	s, err := boltstore.Open(filepath.Join(t.TempDir(), "darsi.db"), boltstore.Options{Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	a := app.New(s, content(t))
	// Each message takes a minute.
	a.Now = func() time.Time { now = now.Add(time.Minute); return now }
	a.Outreach = &app.Outreach{Outbox: s, Due: s, NudgeAfter: 72 * time.Hour, SecondNudgeAfter: 96 * time.Hour, Reviews: app.DefaultReviews}

	const daily, every4 = "whatsapp:+212600000001", "whatsapp:+212600000002"
	n := 0
	say := func(who, text string) {
		n++
		if _, err := a.HandleInbound(ctx, bot.Inbound{ID: fmt.Sprint("SM", n), From: who, Channel: bot.WhatsApp, Text: text}); err != nil {
			t.Fatalf("day %d, %s says %q: %v", now.Sub(start)/(24*time.Hour), bot.Mask(who), text, err)
		}
	}
	for _, text := range []string{"salam", "3", "1", "1"} {
		say(daily, text)
	}
	finishLesson(t, a, s, daily, func(text string) { say(daily, text) })
	for _, text := range []string{"salam", "3", "1"} {
		say(every4, text)
	}

	// The most jobs a learner may have in the outbox: the daily one's
	// three reviews; a nudge for each 4-day silence within the retention
	// (and the one of the day) for the other.
	bound := map[string]int{daily: 3, every4: int(schedule.DefaultJobRetention/(4*24*time.Hour)) + 2}
	sent := map[string]int{}
	for day := range days {
		if day > 0 {
			now = start.Add(time.Duration(day) * 24 * time.Hour)
			say(daily, "aide")
			if day%4 == 0 {
				say(every4, "aide")
			}
		}
		now = start.Add(time.Duration(day)*24*time.Hour + 14*time.Hour)
		if _, err := a.Sweep(ctx, now); err != nil {
			t.Fatalf("day %d: Sweep: %v", day, err)
		}
		claimed, err := s.Claim(ctx, "runner", now, time.Minute, 100)
		if err != nil {
			t.Fatal(err)
		}
		for i, j := range claimed {
			j.Status, j.SID, j.SentAt, j.UpdatedAt = schedule.Sent, fmt.Sprintf("SM%d-%d", day, i), now, now
			if err := s.Settle(ctx, j); err != nil {
				t.Fatal(err)
			}
			if err := s.Delivered(ctx, j.ID, bot.StatusDelivered, 0); err != nil {
				t.Fatal(err)
			}
			sent[j.Learner]++
		}

		counts, err := s.Counts(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		total := 0
		for _, c := range counts {
			total += c
		}
		per := map[string]int{}
		jobs := queuedJobs(t, s)
		listed := 0
		for _, js := range jobs {
			for _, j := range js {
				per[j.Learner]++
				listed++
			}
		}
		if listed != total {
			t.Fatalf("day %d: Jobs lists %d jobs, Counts says %d", day, listed, total)
		}
		for who, max := range bound {
			if per[who] > max {
				t.Fatalf("day %d: %d jobs of %s in the outbox, want at most %d", day, per[who], bot.Mask(who), max)
			}
		}
	}
	if sent[daily] != 3 {
		t.Errorf("the daily learner was sent %d jobs, want the lesson's 3 reviews", sent[daily])
	}
	if sent[every4] <= bound[every4] {
		t.Errorf("the other learner was sent %d nudges, want more than the %d the outbox may hold, so that the retention is seen at work", sent[every4], bound[every4])
	}

	// The due index holds each learner once: taking everything due in a
	// year takes each once.
	ids, err := s.TakeDue(ctx, now.Add(365*24*time.Hour), time.Minute, 100)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, id := range ids {
		seen[id]++
	}
	for _, who := range []string{daily, every4} {
		if seen[who] != 1 {
			t.Errorf("%s is %d times in the due index, want once (a nudge is pending)", bot.Mask(who), seen[who])
		}
	}
	if len(ids) != 2 {
		t.Errorf("%d entries due in the index, want 2", len(ids))
	}
}
