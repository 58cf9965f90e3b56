package app

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/cohort"
	"github.com/darsi-ma/darsi/bot/schedule"
)

// Moving a store. Both stores write what they keep as typed records, a
// batch at a time (Dumper), and read such records back with every index
// the records imply (Loader): the format is the product's own, not either
// store's keys, so a move goes either way. Move copies one store into
// another, kind after kind, and records its progress in the target after
// each batch, so that a move that was interrupted continues where it
// stopped and ends as one that was not.
//
// What a move carries: the store's secret (the key of learners' keyed
// hashes, so that learners' keys, job ids and message records stay
// valid), cohorts, coaches' accounts (password hashes and API token
// hashes), learners (with their BSUID pairs, indicators, follow-ups,
// variables and their cohort's members and counters, which the target
// rebuilds), the message ids still in their retention (with the replies of
// each, and their expiry), the tombstones erased learners leave against
// replays, the outbox's jobs (status, due time, lease, delivery, end;
// the target rebuilds their listings and counts), delivery statuses, the
// audit log, the WhatsApp contents' mapping, and the inbox's threads.
// Dashboard sessions are not carried: coaches log in again.

// The kinds of records, in the order Move copies them.
const (
	KindSecret     = "secret"
	KindCohorts    = "cohorts"
	KindCoaches    = "coaches"
	KindLearners   = "learners"
	KindMessages   = "messages"
	KindTombstones = "tombstones"
	KindJobs       = "jobs"
	KindDeliveries = "deliveries"
	KindAudit      = "audit"
	KindContents   = "contents"
	KindInbox      = "inbox"
)

// MoveKinds are the kinds Move copies, in order: the secret before
// anything named by it, learners before their messages and jobs.
var MoveKinds = []string{KindSecret, KindCohorts, KindCoaches, KindLearners, KindMessages, KindTombstones,
	KindJobs, KindDeliveries, KindAudit, KindContents, KindInbox}

// Record is one thing a store keeps, in the product's terms. Kind says
// which field is set; Key orders the records of a kind in a dump and is
// the cursor a dump resumes after.
type Record struct {
	Kind string
	Key  string

	Secret    []byte
	Cohort    *cohort.Cohort
	Coach     *cohort.Coach
	Learner   *bot.Learner
	Message   *MessageRecord
	Tombstone *Tombstone
	Job       *JobRecord
	Delivery  *bot.Delivery
	Audit     *cohort.AuditEntry
	Content   *ContentRecord
	Thread    *ThreadRecord
}

// MessageRecord is a message id applied to a learner, as kept against
// Twilio's retries and replays: names are keyed hashes (Keys), never a
// number.
type MessageRecord struct {
	// LearnerKey is Keys.Learner of the learner; Hash is Keys.Message of
	// the message id.
	LearnerKey, Hash string
	// Learner is the learner's id when the store has the learner; "" for
	// an erased learner, whose records stay, empty, until they expire.
	Learner string
	// Expires is when the record is forgotten.
	Expires time.Time
	// Replies are what the message got the first time.
	Replies []bot.Reply
}

// Tombstone is what an erased learner with a BSUID leaves: the keyed hash
// of the BSUID names the learner's key, until Expires.
type Tombstone struct {
	BSUIDKey, LearnerKey string
	Expires              time.Time
}

// JobRecord is a job of the outbox with what the store keeps beside it:
// the furthest delivery status Twilio reported, and when the job ended.
type JobRecord struct {
	schedule.Job
	Delivery  bot.DeliveryStatus
	ErrorCode int
	EndedAt   time.Time
}

// ContentRecord is the interactive content of a slot (Contents).
type ContentRecord struct {
	Slot string
	Content
}

// ThreadRecord is a thread of the inbox with its learner's id, which
// Thread leaves out of its JSON.
type ThreadRecord struct {
	Thread
	Learner string
}

// Dumper writes what a store keeps as records.
type Dumper interface {
	// Dump calls fn with the records of kind whose Key comes after
	// after ("" from the first), in Key order, at most batch at a time
	// (batch 0 or less: 500), until there are no more or fn returns an
	// error, which Dump returns. The store must not be written meanwhile.
	Dump(ctx context.Context, kind, after string, batch int, fn func([]Record) error) error
	// Fingerprint names the store's content for a move: two stores
	// with the same secret give the same. It holds nothing secret.
	Fingerprint(ctx context.Context) (string, error)
}

// Loader writes records into a store, with every index they imply.
type Loader interface {
	// Load writes records of kind, then the checkpoint cp (kind "" and
	// no records: only the checkpoint). Loading a
	// record the store holds already changes nothing: a move interrupted
	// after a batch was written and before its checkpoint was saved loads
	// the batch again to the same result.
	Load(ctx context.Context, kind string, recs []Record, cp MoveCheckpoint) error
	// MoveCheckpoint returns the checkpoint a move saved, or nil.
	MoveCheckpoint(ctx context.Context) (*MoveCheckpoint, error)
	// Holds reports what the store holds (a kind with a record, and how
	// many of its learners), to refuse a target that is not empty.
	Holds(ctx context.Context) (kind string, err error)
}

