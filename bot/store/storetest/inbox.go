package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/app"
)

// RunInbox runs the suite of app.Inbox. open must return a new, empty
// store each time it is called, which keeps threads for retention (the
// suite asks for a second where it waits for threads to expire, for
// app.DefaultInboxRetention elsewhere).
func RunInbox(t *testing.T, open func(t *testing.T, retention time.Duration) app.Inbox) {
	tests := []struct {
		name      string
		retention time.Duration
		fn        func(t *testing.T, s app.Inbox)
	}{
		{"Empty", app.DefaultInboxRetention, testInboxEmpty},
		{"Thread", app.DefaultInboxRetention, testInboxThread},
		{"Pages", app.DefaultInboxRetention, testInboxPages},
		{"MovesCohort", app.DefaultInboxRetention, testInboxMoves},
		{"Bounded", app.DefaultInboxRetention, testInboxBounded},
		{"Invalid", app.DefaultInboxRetention, testInboxInvalid},
		{"Retention", time.Second, testInboxRetention},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.fn(t, open(t, tt.retention))
		})
	}
}

// threadKey is the i-th learner's thread key, shaped as app.Keys makes
// them.
func threadKey(i int) string { return fmt.Sprintf("L%020x", i+1) }

func thread(i int, cohort string) app.Thread {
	return app.Thread{Key: threadKey(i), Learner: fmt.Sprintf("whatsapp:+2126000000%02d", i), Cohort: cohort,
		Name: fmt.Sprintf("Fatima %d", i), Lang: bot.French}
}

func question(id, text string, at time.Time) app.InboxMessage {
	return app.InboxMessage{ID: id, Text: text, At: at, Context: &app.AskContext{Lang: bot.French,
		Phase: bot.PhaseLesson, Course: "costing", Lesson: "costing-1", Step: "what-counts",
		Answers: map[string]string{"materials": "120"}, Done: 2, LastDone: "costing-0"}}
}

func file(tb testing.TB, s app.Inbox, t app.Thread, m app.InboxMessage) bool {
	tb.Helper()
	ok, err := s.FileInbox(context.Background(), t, m)
	if err != nil {
		tb.Fatalf("FileInbox(%s, %s): %v", t.Key, m.ID, err)
	}
	return ok
}

func unread(tb testing.TB, s app.Inbox, cohort string) int {
	tb.Helper()
	n, err := s.InboxUnread(context.Background(), cohort)
	if err != nil {
		tb.Fatalf("InboxUnread(%q): %v", cohort, err)
	}
	return n
}

func testInboxEmpty(t *testing.T, s app.Inbox) {
	ctx := context.Background()
	if _, err := s.InboxThread(ctx, threadKey(0)); bot.KindOf(err) != bot.NotFound {
		t.Errorf("InboxThread on an empty store: %v, want NotFound", err)
	}
	if ts, next, err := s.InboxThreads(ctx, "K7M2QX", "", 10); err != nil || len(ts) != 0 || next != "" {
		t.Errorf("InboxThreads on an empty store = %v, %q, %v", ts, next, err)
	}
	if n := unread(t, s, "K7M2QX"); n != 0 {
		t.Errorf("InboxUnread on an empty store = %d", n)
	}
	if err := s.MarkInboxRead(ctx, threadKey(0)); bot.KindOf(err) != bot.NotFound {
		t.Errorf("MarkInboxRead of no thread: %v, want NotFound", err)
	}
}

