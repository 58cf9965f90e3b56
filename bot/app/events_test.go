package app_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/app"
	"github.com/darsi-ma/darsi/bot/dialog"
	"github.com/darsi-ma/darsi/bot/lesson"
	"github.com/darsi-ma/darsi/bot/schedule"
	"github.com/darsi-ma/darsi/bot/schedule/scheduletest"
	"github.com/darsi-ma/darsi/bot/store/boltstore"
)

// replayingStore is a store that, like an optimistic one working from a
// stale copy, calls the update function of a message it has seen before
// (on the learner as it was then) before it finds the message applied.
type replayingStore struct {
	app.Store
	before map[string]bot.Learner // message id: the learner before it
}

func (s *replayingStore) Update(ctx context.Context, id, msgID string, fn func(l *bot.Learner) (app.Change, error)) (app.Result, error) {
	if l, ok := s.before[msgID]; ok {
		if _, err := fn(&l); err != nil {
			return app.Result{}, err
		}
	} else if msgID != "" {
		l, err := s.Get(ctx, id)
		if bot.KindOf(err) == bot.NotFound {
			l, err = bot.Learner{ID: id}, nil
		}
		if err != nil {
			return app.Result{}, err
		}
		s.before[msgID] = l
	}
	return s.Store.Update(ctx, id, msgID, fn)
}

// watchedApp is an App whose observed events, learner and queued jobs a
// test reads message by message and sweep by sweep.
type watchedApp struct {
	*app.App
	store    *boltstore.Store
	outbox   *scheduletest.Memory
	observed []dialog.Event
}

func newWatchedApp(tb testing.TB) *watchedApp {
	tb.Helper()
	bolt := openBolt(tb)
	store := &replayingStore{Store: bolt, before: map[string]bot.Learner{}}
	w := &watchedApp{App: newAppOver(tb, store), store: bolt, outbox: scheduletest.NewMemory()}
	w.Keys = bolt.Keys()
	w.Outreach = &app.Outreach{Outbox: w.outbox, Due: bolt, NudgeAfter: 72 * time.Hour, SecondNudgeAfter: 96 * time.Hour, Reviews: app.DefaultReviews}
	w.Observe = func(e dialog.Event) { w.observed = append(w.observed, e) }
	return w
}

// turn is what one message did.
type turn struct {
	res    app.Result
	events []dialog.Event
	// learner is the learner's record after the message; zero when there
	// is none.
	learner bot.Learner
}

// send hands the app message id from the learner and returns what the app
// observed and saved for it.
func (w *watchedApp) send(tb testing.TB, id, text string) turn {
	tb.Helper()
	seen := len(w.observed)
	tu := turn{res: send(tb, w.App, id, text)}
	if len(w.observed) > seen {
		tu.events = w.observed[seen:]
	}
	l, err := w.store.Get(context.Background(), "whatsapp:+212600000001")
	if err != nil && bot.KindOf(err) != bot.NotFound {
		tb.Fatal(err)
	}
	tu.learner = l
	return tu
}

// sweep sweeps the due index at now and returns every job of the outbox.
func (w *watchedApp) sweep(tb testing.TB, now time.Time) []schedule.Job {
	tb.Helper()
	if _, err := w.Sweep(context.Background(), now); err != nil {
		tb.Fatalf("Sweep(%v): %v", now, err)
	}
	jobs, _, err := w.outbox.Jobs(context.Background(), schedule.Filter{Limit: 1000})
	if err != nil {
		tb.Fatal(err)
	}
	return jobs
}

func kinds(jobs []schedule.Job) map[schedule.Kind]int {
	n := map[schedule.Kind]int{}
	for _, j := range jobs {
		n[j.Kind]++
	}
	return n
}