// MoveCheckpoint is how far a move has gone, kept in the target.
type MoveCheckpoint struct {
	// Source is the Dumper's Fingerprint and MoveOptions.Source: a move
	// continues only from the same source.
	Source string `json:"source"`
	// Kind is the kind being copied, After the Key of its last record
	// copied; Done once every kind is.
	Kind  string `json:"kind"`
	After string `json:"after"`
	Done  bool   `json:"done"`
	// Counts are the records copied, by kind.
	Counts  map[string]int `json:"counts"`
	Started time.Time      `json:"started"`
	Updated time.Time      `json:"updated"`
}

// MoveOptions tunes Move.
type MoveOptions struct {
	// Batch is how many records go in one batch. Default 500.
	Batch int
	// Progress, when set, is told after each batch.
	Progress func(cp MoveCheckpoint)
	// Now tells the checkpoint's times. Default time.Now.
	Now func() time.Time
	// Source names the source (its file, its URL without password): a
	// move continues only from the same name and the same Fingerprint.
	Source string
	// StopAfter, when set, ends the move once that kind is copied, its
	// checkpoint naming the next kind: a caller that must reopen the
	// target after its secret is copied stops after KindSecret.
	StopAfter string
}

// Move copies src into dst, kind after kind (MoveKinds), continuing from
// the checkpoint dst holds when it is this source's. It refuses a target
// that holds anything without such a checkpoint. It returns the final
// checkpoint: counts by kind. A cancelled context stops it between
// batches; running it again continues.
func Move(ctx context.Context, src Dumper, dst Loader, o MoveOptions) (MoveCheckpoint, error) {
	if o.Batch <= 0 {
		o.Batch = 500
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	fp, err := src.Fingerprint(ctx)
	if err != nil {
		return MoveCheckpoint{}, fmt.Errorf("the source: %w", err)
	}
	if o.Source != "" {
		fp += " " + o.Source
	}
	prev, err := dst.MoveCheckpoint(ctx)
	if err != nil {
		return MoveCheckpoint{}, fmt.Errorf("the target's checkpoint: %w", err)
	}
	var cp MoveCheckpoint
	switch {
	case prev != nil && prev.Source == fp:
		cp = *prev
		if cp.Counts == nil {
			cp.Counts = map[string]int{}
		}
		if cp.Done {
			return cp, nil
		}
	case prev != nil:
		return MoveCheckpoint{}, bot.Errorf("app.Move", bot.Conflict, "the target holds another move's data (from another store): give an empty target")
	default:
		if kind, err := dst.Holds(ctx); err != nil {
			return MoveCheckpoint{}, fmt.Errorf("the target: %w", err)
		} else if kind != "" {
			return MoveCheckpoint{}, bot.Errorf("app.Move", bot.Conflict, "the target is not empty (it holds %s): give an empty target", kind)
		}
		cp = MoveCheckpoint{Source: fp, Kind: MoveKinds[0], Counts: map[string]int{}, Started: o.Now()}
	}
	start := 0
	for i, k := range MoveKinds {
		if k == cp.Kind {
			start = i
		}
	}
	for _, kind := range MoveKinds[start:] {
		after := ""
		if kind == cp.Kind {
			after = cp.After
		} else {
			cp.Kind, cp.After = kind, ""
		}
		err := src.Dump(ctx, kind, after, o.Batch, func(recs []Record) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			next := cp
			next.Counts = copyCounts(cp.Counts)
			next.After = recs[len(recs)-1].Key
			next.Counts[kind] += len(recs)
			next.Updated = o.Now()
			if err := dst.Load(ctx, kind, recs, next); err != nil {
				return fmt.Errorf("load %s: %w", kind, err)
			}
			cp = next
			if o.Progress != nil {
				o.Progress(cp)
			}
			return nil
		})
		if err != nil {
			return cp, err
		}
		if kind == o.StopAfter {
			if i := slices.Index(MoveKinds, kind); i+1 < len(MoveKinds) {
				cp.Kind, cp.After, cp.Updated = MoveKinds[i+1], "", o.Now()
				return cp, dst.Load(ctx, "", nil, cp)
			}
		}
	}
	cp.Kind, cp.After, cp.Done, cp.Updated = "", "", true, o.Now()
	if err := dst.Load(ctx, "", nil, cp); err != nil {
		return cp, err
	}
	return cp, nil
}

func copyCounts(m map[string]int) map[string]int {
	out := make(map[string]int, len(m)+1)
	for k, v := range m {
		out[k] = v
	}
	return out
}