func testInboxThread(t *testing.T, s app.Inbox) {
	ctx := context.Background()
	at := time.Now().UTC().Truncate(time.Millisecond)
	th := thread(1, "K7M2QX")
	if !file(t, s, th, question("SM1", "combien pour l'électricité ?\nmerci", at)) {
		t.Fatal("the first question was not filed")
	}
	if file(t, s, th, question("SM1", "combien pour l'électricité ?\nmerci", at)) {
		t.Error("the same message was filed twice")
	}
	file(t, s, th, question("SM2", "et le loyer ?", at.Add(time.Minute)))
	if n := unread(t, s, "K7M2QX"); n != 1 {
		t.Errorf("unread threads = %d, want 1", n)
	}
	answer := app.InboxMessage{ID: "answer-1", From: "amina", Text: "Divise la facture par le nombre de pièces.", At: at.Add(2 * time.Minute), Job: "answer-1"}
	file(t, s, th, answer)

	got, err := s.InboxThread(ctx, th.Key)
	if err != nil {
		t.Fatal(err)
	}
	if got.Learner != th.Learner || got.Cohort != "K7M2QX" || got.Name != th.Name || got.Lang != bot.French {
		t.Errorf("thread = %+v, want the learner, cohort, name and language filed", got)
	}
	if got.Unread != 2 {
		t.Errorf("Unread = %d, want 2 (the learner's two messages)", got.Unread)
	}
	if !got.UpdatedAt.Equal(answer.At) {
		t.Errorf("UpdatedAt = %v, want the last message's time %v", got.UpdatedAt, answer.At)
	}
	if len(got.Messages) != 3 {
		t.Fatalf("%d messages, want 3: %+v", len(got.Messages), got.Messages)
	}
	first := got.Messages[0]
	if first.ID != "SM1" || first.Text != "combien pour l'électricité ?\nmerci" || !first.At.Equal(at) ||
		first.Context == nil || first.Context.Lesson != "costing-1" || first.Context.Answers["materials"] != "120" || first.Context.Done != 2 {
		t.Errorf("first message = %+v (context %+v), want the question as filed", first, first.Context)
	}
	if last := got.Messages[2]; last.From != "amina" || last.Job != "answer-1" || last.Text != answer.Text {
		t.Errorf("last message = %+v, want the coach's answer", last)
	}

	if err := s.MarkInboxRead(ctx, th.Key); err != nil {
		t.Fatal(err)
	}
	if n := unread(t, s, "K7M2QX"); n != 0 {
		t.Errorf("unread threads after reading = %d, want 0", n)
	}
	if got, _ := s.InboxThread(ctx, th.Key); got.Unread != 0 {
		t.Errorf("Unread after reading = %d", got.Unread)
	}
	file(t, s, th, question("SM3", "encore une", at.Add(3*time.Minute)))
	if n := unread(t, s, "K7M2QX"); n != 1 {
		t.Errorf("unread threads after a new question = %d, want 1", n)
	}
}

func testInboxPages(t *testing.T, s app.Inbox) {
	ctx := context.Background()
	at := time.Now().UTC().Truncate(time.Millisecond)
	// Seven threads in K7M2QX, the third written last; two elsewhere.
	for i := range 7 {
		file(t, s, thread(i, "K7M2QX"), question(fmt.Sprintf("SM%d", i), "q", at.Add(time.Duration(i)*time.Second)))
	}
	file(t, s, thread(2, "K7M2QX"), question("SM-late", "q again", at.Add(time.Hour)))
	file(t, s, thread(10, "B3C4D5"), question("SM10", "q", at))
	file(t, s, thread(11, ""), question("SM11", "q", at))

	var keys []string
	cursor := ""
	for page := 0; ; page++ {
		ts, next, err := s.InboxThreads(ctx, "K7M2QX", cursor, 3)
		if err != nil {
			t.Fatal(err)
		}
		if next != "" && len(ts) != 3 {
			t.Fatalf("page %d has %d threads and a next cursor", page, len(ts))
		}
		for _, th := range ts {
			keys = append(keys, th.Key)
			if len(th.Messages) != 1 {
				t.Errorf("listed thread %s has %d messages, want its last one", th.Key, len(th.Messages))
			}
		}
		if next == "" {
			break
		}
		if page > 5 {
			t.Fatal("pages never end")
		}
		cursor = next
	}
	want := []string{threadKey(2), threadKey(6), threadKey(5), threadKey(4), threadKey(3), threadKey(1), threadKey(0)}
	if fmt.Sprint(keys) != fmt.Sprint(want) {
		t.Errorf("threads = %v, want newest first %v", keys, want)
	}
	if ts, _, _ := s.InboxThreads(ctx, "K7M2QX", "", 10); len(ts) > 0 && ts[0].Messages[0].ID != "SM-late" {
		t.Errorf("the newest thread's last message = %+v, want SM-late", ts[0].Messages[0])
	}
	if ts, _, err := s.InboxThreads(ctx, "", "", 10); err != nil || len(ts) != 1 || ts[0].Key != threadKey(11) {
		t.Errorf("threads without a cohort = %v, %v; want the one", ts, err)
	}
	if n := unread(t, s, "K7M2QX"); n != 7 {
		t.Errorf("unread threads = %d, want 7", n)
	}
}

