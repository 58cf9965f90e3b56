package app

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/cohort"
	"github.com/darsi-ma/darsi/bot/dialog"
	"github.com/darsi-ma/darsi/bot/schedule"
)

// Thread is what a learner and their coach wrote to each other: the
// learner's questions (with where they stood when they asked) and the
// coaches' answers. A learner has one thread, filed under the cohort they
// were in when they last wrote to it.
type Thread struct {
	// Key is the thread's id: the learner's key (Keys.Learner), never
	// their number.
	Key string `json:"key"`
	// Learner is the learner's address, for the answer to reach them:
	// never shown to a coach, never in a URL.
	Learner string `json:"-"`
	// Cohort is the learner's cohort (CohortKey) when they last wrote to
	// their coach; "" for none (admins answer those).
	Cohort string   `json:"cohort"`
	Name   string   `json:"name,omitempty"`
	Lang   bot.Lang `json:"lang,omitempty"`
	// Unread counts the learner's messages no coach has read yet.
	Unread    int       `json:"unread"`
	UpdatedAt time.Time `json:"updated_at"`
	// Messages, oldest first: at most MaxThreadMessages, the oldest
	// dropped first. A list of threads carries the last one only.
	Messages []InboxMessage `json:"messages"`
}

// Order is the thread's place in a list, newest first: lists are ordered
// by it and their cursors are one.
func (t Thread) Order() string { return InboxOrder(t.UpdatedAt, t.Key) }

// InboxOrder is the order of a thread last written at updated: its keys
// sort the newest first.
func InboxOrder(updated time.Time, key string) string {
	return fmt.Sprintf("%013d:%s", max(0, 9999999999999-updated.UnixMilli()), key)
}

// InboxMessage is one message of a thread.
type InboxMessage struct {
	// ID is the learner's message id (Twilio's MessageSid), or the job of
	// a coach's answer: a message is filed once.
	ID string `json:"id"`
	// From is the login of the coach who answered; "" for the learner.
	From string    `json:"from,omitempty"`
	Text string    `json:"text"`
	At   time.Time `json:"at"`
	// Context is where the learner stood when they asked.
	Context *AskContext `json:"context,omitempty"`
	// Job is the outbox job that carries a coach's answer.
	Job string `json:"job,omitempty"`
}

// AskContext is where a learner stood when they asked their coach.
type AskContext struct {
	Lang   bot.Lang  `json:"lang,omitempty"`
	Phase  bot.Phase `json:"phase,omitempty"`
	Course string    `json:"course,omitempty"`
	Lesson string    `json:"lesson,omitempty"`
	Step   string    `json:"step,omitempty"`
	// Answers are what the learner typed in the lesson (its variables),
	// by name, at most maxContextAnswers of them.
	Answers map[string]string `json:"answers,omitempty"`
	// Done counts the lessons they completed; LastDone is the last one.
	Done     int    `json:"done"`
	LastDone string `json:"last_done,omitempty"`
}

// MaxThreadMessages bounds a thread: the oldest messages go first.
const MaxThreadMessages = 50

// maxContextAnswers bounds the answers a question carries.
const maxContextAnswers = 10

// DefaultInboxRetention is how long the stores keep a thread after its
// last message: long enough for a programme's season, not forever.
const DefaultInboxRetention = 180 * 24 * time.Hour

