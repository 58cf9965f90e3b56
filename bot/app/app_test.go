package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/app"
	"github.com/darsi-ma/darsi/bot/dialog"
	"github.com/darsi-ma/darsi/bot/lesson"
	"github.com/darsi-ma/darsi/bot/locale"
	"github.com/darsi-ma/darsi/bot/store/boltstore"
	"github.com/darsi-ma/darsi/lessons"
	"github.com/darsi-ma/darsi/locales"
)

func content(tb testing.TB) *dialog.Content {
	tb.Helper()
	text, err := locale.Load(locales.FS)
	if err != nil {
		tb.Fatal(err)
	}
	cat, err := lesson.Load(lessons.FS, "lessons")
	if err != nil {
		tb.Fatal(err)
	}
	return &dialog.Content{Lessons: cat, Text: text}
}

func newApp(tb testing.TB) *app.App {
	tb.Helper()
	return newAppOver(tb, openBolt(tb))
}

// openBolt opens an embedded store in a temporary folder.
func openBolt(tb testing.TB) *boltstore.Store {
	tb.Helper()
	s, err := boltstore.Open(filepath.Join(tb.TempDir(), "darsi.db"), boltstore.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

// newAppOver returns an App over s whose clock starts on 2 March 2026 and
// moves a second at each reading.
func newAppOver(tb testing.TB, s app.Store) *app.App {
	tb.Helper()
	a := app.New(s, content(tb))
	clock := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	a.Now = func() time.Time { clock = clock.Add(time.Second); return clock }
	return a
}

func send(tb testing.TB, a *app.App, id, text string) app.Result {
	tb.Helper()
	res, err := a.HandleInbound(context.Background(), bot.Inbound{ID: id, From: "whatsapp:+212600000001", Channel: bot.WhatsApp, Text: text})
	if err != nil {
		tb.Fatalf("HandleInbound(%q): %v", text, err)
	}
	return res
}

func TestHandleInboundIdempotent(t *testing.T) {
	a := newApp(t)
	first := send(t, a, "SM1", "salam")
	again := send(t, a, "SM1", "salam")
	if !again.Duplicate {
		t.Error("repeated MessageSid: Duplicate not set")
	}
	if got, want := bot.Texts(again.Replies), bot.Texts(first.Replies); len(got) != len(want) || got[0] != want[0] {
		t.Errorf("repeated MessageSid: got replies %q, want %q", got, want)
	}
	send(t, a, "SM2", "3")
	// Twilio retries SM2: the learner must not move on twice.
	send(t, a, "SM2", "3")
	var lines []app.ExportedLearner
	exportAll(t, a, &lines)
	if len(lines) != 1 || lines[0].Phase != bot.PhaseConsent {
		t.Fatalf("after a retried message: %+v, want one learner at consent", lines)
	}
}

func TestExportAfterCompletedLesson(t *testing.T) {
	a := newApp(t)
	n := 0
	next := func(text string) app.Result {
		n++
		return send(t, a, "SM"+strconv.Itoa(n), text)
	}
	for _, text := range []string{"salam", "3", "1", "1"} {
		next(text)
	}
	c := a.Content()
	for i := 0; i < 30; i++ {
		var lines []app.ExportedLearner
		exportAll(t, a, &lines)
		l := lines[0]
		if l.Phase == bot.PhaseDone {
			break
		}
		st, _ := c.Lessons.Lesson(l.Lesson).Step(l.Step)
		switch {
		case st.Kind == lesson.Question && i == 0:
			next("9") // not an option: asked again, no harm to the score
			next(strconv.Itoa(st.Correct() + 1))
		case st.Kind == lesson.Question:
			next(strconv.Itoa(st.Correct() + 1))
		case st.InputKind == "text":
			next("tapis")
		default:
			next("25")
		}
	}
	var lines []app.ExportedLearner
	raw := exportAll(t, a, &lines)
	if len(lines) != 1 {
		t.Fatalf("got %d learners, want 1", len(lines))
	}
	l := lines[0]
	if len(l.Completed) != 1 || l.Completed[0].Lesson != "costing-1" || l.Completed[0].Score != 100 {
		t.Errorf("completed: got %+v, want costing-1 with score 100", l.Completed)
	}
	if l.ID != "whatsapp:+212600000001" || l.Lang != bot.French || !l.Consent || l.Vars["unit_material"] != "1" {
		t.Errorf("export: got %+v", l)
	}
	var keys map[string]any
	if err := json.Unmarshal(bytes.SplitN(raw, []byte("\n"), 2)[0], &keys); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"id", "key", "channel", "lang", "consent", "opted_out", "cohort", "course", "lesson", "step", "completed", "vars", "indicators", "last_inbound_at", "updated_at"} {
		if _, ok := keys[k]; !ok {
			t.Errorf("export has no key %q", k)
		}
	}
}

// TestExportMasksNumbers: without --with-numbers, an export names the
// learner by a masked number and their key, never by their number.
func TestExportMasksNumbers(t *testing.T) {
	a := newApp(t)
	send(t, a, "SM1", "salam")
	var full, masked bytes.Buffer
	if err := a.ExportLearners(context.Background(), &full, true); err != nil {
		t.Fatal(err)
	}
	if err := a.ExportLearners(context.Background(), &masked, false); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(masked.String(), "600000001") {
		t.Errorf("the default export names the number: %s", masked.String())
	}
	var f, m app.ExportedLearner
	if err := json.Unmarshal(full.Bytes(), &f); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(masked.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	if f.ID != "whatsapp:+212600000001" || m.ID != bot.Mask(f.ID) {
		t.Errorf("ids: with numbers %q, without %q", f.ID, m.ID)
	}
	if want := a.Keys.Learner("whatsapp:+212600000001"); m.Key != want || f.Key != want || !strings.HasPrefix(want, "L") {
		t.Errorf("keys: %q and %q, want %q", f.Key, m.Key, want)
	}
	m.ID = f.ID
	if diff := cmp.Diff(f, m); diff != "" {
		t.Errorf("the two exports differ beyond the id (-with +without):\n%s", diff)
	}
}

func exportAll(tb testing.TB, a *app.App, out *[]app.ExportedLearner) []byte {
	tb.Helper()
	var buf bytes.Buffer
	if err := a.ExportLearners(context.Background(), &buf, true); err != nil {
		tb.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(buf.Bytes()))
	for dec.More() {
		var l app.ExportedLearner
		if err := dec.Decode(&l); err != nil {
			tb.Fatal(err)
		}
		*out = append(*out, l)
	}
	return buf.Bytes()
}

func TestHandleInboundNoSender(t *testing.T) {
	a := newApp(t)
	_, err := a.HandleInbound(context.Background(), bot.Inbound{Text: "salam"})
	if bot.KindOf(err) != bot.Invalid {
		t.Errorf("no sender: got %v, want an Invalid error", err)
	}
}

// BenchmarkHandleInbound measures one message through the embedded store:
// load, Step, atomic save with the message id.
func BenchmarkHandleInbound(b *testing.B) {
	a := newApp(b)
	for _, text := range []string{"salam", "3", "1"} {
		send(b, a, "", text)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		// "aide" answers with help and the menu again: the learner stays put.
		send(b, a, "SM"+strconv.Itoa(i), "aide")
	}
}
