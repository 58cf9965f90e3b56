// Package app holds Darsi's use cases: what happens when a message comes in,
// and what people ask of the learners' data. It loads state from the store,
// runs the dialogue engine and saves the result; adapters (HTTP, Twilio,
// stores) plug into it and cmd/darsi wires them.
package app

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/cohort"
	"github.com/darsi-ma/darsi/bot/dialog"
	"github.com/darsi-ma/darsi/bot/schedule"
)

// App runs the conversation for every learner.
type App struct {
	store   Store
	content atomic.Pointer[dialog.Content]
	// Now is the clock; tests replace it.
	Now func() time.Time
	// Cohorts is where join codes are looked up; nil means the bot knows
	// no cohorts (join codes then get no special treatment). Set it
	// before the first message.
	Cohorts cohort.Store
	// Outreach keeps each learner's nudges and spaced reviews in step
	// with their messages, and Sweep sends what is due; nil starts
	// nothing. Set it before the first message.
	Outreach *Outreach
	// Observe, when set, is told each event of a learner's message (see
	// dialog.Event) once, in order, after the new state is saved; a
	// message that failed, or came again with the same id, is observed
	// not at all. It runs while HandleInbound answers, so it must be quick
	// and safe for concurrent use: a metric (NewEventCounter), not I/O.
	// Set it before the first message.
	Observe func(dialog.Event)
	// Keys stand for learners where their number must not appear (job
	// ids); New takes the store's when it keeps them (KeyHolder).
	Keys Keys
	// Aliases finds the learner a WhatsApp BSUID stands for, when a
	// message comes from a BSUID without a learner of its own; nil: a
	// BSUID is always its own learner. New takes the store's when it
	// keeps them. Set it before the first message.
	Aliases Aliases
	// Inbox is where questions to coaches are filed (see
	// dialog.CoachAsked); nil: a question is answered but kept nowhere.
	// New takes the store's when it keeps one. Set it before the first
	// message.
	Inbox Inbox
}

// errNoLearner stops an update of a BSUID that has no learner: its alias is
// looked up before a new learner is made. Of kind NotFound, so that store
// metrics count it as such, not as a failure.
var errNoLearner = bot.Errorf("app.HandleInbound", bot.NotFound, "no learner under this address")

// New returns an App over store with the given lessons and texts.
func New(store Store, content *dialog.Content) *App {
	a := &App{store: store, Now: time.Now}
	if h, ok := store.(KeyHolder); ok {
		a.Keys = h.Keys()
	}
	if al, ok := store.(Aliases); ok {
		a.Aliases = al
	}
	if in, ok := store.(Inbox); ok {
		a.Inbox = in
	}
	a.content.Store(content)
	return a
}

// SetContent swaps the lessons and texts; conversations in progress pick up
// the new ones at their next message.
func (a *App) SetContent(c *dialog.Content) { a.content.Store(c) }

// Content returns the lessons and texts in use.
func (a *App) Content() *dialog.Content { return a.content.Load() }

// HandleInbound applies one inbound message and returns the replies. The new
// state, the message id and the replies are saved in one atomic write, so a
// message delivered twice gets the same replies and changes nothing the
// second time. A message that asks to join a cohort (cohort.JoinCandidate)
// is looked up in Cohorts first, and the engine told what was found. Once
// the state is saved, and only for a message applied for the first time,
// Observe sees the engine's events. The learner's Outreach is updated in the
// same write (see Outreach).
// Errors: Invalid when the message has no sender, and the stores'
// (Unavailable, Conflict).
func (a *App) HandleInbound(ctx context.Context, in bot.Inbound) (Result, error) {
	if in.From == "" {
		return Result{}, bot.Errorf("app.HandleInbound", bot.Invalid, "message has no sender")
	}
	c := a.content.Load()
	if err := a.lookupJoin(ctx, &in, c); err != nil {
		return Result{}, err
	}
	now := a.Now()
	// The store may call the update more than once; the outcome of its
	// last call is the one saved.
	var out dialog.Outcome
	apply := func(id string, mustExist bool) (Result, error) {
		return a.store.Update(ctx, id, in.ID, func(l *bot.Learner) (Change, error) {
			if mustExist && l.Version == 0 {
				return Change{}, errNoLearner
			}
			out = dialog.Step(*l, in, now, c)
			if in.BSUID != "" && !out.Erased() {
				// The learner's BSUID, which Twilio sent with their
				// number: the store pairs them (Aliases).
				out.Learner.BSUID = in.BSUID
			}
			a.Outreach.afterMessage(&out.Learner, out.Events, now, c)
			*l = out.Learner
			return Change{Replies: out.Replies, Erase: out.Erased()}, nil
		})
	}
	var res Result
	var err error
	if a.Aliases != nil && bot.IsBSUID(in.From) {
		res, err = a.applyBSUID(ctx, in, apply)
	} else {
		res, err = apply(in.From, false)
	}
	if err != nil {
		return res, err
	}
	if res.Duplicate {
		// What the first delivery did was observed and queued then; a
		// question it carried may have failed to be filed.
		return res, a.refileQuestion(ctx, in, c)
	}
	// A question to the learner's coach is filed once the learner is
	// saved: the only turn that costs the store a second write.
	if err := a.fileQuestions(ctx, out.Learner, in.ID, out.Events); err != nil {
		return res, err
	}
	if a.Observe != nil {
		for _, e := range out.Events {
			a.Observe(e)
		}
	}
	return res, nil
}

