package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/app"
	"github.com/darsi-ma/darsi/bot/schedule"
	"github.com/darsi-ma/darsi/bot/store/redisstore"
)

// coachDB is the Redis database of the coach commands' tests, emptied
// before and after each.
const coachDB = 12

func coachRedis(t *testing.T) string { return redisDB(t, coachDB) }

// TestCoachCommandsRedisProcesses runs the coach commands as several
// processes at once on one Redis: cohorts get distinct codes, and the same
// reminder run four times at once is queued once per member.
func TestCoachCommandsRedisProcesses(t *testing.T) {
	store := coachRedis(t)
	bin := darsiBinary(t)
	ctx := context.Background()
	darsiProc := func(stdin string, args ...string) (string, error) {
		cmd := exec.Command(bin, args...)
		cmd.Env = append(os.Environ(), "DARSI_STORE="+store, "TWILIO_WHATSAPP_FROM=whatsapp:+212522000000")
		cmd.Stdin = strings.NewReader(stdin)
		out, err := cmd.Output()
		if ee, ok := err.(*exec.ExitError); ok {
			err = fmt.Errorf("%v: %s", err, ee.Stderr)
		}
		return string(out), err
	}
	parallel := func(n int, f func(i int) error) {
		t.Helper()
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Go(func() { errs[i] = f(i) })
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
	}

	if _, err := darsiProc("long enough password\n", "coach", "add", "amina"); err != nil {
		t.Fatal(err)
	}
	codes := make([]string, 5)
	parallel(5, func(i int) error {
		out, err := darsiProc("", "cohort", "create", fmt.Sprintf("Cohort %d", i), "--coach", "amina", "--json")
		var c createdCohort
		if err == nil {
			err = json.Unmarshal([]byte(out), &c)
		}
		codes[i] = c.Code
		return err
	})
	out, err := darsiProc("", "cohort", "list", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var list []listedCohort
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, c := range list {
		seen[c.Code] = true
	}
	if len(list) != 5 || len(seen) != 5 {
		t.Fatalf("cohort list after 5 concurrent creates: %s", out)
	}

	// 200 learners join the first cohort on WhatsApp; 10 opt out.
	s, err := redisstore.Open(ctx, store, redisstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	content, err := loadContent("")
	if err != nil {
		t.Fatal(err)
	}
	a := app.New(s, content)
	a.Cohorts = s
	for i := range 200 {
		from := bot.LearnerID(bot.WhatsApp, fmt.Sprintf("+2126%08d", i))
		texts := []string{"join " + codes[0]}
		if i%20 == 0 {
			texts = append(texts, "STOP")
		}
		for j, text := range texts {
			if _, err := a.HandleInbound(ctx, bot.Inbound{ID: fmt.Sprintf("SM%d-%d", i, j), From: from, Channel: bot.WhatsApp, Text: text}); err != nil {
				t.Fatal(err)
			}
		}
	}

	outs := make([]string, 4)
	start := time.Now()
	parallel(4, func(i int) error {
		var err error
		outs[i], err = darsiProc("", "remind", "--cohort", strings.ToLower(codes[0]), "--text", "Leçon 2 demain !", "--json")
		return err
	})
	elapsed := time.Since(start)
	jobs, _, err := s.Jobs(ctx, schedule.Filter{Cohort: codes[0], Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	learners := map[string]bool{}
	for _, j := range jobs {
		learners[j.Learner] = true
	}
	if len(jobs) != 190 || len(learners) != 190 {
		t.Errorf("4 concurrent runs of one reminder: %d jobs for %d learners, want 190 and 190", len(jobs), len(learners))
	}
	for _, o := range outs {
		var r app.Reminded
		if err := json.Unmarshal([]byte(o), &r); err != nil || r.OptedOut != 10 || r.Queued+r.Already != 190 {
			t.Errorf("remind printed %q (%v)", o, err)
		}
	}
	t.Logf("4 concurrent remind processes, 200 members: %v", elapsed)
}
