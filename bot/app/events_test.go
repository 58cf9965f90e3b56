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
)

// recordingOutbox keeps what the app queues.
type recordingOutbox struct {
	schedule.Outbox // the methods the app does not call
	queued          []schedule.Job
}

func (r *recordingOutbox) Enqueue(ctx context.Context, jobs ...schedule.Job) error {
	r.queued = append(r.queued, jobs...)
	return nil
}

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

// watchedApp is an App whose observed events and queued jobs a test reads
// message by message.
type watchedApp struct {
	*app.App
	outbox   *recordingOutbox
	observed []dialog.Event
}

func newWatchedApp(tb testing.TB) *watchedApp {
	tb.Helper()
	store := &replayingStore{Store: openBolt(tb), before: map[string]bot.Learner{}}
	w := &watchedApp{App: newAppOver(tb, store), outbox: &recordingOutbox{}}
	w.Outreach = &app.Outreach{Outbox: w.outbox, NudgeAfter: 72 * time.Hour, SecondNudgeAfter: 96 * time.Hour, Reviews: app.DefaultReviews}
	w.Observe = func(e dialog.Event) { w.observed = append(w.observed, e) }
	return w
}

// turn is what one message did.
type turn struct {
	res    app.Result
	events []dialog.Event
	queued []schedule.Job
}

// send hands the app message id from the learner and returns what the app
// observed and queued for it.
func (w *watchedApp) send(tb testing.TB, id, text string) turn {
	tb.Helper()
	seen, queued := len(w.observed), len(w.outbox.queued)
	tu := turn{res: send(tb, w.App, id, text)}
	if len(w.observed) > seen {
		tu.events = w.observed[seen:]
	}
	if len(w.outbox.queued) > queued {
		tu.queued = w.outbox.queued[queued:]
	}
	return tu
}

func kinds(jobs []schedule.Job) map[schedule.Kind]int {
	n := map[schedule.Kind]int{}
	for _, j := range jobs {
		n[j.Kind]++
	}
	return n
}

// TestReviewsQueuedFromLessonCompleted takes a lesson through the app and
// wants its reviews queued by the message whose events say it was
// completed, and by no other.
func TestReviewsQueuedFromLessonCompleted(t *testing.T) {
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
		if got := kinds(last.queued)[schedule.Review]; got != 0 {
			t.Fatalf("message %d queued %d reviews before the lesson ended", n, got)
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
	if got, want := kinds(last.queued), (map[schedule.Kind]int{schedule.Nudge: 2, schedule.Review: 3}); !cmp.Equal(got, want) {
		t.Errorf("the last answer queued %v, want %v", got, want)
	}
	for _, j := range last.queued {
		if j.Kind == schedule.Review && j.Lesson != "costing-1" {
			t.Errorf("review of %s/%s, want one of costing-1", j.Lesson, j.Step)
		}
	}

	// Twilio delivers the last answer again.
	again := w.send(t, "SM"+strconv.Itoa(n), "25")
	if !again.res.Duplicate || len(again.events) != 0 || len(again.queued) != 0 {
		t.Errorf("a retried message: duplicate %v, observed %v, queued %d jobs; want a duplicate, nothing observed or queued",
			again.res.Duplicate, again.events, len(again.queued))
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
// observed, and queues outreach, the first time only, even when the store
// ran the engine on it again before it found the message applied.
func TestDuplicateMessageObservesNothing(t *testing.T) {
	w := newWatchedApp(t)
	w.send(t, "SM1", "salam")
	for _, tc := range []struct {
		id, text string
		want     []dialog.Event
		queued   int
	}{
		{"SM2", "3", []dialog.Event{{Kind: dialog.LanguageChosen, Lang: bot.French}}, 0}, // no consent yet: no nudges
		{"SM3", "1", []dialog.Event{{Kind: dialog.ConsentGiven}}, 2},
		{"SM4", "stop", []dialog.Event{{Kind: dialog.OptedOut}}, 0},
	} {
		first := w.send(t, tc.id, tc.text)
		if diff := cmp.Diff(tc.want, first.events); diff != "" {
			t.Errorf("%s %q: observed events differ (-want +got):\n%s", tc.id, tc.text, diff)
		}
		if got := len(first.queued); got != tc.queued {
			t.Errorf("%s %q: got %d jobs queued, want %d", tc.id, tc.text, got, tc.queued)
		}
		again := w.send(t, tc.id, tc.text)
		if !again.res.Duplicate {
			t.Fatalf("%s %q again: got no duplicate, want one", tc.id, tc.text)
		}
		if len(again.events) != 0 || len(again.queued) != 0 {
			t.Errorf("%s %q again: observed %v and queued %d jobs, want nothing", tc.id, tc.text, again.events, len(again.queued))
		}
	}
}

// TestErasedOrStoppedLearnerGetsNothingQueued: the message that erases a
// learner, or opts them out, queues nothing, and neither does a message
// from a learner who stays opted out; the events are observed all the same.
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
			if len(last.queued) != 0 {
				t.Errorf("got %v queued, want nothing", kinds(last.queued))
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