// TestReviewsFromLessonCompleted takes a lesson through the app and wants
// its reviews pending from the message whose events say it was completed,
// and from no other, even when the store ran the engine again on a
// retried message; the sweeps then queue those three and no more.
// (Messages queue nothing themselves: the sweep does, when it is due.)
func TestReviewsFromLessonCompleted(t *testing.T) {
	w := newWatchedApp(t)
	n := 0
	next := func(text string) turn {
		n++
		return w.send(t, "SM"+strconv.Itoa(n), text)
	}
	for _, text := range []string{"salam", "3", "1", "1"} {
		next(text)
	}
	c := w.Content()
	var last turn
	for i := 0; ; i++ {
		if i == 40 {
			t.Fatal("the lesson never ended")
		}
		l := theLearner(t, w.App)
		if l.Phase == bot.PhaseDone {
			break
		}
		if got := len(last.learner.Outreach.Reviews); got != 0 {
			t.Fatalf("message %d left %d reviews pending before the lesson ended", n, got)
		}
		st, _ := c.Lessons.Lesson(l.Lesson).Step(l.Step)
		switch {
		case st.Kind == lesson.Question:
			last = next(strconv.Itoa(st.Correct() + 1))
		case st.InputKind == "text":
			last = next("tapis")
		default:
			last = next("25")
		}
	}
	want := []dialog.Event{{Kind: dialog.LessonCompleted, Lesson: "costing-1", Score: 100}}
	if diff := cmp.Diff(want, last.events); diff != "" {
		t.Errorf("the last answer's events differ (-want +got):\n%s", diff)
	}
	pending := last.learner.Outreach.Reviews
	if len(pending) != 3 {
		t.Fatalf("the last answer left %d reviews pending, want 3", len(pending))
	}
	for _, r := range pending {
		if r.Lesson != "costing-1" {
			t.Errorf("review of %s/%s pending, want one of costing-1", r.Lesson, r.Step)
		}
	}

	// Twilio delivers the last answer again: the store runs the engine
	// on the learner before it, then finds the message applied.
	again := w.send(t, "SM"+strconv.Itoa(n), "25")
	if !again.res.Duplicate || len(again.events) != 0 {
		t.Errorf("a retried message: duplicate %v, observed %v; want a duplicate, nothing observed", again.res.Duplicate, again.events)
	}
	if diff := cmp.Diff(again.learner, last.learner); diff != "" {
		t.Errorf("a retried message changed the learner (-got +want):\n%s", diff)
	}

	// Each review is queued once, when due; no nudge comes in between.
	finished := pending[0].At.Add(-app.DefaultReviews[0])
	var jobs []schedule.Job
	for _, d := range app.DefaultReviews {
		jobs = w.sweep(t, finished.Add(d))
	}
	// The first nudge (72 h of silence) comes with the last review.
	if got, want := kinds(jobs), (map[schedule.Kind]int{schedule.Review: 3, schedule.Nudge: 1}); !cmp.Equal(got, want) {
		t.Errorf("after the three reviews' times: %v queued, want %v", got, want)
	}
	jobs = w.sweep(t, finished.Add(1000*time.Hour))
	if got := kinds(jobs)[schedule.Review]; got != 3 {
		t.Errorf("%d reviews queued in all, want 3", got)
	}
	for _, j := range jobs {
		if j.Kind == schedule.Review && j.Lesson != "costing-1" {
			t.Errorf("review of %s/%s, want one of costing-1", j.Lesson, j.Step)
		}
	}
}

// theLearner returns the one learner a's store keeps.
func theLearner(tb testing.TB, a *app.App) app.ExportedLearner {
	tb.Helper()
	var lines []app.ExportedLearner
	exportAll(tb, a, &lines)
	if len(lines) != 1 {
		tb.Fatalf("%d learners, want 1", len(lines))
	}
	return lines[0]
}

// TestDuplicateMessageObservesNothing: a message delivered twice is
// observed, and moves the learner's outreach, the first time only, even
// when the store ran the engine on it again before it found the message
// applied.
func TestDuplicateMessageObservesNothing(t *testing.T) {
	w := newWatchedApp(t)
	w.send(t, "SM1", "salam")
	for _, tc := range []struct {
		id, text string
		want     []dialog.Event
		due      bool // whether the learner is due some day (a nudge)
	}{
		{"SM2", "3", []dialog.Event{{Kind: dialog.LanguageChosen, Lang: bot.French}}, false}, // no consent yet: no nudges
		{"SM3", "1", []dialog.Event{{Kind: dialog.ConsentGiven}}, true},
		{"SM4", "stop", []dialog.Event{{Kind: dialog.OptedOut}}, false},
	} {
		first := w.send(t, tc.id, tc.text)
		if diff := cmp.Diff(tc.want, first.events); diff != "" {
			t.Errorf("%s %q: observed events differ (-want +got):\n%s", tc.id, tc.text, diff)
		}
		if got := !first.learner.Outreach.At.IsZero(); got != tc.due {
			t.Errorf("%s %q: due some day %v (At %v), want %v", tc.id, tc.text, got, first.learner.Outreach.At, tc.due)
		}
		again := w.send(t, tc.id, tc.text)
		if !again.res.Duplicate {
			t.Fatalf("%s %q again: got no duplicate, want one", tc.id, tc.text)
		}
		if len(again.events) != 0 {
			t.Errorf("%s %q again: observed %v, want nothing", tc.id, tc.text, again.events)
		}
		if diff := cmp.Diff(again.learner, first.learner); diff != "" {
			t.Errorf("%s %q again changed the learner (-got +want):\n%s", tc.id, tc.text, diff)
		}
	}
	if jobs := w.sweep(t, time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)); len(jobs) != 0 {
		t.Errorf("a learner who opted out got %v queued, want nothing", kinds(jobs))
	}
}