func testInboxMoves(t *testing.T, s app.Inbox) {
	ctx := context.Background()
	at := time.Now().UTC().Truncate(time.Millisecond)
	file(t, s, thread(1, "K7M2QX"), question("SM1", "q", at))
	file(t, s, thread(1, "B3C4D5"), question("SM2", "q", at.Add(time.Second)))
	if ts, _, _ := s.InboxThreads(ctx, "K7M2QX", "", 10); len(ts) != 0 {
		t.Errorf("the old cohort still lists %d threads", len(ts))
	}
	if ts, _, _ := s.InboxThreads(ctx, "B3C4D5", "", 10); len(ts) != 1 {
		t.Errorf("the new cohort lists %d threads, want 1", len(ts))
	}
	if a, b := unread(t, s, "K7M2QX"), unread(t, s, "B3C4D5"); a != 0 || b != 1 {
		t.Errorf("unread threads: old cohort %d, new %d; want 0 and 1", a, b)
	}
}

func testInboxBounded(t *testing.T, s app.Inbox) {
	at := time.Now().UTC().Truncate(time.Millisecond)
	n := app.MaxThreadMessages + 5
	for i := range n {
		file(t, s, thread(1, "K7M2QX"), question(fmt.Sprintf("SM%d", i), "q", at.Add(time.Duration(i)*time.Second)))
	}
	got, err := s.InboxThread(context.Background(), threadKey(1))
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Messages) != app.MaxThreadMessages || got.Messages[0].ID != "SM5" {
		t.Errorf("%d messages from %s; want the last %d", len(got.Messages), got.Messages[0].ID, app.MaxThreadMessages)
	}
}

func testInboxInvalid(t *testing.T, s app.Inbox) {
	ctx := context.Background()
	if _, err := s.FileInbox(ctx, app.Thread{}, question("SM1", "q", time.Now())); bot.KindOf(err) != bot.Invalid {
		t.Errorf("a thread without a key: %v, want Invalid", err)
	}
	if _, err := s.FileInbox(ctx, thread(1, ""), app.InboxMessage{Text: "q", At: time.Now()}); bot.KindOf(err) != bot.Invalid {
		t.Errorf("a message without an id: %v, want Invalid", err)
	}
}

func testInboxRetention(t *testing.T, s app.Inbox) {
	ctx := context.Background()
	file(t, s, thread(1, "K7M2QX"), question("SM1", "q", time.Now()))
	time.Sleep(1500 * time.Millisecond)
	file(t, s, thread(2, "K7M2QX"), question("SM2", "q", time.Now()))
	if _, err := s.InboxThread(ctx, threadKey(1)); bot.KindOf(err) != bot.NotFound {
		t.Errorf("a thread past retention: %v, want NotFound", err)
	}
	ts, _, err := s.InboxThreads(ctx, "K7M2QX", "", 10)
	if err != nil || len(ts) != 1 || ts[0].Key != threadKey(2) {
		t.Errorf("threads = %v, %v; want only the recent one", ts, err)
	}
	if n := unread(t, s, "K7M2QX"); n != 1 {
		t.Errorf("unread threads = %d, want 1", n)
	}
}
