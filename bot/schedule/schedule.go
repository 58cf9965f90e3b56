// Package schedule is the outbox: every message the bot starts (a coach's
// reminder or broadcast, an inactivity nudge, a spaced review) is a durable
// job with a due time, and any replica may deliver it. A job is claimed
// atomically, so two replicas never send it both; a claim whose replica
// died is taken over after its lease; and a job whose send may have reached
// Twilio before a crash is sent again only after Twilio's message list for
// its recipient shows it did not.
package schedule

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/darsi-ma/darsi/bot"
)

// Kind is what a job is for. Each kind has its own WhatsApp template for
// learners outside the 24-hour window (see Templates).
type Kind string

// Job kinds.
const (
	Reminder  Kind = "reminder"  // a coach's message to the members of a cohort
	Broadcast Kind = "broadcast" // a program's message to every learner (or a cohort)
	Nudge     Kind = "nudge"     // an inactive learner is invited back
	Review    Kind = "review"    // a question of a finished lesson comes back
	// CoachReply is a coach's answer to a learner's question; its
	// template, outside the window, is coach_reply.
	CoachReply Kind = "coach_reply"
	// Followup asks a course's survey again weeks after the learner
	// completed it.
	Followup Kind = "followup"
	// CoachDigest tells a coach, on their own WhatsApp number, how many
	// new questions wait in their inbox: once a day, its Text written by
	// the digest (app.Digest). Its recipient is a coach, who may have no
	// learner record.
	CoachDigest Kind = "coach_digest"
	// Reply is one reply of a turn that went over REST (one with an
	// interactive message, which TwiML cannot carry): never held by quiet
	// hours, not behind the rate of the others, and sent only after the
	// reply before it (After) went.
	Reply Kind = "reply"
)

// Status is where a job stands.
type Status string

// Job statuses. Queued jobs wait for their due time; a claimed job is
// being sent by the replica named in Job.Worker until Job.LeaseUntil; a
// sent job has a Twilio MessageSid and follows its delivery status;
// failed and cancelled jobs are final and carry a Reason.
const (
	Queued    Status = "queued"
	Claimed   Status = "claimed"
	Sent      Status = "sent"
	Delivered Status = "delivered" // Twilio reported delivered or read
	Failed    Status = "failed"    // given up: Reason says why (opted out, window closed and no template, …)
	Cancelled Status = "cancelled"
)

// Final reports whether nothing more happens to a job in status s.
func (s Status) Final() bool { return s == Delivered || s == Failed || s == Cancelled }

