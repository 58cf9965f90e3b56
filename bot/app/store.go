package app

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"time"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/cohort"
	"github.com/darsi-ma/darsi/bot/schedule"
)

// Store keeps learners and the messages already applied to them. The
// embedded store (boltstore) and the Redis store (redisstore) implement it,
// and both pass the conformance suite in package storetest.
type Store interface {
	// Update applies fn to the current state of learner id and saves the
	// result atomically together with msgID and the replies fn returned.
	//
	// fn receives a copy of the stored learner, or a zero Learner whose ID
	// is id when there is none. It may be called more than once when a
	// concurrent update wins (optimistic stores retry), so it must not have
	// side effects. The store sets Version to the stored version plus one.
	//
	// If msgID is not empty and was already applied to this learner,
	// nothing changes and the result carries the replies of the first time
	// with Duplicate set. fn may still have been called (a store that
	// remembers the learner's state learns of the duplicate only when it
	// writes); what it returned is then thrown away. If fn returns an error nothing is
	// written and the error is returned as is. If the change says Erase, the
	// learner's record is deleted (msgID is still recorded).
	//
	// In the same atomic write, the store keeps the learner's indexes in
	// step with the record: the learner's cohort's members and counters
	// (see Members and Counters), and the due index at Outreach.At (see
	// DueIndex; a zero At takes the learner out). An erased learner leaves
	// every index.
	//
	// Errors: Unavailable when the store cannot be reached, Conflict when
	// concurrent updates kept winning after several retries.
	Update(ctx context.Context, id, msgID string, fn func(l *bot.Learner) (Change, error)) (Result, error)

	// Get returns the learner, or an error of kind NotFound.
	Get(ctx context.Context, id string) (bot.Learner, error)

	// Learners calls fn for every learner, in no particular order, until fn
	// returns an error, which Learners then returns.
	Learners(ctx context.Context, fn func(bot.Learner) error) error

	// Ping reports whether the store answers.
	Ping(ctx context.Context) error

	Close() error
}

// Change is what an update function decided.
type Change struct {
	Replies []bot.Reply
	// Erase deletes the learner's record (the learner asked for it).
	Erase bool
}

// Result is what an update produced.
type Result struct {
	Replies []bot.Reply
	// Duplicate is set when the message had already been applied; Replies
	// are then those of the first time.
	Duplicate bool
}

// Members is what a store knows of each cohort's members, kept by Update
// in the same write as the learners' changes, so that a cohort's page
// costs the size of the cohort, not of the store.
type Members interface {
	// Members returns up to limit members of the cohort (its code in any
	// case), ordered by learner ID, those after the ID cursor ("" from the
	// first), and the cursor of the next page ("" after the last one).
	// limit 0 or less means 100.
	Members(ctx context.Context, code, cursor string, limit int) ([]bot.Learner, string, error)

	// CohortCounts returns the sum of Counters over the cohort's members
	// (its code in any case); none for a cohort without members.
	CohortCounts(ctx context.Context, code string) (Counts, error)
}

// Counts are named counters of a cohort: see Counters.
type Counts map[string]int64

// The counters of a cohort.
const (
	CountMembers   = "members"   // learners in the cohort
	CountOptedOut  = "opted_out" // of them, those who opted out
	CountConsented = "consented" // of them, those who agreed to the data terms
	// CountDone + a lesson's ID: members who completed the lesson.
	CountDone = "done:"
	// CountAnswer + an indicator's key + "=" + a value: members whose
	// answer to the self-reported indicator is the value.
	CountAnswer = "answer:"
	// CountFollowup + an indicator's key + "=" + a value: members whose
	// answer to the indicator's follow-up survey is the value.
	CountFollowup = "followup:"
)

// Counters are what one learner adds to their cohort's Counts; nil for a
// learner without a cohort. Every store derives its counters from this one
// definition: a change of the learner moves their cohort's counts by
// Counters(after) minus Counters(before).
func Counters(l *bot.Learner) Counts {
	if l == nil || l.Cohort == "" {
		return nil
	}
	c := Counts{CountMembers: 1}
	if l.OptedOut {
		c[CountOptedOut] = 1
	}
	if l.Consent {
		c[CountConsented] = 1
	}
	for _, done := range l.Completed {
		c[CountDone+done.Lesson] = 1
	}
	for k, v := range l.Indicators {
		c[CountAnswer+k+"="+v] = 1
	}
	for _, f := range l.Followups {
		c[CountFollowup+f.Survey+"="+f.Value] = 1
	}
	return c
}

// CohortKey is how stores compare cohort codes: codes are
// case-insensitive.
func CohortKey(code string) string { return strings.ToUpper(code) }

// CountDelta is one counter of a cohort moving by Delta.
type CountDelta struct {
	Cohort string // CohortKey of the code
	Name   string
	Delta  int64
}

