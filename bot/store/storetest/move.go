package storetest

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/app"
	"github.com/darsi-ma/darsi/bot/cohort"
	"github.com/darsi-ma/darsi/bot/schedule"
)

// MoveStore is a store a move reads and writes: everything, with the dump
// and load seam.
type MoveStore interface {
	app.Backend
	app.Dumper
	app.Loader
}

// RunMove runs the suite of app.Dumper and app.Loader through app.Move:
// what one store keeps, moved into another of the same kind, reads the
// same through the store API; an interrupted move, run again, ends as an
// uninterrupted one; a target that holds anything else is refused. open
// returns a new, empty store keyed by secret (both sides of a move share
// it, as darsi migrate makes sure).
func RunMove(t *testing.T, open func(t *testing.T, secret []byte) MoveStore) {
	secret := []byte("storetest move secret, 32 bytes or more")
	t.Run("RoundTrip", func(t *testing.T) {
		src, dst := open(t, secret), open(t, secret)
		f := fillMove(t, src)
		cp, err := app.Move(context.Background(), src, dst, app.MoveOptions{Batch: 7})
		if err != nil || !cp.Done {
			t.Fatalf("Move: %+v, %v", cp, err)
		}
		if cp.Counts[app.KindLearners] != len(f.ids)-1 || cp.Counts[app.KindJobs] == 0 || cp.Counts[app.KindTombstones] != 1 {
			t.Errorf("counts %v", cp.Counts)
		}
		sameStores(t, f, src, dst)
		// Run again: done, nothing moves.
		again, err := app.Move(context.Background(), src, dst, app.MoveOptions{Batch: 7})
		if err != nil || !gocmp.Equal(again.Counts, cp.Counts) {
			t.Errorf("Move again: %v, %v; want %v", again.Counts, err, cp.Counts)
		}
	})
	t.Run("Resume", func(t *testing.T) {
		src, dst, whole := open(t, secret), open(t, secret), open(t, secret)
		f := fillMove(t, src)
		ctx, cancel := context.WithCancel(context.Background())
		n := 0
		_, err := app.Move(ctx, src, dst, app.MoveOptions{Batch: 5, Progress: func(app.MoveCheckpoint) {
			if n++; n == 6 {
				cancel()
			}
		}})
		if err == nil {
			t.Fatal("a move cancelled after 6 batches ended well")
		}
		if cp, err := dst.MoveCheckpoint(context.Background()); err != nil || cp == nil || cp.Done {
			t.Fatalf("the checkpoint of an interrupted move: %+v, %v", cp, err)
		}
		if _, err := app.Move(context.Background(), src, dst, app.MoveOptions{Batch: 5}); err != nil {
			t.Fatal(err)
		}
		if _, err := app.Move(context.Background(), src, whole, app.MoveOptions{Batch: 5}); err != nil {
			t.Fatal(err)
		}
		sameStores(t, f, whole, dst)
	})
	t.Run("Refuses", func(t *testing.T) {
		ctx := context.Background()
		src, other, dst := open(t, secret), open(t, secret), open(t, []byte("another secret, also 32 bytes or more"))
		fillMove(t, src)
		if _, err := other.Update(ctx, "whatsapp:+212600000999", "", func(l *bot.Learner) (app.Change, error) { return app.Change{}, nil }); err != nil {
			t.Fatal(err)
		}
		if _, err := app.Move(ctx, src, other, app.MoveOptions{}); bot.KindOf(err) != bot.Conflict {
			t.Errorf("a move into a store with a learner: %v, want Conflict", err)
		}
		if _, err := app.Move(ctx, other, dst, app.MoveOptions{Source: "other"}); err != nil {
			t.Fatal(err)
		}
		if _, err := app.Move(ctx, src, dst, app.MoveOptions{Source: "src"}); bot.KindOf(err) != bot.Conflict {
			t.Errorf("a move into a store another move wrote: %v, want Conflict", err)
		}
	})
}

// moveFill is what fillMove wrote.
type moveFill struct {
	ids            []string
	msg            map[string]string
	erased, bsuid  string
	sids, cohorts  []string
	slots, threads []string
}

