package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/app"
	"github.com/darsi-ma/darsi/bot/cohort"
	"github.com/darsi-ma/darsi/bot/schedule"
	"github.com/darsi-ma/darsi/bot/store/boltstore"
	"github.com/darsi-ma/darsi/bot/store/redisstore"
)

// The move tests' Redis databases, emptied before and after.
const (
	moveDB        = 4
	moveRefusedDB = 5
)

// pilot is what the round trip fills the first store with, to find it
// again in the last one.
type pilot struct {
	ids      []string // every learner made, erased ones included
	erased   []string
	bsuidOf  map[string]string
	msgOf    map[string]string // a message id applied to the learner
	sids     []string
	threads  []string
	slots    []string
	cohorts  []string
	tokenOf  map[string]string // coach login → token hash
	erasedBS []string          // BSUIDs of erased learners
	// learners are the first store's, read once by compareStores.
	learners []bot.Learner
}

// fillPilot makes a varied programme of n learners through the store's
// API: languages, phases, lessons completed, cohorts, indicators,
// follow-ups, BSUIDs, messages applied, erasures, jobs in every state,
// deliveries, the inbox, the audit log and the contents' mapping.
func fillPilot(t *testing.T, s *boltstore.Store, n int) pilot {
	t.Helper()
	ctx := context.Background()
	now := time.Now().UTC()
	p := pilot{bsuidOf: map[string]string{}, msgOf: map[string]string{}, tokenOf: map[string]string{}}
	for i := range 3 {
		c := cohort.Coach{Login: fmt.Sprintf("coach%d", i), Name: fmt.Sprintf("Coach %d", i), Role: cohort.RoleCoach,
			PasswordHash: []byte(fmt.Sprintf("$2a$12$hash%d", i)), TokenHash: fmt.Sprintf("%064x", i+1), CreatedAt: now.Add(-time.Duration(i) * time.Hour)}
		if i == 0 {
			c.Role = cohort.RoleAdmin
		}
		if err := s.PutCoach(ctx, c); err != nil {
			t.Fatal(err)
		}
		p.tokenOf[c.Login] = c.TokenHash
	}
	for i := range 20 {
		code := fmt.Sprintf("K%dM%c2Q", i%10, 'A'+rune(i))
		if err := s.CreateCohort(ctx, cohort.Cohort{Code: code, Name: fmt.Sprintf("Cohorte %d", i), Coach: fmt.Sprintf("coach%d", i%3),
			CreatedAt: now.Add(-time.Duration(i) * time.Minute)}); err != nil {
			t.Fatal(err)
		}
		p.cohorts = append(p.cohorts, code)
	}
	langs := []bot.Lang{"ary", "ar", "fr", "zgh"}
	phases := []bot.Phase{bot.PhaseLanguage, bot.PhaseConsent, bot.PhaseMenu, bot.PhaseLesson, bot.PhaseDone}
	var batch []bot.Learner
	for i := range n {
		id := fmt.Sprintf("whatsapp:+2126%08d", i*7919%100000000)
		if i%13 == 0 {
			id = fmt.Sprintf("sms:+2127%08d", i)
		}
		l := bot.Learner{ID: id, Channel: bot.Channel(strings.Split(id, ":")[0]), Lang: langs[i%4], Consent: i%50 != 0,
			OptedOut: i%33 == 0, Phase: phases[i%5], Version: int64(i%7 + 1),
			LastInboundAt: now.Add(-time.Duration(i) * time.Minute), UpdatedAt: now.Add(-time.Duration(i) * time.Second)}
		if i%3 != 0 {
			l.Cohort = p.cohorts[i%20]
		}
		if l.Phase == bot.PhaseLesson {
			l.Position = bot.Position{Course: "costing", Lesson: "costing-2", Step: fmt.Sprintf("q%d", i%4+1), Index: i % 4}
			l.Vars = map[string]string{"price": fmt.Sprint(i % 500), "qty": fmt.Sprint(i % 9)}
		}
		for k := range i % 4 {
			l.Completed = append(l.Completed, bot.Completion{Lesson: fmt.Sprintf("costing-%d", k+1), Score: (i * 7) % 101, At: now.Add(-time.Duration(k+1) * 24 * time.Hour)})
		}
		if i%4 == 3 {
			l.Indicators = map[string]string{"revenue_stable": []string{"yes", "no", "same"}[i%3]}
			l.Followups = []bot.FollowupAnswer{{Survey: "revenue_stable", Value: "yes", At: now.Add(-time.Hour)}}
		}
		if i%5 == 1 {
			l.Outreach = bot.Outreach{At: now.Add(time.Duration(i) * time.Minute), Nudges: i % 2}
		}
		if i%10 == 0 {
			l.Name = fmt.Sprintf("Amina %d", i)
		}
		if i%50 == 0 && strings.HasPrefix(id, "whatsapp:") {
			l.BSUID = fmt.Sprintf("whatsapp:MA.15%012d", i)
			p.bsuidOf[id] = l.BSUID
		}
		p.ids = append(p.ids, id)
		batch = append(batch, l)
		if len(batch) == 1000 {
			if err := s.Import(ctx, batch); err != nil {
				t.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	if err := s.Import(ctx, batch); err != nil {
		t.Fatal(err)
	}
	// Messages applied through Update, with replies.
	var applied []string // the first 100, and those with a BSUID among the first 1,000
	for i, id := range p.ids[:1000] {
		if _, ok := p.bsuidOf[id]; ok || i < 100 {
			applied = append(applied, id)
		}
	}
	for i, id := range applied {
		msg := messageSID(fmt.Sprintf("pilot-%d", i))
		_, err := s.Update(ctx, id, msg, func(l *bot.Learner) (app.Change, error) {
			l.Unclear = fmt.Sprintf("said %d", i)
			return app.Change{Replies: []bot.Reply{{Text: fmt.Sprintf("reply %d", i)}}}, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		p.msgOf[id] = msg
	}
	// Erased learners, with a BSUID: they leave message records and a
	// tombstone.
	for id, bs := range p.bsuidOf {
		if _, ok := p.msgOf[id]; !ok || len(p.erased) == 3 {
			continue
		}
		if _, err := s.Update(ctx, id, messageSID("erase-"+id), func(l *bot.Learner) (app.Change, error) {
			return app.Change{Erase: true}, nil
		}); err != nil {
			t.Fatal(err)
		}
		p.erased = append(p.erased, id)
		p.erasedBS = append(p.erasedBS, bs)
	}
	if len(p.erased) == 0 {
		t.Fatal("no learner erased")
	}
	// Jobs in every state, with deliveries.
	keys := s.Keys()
	var jobs []schedule.Job
	for i, id := range p.ids[300:800] {
		if slices.Contains(p.erased, id) {
			continue
		}
		j := schedule.Job{ID: fmt.Sprintf("remind-r%d-%s", i%4, keys.Learner(id)), Kind: schedule.Reminder, Learner: id,
			Text: fmt.Sprintf("Rappel %d", i), DueAt: now.Add(time.Duration(i-250) * time.Minute), CreatedAt: now.Add(-time.Hour), CreatedBy: "coach1"}
		if i%3 != 0 {
			j.Cohort = p.cohorts[i%20]
		}
		jobs = append(jobs, j)
	}
	if _, err := s.Enqueue(ctx, jobs...); err != nil {
		t.Fatal(err)
	}
	claimed, err := s.Claim(ctx, "worker-1", now, time.Hour, 120)
	if err != nil {
		t.Fatal(err)
	}
	for i, j := range claimed {
		switch i % 4 {
		case 0, 1:
			j.Status, j.SID, j.SentAt, j.UpdatedAt = schedule.Sent, fmt.Sprintf("SM%032x", i), now, now
			if err := s.Settle(ctx, j); err != nil {
				t.Fatal(err)
			}
			status := []bot.DeliveryStatus{bot.DeliveryStatus("delivered"), bot.DeliveryStatus("sent")}[i%2]
			if _, err := s.AdvanceDelivery(ctx, bot.Delivery{SID: j.SID, Status: status, JobID: j.ID, UpdatedAt: now}); err != nil {
				t.Fatal(err)
			}
			if err := s.Delivered(ctx, j.ID, status, 0); err != nil {
				t.Fatal(err)
			}
			p.sids = append(p.sids, j.SID)
		case 2:
			j.Status, j.Reason, j.UpdatedAt = schedule.Failed, "63016", now
			if err := s.Settle(ctx, j); err != nil {
				t.Fatal(err)
			}
		}
		// case 3: stays claimed, under its lease.
	}
	if err := s.Cancel(ctx, jobs[len(jobs)-1].ID); err != nil {
		t.Fatal(err)
	}
	for i := range 30 {
		if err := s.AppendAudit(ctx, cohort.AuditEntry{At: now.Add(time.Duration(i-30) * time.Minute), Actor: "coach1",
			Action: "reminder.queue", Target: p.cohorts[i%20], Detail: fmt.Sprintf("%d jobs", i), Via: "dashboard"}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 10 {
		slot := fmt.Sprintf("costing-1/q%d|%s", i, langs[i%4])
		if err := s.PutContent(ctx, slot, app.Content{Hash: fmt.Sprintf("h%d", i), SID: fmt.Sprintf("HX%032x", i)}); err != nil {
			t.Fatal(err)
		}
		p.slots = append(p.slots, slot)
	}
	for i, id := range p.ids[901:921] {
		l, err := s.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		key := keys.Learner(id)
		th := app.Thread{Key: key, Learner: id, Cohort: l.Cohort, Name: l.Name, Lang: l.Lang}
		for k := range 3 {
			m := app.InboxMessage{ID: fmt.Sprintf("q%d-%d", i, k), Text: fmt.Sprintf("question %d", k), At: now.Add(time.Duration(k-10) * time.Minute)}
			if k == 1 {
				m.From, m.Text = "coach1", "réponse"
			}
			if _, err := s.FileInbox(ctx, th, m); err != nil {
				t.Fatal(err)
			}
		}
		if i%2 == 0 {
			if err := s.MarkInboxRead(ctx, key); err != nil {
				t.Fatal(err)
			}
		}
		p.threads = append(p.threads, key)
	}
	return p
}

// moveInterrupted runs darsi migrate, stopped after stopAfter batches,
// then again to its end; it returns the second run's output.
func moveInterrupted(t *testing.T, from, to string, stopAfter int) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	batches := 0
	moveProgress = func(app.MoveCheckpoint) {
		if batches++; batches == stopAfter {
			cancel()
		}
	}
	defer func() { moveProgress = nil }()
	var out, errOut strings.Builder
	code := run(ctx, []string{"migrate", "--from", from, "--to", to}, strings.NewReader(""), &out, &errOut)
	if code != 1 || !strings.Contains(errOut.String(), "run the same darsi migrate again") {
		t.Fatalf("an interrupted move: exit %d\n%s%s", code, out.String(), errOut.String())
	}
	moveProgress = nil
	code, stdout, stderr := darsi(t, "", "migrate", "--from", from, "--to", to)
	if code != 0 {
		t.Fatalf("the move, again: exit %d\n%s%s", code, stdout, stderr)
	}
	return stdout
}

// TestMigrateRoundTrip moves 10,000 learners and everything around them
// from the embedded store to Redis and back, each move interrupted once
// and run again: the last store's export is byte for byte the first's,
// and jobs, cohorts, coaches, deliveries, the audit log, the contents,
// the inbox and the replay guard of messages and erased learners are
// there as they were.
func TestMigrateRoundTrip(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	first, last := filepath.Join(dir, "first.db"), filepath.Join(dir, "last.db")
	rdb := redisDB(t, moveDB)

	begin := time.Now()
	start := begin
	a, err := boltstore.Open(first, boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	p := fillPilot(t, a, 10000)
	a.Close()
	filled := time.Since(start)

	start = time.Now()
	out1 := moveInterrupted(t, first, rdb, 9)
	toRedis := time.Since(start)
	start = time.Now()
	out2 := moveInterrupted(t, rdb, last, 13)
	back := time.Since(start)
	t.Logf("filled in %v; embedded → Redis %v, Redis → embedded %v (each interrupted once)\n%s%s", filled.Round(time.Millisecond),
		toRedis.Round(time.Millisecond), back.Round(time.Millisecond), out1, out2)
	for _, out := range []string{out1, out2} {
		if strings.Contains(out, "+212") || !strings.Contains(out, "sessions    not copied") {
			t.Errorf("darsi migrate printed:\n%s\nwant counts, no number", out)
		}
	}
	if !strings.Contains(out2, fmt.Sprintf("learners       %5d", 10000-len(p.erased))) {
		t.Errorf("the move back did not count %d learners:\n%s", 10000-len(p.erased), out2)
	}

	// The exports, byte for byte.
	start = time.Now()
	_, exportA, _ := darsi(t, "", "export", "learners", "--with-numbers", "--store", first)
	_, exportB, _ := darsi(t, "", "export", "learners", "--with-numbers", "--store", last)
	t.Logf("two exports in %v", time.Since(start).Round(time.Millisecond))
	defer func(start time.Time) { t.Logf("compared in %v", time.Since(start).Round(time.Millisecond)) }(time.Now())
	defer func(start time.Time) { t.Logf("total %v", time.Since(start).Round(time.Millisecond)) }(begin)
	if n := strings.Count(exportA, "\n"); n != 10000-len(p.erased) {
		t.Fatalf("the first export has %d lines", n)
	}
	if exportA != exportB {
		t.Errorf("the export after embedded → Redis → embedded differs from the first:\n%s", cmp.Diff(exportA, exportB))
	}

	a, err = boltstore.Open(first, boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := boltstore.Open(last, boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	r, err := redisstore.Open(ctx, rdb, redisstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	compareStores(t, &p, a, b, "the last store")
	compareStores(t, &p, a, r, "Redis")
}

// diffJSON is cmp.Diff, run only when the JSON of want and got differ: a
// reflective diff of thousands of records is slow, under the race
// detector above all.
func diffJSON(want, got any, opts ...cmp.Option) string {
	wj, _ := json.Marshal(want)
	gj, _ := json.Marshal(got)
	if bytes.Equal(wj, gj) {
		return ""
	}
	return cmp.Diff(want, got, opts...)
}

// compareStores holds got to what want keeps, through the store API.
func compareStores(t *testing.T, p *pilot, want *boltstore.Store, got app.Backend, name string) {
	t.Helper()
	ctx := context.Background()
	if want.Keys().Learner(p.ids[1]) != got.Keys().Learner(p.ids[1]) {
		t.Fatalf("%s: learners' keys changed: the secret did not move", name)
	}
	learners := func(s app.Backend) []bot.Learner {
		var out []bot.Learner
		if err := s.Learners(ctx, func(l bot.Learner) error { out = append(out, l); return nil }); err != nil {
			t.Fatal(err)
		}
		slices.SortFunc(out, func(a, b bot.Learner) int { return strings.Compare(a.ID, b.ID) })
		return out
	}
	if p.learners == nil {
		p.learners = learners(want)
	}
	if diff := diffJSON(p.learners, learners(got), cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("%s: learners (-first +%s):\n%s", name, name, diff)
	}
	all := func(s app.Backend) []schedule.Job {
		var jobs []schedule.Job
		f := schedule.Filter{Limit: 200}
		for {
			page, next, err := s.Jobs(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			jobs = append(jobs, page...)
			if next == "" {
				break
			}
			f.Cursor = next
		}
		slices.SortFunc(jobs, func(a, b schedule.Job) int { return strings.Compare(a.ID, b.ID) })
		return jobs
	}
	wantJobs := all(want)
	if len(wantJobs) < 400 {
		t.Fatalf("the first store has %d jobs", len(wantJobs))
	}
	if diff := diffJSON(wantJobs, all(got), cmpopts.EquateApproxTime(0)); diff != "" {
		t.Errorf("%s: jobs (-first +%s):\n%s", name, name, diff)
	}
	for _, c := range append([]string{""}, p.cohorts[:3]...) {
		w, _ := want.Counts(ctx, c)
		g, _ := got.Counts(ctx, c)
		if !cmp.Equal(w, g) {
			t.Errorf("%s: job counts of %q: %v, want %v", name, c, g, w)
		}
	}
	wc, _ := want.Cohorts(ctx, "")
	gc, _ := got.Cohorts(ctx, "")
	if diff := cmp.Diff(wc, gc); diff != "" || len(wc) != 20 {
		t.Errorf("%s: cohorts (-first +%s):\n%s", name, name, diff)
	}
	for _, code := range p.cohorts {
		w, _ := want.CohortCounts(ctx, code)
		g, _ := got.CohortCounts(ctx, code)
		if diff := cmp.Diff(w, g); diff != "" || w[app.CountMembers] == 0 {
			t.Errorf("%s: counters of cohort %s (-first +%s):\n%s", name, code, name, diff)
		}
		wm, _, _ := want.Members(ctx, code, "", 50)
		gm, _, _ := got.Members(ctx, code, "", 50)
		if diff := diffJSON(wm, gm, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("%s: members of %s (-first +%s):\n%s", name, code, name, diff)
		}
	}
	wco, _, _ := want.Coaches(ctx, "", 0)
	gco, _, _ := got.Coaches(ctx, "", 0)
	if diff := cmp.Diff(wco, gco); diff != "" || len(wco) != 3 {
		t.Errorf("%s: coaches (-first +%s):\n%s", name, name, diff)
	}
	for login, token := range p.tokenOf {
		if c, err := got.CoachByToken(ctx, token); err != nil || c.Login != login {
			t.Errorf("%s: the API token of %s finds %q, %v", name, login, c.Login, err)
		}
	}
	for _, sid := range p.sids {
		w, _ := want.Delivery(ctx, sid)
		g, err := got.Delivery(ctx, sid)
		if err != nil || !cmp.Equal(w, g) {
			t.Errorf("%s: delivery %s: %+v, %v; want %+v", name, sid, g, err, w)
		}
	}
	wa, _, _ := want.Audit(ctx, "", 100)
	ga, _, _ := got.Audit(ctx, "", 100)
	if diff := cmp.Diff(wa, ga, cmpopts.IgnoreFields(cohort.AuditEntry{}, "ID")); diff != "" || len(wa) != 30 {
		t.Errorf("%s: audit log (-first +%s):\n%s", name, name, diff)
	}
	for _, slot := range p.slots {
		w, _ := want.Content(ctx, slot)
		g, err := got.Content(ctx, slot)
		if err != nil || w != g {
			t.Errorf("%s: content %s: %+v, %v; want %+v", name, slot, g, err, w)
		}
	}
	for _, key := range p.threads {
		w, _ := want.InboxThread(ctx, key)
		g, err := got.InboxThread(ctx, key)
		if diff := cmp.Diff(w, g, cmpopts.EquateApproxTime(0)); err != nil || diff != "" {
			t.Errorf("%s: thread %s (-first +%s): %v\n%s", name, key, name, err, diff)
		}
	}
	for _, c := range p.cohorts {
		w, _ := want.InboxUnread(ctx, c)
		g, _ := got.InboxUnread(ctx, c)
		if w != g {
			t.Errorf("%s: unread threads of %s: %d, want %d", name, c, g, w)
		}
	}
	// A message applied before the move is a duplicate after it, with its
	// first replies; so is an erased learner's, which brings no one back.
	for id, msg := range p.msgOf {
		if id != p.ids[7] && !slices.Contains(p.erased, id) {
			continue
		}
		res, err := got.Update(ctx, id, msg, func(l *bot.Learner) (app.Change, error) {
			return app.Change{Replies: []bot.Reply{{Text: "again"}}}, nil
		})
		if err != nil || !res.Duplicate {
			t.Errorf("%s: a message applied before the move, again: %+v, %v; want a duplicate", name, res, err)
		}
		if _, err := got.Get(ctx, id); slices.Contains(p.erased, id) && bot.KindOf(err) != bot.NotFound {
			t.Errorf("%s: a replay brought an erased learner back: %v", name, err)
		}
	}
	for i, id := range p.erased {
		_, replay, err := got.Alias(ctx, p.erasedBS[i], p.msgOf[id])
		if err != nil || !replay {
			t.Errorf("%s: an erased learner's BSUID replaying their message: replay %v, %v", name, replay, err)
		}
	}
	for id, bs := range p.bsuidOf {
		if slices.Contains(p.erased, id) {
			continue
		}
		if got, _, err := got.Alias(ctx, bs, ""); err != nil || got != id {
			t.Errorf("%s: a BSUID's pair: %q, %v", name, got, err)
		}
		break
	}
}

// TestMigrateRefuses: a store a running darsi holds, on either side, a
// target that holds anything, and darsi serve while a move holds Redis.
func TestMigrateRefuses(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	src := filepath.Join(dir, "src.db")
	s, err := boltstore.Open(src, boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Update(ctx, "whatsapp:+212600000001", "SM1", func(l *bot.Learner) (app.Change, error) { return app.Change{}, nil }); err != nil {
		t.Fatal(err)
	}
	rdb := redisDB(t, moveRefusedDB)

	// The embedded store open elsewhere (as darsi serve holds it), as
	// source or target.
	code, _, errOut := darsi(t, "", "migrate", "--from", src, "--to", rdb)
	if code != 1 || !strings.Contains(errOut, "in use by a running darsi; stop it first") {
		t.Errorf("a held embedded source: exit %d, %q", code, errOut)
	}
	s.Close()
	held := filepath.Join(dir, "held.db")
	h, err := boltstore.Open(held, boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	code, _, errOut = darsi(t, "", "migrate", "--from", src, "--to", held)
	if code != 1 || !strings.Contains(errOut, "--to "+held+": the embedded store is in use by a running darsi; stop it first") {
		t.Errorf("a held embedded target: exit %d, %q", code, errOut)
	}
	h.Close()

	// A Redis store a real darsi serve runs on.
	live := startReplica(t, rdb)
	code, _, errOut = darsi(t, "", "migrate", "--from", src, "--to", rdb)
	if code != 1 || !strings.Contains(errOut, "in use by 1 running darsi") {
		t.Errorf("a Redis target darsi serve runs on: exit %d, %q", code, errOut)
	}
	live.stop()

	// A Redis store with a serving replica, as source or target.
	r, err := redisstore.Open(ctx, rdb, redisstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if n, _ := r.Replicas(ctx); n != 0 {
		t.Errorf("a stopped darsi serve is still announced (%d)", n)
	}
	if err := r.Announce(ctx, "replica-1", time.Minute); err != nil {
		t.Fatal(err)
	}
	code, _, errOut = darsi(t, "", "migrate", "--from", src, "--to", rdb)
	if code != 1 || !strings.Contains(errOut, "in use by 1 running darsi") {
		t.Errorf("a served Redis target: exit %d, %q", code, errOut)
	}
	code, _, errOut = darsi(t, "", "migrate", "--from", rdb, "--to", filepath.Join(dir, "x.db"))
	if code != 1 || !strings.Contains(errOut, "in use by 1 running darsi") {
		t.Errorf("a served Redis source: exit %d, %q", code, errOut)
	}
	if moving, _, _ := r.Moving(ctx); moving {
		t.Error("a refused move left its hold on the store")
	}
	r.Withdraw(ctx, "replica-1")

	// A target that holds a learner.
	full := filepath.Join(dir, "full.db")
	f, err := boltstore.Open(full, boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	f.Update(ctx, "whatsapp:+212600000002", "SM1", func(l *bot.Learner) (app.Change, error) { return app.Change{}, nil })
	f.Close()
	code, _, errOut = darsi(t, "", "migrate", "--from", src, "--to", full)
	if code != 1 || !strings.Contains(errOut, "the target is not empty") {
		t.Errorf("a full target: exit %d, %q", code, errOut)
	}
	// A move into Redis, then another from elsewhere into the same.
	if code, out, errOut := darsi(t, "", "migrate", "--from", src, "--to", rdb); code != 0 {
		t.Fatalf("a move into Redis: exit %d\n%s%s", code, out, errOut)
	}
	if code, out, _ := darsi(t, "", "migrate", "--from", src, "--to", rdb); code != 0 || !strings.Contains(out, "learners           1") {
		t.Errorf("the same move again: exit %d\n%s", code, out)
	}
	code, _, errOut = darsi(t, "", "migrate", "--from", full, "--to", rdb)
	if code != 1 || !strings.Contains(errOut, "another move") {
		t.Errorf("another source into a moved target: exit %d, %q", code, errOut)
	}

	// darsi serve refuses a Redis store a move holds.
	if ok, err := r.LockMove(ctx, "a move", time.Minute); !ok || err != nil {
		t.Fatal(ok, err)
	}
	cmd := exec.Command(darsiBinary(t), "serve")
	cmd.Env = append(os.Environ(), "DARSI_STORE="+rdb, "DARSI_ADDR="+freeAddr(t), "DARSI_ADMIN_ADDR=off")
	done := make(chan struct{})
	var serveOut []byte
	go func() { serveOut, _ = cmd.CombinedOutput(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatal("darsi serve started on a store a move holds")
	}
	if cmd.ProcessState.ExitCode() != 1 || !strings.Contains(string(serveOut), "darsi migrate is moving this store") {
		t.Errorf("darsi serve during a move: exit %d\n%s", cmd.ProcessState.ExitCode(), serveOut)
	}
	if n, _ := r.Replicas(ctx); n != 0 {
		t.Errorf("a refused darsi serve left %d announcements", n)
	}
}
