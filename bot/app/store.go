package app

import (
	"context"

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

// Deliveries keeps the status of messages sent over Twilio's REST API.
// Both stores implement it; the conformance suite checks it.
type Deliveries interface {
	// AdvanceDelivery records d if its status is a move forward from the
	// stored one (or nothing is stored for d.SID yet), and reports whether
	// it did. Fields of d left empty (To, JobID) keep their stored values.
	AdvanceDelivery(ctx context.Context, d bot.Delivery) (bool, error)

	// Delivery returns what is stored for a MessageSid, or an error of
	// kind NotFound.
	Delivery(ctx context.Context, sid string) (bot.Delivery, error)
}

// Backend is everything one of Darsi's stores keeps: learners, delivery
// statuses, cohorts with coaches and sessions, the outbox and the send-rate
// limiter every replica shares. The embedded store and the Redis store
// both implement all of it (their conformance suites check each part), so
// that the command wires one store into every adapter without asking what
// it can do.
type Backend interface {
	Store
	Deliveries
	cohort.Store
	schedule.Outbox
	schedule.Limiter
}
