package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/darsi-ma/darsi/bot/dialog"
	"github.com/darsi-ma/darsi/bot/twilio"
	"github.com/darsi-ma/darsi/bot/twilio/twiliotest"
)

// eligible counts the questions of the lessons in dir that go out as a
// content.
func eligible(t *testing.T, dir string) int {
	t.Helper()
	c, err := loadContent(dir)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, q := range dialog.Questions(c) {
		if twilio.ContentType(q.Choice) != "" {
			n++
		}
	}
	return n
}

var syncLine = regexp.MustCompile(`(\d+) contents: (\d+) (?:created|to create), (\d+) found at Twilio and recorded, (\d+) already recorded`)

// syncCounts runs darsi whatsapp sync and returns its counts: eligible,
// created, adopted, already recorded.
func syncCounts(t *testing.T, args ...string) [4]int {
	t.Helper()
	code, out, errOut := darsi(t, "", append([]string{"whatsapp", "sync"}, args...)...)
	if code != 0 {
		t.Fatalf("whatsapp sync %v: exit %d\n%s%s", args, code, out, errOut)
	}
	m := syncLine.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("whatsapp sync printed no counts:\n%s", out)
	}
	var n [4]int
	for i := range n {
		n[i], _ = strconv.Atoi(m[i+1])
	}
	return n
}

// TestWhatsAppSync runs darsi whatsapp sync against the fake Twilio: one
// content per question with buttons or a list and language, none on a
// second run, and one new content when one option's text changes; a dry
// run makes none.
func TestWhatsAppSync(t *testing.T) {
	fake := twiliotest.NewFake(t, e2eAccount, e2eToken)
	t.Setenv("TWILIO_ACCOUNT_SID", e2eAccount)
	t.Setenv("TWILIO_AUTH_TOKEN", e2eToken)
	t.Setenv("TWILIO_API_BASE_URL", fake.URL)
	t.Setenv("TWILIO_WHATSAPP_FROM", "whatsapp:+212500000000")
	dir := t.TempDir()
	lessons := filepath.Join(dir, "lessons")
	copyDir(t, "../../lessons", lessons)
	store := filepath.Join(dir, "darsi.db")
	want := eligible(t, lessons)
	if want < 10 {
		t.Fatalf("only %d questions go out as contents", want)
	}

	if got := syncCounts(t, "--dry-run", "--lessons", lessons, "--store", store); got != [4]int{want, want, 0, 0} {
		t.Fatalf("dry run: %v, want %d to create", got, want)
	}
	if n := len(fake.Contents()); n != 0 {
		t.Fatalf("a dry run made %d contents", n)
	}
	if got := syncCounts(t, "--lessons", lessons, "--store", store); got != [4]int{want, want, 0, 0} {
		t.Fatalf("first run: %v, want %d created", got, want)
	}
	if n := len(fake.Contents()); n != want {
		t.Fatalf("the fake holds %d contents, want %d", n, want)
	}
	if got := syncCounts(t, "--lessons", lessons, "--store", store); got != [4]int{want, 0, 0, want} {
		t.Fatalf("second run: %v, want none created", got)
	}

	// One option's French text edited.
	file := filepath.Join(lessons, "costing", "costing-1.yaml")
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	edited := strings.Replace(string(data), `fr: "Du temps de travail"`, `fr: "Le temps de travail"`, 1)
	if edited == string(data) {
		t.Fatal("could not edit the option")
	}
	if err := os.WriteFile(file, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := syncCounts(t, "--lessons", lessons, "--store", store); got != [4]int{want, 1, 0, want - 1} {
		t.Fatalf("after the edit: %v, want 1 created", got)
	}
	contents := fake.Contents()
	last := contents[len(contents)-1]
	if len(contents) != want+1 || last.Language != "fr" || last.Options[1].Title != "Le temps de travail" {
		t.Fatalf("%d contents, the last %+v", len(contents), last)
	}
}
