package locale_test

import (
	"strings"
	"testing"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/locale"
	"github.com/darsi-ma/darsi/locales"
)

// TestDashboardLoads: the dashboard's words load in French and Arabic,
// every Arabic message in Arabic's own file, every plural message with
// the six forms of the Arabic rule chosen by count.
func TestDashboardLoads(t *testing.T) {
	b, err := locale.LoadDashboard(locales.FS)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range b.IDs() {
		if !strings.HasPrefix(id, "dash.") {
			t.Errorf("message %s: the dashboard's ids start with dash.", id)
		}
	}
	// Arabic counts take the form of their CLDR category.
	for count, want := range map[int]string{0: "لا شيء غير مقروء", 1: "واحد غير مقروء", 2: "اثنان غير مقروءين",
		3: "3 غير مقروءة", 11: "11 غير مقروء", 100: "100 غير مقروء"} {
		if got := b.N(bot.Arabic, "dash.inbox.unread", count, nil); got != want {
			t.Errorf("N(ar, dash.inbox.unread, %d) = %q, want %q", count, got, want)
		}
	}
	if got := b.N(bot.French, "dash.inbox.unread", 1, nil); got != "1 non lue" {
		t.Errorf("N(fr, dash.inbox.unread, 1) = %q", got)
	}
	// The dashboard has no Darija or Tamazight: T answers "" for them.
	if got := b.T(bot.Darija, "dash.tab.learners", nil); got != "" {
		t.Errorf("T(ary) = %q, want nothing", got)
	}
}

// TestDashboardChecks: a dashboard file missing a message, with another
// placeholder, or without an Arabic plural form is refused, naming the
// file and the message.
func TestDashboardChecks(t *testing.T) {
	tests := []struct {
		name, file string
		change     func(string) string
		want       string
	}{
		{"missing", "dash/ar.yaml", func(s string) string {
			return strings.Replace(s, "dash.tab.outbox: \"الإرسالات\"\n", "", 1)
		}, "dash/ar.yaml: missing message dash.tab.outbox"},
		{"placeholder", "dash/ar.yaml", func(s string) string {
			return strings.Replace(s, "{{.Cohort}}", "{{.Code}}", 1)
		}, "uses {{.Code}}, which fr.yaml does not"},
		{"plural form", "dash/ar.yaml", func(s string) string {
			return strings.Replace(s, "  two: \"اثنان غير مقروءين\"\n", "", 1)
		}, `dash/ar.yaml: dash.inbox.unread: missing plural form "two"`},
		{"extra", "dash/fr.yaml", func(s string) string { return s + "dash.extra: \"x\"\n" }, "dash/ar.yaml: missing message dash.extra"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := realFiles(t)
			edit(t, m, tt.file, tt.change)
			_, err := locale.LoadDashboard(m)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("LoadDashboard: %v, want an error with %q", err, tt.want)
			}
		})
	}
}