// CountDeltas returns how a learner's change from before to after moves
// the counters of their cohorts (before's and after's, when they differ),
// in a stable order; none when nothing moves. before or after may be nil
// (a new learner, an erased one).
func CountDeltas(before, after *bot.Learner) []CountDelta {
	type key struct{ cohort, name string }
	m := map[key]int64{}
	for _, side := range []struct {
		l    *bot.Learner
		sign int64
	}{{before, -1}, {after, 1}} {
		for name, n := range Counters(side.l) {
			m[key{CohortKey(side.l.Cohort), name}] += side.sign * n
		}
	}
	var out []CountDelta
	for k, d := range m {
		if d != 0 {
			out = append(out, CountDelta{Cohort: k.cohort, Name: k.name, Delta: d})
		}
	}
	slices.SortFunc(out, func(a, b CountDelta) int {
		return cmp.Or(cmp.Compare(a.Cohort, b.Cohort), cmp.Compare(a.Name, b.Name))
	})
	return out
}

// DueIndex finds the learners whose outreach is due: the store keeps each
// learner with a non-zero Outreach.At in it, by that time (see Update).
type DueIndex interface {
	// TakeDue returns up to max learners whose Outreach.At is at or
	// before now, and hides each from other callers until now+lease: the
	// caller is to update them (Update moves them in the index, or takes
	// them out). A learner taken again after the lease was not updated.
	// Entries of learners the store no longer has are dropped.
	TakeDue(ctx context.Context, now time.Time, lease time.Duration, max int) ([]string, error)
}

// Deliveries keeps the status of messages sent over Twilio's REST API.
// Both stores implement it; the conformance suite checks it.
type Deliveries interface {
	// AdvanceDelivery records d if its status is a move forward from the
	// stored one (or nothing is stored for d.SID yet), and reports whether
	// it did. A JobID left empty keeps the stored one. The recipient (To)
	// is never kept: a delivery names its job, not a phone number, and an
	// erased learner's jobs take their deliveries with them.
	AdvanceDelivery(ctx context.Context, d bot.Delivery) (bool, error)

	// Delivery returns what is stored for a MessageSid, or an error of
	// kind NotFound.
	Delivery(ctx context.Context, sid string) (bot.Delivery, error)
}

// Aliases finds the learner a WhatsApp business-scoped user id (BSUID)
// stands for: a learner known by their number whose record holds the
// BSUID address in Learner.BSUID (learnt from a message that carried both).
// Update keeps the pair in the same atomic write as the record, under a
// keyed hash of the BSUID (app.Keys), never under the number: a learner
// whose BSUID changes leaves the old one, and an erased learner leaves only
// the keyed hash of their own key, for as long as their message ids are
// kept against replays. A BSUID belongs to one number (WhatsApp gives a
// new number a new BSUID); should two learners hold the same, which one it
// reaches is not defined.
type Aliases interface {
	// Alias returns the id of the learner whose Learner.BSUID is bsuid
	// (an address, "whatsapp:MA.…"), or an error of kind NotFound. When
	// the learner who held it was erased, within the retention of their
	// message ids, and msgID is one of the messages applied to them, it
	// returns replay set, and no id: a replay of their request, which must
	// bring no one back. It is meant for a BSUID that has no learner of its
	// own, and costs the Redis store one round trip (two for a replay).
	Alias(ctx context.Context, bsuid, msgID string) (id string, replay bool, err error)
}

// Backend is everything one of Darsi's stores keeps: learners with their
// cohort and due indexes, delivery statuses, cohorts with coaches and
// sessions and the audit log, the outbox and the send-rate limiter every replica shares. The embedded store and the Redis store
// both implement all of it (their conformance suites check each part), so
// that the command wires one store into every adapter without asking what
// it can do.
type Backend interface {
	Store
	KeyHolder
	Aliases
	Members
	DueIndex
	Deliveries
	cohort.Store
	cohort.AuditLog
	Inbox
	schedule.Outbox
	schedule.Limiter
	Contents
}

// Content is the interactive WhatsApp content of a choice (see bot.Choice)
// as Twilio's Content API made it: the hash of what it says, and its SID.
type Content struct {
	Hash string `json:"hash"`
	SID  string `json:"sid"`
}

// Contents keeps the content of each choice's slot (its question and
// language, such as "costing-1/q1|fr"), so that every replica sends the
// same one. A slot holds one content: an edited text's new content
// replaces the old one, so the store holds at most one per question and
// language.
type Contents interface {
	// Content returns the slot's content, or an error of kind NotFound.
	Content(ctx context.Context, slot string) (Content, error)
	// PutContent records the slot's content, replacing any other.
	PutContent(ctx context.Context, slot string, c Content) error
}