// Inbox keeps the threads between learners and their coaches. Both stores
// implement it and pass storetest.RunInbox; an erased learner's thread
// goes with them (Store.Update with Erase).
type Inbox interface {
	// FileInbox adds m at the end of the thread t.Key, unless the thread
	// holds a message with m.ID already, and reports whether it did. The
	// thread is created the first time; each time its Learner, Cohort,
	// Name and Lang become t's and its UpdatedAt m.At (moving it in the
	// lists of its cohort). A learner's message (From "") adds one to
	// Unread. Threads not written for the store's inbox retention
	// (DefaultInboxRetention) are removed.
	//
	// Errors: Invalid for a thread without a key or a message without an
	// id, Unavailable when the store cannot be reached.
	FileInbox(ctx context.Context, t Thread, m InboxMessage) (bool, error)

	// InboxThread returns the thread with its messages, or NotFound.
	InboxThread(ctx context.Context, key string) (Thread, error)

	// InboxThreads returns up to limit threads of the cohort ("" for the
	// learners without one), newest first, each with its last message:
	// those after the thread whose Order is cursor ("" from the newest),
	// and the cursor of the next page ("" after the last). limit 0 or
	// less means 100.
	InboxThreads(ctx context.Context, cohort, cursor string, limit int) ([]Thread, string, error)

	// MarkInboxRead sets the thread's Unread to 0. NotFound for no thread.
	MarkInboxRead(ctx context.Context, key string) error

	// InboxUnread counts the cohort's threads ("" for the learners
	// without one) that have unread messages.
	InboxUnread(ctx context.Context, cohort string) (int, error)
}

// askContext is where l stands, for their coach.
func askContext(l bot.Learner) *AskContext {
	ctx := &AskContext{Lang: l.Lang, Phase: l.Phase, Course: l.Course, Lesson: l.Lesson, Step: l.Step, Done: len(l.Completed)}
	if len(l.Completed) > 0 {
		ctx.LastDone = l.Completed[len(l.Completed)-1].Lesson
	}
	for _, k := range slices.Sorted(maps.Keys(l.Vars)) {
		if len(ctx.Answers) == maxContextAnswers {
			break
		}
		if ctx.Answers == nil {
			ctx.Answers = map[string]string{}
		}
		ctx.Answers[k] = l.Vars[k]
	}
	return ctx
}

// fileQuestions files the questions a message passed on to the learner's
// coach (CoachAsked events) in the inbox, under the message's id, so that
// filing again changes nothing.
func (a *App) fileQuestions(ctx context.Context, l bot.Learner, msgID string, events []dialog.Event) error {
	n := 0
	for _, e := range events {
		if e.Kind != dialog.CoachAsked || a.Inbox == nil {
			continue
		}
		id := msgID
		if id == "" {
			id = "q" + a.Now().UTC().Format("20060102T150405.000000000")
		}
		if n > 0 {
			id = fmt.Sprintf("%s-%d", id, n)
		}
		n++
		t := Thread{Key: a.Keys.Learner(l.ID), Learner: l.ID, Cohort: CohortKey(l.Cohort), Name: l.Name, Lang: l.Lang}
		m := InboxMessage{ID: id, Text: e.Question, At: a.Now().UTC(), Context: askContext(l)}
		if _, err := a.Inbox.FileInbox(ctx, t, m); err != nil {
			return err
		}
	}
	return nil
}

// refileQuestion files again, for a message delivered a second time, the
// question it carried after a coach word: the first delivery may have
// saved the learner and failed to file it. Filing is keyed by the
// message's id, so a question filed before is not filed twice. Only such
// messages cost this second look.
func (a *App) refileQuestion(ctx context.Context, in bot.Inbound, c *dialog.Content) error {
	if a.Inbox == nil || in.ID == "" {
		return nil
	}
	if q, ok := c.Text.CoachWord(in.Text); !ok || q == "" {
		return nil
	}
	l, err := a.store.Get(ctx, in.From)
	if err != nil {
		return nil // erased, or never saved: nothing to file
	}
	if _, err := a.Inbox.InboxThread(ctx, a.Keys.Learner(l.ID)); err == nil {
		return nil
	}
	// The learner's state now stands for the state then, closely enough
	// for a retry that comes seconds later.
	q, _ := c.Text.CoachWord(in.Text)
	return a.fileQuestions(ctx, l, in.ID, []dialog.Event{{Kind: dialog.CoachAsked, Question: q}})
}

// The inbox, for coaches.

// InboxPage is a page of an actor's inbox.
type InboxPage struct {
	Threads []Thread
	Next    string // the cursor of the next page, "" after the last
}