// TestErasedOrStoppedLearnerGetsNothingQueued: a learner erased by their
// message, or opted out by it, or still opted out, is due nothing and gets
// nothing queued by any sweep after; the events are observed all the
// same.
func TestErasedOrStoppedLearnerGetsNothingQueued(t *testing.T) {
	for _, tc := range []struct {
		name  string
		texts []string
		// want are the events of the last message.
		want []dialog.Event
	}{
		{"erased", []string{"effacer mes données", "1"}, []dialog.Event{{Kind: dialog.Erased}}},
		{"stop", []string{"stop"}, []dialog.Event{{Kind: dialog.OptedOut}}},
		{"still stopped", []string{"stop", "bonjour"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWatchedApp(t)
			var last turn
			for i, text := range append([]string{"salam", "3", "1"}, tc.texts...) {
				last = w.send(t, "SM"+strconv.Itoa(i), text)
			}
			if diff := cmp.Diff(tc.want, last.events); diff != "" {
				t.Errorf("events of %q differ (-want +got):\n%s", tc.texts[len(tc.texts)-1], diff)
			}
			if !cmp.Equal(last.learner.Outreach, bot.Outreach{}) {
				t.Errorf("outreach pending %+v, want none", last.learner.Outreach)
			}
			start := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
			for _, d := range []time.Duration{72 * time.Hour, 168 * time.Hour, 1000 * time.Hour} {
				if jobs := w.sweep(t, start.Add(d)); len(jobs) != 0 {
					t.Errorf("sweep %v later: %v queued, want nothing", d, kinds(jobs))
				}
			}
		})
	}
	// The erased learner is gone, not saved by the same message.
	w := newWatchedApp(t)
	for i, text := range []string{"salam", "3", "1", "effacer mes données", "1"} {
		w.send(t, "SM"+strconv.Itoa(i), text)
	}
	var lines []app.ExportedLearner
	exportAll(t, w.App, &lines)
	if len(lines) != 0 {
		t.Errorf("after erasing: got %d learners stored, want none", len(lines))
	}
}

// counts gathers darsi_learner_events_total by event.
func counts(tb testing.TB, reg *prometheus.Registry) map[string]float64 {
	tb.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		tb.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != "darsi_learner_events_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "event" {
					out[l.GetValue()] = m.GetCounter().GetValue()
				}
			}
		}
	}
	return out
}

func TestEventCounterCounts(t *testing.T) {
	reg := prometheus.NewRegistry()
	a := newApp(t)
	a.Observe = app.NewEventCounter(reg)
	want := map[string]float64{}
	for _, k := range dialog.EventKinds {
		want[string(k)] = 0
	}
	if diff := cmp.Diff(want, counts(t, reg)); diff != "" {
		t.Errorf("before any message, counts differ (-want +got):\n%s", diff)
	}

	for i, text := range []string{"salam", "3", "1", "stop", "start", "stop"} {
		send(t, a, "SM"+strconv.Itoa(i), text)
	}
	send(t, a, "SM5", "stop") // Twilio retries the last one
	want[string(dialog.LanguageChosen)] = 1
	want[string(dialog.ConsentGiven)] = 1
	want[string(dialog.OptedOut)] = 2
	want[string(dialog.OptedIn)] = 1
	if diff := cmp.Diff(want, counts(t, reg)); diff != "" {
		t.Errorf("counts differ (-want +got):\n%s", diff)
	}

	// A second counter on the same registry is the same counter.
	again := app.NewEventCounter(reg)
	again(dialog.Event{Kind: dialog.LessonCompleted, Lesson: "costing-1", Score: 100})
	want[string(dialog.LessonCompleted)] = 1
	if diff := cmp.Diff(want, counts(t, reg)); diff != "" {
		t.Errorf("after a second counter counted, counts differ (-want +got):\n%s", diff)
	}
}
