package app_test

import (
	"context"
	"strings"
	"testing"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/app"
	"github.com/darsi-ma/darsi/bot/cohort"
)

// fakeCohorts answers Cohort lookups from a map, or with err.
type fakeCohorts struct {
	cohort.Store // the methods the app does not call
	cohorts      map[string]cohort.Cohort
	err          error
	lookups      []string
}

func (f *fakeCohorts) Cohort(ctx context.Context, code string) (cohort.Cohort, error) {
	f.lookups = append(f.lookups, code)
	if f.err != nil {
		return cohort.Cohort{}, f.err
	}
	c, ok := f.cohorts[strings.ToUpper(code)]
	if !ok {
		return cohort.Cohort{}, bot.Errorf("fake.Cohort", bot.NotFound, "no cohort %s", code)
	}
	return c, nil
}

func cohortOf(tb testing.TB, a *app.App) string {
	tb.Helper()
	var lines []app.ExportedLearner
	exportAll(tb, a, &lines)
	if len(lines) != 1 {
		tb.Fatalf("%d learners, want 1", len(lines))
	}
	return lines[0].Cohort
}

func TestJoinLooksUpTheCode(t *testing.T) {
	a := newApp(t)
	f := &fakeCohorts{cohorts: map[string]cohort.Cohort{
		"K7M2QX": {Code: "K7M2QX", Name: "Couture Safi"},
		"P4X9RT": {Code: "P4X9RT", Name: "Tissage Tiznit"},
	}}
	a.Cohorts = f

	// Before any language: the cohort is kept, then the language menu.
	res := send(t, a, "SM1", "join k7m2qx")
	if got := bot.Texts(res.Replies); len(got) != 2 || !strings.Contains(got[0], "Couture Safi") || !strings.Contains(got[1], "Français") {
		t.Errorf("join before a language: replies %q, want the cohort then the language menu", got)
	}
	if got := cohortOf(t, a); got != "K7M2QX" {
		t.Errorf("cohort %q, want K7M2QX", got)
	}
	send(t, a, "SM2", "3")
	send(t, a, "SM3", "1")

	// The code alone moves the learner, who is told so.
	res = send(t, a, "SM4", "P4X9RT")
	if got := bot.Texts(res.Replies); !strings.Contains(got[0], "quittes le groupe K7M2QX") {
		t.Errorf("move: replies %q", got)
	}
	if got := cohortOf(t, a); got != "P4X9RT" {
		t.Errorf("cohort %q, want P4X9RT", got)
	}

	// An unknown code is answered, and changes nothing.
	res = send(t, a, "SM5", "rejoindre ZZ9ZZ9")
	if got := bot.Texts(res.Replies); !strings.Contains(got[0], "ZZ9ZZ9") {
		t.Errorf("unknown code: replies %q", got)
	}
	if got := cohortOf(t, a); got != "P4X9RT" {
		t.Errorf("after an unknown code: cohort %q, want P4X9RT", got)
	}

	// Words that are no code are not looked up.
	n := len(f.lookups)
	send(t, a, "SM6", "menu")
	send(t, a, "SM7", "rejoindre n'importe quoi")
	if len(f.lookups) != n {
		t.Errorf("looked up %q for words that are no code", f.lookups[n:])
	}
}

func TestJoinStoreDown(t *testing.T) {
	a := newApp(t)
	a.Cohorts = &fakeCohorts{err: bot.Errorf("fake.Cohort", bot.Unavailable, "down")}
	send(t, a, "SM1", "salam")
	_, err := a.HandleInbound(context.Background(), bot.Inbound{ID: "SM2", From: "whatsapp:+212600000001", Channel: bot.WhatsApp, Text: "K7M2QX"})
	if bot.KindOf(err) != bot.Unavailable {
		t.Fatalf("cohort store down: got %v, want Unavailable (Twilio retries)", err)
	}
	// The message was not applied: a retry once the store is back works.
	a.Cohorts = &fakeCohorts{cohorts: map[string]cohort.Cohort{"K7M2QX": {Code: "K7M2QX", Name: "Couture Safi"}}}
	if res := send(t, a, "SM2", "K7M2QX"); res.Duplicate {
		t.Error("the failed message was recorded as applied")
	}
	if got := cohortOf(t, a); got != "K7M2QX" {
		t.Errorf("cohort %q, want K7M2QX", got)
	}
}

func TestNoCohortStore(t *testing.T) {
	a := newApp(t)
	send(t, a, "SM1", "K7M2QX")
	if got := cohortOf(t, a); got != "" {
		t.Errorf("without a cohort store: cohort %q, want none", got)
	}
}