// inboxCohorts are the cohorts whose threads actor answers: a coach's
// own; for an admin, the learners without a cohort and the cohorts
// without a coach (questions nobody else would see). only, when not "",
// narrows to that cohort (any the actor may see; "-" for no cohort, an
// admin's).
func (c *Coaching) inboxCohorts(ctx context.Context, actor cohort.Coach, only string) ([]string, error) {
	const op = "app.Inbox"
	if only == "-" {
		if actor.Role != cohort.RoleAdmin {
			return nil, bot.Errorf(op, bot.NotFound, "no such inbox")
		}
		return []string{""}, nil
	}
	if only != "" {
		co, err := c.Cohort(ctx, actor, only)
		if err != nil {
			return nil, err
		}
		return []string{CohortKey(co.Code)}, nil
	}
	var out []string
	if actor.Role == cohort.RoleAdmin {
		out = append(out, "")
		all, err := c.Cohorts.Cohorts(ctx, "")
		if err != nil {
			return nil, err
		}
		for _, co := range all {
			if co.Coach == "" {
				out = append(out, CohortKey(co.Code))
			}
		}
		return out, nil
	}
	if actor.Login == "" {
		return nil, nil
	}
	own, err := c.Cohorts.Cohorts(ctx, actor.Login)
	if err != nil {
		return nil, err
	}
	for _, co := range own {
		out = append(out, CohortKey(co.Code))
	}
	return out, nil
}

// Inbox returns a page of the threads actor answers (see inboxCohorts),
// newest first, from cursor ("" for the first page). The work is a page
// per cohort of the actor's.
//
// Errors: Unavailable when the store keeps no inbox, NotFound for a
// cohort the actor may not see, and the stores'.
func (c *Coaching) Inbox(ctx context.Context, actor cohort.Coach, only, cursor string, limit int) (InboxPage, error) {
	const op = "app.Inbox"
	if c.Threads == nil {
		return InboxPage{}, bot.Errorf(op, bot.Unavailable, "this store keeps no inbox")
	}
	if limit <= 0 {
		limit = DefaultPageSize
	}
	limit = min(limit, MaxPageSize)
	cohorts, err := c.inboxCohorts(ctx, actor, only)
	if err != nil {
		return InboxPage{}, err
	}
	var all []Thread
	more := false
	for _, code := range cohorts {
		ts, next, err := c.Threads.InboxThreads(ctx, code, cursor, limit)
		if err != nil {
			return InboxPage{}, err
		}
		all = append(all, ts...)
		more = more || next != ""
	}
	slices.SortFunc(all, func(a, b Thread) int { return cmp.Compare(a.Order(), b.Order()) })
	page := InboxPage{Threads: all}
	if len(all) > limit {
		page.Threads, more = all[:limit], true
	}
	if more && len(page.Threads) > 0 {
		page.Next = page.Threads[len(page.Threads)-1].Order()
	}
	return page, nil
}

// MaxPageSize bounds a page of any list.
const MaxPageSize = 500

// Unread counts the threads with unread questions that actor answers: the
// number every dashboard page shows. A store without an inbox has none.
//
// Errors: the stores'.
func (c *Coaching) Unread(ctx context.Context, actor cohort.Coach) (int, error) {
	if c.Threads == nil {
		return 0, nil
	}
	cohorts, err := c.inboxCohorts(ctx, actor, "")
	if err != nil {
		return 0, err
	}
	n := 0
	for _, code := range cohorts {
		u, err := c.Threads.InboxUnread(ctx, code)
		if err != nil {
			return 0, err
		}
		n += u
	}
	return n, nil
}

// ThreadView is a thread as a coach reads it: its messages, the status of
// each answer's job, and what an answer sent now would do.
type ThreadView struct {
	Thread
	// Masked is the learner's address, masked ("whatsapp:+2126******01").
	Masked string
	// Status is the status of each answer's job, by job id; Reason why a
	// failed one failed.
	Status map[string]schedule.Status
	Reason map[string]string
	// Answer is what the outbox would do with an answer sent now (free
	// text inside WhatsApp's window, the coach_reply template outside
	// it, SMS by SMS), as schedule.Policy decides it.
	Answer schedule.Decision
	// Reachable is false for a learner nothing can reach (the terminal,
	// the simulator) or who is gone.
	Reachable bool
}