// fillMove writes a little of everything a store keeps.
func fillMove(t *testing.T, s MoveStore) moveFill {
	t.Helper()
	ctx := context.Background()
	now := time.Now().UTC()
	f := moveFill{msg: map[string]string{}}
	for i := range 3 {
		code := fmt.Sprintf("MV%d2QX", i+3)
		if err := s.CreateCohort(ctx, cohort.Cohort{Code: code, Name: code, Coach: "amina", CreatedAt: now.Add(time.Duration(i) * time.Second)}); err != nil {
			t.Fatal(err)
		}
		f.cohorts = append(f.cohorts, code)
	}
	if err := s.PutCoach(ctx, cohort.Coach{Login: "amina", Role: cohort.RoleAdmin, PasswordHash: []byte("$2a$12$x"), TokenHash: "ab12", CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	for i := range 30 {
		id := fmt.Sprintf("whatsapp:+2126000%05d", i)
		msg := fmt.Sprintf("SM%032d", i)
		_, err := s.Update(ctx, id, msg, func(l *bot.Learner) (app.Change, error) {
			l.Lang, l.Consent, l.Phase = []bot.Lang{"ary", "ar", "fr", "zgh"}[i%4], true, bot.PhaseLesson
			l.Position = bot.Position{Course: "costing", Lesson: "costing-1", Step: "q1"}
			if i%4 != 0 {
				l.Cohort = f.cohorts[i%3]
			}
			l.Completed = []bot.Completion{{Lesson: "costing-0", Score: i, At: now}}
			l.Indicators = map[string]string{"revenue_stable": "yes"}
			l.Vars = map[string]string{"price": fmt.Sprint(i)}
			if i%2 == 1 {
				l.Outreach.At = now.Add(time.Duration(i) * time.Hour)
			}
			if i%10 == 0 {
				l.BSUID = fmt.Sprintf("whatsapp:MA.10%d", i)
			}
			l.UpdatedAt = now
			return app.Change{Replies: []bot.Reply{{Text: fmt.Sprint("reply ", i)}}}, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		f.ids = append(f.ids, id)
		f.msg[id] = msg
	}
	f.erased, f.bsuid = f.ids[10], "whatsapp:MA.1010"
	if _, err := s.Update(ctx, f.erased, "SMerase", func(l *bot.Learner) (app.Change, error) { return app.Change{Erase: true}, nil }); err != nil {
		t.Fatal(err)
	}
	keys := s.Keys()
	var jobs []schedule.Job
	for i, id := range f.ids[11:25] {
		jobs = append(jobs, schedule.Job{ID: "remind-mv-" + keys.Learner(id), Kind: schedule.Reminder, Learner: id, Cohort: f.cohorts[i%3],
			Text: "hello", DueAt: now.Add(time.Duration(i-7) * time.Minute), CreatedAt: now})
	}
	if _, err := s.Enqueue(ctx, jobs...); err != nil {
		t.Fatal(err)
	}
	claimed, err := s.Claim(ctx, "w", now, time.Hour, 4)
	if err != nil {
		t.Fatal(err)
	}
	for i, j := range claimed[:2] {
		j.Status, j.SID, j.SentAt, j.UpdatedAt = schedule.Sent, fmt.Sprintf("SM%031dx", i), now, now
		if err := s.Settle(ctx, j); err != nil {
			t.Fatal(err)
		}
		if _, err := s.AdvanceDelivery(ctx, bot.Delivery{SID: j.SID, Status: "delivered", JobID: j.ID, UpdatedAt: now}); err != nil {
			t.Fatal(err)
		}
		if err := s.Delivered(ctx, j.ID, "delivered", 0); err != nil {
			t.Fatal(err)
		}
		f.sids = append(f.sids, j.SID)
	}
	if err := s.Cancel(ctx, jobs[len(jobs)-1].ID); err != nil {
		t.Fatal(err)
	}
	for i := range 4 {
		if err := s.AppendAudit(ctx, cohort.AuditEntry{At: now.Add(time.Duration(i) * time.Millisecond), Actor: "amina", Action: "cohort.create", Target: f.cohorts[i%3]}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 3 {
		slot := fmt.Sprintf("costing-1/q%d|fr", i)
		if err := s.PutContent(ctx, slot, app.Content{Hash: "h", SID: fmt.Sprintf("HX%d", i)}); err != nil {
			t.Fatal(err)
		}
		f.slots = append(f.slots, slot)
	}
	for i, id := range f.ids[20:24] {
		key := keys.Learner(id)
		th := app.Thread{Key: key, Learner: id, Cohort: f.cohorts[i%3], Lang: "fr"}
		for k := range 2 {
			m := app.InboxMessage{ID: fmt.Sprint("m", k), Text: "q", At: now.Add(time.Duration(k) * time.Second)}
			if k == 1 && i%2 == 0 {
				m.From = "amina"
			}
			if _, err := s.FileInbox(ctx, th, m); err != nil {
				t.Fatal(err)
			}
		}
		f.threads = append(f.threads, key)
	}
	return f
}

// sameStores holds got to what want keeps, through the store API.
func sameStores(t *testing.T, f moveFill, want, got MoveStore) {
	t.Helper()
	ctx := context.Background()
	learners := func(s MoveStore) []bot.Learner {
		var out []bot.Learner
		if err := s.Learners(ctx, func(l bot.Learner) error { out = append(out, l); return nil }); err != nil {
			t.Fatal(err)
		}
		slices.SortFunc(out, func(a, b bot.Learner) int { return cmp.Compare(a.ID, b.ID) })
		return out
	}
	if diff := gocmp.Diff(learners(want), learners(got), cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("learners (-want +got):\n%s", diff)
	}
	for _, code := range f.cohorts {
		w, _ := want.CohortCounts(ctx, code)
		g, _ := got.CohortCounts(ctx, code)
		if diff := gocmp.Diff(w, g); diff != "" {
			t.Errorf("counters of %s (-want +got):\n%s", code, diff)
		}
		wm, _, _ := want.Members(ctx, code, "", 0)
		gm, _, _ := got.Members(ctx, code, "", 0)
		if diff := gocmp.Diff(wm, gm, cmpopts.EquateEmpty()); diff != "" || len(wm) == 0 {
			t.Errorf("members of %s (-want +got):\n%s", code, diff)
		}
		wc, _ := want.Counts(ctx, code)
		gc, _ := got.Counts(ctx, code)
		if !gocmp.Equal(wc, gc) {
			t.Errorf("job counts of %s: %v, want %v", code, gc, wc)
		}
	}
	jobs := func(s MoveStore) []schedule.Job {
		js, _, err := s.Jobs(ctx, schedule.Filter{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		return js
	}
	if diff := gocmp.Diff(jobs(want), jobs(got)); diff != "" {
		t.Errorf("jobs (-want +got):\n%s", diff)
	}
	// The due index: the learners due within two days, taken from each.
	due := func(s MoveStore) []string {
		ids, err := s.TakeDue(ctx, time.Now().Add(48*time.Hour), time.Minute, 100)
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(ids)
		return ids
	}
	if w, g := due(want), due(got); !slices.Equal(w, g) || len(w) == 0 {
		t.Errorf("due learners %v, want %v", g, w)
	}
	for _, sid := range f.sids {
		w, _ := want.Delivery(ctx, sid)
		g, err := got.Delivery(ctx, sid)
		if err != nil || !gocmp.Equal(w, g) {
			t.Errorf("delivery %s: %+v, %v; want %+v", sid, g, err, w)
		}
	}
	wa, _, _ := want.Audit(ctx, "", 0)
	ga, _, _ := got.Audit(ctx, "", 0)
	if diff := gocmp.Diff(wa, ga, cmpopts.IgnoreFields(cohort.AuditEntry{}, "ID")); diff != "" || len(wa) != 4 {
		t.Errorf("audit (-want +got):\n%s", diff)
	}
	if c, err := got.CoachByToken(ctx, "ab12"); err != nil || c.Login != "amina" {
		t.Errorf("the coach's API token: %+v, %v", c, err)
	}
	for _, slot := range f.slots {
		w, _ := want.Content(ctx, slot)
		if g, err := got.Content(ctx, slot); err != nil || g != w {
			t.Errorf("content %s: %+v, %v; want %+v", slot, g, err, w)
		}
	}
	for _, key := range f.threads {
		w, _ := want.InboxThread(ctx, key)
		g, err := got.InboxThread(ctx, key)
		if diff := gocmp.Diff(w, g); err != nil || diff != "" {
			t.Errorf("thread (-want +got): %v\n%s", err, diff)
		}
	}
	for _, c := range f.cohorts {
		w, _ := want.InboxUnread(ctx, c)
		if g, _ := got.InboxUnread(ctx, c); g != w {
			t.Errorf("unread threads of %s: %d, want %d", c, g, w)
		}
	}
	if id, _, err := got.Alias(ctx, "whatsapp:MA.1020", ""); err != nil || id != f.ids[20] {
		t.Errorf("a BSUID's pair: %q, %v", id, err)
	}
	if _, replay, err := got.Alias(ctx, f.bsuid, f.msg[f.erased]); err != nil || !replay {
		t.Errorf("the erased learner's BSUID replaying their message: %v, %v", replay, err)
	}
	for _, id := range []string{f.ids[3], f.erased} {
		res, err := got.Update(ctx, id, f.msg[id], func(l *bot.Learner) (app.Change, error) { return app.Change{}, nil })
		if err != nil || !res.Duplicate {
			t.Errorf("a message applied before the move: %+v, %v; want a duplicate", res, err)
		}
	}
	if _, err := got.Get(ctx, f.erased); bot.KindOf(err) != bot.NotFound {
		t.Errorf("the erased learner: %v", err)
	}
}
