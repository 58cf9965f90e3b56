package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/app"
)

// TestExportLearner exports one learner of two: the learner's whole record
// with the keys and values of "darsi export learners", the flags before or
// after the ID, and a log line on stderr with the id masked.
func TestExportLearner(t *testing.T) {
	store := filepath.Join(t.TempDir(), "darsi.db")
	for _, from := range []string{"+212600000001", "+212600000002"} {
		in := `{"from":"` + from + `","text":"salam"}` + "\n" + `{"text":"3"}` + "\n" + `{"text":"1"}` + "\n"
		if code, _, errOut := darsi(t, in, "chat", "--jsonl", "--store", store); code != 0 {
			t.Fatal(errOut)
		}
	}
	code, all, errOut := darsi(t, "", "export", "learners", "--with-numbers", "--store", store)
	if code != 0 {
		t.Fatalf("export learners: exit %d: %s", code, errOut)
	}
	var want string // the learners line of the second learner
	for _, line := range strings.Split(strings.TrimSpace(all), "\n") {
		if strings.Contains(line, `"chat:+212600000002"`) {
			want = line
		}
	}
	if want == "" {
		t.Fatalf("export learners has no chat:+212600000002:\n%s", all)
	}
	for _, args := range [][]string{
		{"export", "learner", "chat:+212600000002", "--store", store},
		{"export", "learner", "--store", store, "chat:+212600000002"},
		{"export", "--store", store, "learner", "chat:+212600000002"},
	} {
		code, out, errOut := darsi(t, "", args...)
		if code != 0 {
			t.Fatalf("%q: exit %d: %s", args, code, errOut)
		}
		if got := strings.TrimSpace(out); got != want {
			t.Errorf("%q: got\n%s\nwant the line of export learners\n%s", args, got, want)
		}
		var l app.ExportedLearner
		if err := json.Unmarshal([]byte(out), &l); err != nil {
			t.Fatalf("%q: %v: %q", args, err, out)
		}
		if diff := cmp.Diff([]string{"chat:+212600000002", "fr", "menu"}, []string{l.ID, string(l.Lang), string(l.Phase)}); diff != "" {
			t.Errorf("%q: (-want +got):\n%s", args, diff)
		}
		if !strings.Contains(errOut, "export of one learner") || !strings.Contains(errOut, bot.Mask("chat:+212600000002")) {
			t.Errorf("%q: stderr %q, want a log line of the export with the masked id %s", args, errOut, bot.Mask("chat:+212600000002"))
		}
		if strings.Contains(errOut, "600000002") {
			t.Errorf("%q: stderr shows the number: %q", args, errOut)
		}
	}
}

// TestExportLearnerRefuses checks the errors of darsi export learner: a
// missing, malformed or unknown ID is refused with a line that says what
// is wanted, never showing the number whole, and nothing on stdout.
func TestExportLearnerRefuses(t *testing.T) {
	store := filepath.Join(t.TempDir(), "darsi.db")
	if code, _, errOut := darsi(t, `{"text":"salam"}`+"\n", "chat", "--jsonl", "--store", store); code != 0 {
		t.Fatal(errOut)
	}
	// Not the example the messages give, so that it shows if echoed.
	const number = "+212655512345"
	for _, tc := range []struct {
		name string
		args []string
		want string // in stderr
	}{
		{"no ID", []string{"export", "learner", "--store", store}, "usage: darsi export learner ID"},
		{"two IDs", []string{"export", "learner", "chat:" + number, "chat:+212655512346", "--store", store}, "usage: darsi export learner ID"},
		{"no channel", []string{"export", "learner", number, "--store", store}, "want the learner's address"},
		{"unknown channel", []string{"export", "learner", "telegram:" + number, "--store", store}, "want the learner's address"},
		{"not E.164", []string{"export", "learner", "whatsapp:0655512345", "--store", store}, "want the learner's address"},
		{"letters", []string{"export", "learner", "whatsapp:+2126555123ab", "--store", store}, "want the learner's address"},
		{"empty", []string{"export", "learner", "", "--store", store}, "want the learner's address"},
		{"unknown learner", []string{"export", "learner", "whatsapp:" + number, "--store", store}, "no learner " + bot.Mask("whatsapp:"+number)},
		{"malformed BSUID", []string{"export", "learner", "whatsapp:MA..55512345", "--store", store}, "want the learner's address"},
		{"BSUID by SMS", []string{"export", "learner", "sms:MA.655512345", "--store", store}, "want the learner's address"},
		{"unknown BSUID", []string{"export", "learner", "whatsapp:MA.655512345", "--store", store}, "no learner whatsapp:MA.65…45"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := darsi(t, "", tc.args...)
			if code != 1 {
				t.Errorf("exit %d, want 1", code)
			}
			if out != "" {
				t.Errorf("stdout %q, want nothing", out)
			}
			if !strings.Contains(errOut, tc.want) {
				t.Errorf("stderr %q, want it to say %q", errOut, tc.want)
			}
			if strings.Contains(errOut, "55512") {
				t.Errorf("stderr shows a number whole: %q", errOut)
			}
			if strings.Contains(errOut, "export of one learner") {
				t.Errorf("stderr %q logs an export that did not happen", errOut)
			}
		})
	}
}