// Job is one message the bot starts, to one learner.
type Job struct {
	ID      string `json:"id"`
	Kind    Kind   `json:"kind"`
	Learner string `json:"learner"` // the learner's ID: "whatsapp:+2126…", "sms:+2126…"
	Cohort  string `json:"cohort,omitempty"`
	// Text is the coach's words for reminders and broadcasts; nudges and
	// reviews are written by the bot in the learner's language.
	Text string `json:"text,omitempty"`
	// Template overrides the template kind used outside the window
	// (default: the job's Kind).
	Template string `json:"template,omitempty"`
	// Lesson and Step name a review's question.
	Lesson string `json:"lesson,omitempty"`
	Step   string `json:"step,omitempty"`
	// Media, Choice and After are a reply's (Text is its text): its media
	// link, its options to tap, and the id of the reply that goes before
	// it ("" for a turn's first).
	Media  string      `json:"media,omitempty"`
	Choice *bot.Choice `json:"choice,omitempty"`
	After  string      `json:"after,omitempty"`

	DueAt     time.Time `json:"due_at"`
	CreatedAt time.Time `json:"created_at"`
	CreatedBy string    `json:"created_by,omitempty"` // the coach, or "darsi"

	Status   Status `json:"status"`
	Attempts int    `json:"attempts"` // claims so far
	Reason   string `json:"reason,omitempty"`
	// Worker holds the claim until LeaseUntil; ClaimedAt is when the
	// first claim that may have sent the message began (the floor of the
	// Twilio lookup before a resend).
	Worker     string    `json:"worker,omitempty"`
	ClaimedAt  time.Time `json:"claimed_at,omitzero"`
	LeaseUntil time.Time `json:"lease_until,omitzero"`

	// Sending is when a claim passed the send fence (Outbox.BeginSend):
	// from then on the message may have reached Twilio, and Cancel
	// refuses the job. Zero while no send may have gone out.
	Sending time.Time `json:"sending,omitzero"`

	SID       string    `json:"sid,omitempty"` // Twilio's MessageSid once sent
	Templated bool      `json:"templated,omitempty"`
	SentAt    time.Time `json:"sent_at,omitzero"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Filter selects jobs to list.
type Filter struct {
	Cohort string   // "" for every cohort
	Status []Status // empty for every status
	Limit  int      // 0 for a default of 100
	// Cursor is where the page starts: "" for the first one, else what
	// Jobs returned with the page before.
	Cursor string
}

// DefaultJobRetention is how long a store keeps a job after it ended
// (delivered, failed or cancelled), for coaches to see.
const DefaultJobRetention = 30 * 24 * time.Hour

// ReplyIDPrefix starts the id of every reply (see ReplyID).
const ReplyIDPrefix = "reply-"

// ReplyID is the id of reply i (from 0) of the turn of message msgID
// from the learner whose key is learnerKey (app.Keys.Learner: never their
// number): a retried webhook queues the same jobs, which are then stored
// once.
func ReplyID(learnerKey, msgID string, i int) string {
	return ReplyIDPrefix + learnerKey + "-" + msgID + "-" + strconv.Itoa(i)
}

// ReplyRetention is how long a store keeps a reply (Kind Reply) after it
// ended: replies are the conversation's, kept against Twilio's retries of
// the webhook (7 days at most), not for coaches.
const ReplyRetention = 3 * 24 * time.Hour

// RetentionEnd is the time from which a store counts the retention of j,
// which ended at end, under a job retention of keep: end itself, or for a
// reply, as much earlier as makes it go after ReplyRetention.
func RetentionEnd(j *Job, end time.Time, keep time.Duration) time.Time {
	if (j.Kind == Reply || strings.HasPrefix(j.ID, ReplyIDPrefix)) && keep > ReplyRetention {
		return end.Add(-(keep - ReplyRetention))
	}
	return end
}

// Outbox keeps jobs durably. The Redis store and the embedded store
// implement it; both pass the conformance suite in package
// bot/store/storetest. A job that ended (Delivered, Failed, Cancelled) is
// kept for the store's job retention (DefaultJobRetention), then removed
// with every trace of it.
type Outbox interface {
	// Enqueue stores, as Queued, the jobs whose ID is not stored yet, and
	// returns how many. A job whose ID is stored is left as it is: an ID
	// names what the job is for (this reminder to this learner, the nudge
	// of this silence), so a job queued twice is one job.
	Enqueue(ctx context.Context, jobs ...Job) (int, error)

	// Claim takes up to max jobs that are due at now: Queued jobs whose
	// DueAt has passed, and Claimed jobs whose lease has run out (their
	// replica died). Each claimed job gets Status Claimed, Worker, a
	// LeaseUntil of now+lease and Attempts+1; ClaimedAt is set on the first
	// claim only. A job is never claimed by two callers at once.
	Claim(ctx context.Context, worker string, now time.Time, lease time.Duration, max int) ([]Job, error)

	// Settle saves what the worker did with a job it claimed: sent (SID),
	// failed (Reason) or back to Queued with a later DueAt (quiet hours,
	// throttling). It fails with kind Conflict, and saves nothing, when the
	// job is no longer claimed by j.Worker (its lease ran out and another
	// replica took it).
	Settle(ctx context.Context, j Job) error

	// Delivered records the delivery status Twilio reported for a sent
	// job (from the status callback carrying the job ID).
	Delivered(ctx context.Context, id string, status bot.DeliveryStatus, errorCode int) error

	// Job returns one job, or an error of kind NotFound.
	Job(ctx context.Context, id string) (Job, error)

	// Jobs lists a page of jobs, newest due first, and returns the cursor
	// of the next page ("" after the last one).
	Jobs(ctx context.Context, f Filter) ([]Job, string, error)

	// Counts returns how many jobs of a cohort ("" for every job) are in
	// each status.
	Counts(ctx context.Context, cohort string) (map[Status]int, error)

	// Cancel cancels a job no send of which may have reached Twilio: a
	// Queued job, or a Claimed one whose worker has not passed BeginSend
	// (that worker's BeginSend and Settle then fail with Conflict, so it
	// sends nothing). Cancelling a Cancelled job does nothing. It fails
	// with kind Conflict, and changes nothing, for a job a send of which
	// may have gone out (Sending set, or Sent and after), for a claimed
	// Reply (replies are the conversation's), and for a Failed job; with
	// NotFound when there is no such job. Cancel and BeginSend are
	// atomic against each other: either the cancel wins and nothing is
	// sent, or the send wins and the job ends Sent (then Delivered or
	// Failed, as Twilio reports).
	Cancel(ctx context.Context, id string) error

	// BeginSend is the fence a worker passes just before it hands a job
	// it claimed to Twilio: it sets the job's Sending (to now, unless an
	// earlier claim set it) if the job is still Claimed by worker, and
	// fails with kind Conflict otherwise (cancelled, or taken over by
	// another replica), changing nothing; NotFound when there is no such
	// job. It returns the Sending time stored.
	BeginSend(ctx context.Context, id, worker string, now time.Time) (time.Time, error)

	// ClaimJob claims the job id as Claim would if it were the only one
	// due (Queued and due at now, or Claimed with its lease run out), and
	// returns it with true; otherwise it returns the job as it stands
	// with false. Errors: NotFound when there is no such job, and
	// Claim's.
	ClaimJob(ctx context.Context, worker, id string, now time.Time, lease time.Duration) (Job, bool, error)

	// EnqueueClaimed is Enqueue then ClaimJob of each job, in one write:
	// a job whose ID is not stored yet is stored claimed by worker until
	// now+lease (Attempts 1, ClaimedAt now); a stored one is claimed when
	// ClaimJob would claim it, and otherwise left as it stands. It returns
	// each job as it stands after the call, in the order given, and
	// whether the call claimed it. The replica that took a webhook queues
	// a turn's replies with it and sends them at once; should it die,
	// another replica's runner takes them over when the lease runs out,
	// as any claim. Errors: Enqueue's and Claim's; nothing is written
	// then.
	EnqueueClaimed(ctx context.Context, worker string, now time.Time, lease time.Duration, jobs ...Job) ([]Job, []bool, error)

	// SettleAll settles each job as Settle does and records each
	// delivery given with one as Deliveries.AdvanceDelivery does, in one
	// write (the replies of a turn, after the last one went). It returns
	// one error per settlement, nil for those saved: Settle's, or what
	// kept the write from being made at all.
	SettleAll(ctx context.Context, s ...Settlement) []error
}

// Settlement is a job to settle (see Outbox.Settle) with, when its send
// got a Twilio message, the record of which job sent it (see Deliveries).
type Settlement struct {
	Job      Job
	Delivery *bot.Delivery
}

// CheckDelivery reports what SettleAll refuses in a delivery record: one
// without a SID.
func (s *Settlement) CheckDelivery() error {
	if s.Delivery != nil && s.Delivery.SID == "" {
		return fmt.Errorf("job %s: a delivery without a message sid", s.Job.ID)
	}
	return nil
}

// Check reports what Enqueue refuses in a job: no ID, no learner, no due
// time.
func (j *Job) Check() error {
	switch {
	case j.ID == "":
		return errors.New("job without an id")
	case j.Learner == "":
		return fmt.Errorf("job %s without a learner", j.ID)
	case j.DueAt.IsZero():
		return fmt.Errorf("job %s without a due time", j.ID)
	}
	return nil
}

// CheckClaim reports what every Outbox's Claim refuses, under op: an empty
// worker or a lease that is not positive (kind Invalid), a context that has
// ended (kind Unavailable).
func CheckClaim(ctx context.Context, op, worker string, lease time.Duration) error {
	if worker == "" || lease <= 0 {
		return bot.Errorf(op, bot.Invalid, "claim needs a worker and a lease (got %q, %v)", worker, lease)
	}
	if err := ctx.Err(); err != nil {
		return bot.E(op, bot.Unavailable, err)
	}
	return nil
}

// CheckSettle reports what Settle refuses: what Enqueue refuses, an
// unknown status, a claim without a lease.
func (j *Job) CheckSettle() error {
	if err := j.Check(); err != nil {
		return err
	}
	switch j.Status {
	case Queued, Sent, Delivered, Failed, Cancelled:
	case Claimed:
		if j.LeaseUntil.IsZero() {
			return fmt.Errorf("job %s settled as claimed without a lease", j.ID)
		}
	default:
		return fmt.Errorf("job %s settled with status %q", j.ID, j.Status)
	}
	return nil
}

// Outcome is what a sent job becomes when Twilio reports status for its
// message: Delivered on delivered or read, Failed on failed, undelivered or
// canceled with the error code as reason (the status without one), still
// Sent otherwise. Every Outbox applies it.
func Outcome(status bot.DeliveryStatus, code int) (Status, string) {
	switch status {
	case bot.StatusDelivered, bot.StatusRead:
		return Delivered, ""
	case bot.StatusFailed, bot.StatusUndelivered, bot.StatusCanceled:
		if code != 0 {
			return Failed, strconv.Itoa(code)
		}
		return Failed, string(status)
	}
	return Sent, ""
}