// mayAnswer reports whether actor sees the thread: its cohort's coach, or
// an admin.
func (c *Coaching) mayAnswer(ctx context.Context, actor cohort.Coach, t Thread) (bool, error) {
	if actor.Role == cohort.RoleAdmin {
		return true, nil
	}
	if t.Cohort == "" || actor.Login == "" {
		return false, nil
	}
	co, err := c.Cohorts.Cohort(ctx, t.Cohort)
	if bot.KindOf(err) == bot.NotFound {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return co.Coach == actor.Login, nil
}

// answerer reports whether actor is the one whose inbox holds the thread:
// reading it marks it read. An admin reading a coach's thread leaves it
// unread for the coach.
func (c *Coaching) answerer(ctx context.Context, actor cohort.Coach, t Thread) bool {
	cohorts, err := c.inboxCohorts(ctx, actor, "")
	return err == nil && slices.Contains(cohorts, t.Cohort)
}

// thread loads a thread actor may see.
func (c *Coaching) thread(ctx context.Context, actor cohort.Coach, key string) (Thread, error) {
	const op = "app.Thread"
	if c.Threads == nil {
		return Thread{}, bot.Errorf(op, bot.Unavailable, "this store keeps no inbox")
	}
	if !validLearnerKey(key) {
		return Thread{}, bot.Errorf(op, bot.NotFound, "no thread %q", key)
	}
	t, err := c.Threads.InboxThread(ctx, key)
	if err != nil {
		return Thread{}, err
	}
	ok, err := c.mayAnswer(ctx, actor, t)
	if err != nil {
		return Thread{}, err
	}
	if !ok {
		return Thread{}, bot.Errorf(op, bot.NotFound, "no thread %q", key)
	}
	return t, nil
}

// validLearnerKey reports whether s has the shape of Keys.Learner.
func validLearnerKey(s string) bool {
	if len(s) != 1+learnerKeyLen || s[0] != 'L' {
		return false
	}
	for _, r := range s[1:] {
		if !strings.ContainsRune("0123456789abcdef", r) {
			return false
		}
	}
	return true
}

// Thread returns the thread of the learner whose key is key, if actor
// answers it or is an admin, with the status of its answers and what an
// answer now would do. Reading it marks it read when it is in the actor's
// own inbox.
//
// Errors: NotFound for a thread that does not exist or that actor may not
// see, and the stores'.
func (c *Coaching) Thread(ctx context.Context, actor cohort.Coach, key string) (ThreadView, error) {
	t, err := c.thread(ctx, actor, key)
	if err != nil {
		return ThreadView{}, err
	}
	if t.Unread > 0 && c.answerer(ctx, actor, t) {
		if err := c.Threads.MarkInboxRead(ctx, key); err != nil {
			return ThreadView{}, err
		}
		t.Unread = 0
	}
	v := ThreadView{Thread: t, Masked: bot.Mask(t.Learner), Status: map[string]schedule.Status{}, Reason: map[string]string{}}
	if c.Outbox != nil {
		for _, m := range t.Messages {
			if m.Job == "" {
				continue
			}
			j, err := c.Outbox.Job(ctx, m.Job)
			switch {
			case err == nil:
				v.Status[m.Job], v.Reason[m.Job] = j.Status, j.Reason
			case bot.KindOf(err) != bot.NotFound:
				return ThreadView{}, err
			}
		}
	}
	now := c.now()
	l, err := c.learner(ctx, t.Learner)
	if err != nil {
		return ThreadView{}, err
	}
	v.Reachable = l != nil && c.reachable(*l) && !l.OptedOut
	if l != nil {
		v.Answer = c.policy().Decide(*l, schedule.Job{Kind: schedule.CoachReply, DueAt: now}, now)
	}
	return v, nil
}

func (c *Coaching) policy() *schedule.Policy {
	if c.Policy != nil {
		return c.Policy
	}
	return &schedule.Policy{}
}

// learner loads a learner; nil when the store no longer has them.
func (c *Coaching) learner(ctx context.Context, id string) (*bot.Learner, error) {
	if c.Learners == nil {
		return nil, nil
	}
	l, err := c.Learners.Get(ctx, id)
	if bot.KindOf(err) == bot.NotFound {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &l, nil
}

// MaxAnswer bounds a coach's answer, in characters: with the frame of the
// message ("Réponse de ton coach : …") it must fit in one message.
const MaxAnswer = 1500

// Answered is what Answer did.
type Answered struct {
	Job schedule.Job `json:"job"`
	// Already is set when the same answer to the same question was
	// queued before (a form sent twice): nothing was queued again.
	Already bool `json:"already"`
}

// Answer queues a coach's answer to a thread in the outbox, as a
// coach_reply job due now (the outbox holds it through quiet hours,
// sends free text inside WhatsApp's window and the coach_reply template
// outside it, SMS by SMS), and files it in the thread. The job's id comes
// from the thread, the learner's last message and the text, so the same
// answer sent twice (a form submitted again, a retried API call) is queued
// once. The audit log records it, without its text.
//
// Errors: Invalid for an empty or too long text, NotFound for a thread
// actor may not see, Invalid too when nothing can reach the learner (gone,
// stopped, on the terminal or the simulator), Unavailable without an
// outbox, and the stores'.
func (c *Coaching) Answer(ctx context.Context, actor cohort.Coach, key, text string) (Answered, error) {
	const op = "app.Answer"
	text = strings.TrimSpace(text)
	switch {
	case text == "":
		return Answered{}, bot.Errorf(op, bot.Invalid, "the answer is empty")
	case !utf8.ValidString(text) || strings.ContainsRune(text, 0):
		return Answered{}, bot.Errorf(op, bot.Invalid, "the answer is not valid UTF-8")
	case utf8.RuneCountInString(text) > MaxAnswer:
		return Answered{}, bot.Errorf(op, bot.Invalid, "the answer has %d characters; at most %d", utf8.RuneCountInString(text), MaxAnswer)
	case c.Outbox == nil:
		return Answered{}, bot.Errorf(op, bot.Unavailable, "this store keeps no outbox: answers cannot be sent")
	}
	t, err := c.thread(ctx, actor, key)
	if err != nil {
		return Answered{}, err
	}
	l, err := c.learner(ctx, t.Learner)
	if err != nil {
		return Answered{}, err
	}
	switch {
	case l == nil:
		return Answered{}, bot.Errorf(op, bot.Invalid, "the learner erased their data: nothing can reach them")
	case l.OptedOut:
		return Answered{}, bot.Errorf(op, bot.Invalid, "the learner stopped the bot: nothing can reach them")
	case !c.reachable(*l):
		return Answered{}, bot.Errorf(op, bot.Invalid, "the learner talks to the bot from the terminal or the simulator: nothing can reach them")
	}
	last := ""
	for _, m := range t.Messages {
		if m.From == "" {
			last = m.ID
		}
	}
	now := c.now()
	id := "answer-" + shortHash(strings.Join([]string{key, last, text}, "\x00"), 16) + "-" + key
	job := schedule.Job{
		ID: id, Kind: schedule.CoachReply, Learner: t.Learner, Cohort: t.Cohort, Text: text,
		DueAt: now, CreatedAt: now, CreatedBy: cmp.Or(actor.Login, "darsi"), Status: schedule.Queued, UpdatedAt: now,
	}
	n, err := c.Outbox.Enqueue(ctx, job)
	if err != nil {
		return Answered{}, err
	}
	res := Answered{Job: job, Already: n == 0}
	if res.Already {
		if j, err := c.Outbox.Job(ctx, id); err == nil {
			res.Job = j
		}
	}
	// The thread keeps its learner's current cohort, name and language.
	t.Cohort, t.Name, t.Lang = CohortKey(l.Cohort), l.Name, l.Lang
	t.Messages = nil
	if _, err := c.Threads.FileInbox(ctx, t, InboxMessage{ID: id, From: cmp.Or(actor.Login, "darsi"), Text: text, At: now.UTC(), Job: id}); err != nil {
		return res, err
	}
	if !res.Already {
		c.record(ctx, actor, AuditAnswer, key, "job "+id)
	}
	return res, nil
}
