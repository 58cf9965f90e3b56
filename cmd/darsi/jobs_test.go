package main

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/app"
	"github.com/darsi-ma/darsi/bot/schedule"
	"github.com/darsi-ma/darsi/bot/store/boltstore"
)

// jobsDB is the Redis database of TestJobsCommands, emptied before and
// after.
const jobsDB = 8

// TestJobsCommands lists a cohort's outbox and cancels a job from the
// command line, on both stores: the list names learners masked, a
// cancelled job is cancelled (and audit-logged), a second cancel changes
// nothing, a sent job cannot be cancelled, an unknown id says so; on the
// embedded store held by darsi serve, the command says what to do.
func TestJobsCommands(t *testing.T) {
	t.Run("embedded", func(t *testing.T) { jobsScenario(t, filepath.Join(t.TempDir(), "darsi.db")) })
	t.Run("redis", func(t *testing.T) { jobsScenario(t, redisDB(t, jobsDB)) })
}

func jobsScenario(t *testing.T, store string) {
	ctx := context.Background()
	code, out, errOut := darsi(t, "", "cohort", "create", "Tissage Azrou", "--json", "--store", store)
	var created createdCohort
	if code != 0 || json.Unmarshal([]byte(out), &created) != nil {
		t.Fatalf("cohort create: exit %d, %q, %q", code, out, errOut)
	}
	cfg := defaultConfig(t)
	cfg.Store = store
	s, err := cfg.openStore(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		id := fmt.Sprintf("whatsapp:+21260000071%d", i)
		if _, err := s.Update(ctx, id, "", func(l *bot.Learner) (app.Change, error) {
			l.Channel, l.Lang, l.Consent, l.Cohort, l.Phase = bot.WhatsApp, bot.French, true, created.Code, bot.PhaseMenu
			return app.Change{}, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	at := time.Now().Add(24 * time.Hour).UTC().Format(time.RFC3339)
	if code, out, errOut := darsi(t, "", "remind", "--cohort", created.Code, "--text", "Atelier demain", "--at", at, "--store", store); code != 0 || !strings.HasPrefix(out, "3 reminders queued") {
		t.Fatalf("remind: exit %d, %q, %q", code, out, errOut)
	}

	code, out, errOut = darsi(t, "", "jobs", "list", "--cohort", created.Code, "--json", "--store", store)
	if code != 0 {
		t.Fatalf("jobs list: exit %d, %q", code, errOut)
	}
	var listed []listedJob
	for line := range strings.Lines(out) {
		var j listedJob
		if err := json.Unmarshal([]byte(line), &j); err != nil {
			t.Fatalf("jobs list --json line %q: %v", line, err)
		}
		listed = append(listed, j)
	}
	if len(listed) != 3 {
		t.Fatalf("jobs list: %d jobs, want 3:\n%s", len(listed), out)
	}
	for _, j := range listed {
		if j.Status != schedule.Queued || !strings.Contains(j.Learner, "******") || strings.Contains(out, "60000071") {
			t.Errorf("listed job %+v: want queued, the learner masked", j)
		}
	}
	code, out, _ = darsi(t, "", "jobs", "list", "--cohort", created.Code, "--store", store)
	if code != 0 || !strings.Contains(out, listed[0].ID) || !strings.Contains(out, "STATUS") {
		t.Errorf("jobs list as a table: exit %d\n%s", code, out)
	}

	victim := listed[0].ID
	for range 2 {
		code, out, errOut = darsi(t, "", "jobs", "cancel", victim, "--store", store)
		if code != 0 || !strings.Contains(out, "cancelled") {
			t.Fatalf("jobs cancel: exit %d, %q, %q", code, out, errOut)
		}
	}
	code, out, _ = darsi(t, "", "jobs", "list", "--cohort", created.Code, "--status", "cancelled", "--json", "--store", store)
	if code != 0 || strings.Count(out, "\n") != 1 || !strings.Contains(out, victim) {
		t.Errorf("jobs list --status cancelled: exit %d\n%s", code, out)
	}
	if code, _, errOut = darsi(t, "", "jobs", "cancel", "reminder-0000-nope", "--store", store); code != 1 || !strings.Contains(errOut, "no job reminder-0000-nope") {
		t.Errorf("cancel of an unknown job: exit %d, %q", code, errOut)
	}
	if code, _, errOut = darsi(t, "", "jobs", "list", "--cohort", created.Code, "--status", "lost", "--store", store); code != 1 || !strings.Contains(errOut, "--status") {
		t.Errorf("list with a bad status: exit %d, %q", code, errOut)
	}

	// Sent: too late.
	s, err = cfg.openStore(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sentID := listed[1].ID
	j, ok, err := s.ClaimJob(ctx, "w1", sentID, time.Now().Add(25*time.Hour), time.Minute)
	if err != nil || !ok {
		t.Fatalf("claim: %v %v", ok, err)
	}
	j.Status, j.SID, j.SentAt = schedule.Sent, "SM00000000000000000000000000000071", time.Now()
	if err := s.Settle(ctx, j); err != nil {
		t.Fatal(err)
	}
	entries, _, err := s.Audit(ctx, "", 20)
	if err != nil {
		t.Fatal(err)
	}
	cancels := 0
	for _, e := range entries {
		if e.Action == app.AuditJobCancelled {
			cancels++
			if e.Via != "cli" || !strings.Contains(e.Detail, victim) || e.Target != created.Code {
				t.Errorf("audit entry %+v", e)
			}
		}
	}
	if cancels != 1 {
		t.Errorf("%d cancels in the audit log, want 1", cancels)
	}
	s.Close()
	if code, _, errOut = darsi(t, "", "jobs", "cancel", sentID, "--store", store); code != 1 || !strings.Contains(errOut, "cannot be cancelled") {
		t.Errorf("cancel of a sent job: exit %d, %q", code, errOut)
	}

	if !strings.HasPrefix(store, "redis") {
		held, err := boltstore.Open(store, boltstore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer held.Close()
		if code, _, errOut = darsi(t, "", "jobs", "cancel", listed[2].ID, "--store", store); code != 1 || !strings.Contains(errOut, "in use by a running darsi serve") {
			t.Errorf("store held by a server: exit %d, %q", code, errOut)
		}
	}
}