// applyBSUID applies a message from a BSUID address: to the BSUID's own
// learner when there is one (the ordinary case, which costs nothing more),
// else to the learner whose number it was paired with (Aliases), else to a
// new learner under the BSUID. A replay of an erased learner's message by
// the BSUID is a duplicate that brings no one back.
func (a *App) applyBSUID(ctx context.Context, in bot.Inbound, apply func(id string, mustExist bool) (Result, error)) (Result, error) {
	res, err := apply(in.From, true)
	if !errors.Is(err, errNoLearner) {
		return res, err
	}
	id, replay, err := a.Aliases.Alias(ctx, in.From, in.ID)
	switch {
	case replay:
		return Result{Duplicate: true}, nil
	case err == nil:
		// The paired learner, unless they were erased in between: then
		// the BSUID is a new learner of its own.
		if res, err := apply(id, true); !errors.Is(err, errNoLearner) {
			return res, err
		}
	case bot.KindOf(err) != bot.NotFound:
		return Result{}, err
	}
	return apply(in.From, false)
}

// NewEventCounter returns a hook for App.Observe that counts the events of
// learners' messages in darsi_learner_events_total, by event (the
// dialog.EventKind), registered on reg unless reg is nil. Every kind is
// there from the start, at zero, so that a rate over it is defined before
// the first one happens. A counter already registered on reg (by a second
// App) is shared; any other failure to register is a programming error,
// and panics.
func NewEventCounter(reg prometheus.Registerer) func(dialog.Event) {
	events := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "darsi_learner_events_total",
		Help: "What learners' messages did, by event: lessons completed, opt-outs and opt-ins, cohorts joined, erasures, reviews answered, consents, languages chosen, requests for one's data.",
	}, []string{"event"})
	if reg != nil {
		var are prometheus.AlreadyRegisteredError
		switch err := reg.Register(events); {
		case err == nil:
		case errors.As(err, &are):
			// Only a collector describing the same metric (name, labels,
			// help) is "already registered": the counter of a former call.
			events = are.ExistingCollector.(*prometheus.CounterVec)
		default:
			panic("app: registering darsi_learner_events_total: " + err.Error())
		}
	}
	for _, k := range dialog.EventKinds {
		events.WithLabelValues(string(k))
	}
	return func(e dialog.Event) { events.WithLabelValues(string(e.Kind)).Inc() }
}

// lookupJoin fills in.JoinCohort when the message asks to join a cohort.
// The lookup happens before the learner's update, which may be retried and
// must not do I/O of its own.
func (a *App) lookupJoin(ctx context.Context, in *bot.Inbound, c *dialog.Content) error {
	if a.Cohorts == nil || in.JoinCohort != nil {
		return nil
	}
	text := in.Text
	if in.Payload != "" {
		text = in.Payload
	}
	code, explicit, ok := cohort.JoinCandidate(text, c.Text)
	if !ok {
		return nil
	}
	j := &bot.JoinCohort{Code: code, Explicit: explicit}
	if cohort.ValidCode(code) {
		co, err := a.Cohorts.Cohort(ctx, code)
		switch {
		case err == nil:
			j.Code, j.Name, j.Found = co.Code, co.Name, true
		case bot.KindOf(err) != bot.NotFound:
			return err
		}
	}
	in.JoinCohort = j
	return nil
}

// Ready reports whether the app can serve: the store answers and lessons
// are loaded.
func (a *App) Ready(ctx context.Context) error {
	if c := a.content.Load(); c == nil || c.Lessons.Count() == 0 {
		return bot.Errorf("app.Ready", bot.Unavailable, "no lessons loaded")
	}
	return a.store.Ping(ctx)
}

// ExportedLearner is one line of "darsi export learners". Its keys are an
// interface that scripts rely on: add keys freely, never rename them.
type ExportedLearner struct {
	// ID is the learner's address, masked ("whatsapp:+2126******01")
	// unless the export is asked for with numbers.
	ID string `json:"id"`
	// Key stands for the learner without naming them (Keys.Learner): the
	// same in every export, job id and dashboard CSV of the deployment.
	Key string `json:"key"`
	// Name is the WhatsApp profile name the learner shared by consenting.
	Name string `json:"name,omitempty"`
	// BSUID is the learner's WhatsApp business-scoped user id beside their
	// number (bot.Learner.BSUID), masked like ID.
	BSUID         string            `json:"bsuid,omitempty"`
	Channel       bot.Channel       `json:"channel"`
	Lang          bot.Lang          `json:"lang"`
	Consent       bool              `json:"consent"`
	OptedOut      bool              `json:"opted_out"`
	Cohort        string            `json:"cohort"`
	Phase         bot.Phase         `json:"phase"`
	Course        string            `json:"course"`
	Lesson        string            `json:"lesson"`
	Step          string            `json:"step"`
	Completed     []bot.Completion  `json:"completed"`
	Vars          map[string]string `json:"vars"`
	Indicators    map[string]string `json:"indicators"`
	LastInboundAt time.Time         `json:"last_inbound_at"`
	// Followups are the answers to follow-up surveys, dated.
	Followups []bot.FollowupAnswer `json:"followups"`
	UpdatedAt time.Time            `json:"updated_at"`
	// Version counts the changes saved to the learner.
	Version int64 `json:"version"`
}

// Export returns the exported form of a learner, with their full address
// and without their key.
func Export(l bot.Learner) ExportedLearner {
	e := ExportedLearner{
		ID: l.ID, Name: l.Name, BSUID: l.BSUID, Channel: l.Channel, Lang: l.Lang, Consent: l.Consent, OptedOut: l.OptedOut,
		Cohort: l.Cohort, Phase: l.Phase, Course: l.Course, Lesson: l.Lesson, Step: l.Step,
		Completed: make([]bot.Completion, len(l.Completed)), Vars: l.Vars, Indicators: l.Indicators,
		LastInboundAt: l.LastInboundAt.UTC(), UpdatedAt: l.UpdatedAt.UTC(), Version: l.Version,
	}
	if e.Phase == bot.PhaseNew {
		e.Phase = "new"
	}
	for i, c := range l.Completed {
		c.At = c.At.UTC()
		e.Completed[i] = c
	}
	if e.Vars == nil {
		e.Vars = map[string]string{}
	}
	if e.Indicators == nil {
		e.Indicators = map[string]string{}
	}
	e.Followups = make([]bot.FollowupAnswer, len(l.Followups))
	for i, f := range l.Followups {
		f.At = f.At.UTC()
		e.Followups[i] = f
	}
	return e
}

// ExportLearners writes every learner as one JSON line, their address
// masked unless withNumbers: full numbers are for an administrator who
// asks for them by name (darsi export learners --with-numbers), never the
// default.
func (a *App) ExportLearners(ctx context.Context, w io.Writer, withNumbers bool) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return a.store.Learners(ctx, func(l bot.Learner) error {
		e := Export(l)
		e.Key = a.Keys.Learner(l.ID)
		if !withNumbers {
			e.ID = bot.Mask(l.ID)
			if e.BSUID != "" {
				e.BSUID = bot.Mask(e.BSUID)
			}
		}
		return enc.Encode(e)
	})
}

// ReplyJobs returns the outbox jobs that send a turn's replies over REST
// (see schedule.Reply), due at now, in order: each one's id comes from the
// learner's key, the message's id and the reply's place, so that a
// message delivered twice queues them once, and each names the one before
// it, which must go first.
func (a *App) ReplyJobs(in bot.Inbound, replies []bot.Reply, now time.Time) []schedule.Job {
	key := a.Keys.Learner(in.From)
	jobs := make([]schedule.Job, len(replies))
	for i, r := range replies {
		jobs[i] = schedule.Job{
			ID:        schedule.ReplyID(key, in.ID, i),
			Kind:      schedule.Reply,
			Learner:   in.From,
			Text:      r.Text,
			Media:     r.Media,
			Choice:    r.Choice,
			DueAt:     now,
			CreatedAt: now,
			UpdatedAt: now,
			CreatedBy: "darsi",
		}
		if i > 0 {
			jobs[i].After = jobs[i-1].ID
		}
	}
	return jobs
}
