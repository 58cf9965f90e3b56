// Package boltstore is Darsi's embedded store: one bbolt file that keeps
// everything app.Backend names (the learners and the message ids already
// applied to them, the learners' indexes: each cohort's members and
// counters and the due index, the delivery statuses of the messages sent,
// cohorts with coaches and sessions, and the outbox with its counts), so
// that a pilot runs as a single binary with no other service. Only one
// process opens the file, so the send-rate limiter lives in memory.
//
// Every Update is one bbolt write transaction. bbolt lets one writer in at a
// time, so updates are serialised and fn is called exactly once; the new
// state, the applied message id and the learner's indexes commit together
// or not at all.
//
// What ages is removed in the background, by the update that finds the
// last purge over an hour old, and when the file is opened: applied
// message ids after Options.Retention, delivery statuses after
// Options.DeliveryRetention, jobs that ended after Options.JobRetention.
package boltstore

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/app"
	"github.com/darsi-ma/darsi/bot/schedule"
	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

var (
	_ app.Store      = (*Store)(nil)
	_ app.Deliveries = (*Store)(nil)
	_ app.Backend    = (*Store)(nil) // and so everything else the stores keep
)

// Defaults for Options.
const (
	DefaultRetention = 7 * 24 * time.Hour
	// DefaultDeliveryRetention is how long a delivery status is kept after
	// its last change: it holds a phone number, and outlives any callback.
	DefaultDeliveryRetention = 30 * 24 * time.Hour
	DefaultLockTimeout       = time.Second
)

// purgeEvery bounds how often Update looks for expired message ids.
const purgeEvery = time.Hour

// purgeBatch bounds the entries one purge transaction deletes, so that a
// large backlog never holds the writer lock for long.
const purgeBatch = 1000

// Buckets.
var (
	// learnersBucket maps a learner id to the learner as JSON.
	learnersBucket = []byte("learners")
	// appliedBucket maps msgKey(learner id, message id) to an applied record
	// as JSON.
	appliedBucket = []byte("applied")
	// appliedByTimeBucket orders the applied records by time, so that a purge
	// reads only what has expired: its keys are the record's time (8 bytes,
	// big-endian Unix nanoseconds) followed by the record's key; values are
	// empty.
	appliedByTimeBucket = []byte("applied_by_time")
	// deliveriesBucket maps a MessageSid to a bot.Delivery as JSON.
	deliveriesBucket = []byte("deliveries")
)

// Options tunes a Store. The zero value is ready to use.
type Options struct {
	// Retention is how long an applied message id is remembered. Twilio
	// retries a webhook within hours, so days are plenty. Default
	// DefaultRetention.
	Retention time.Duration
	// LockTimeout is how long Open waits for another process to release
	// the file. Default DefaultLockTimeout.
	LockTimeout time.Duration
	// DeliveryRetention is how long a delivery status is kept after its
	// last change. Default DefaultDeliveryRetention.
	DeliveryRetention time.Duration
	// JobRetention is how long a job is kept after it ended (delivered,
	// failed or cancelled). Default schedule.DefaultJobRetention.
	JobRetention time.Duration
	// AuditRetention is how long an audit entry is kept. Default
	// cohort.DefaultAuditRetention.
	AuditRetention time.Duration
	// InboxRetention is how long a thread of the inbox is kept after its
	// last message. Default app.DefaultInboxRetention.
	InboxRetention time.Duration
	// Now tells the time of applied records, of jobs' ends and of purges.
	// Default time.Now.
	Now func() time.Time
	// Secret keys the hashes that stand for learners (app.Keys): the names
	// of message records, what an erased learner leaves against replays,
	// the keys of job ids. Empty: the store's own, made at its first use
	// and kept in the file.
	Secret []byte
	// CompactAfter is how long after an erase the file is rewritten, so
	// that nothing of the erased learner stays in its free pages (bbolt
	// keeps deleted values there until they are reused). Default
	// DefaultCompactAfter; the store checks hourly, so it is done within
	// an hour of it.
	CompactAfter time.Duration
}

// DefaultCompactAfter is Options.CompactAfter's default: erased learners
// leave the file within a few hours, well within a day.
const DefaultCompactAfter = 2 * time.Hour

// Store is an app.Store in a bbolt file. It is safe for concurrent use.
type Store struct {
	// rw guards db: every transaction holds it shared, and compaction,
	// which swaps the file, alone.
	rw        sync.RWMutex
	db        *bolt.DB
	path      string
	keys      app.Keys
	lockWait  time.Duration
	compactIn time.Duration
	retention time.Duration
	// deliveryRetention is Options.DeliveryRetention.
	deliveryRetention time.Duration
	// jobRetention is Options.JobRetention.
	jobRetention time.Duration
	now          func() time.Time
	// pagesize is how many learners Learners reads per read transaction.
	pagesize int

	mu        sync.Mutex
	lastPurge time.Time // guarded by mu
	purging   bool      // guarded by mu

	stop    chan struct{} // closed by Close: the hourly upkeep ends
	stopped chan struct{}

	// limiter is Allow's: in memory, since only this process sends
	// through the file.
	limiter schedule.LocalLimiter

	// auditRetention is Options.AuditRetention.
	auditRetention time.Duration
	// inboxRetention is Options.InboxRetention.
	inboxRetention time.Duration
}

// errDuplicate ends the transaction of an Update whose message was already
// applied; it never leaves the package.
var errDuplicate = errors.New("message already applied")

// applied is the record of a message already applied to a learner.
type applied struct {
	At      time.Time   `json:"at"`
	Replies []bot.Reply `json:"replies,omitempty"`
}

// Open opens the store in the file at path, creating the file and its parent
// directories if needed, and removes expired message ids.
//
// Only one process may have the file open. When another one holds it, Open
// gives up after o.LockTimeout with an error of kind Unavailable rather than
// waiting forever. Other errors are of kind Invalid (no path) or Internal.
func Open(path string, o Options) (*Store, error) {
	const op = "boltstore.Open"
	if path == "" {
		return nil, bot.Errorf(op, bot.Invalid, "no path given")
	}
	if o.Retention <= 0 {
		o.Retention = DefaultRetention
	}
	if o.DeliveryRetention <= 0 {
		o.DeliveryRetention = DefaultDeliveryRetention
	}
	if o.JobRetention <= 0 {
		o.JobRetention = schedule.DefaultJobRetention
	}
	if o.LockTimeout <= 0 {
		o.LockTimeout = DefaultLockTimeout
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	// The file holds personal data: only its owner may read it.
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, bot.E(op, bot.Internal, err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: o.LockTimeout})
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, bot.Errorf(op, bot.Unavailable, "store file %s is in use by another darsi process (waited %v): %w", path, o.LockTimeout, err)
	}
	if err != nil {
		return nil, bot.Errorf(op, bot.Internal, "open %s: %w", path, err)
	}
	secret := o.Secret
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{learnersBucket, appliedBucket, appliedByTimeBucket, deliveriesBucket,
			membersBucket, cohortCountsBucket, dueBucket, dueAtBucket, metaBucket, learnerJobsBucket, aliasesBucket} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		if len(secret) == 0 {
			meta := tx.Bucket(metaBucket)
			if secret = bytes.Clone(meta.Get(metaSecret)); len(secret) == 0 {
				secret = make([]byte, 32)
				rand.Read(secret)
				if err := meta.Put(metaSecret, secret); err != nil {
					return err
				}
			}
		}
		return buildIndexes(tx, o.Now(), app.NewKeys(secret))
	})
	if err != nil {
		db.Close()
		return nil, bot.Errorf(op, bot.Internal, "prepare %s: %w", path, err)
	}
	if o.CompactAfter <= 0 {
		o.CompactAfter = DefaultCompactAfter
	}
	s := &Store{db: db, path: path, keys: app.NewKeys(secret), lockWait: o.LockTimeout, compactIn: o.CompactAfter,
		retention: o.Retention, deliveryRetention: o.DeliveryRetention, jobRetention: o.JobRetention,
		auditRetention: o.AuditRetention, inboxRetention: o.InboxRetention, now: o.Now, pagesize: 256, stop: make(chan struct{}), stopped: make(chan struct{})}
	s.lastPurge = s.now()
	purgeJobs := func() (int, error) { return s.purgeJobs(s.now()) }
	for _, purge := range []func() (int, error){s.purge, s.purgeDeliveries, purgeJobs} {
		if _, err := purge(); err != nil {
			db.Close()
			return nil, bot.E(op, bot.KindOf(err), err)
		}
	}
	// An erase of an earlier run whose compaction is due: now, before
	// anything reads the file.
	if err := s.compactIfDue(s.compactIn); err != nil {
		db.Close()
		return nil, bot.E(op, bot.KindOf(err), err)
	}
	go s.upkeep()
	return s, nil
}

// Update implements app.Store. fn runs inside the write transaction, so it
// should be quick: no other update proceeds meanwhile, and fn must not use
// the store itself, which would wait for its own lock. A cancelled context
// is noticed before fn runs, never after. The learner's indexes move in
// the same transaction, by the keys that change only. Errors: Invalid for an empty id,
// Unavailable for a closed store or a cancelled context, Internal for a
// record that does not decode or a failed write; fn's own error as is.
func (s *Store) Update(ctx context.Context, id, msgID string, fn func(l *bot.Learner) (app.Change, error)) (app.Result, error) {
	const op = "boltstore.Update"
	if id == "" {
		return app.Result{}, bot.Errorf(op, bot.Invalid, "empty learner id")
	}
	if err := ctx.Err(); err != nil {
		return app.Result{}, bot.E(op, bot.Unavailable, err)
	}
	var (
		res   app.Result
		fnErr error
	)
	err := s.update(func(tx *bolt.Tx) error {
		// Checked again: waiting for the writer lock may have taken long.
		if err := ctx.Err(); err != nil {
			return bot.E(op, bot.Unavailable, err)
		}
		// Message records are named by keyed hashes (app.Keys), never by
		// the number; an erased learner's stay, emptied, for the retention,
		// so that their replays are recognised and bring no one back.
		lk := s.keys.Learner(id)
		var key []byte
		if msgID != "" {
			key = msgKey(lk, s.keys.Message(lk, msgID))
			if v := tx.Bucket(appliedBucket).Get(key); v != nil {
				var a applied
				if err := json.Unmarshal(v, &a); err != nil {
					return bot.Errorf(op, bot.Internal, "decode applied message: %w", err)
				}
				res = app.Result{Replies: a.Replies, Duplicate: true}
				// Rolled back rather than committed: an empty commit
				// would still cost a sync to disk.
				return errDuplicate
			}
		}

		learners := tx.Bucket(learnersBucket)
		// Decoding afresh gives fn a deep copy: nothing it does to maps or
		// slices reaches the stored bytes unless we write them back. The
		// second copy is what the indexes hold of the learner now.
		l := bot.Learner{ID: id}
		var before *bot.Learner
		if v := learners.Get([]byte(id)); v != nil {
			before = new(bot.Learner)
			for _, dst := range []*bot.Learner{&l, before} {
				if err := json.Unmarshal(v, dst); err != nil {
					return bot.Errorf(op, bot.Internal, "decode learner: %w", err)
				}
			}
		}
		version := l.Version
		ch, err := fn(&l)
		if err != nil {
			fnErr = err
			return err
		}
		after := &l
		if ch.Erase {
			after = nil
		}
		if err := reindex(tx, id, before, after); err != nil {
			return bot.E(op, bot.Internal, err)
		}
		if err := realias(tx, s.keys, id, lk, before, after); err != nil {
			return bot.E(op, bot.Internal, err)
		}

		if ch.Erase {
			if err := learners.Delete([]byte(id)); err != nil {
				return bot.E(op, bot.Internal, err)
			}
			// Replies may repeat what the learner typed: they go, and the
			// records stay empty, against replays.
			if err := emptyApplied(tx, lk); err != nil {
				return bot.E(op, bot.Internal, err)
			}
			// Erased means gone: the jobs addressed to the learner, and
			// the delivery records of what they sent, too.
			b, err := writeBuckets(tx, s.now(), s.keys)
			if err != nil {
				return bot.E(op, bot.Internal, err)
			}
			if err := b.forgetLearner(tx, lk); err != nil {
				return bot.E(op, bot.Internal, err)
			}
			// And their thread with their coach.
			if err := forgetThread(tx, lk); err != nil {
				return bot.E(op, bot.Internal, err)
			}
			if err := markErased(tx, s.now()); err != nil {
				return bot.E(op, bot.Internal, err)
			}
		} else {
			l.ID = id
			l.Version = version + 1
			v, err := json.Marshal(&l)
			if err != nil {
				return bot.Errorf(op, bot.Internal, "encode learner: %w", err)
			}
			if err := learners.Put([]byte(id), v); err != nil {
				return bot.E(op, bot.Internal, err)
			}
		}
		if key != nil {
			a := applied{At: s.now(), Replies: ch.Replies}
			if ch.Erase {
				a.Replies = nil // nothing said to an erased learner is kept
			}
			if err := putApplied(tx, key, a); err != nil {
				return bot.E(op, bot.Internal, err)
			}
		}
		res = app.Result{Replies: ch.Replies}
		return nil
	})
	if fnErr != nil {
		return app.Result{}, fnErr
	}
	if err == errDuplicate {
		return res, nil
	}
	if err != nil {
		return app.Result{}, wrap(op, err)
	}
	s.maybePurge()
	return res, nil
}

// Get implements app.Store. Errors: NotFound, Unavailable for a closed store
// or a cancelled context, Internal for a record that does not decode.
func (s *Store) Get(ctx context.Context, id string) (bot.Learner, error) {
	const op = "boltstore.Get"
	if err := ctx.Err(); err != nil {
		return bot.Learner{}, bot.E(op, bot.Unavailable, err)
	}
	var l bot.Learner
	err := s.view(func(tx *bolt.Tx) error {
		v := tx.Bucket(learnersBucket).Get([]byte(id))
		if v == nil {
			// The id is a phone number: keep it out of error text, which
			// ends up in logs.
			return bot.Errorf(op, bot.NotFound, "no such learner")
		}
		// v lives only as long as the transaction; Unmarshal copies.
		if err := json.Unmarshal(v, &l); err != nil {
			return bot.Errorf(op, bot.Internal, "decode learner: %w", err)
		}
		return nil
	})
	if err != nil {
		return bot.Learner{}, wrap(op, err)
	}
	return l, nil
}

// Learners implements app.Store, in the order of learner ids. It reads the
// learners a page at a time and calls fn outside any transaction, so fn may
// call Update, and a slow fn does not hold up writers. A learner written
// during the walk may or may not be seen; none is seen twice. Errors: fn's
// as is, Unavailable for a closed store or a cancelled context, Internal for
// a record that does not decode.
func (s *Store) Learners(ctx context.Context, fn func(bot.Learner) error) error {
	const op = "boltstore.Learners"
	var after []byte // the last id visited
	for {
		if err := ctx.Err(); err != nil {
			return bot.E(op, bot.Unavailable, err)
		}
		page := make([]bot.Learner, 0, s.pagesize)
		var last []byte
		err := s.view(func(tx *bolt.Tx) error {
			c := tx.Bucket(learnersBucket).Cursor()
			k, v := c.First()
			if after != nil {
				k, v = c.Seek(after)
				if bytes.Equal(k, after) {
					k, v = c.Next()
				}
			}
			for ; k != nil && len(page) < s.pagesize; k, v = c.Next() {
				var l bot.Learner
				if err := json.Unmarshal(v, &l); err != nil {
					return bot.Errorf(op, bot.Internal, "decode learner: %w", err)
				}
				page = append(page, l)
				last = k
			}
			// Copied: keys are only valid inside the transaction.
			last = bytes.Clone(last)
			return nil
		})
		if err != nil {
			return wrap(op, err)
		}
		for _, l := range page {
			if err := fn(l); err != nil {
				return err
			}
		}
		if len(page) < s.pagesize {
			return nil
		}
		after = last
	}
}

// Ping implements app.Store: it fails with Unavailable once the store is
// closed.
func (s *Store) Ping(ctx context.Context) error {
	const op = "boltstore.Ping"
	if err := ctx.Err(); err != nil {
		return bot.E(op, bot.Unavailable, err)
	}
	if err := s.view(func(*bolt.Tx) error { return nil }); err != nil {
		return wrap(op, err)
	}
	return nil
}

// Close ends the store's hourly upkeep, compacts the file if an erase
// marked it (a command that erased a learner leaves nothing of them
// behind), and closes the file, waiting for transactions under way to
// finish.
func (s *Store) Close() error {
	select {
	case <-s.stop:
	default:
		close(s.stop)
		<-s.stopped
	}
	compactErr := s.compactIfDue(0)
	s.rw.Lock()
	defer s.rw.Unlock()
	if err := s.db.Close(); err != nil {
		return bot.E("boltstore.Close", bot.Internal, err)
	}
	return compactErr
}

// view and update run fn in a read or a write transaction, with the file
// held against a compaction's swap.
func (s *Store) view(fn func(*bolt.Tx) error) error {
	s.rw.RLock()
	defer s.rw.RUnlock()
	return s.db.View(fn)
}

func (s *Store) update(fn func(*bolt.Tx) error) error {
	s.rw.RLock()
	defer s.rw.RUnlock()
	return s.db.Update(fn)
}

// Keys implements app.KeyHolder: the keys of Options.Secret, or of the
// store's own secret.
func (s *Store) Keys() app.Keys { return s.keys }

// maybePurge purges when the last purge is older than purgeEvery and no
// other goroutine is purging. It runs after Update has committed: the
// update's caller waits for it, at most once an hour, but no write waits
// behind a long transaction because each batch is its own transaction.
func (s *Store) maybePurge() {
	s.mu.Lock()
	now := s.now()
	if s.purging || now.Sub(s.lastPurge) < purgeEvery {
		s.mu.Unlock()
		return
	}
	s.purging = true
	s.lastPurge = now
	s.mu.Unlock()

	// The update is committed and must not fail for this; the next purge
	// picks up whatever this one left.
	_, _ = s.purge()
	_, _ = s.purgeDeliveries()
	_, _ = s.purgeJobs(now)

	s.mu.Lock()
	s.purging = false
	s.mu.Unlock()
}

// buildIndexes builds, inside Open's transaction, the indexes a file
// written by an older darsi lacks (the learners' and the outbox's), once:
// the meta bucket records what is built. A file written by this darsi and
// then by an older one keeps indexes that the older one did not maintain;
// delete the meta bucket's keys to have them built again.
func buildIndexes(tx *bolt.Tx, now time.Time, keys app.Keys) error {
	meta := tx.Bucket(metaBucket)
	if meta.Get(metaLearnerIndexes) == nil {
		if err := buildLearnerIndexes(tx); err != nil {
			return err
		}
		if err := meta.Put(metaLearnerIndexes, indexVersion); err != nil {
			return err
		}
	}
	if meta.Get(metaOutboxIndexes) == nil {
		if err := buildOutboxIndexes(tx, now, keys); err != nil {
			return err
		}
		if err := meta.Put(metaOutboxIndexes, indexVersion); err != nil {
			return err
		}
	}
	if meta.Get(metaLearnerJobs) == nil {
		if jobs := tx.Bucket(jobsBucket); jobs != nil {
			learnerJobs := tx.Bucket(learnerJobsBucket)
			err := jobs.ForEach(func(k, v []byte) error {
				var r jobRecord
				if err := json.Unmarshal(v, &r); err != nil {
					return fmt.Errorf("decode job %s: %w", k, err)
				}
				return learnerJobs.Put(msgKey(keys.Learner(r.Learner), r.ID), nil)
			})
			if err != nil {
				return err
			}
		}
		if err := meta.Put(metaLearnerJobs, indexVersion); err != nil {
			return err
		}
	}
	return nil
}

// purge deletes the applied records older than the retention, one batch
// per transaction, reading only expired entries of the time index.
func (s *Store) purge() (int, error) {
	const op = "boltstore.Purge"
	cutoff := timeKey(s.now().Add(-s.retention))
	total := 0
	for {
		n := 0
		err := s.update(func(tx *bolt.Tx) error {
			byTime := tx.Bucket(appliedByTimeBucket)
			var expired [][]byte
			c := byTime.Cursor()
			for k, _ := c.First(); k != nil && len(expired) < purgeBatch && bytes.Compare(k[:8], cutoff) < 0; k, _ = c.Next() {
				// Copied: keys are only valid until the next change.
				expired = append(expired, bytes.Clone(k))
			}
			// Deleted after the walk, because deleting under a bbolt cursor
			// can make it skip the next key.
			recs := tx.Bucket(appliedBucket)
			for _, k := range expired {
				if err := recs.Delete(k[8:]); err != nil {
					return err
				}
				if err := byTime.Delete(k); err != nil {
					return err
				}
			}
			n = len(expired)
			return nil
		})
		if err != nil {
			return total, wrap(op, err)
		}
		total += n
		if n < purgeBatch {
			// The tombstones of erased learners' aliases go with the last
			// of their message records.
			if err := s.update(purgeAliases); err != nil {
				return total, wrap(op, err)
			}
			return total, nil
		}
	}
}

func putApplied(tx *bolt.Tx, key []byte, a applied) error {
	v, err := json.Marshal(a)
	if err != nil {
		return err
	}
	if err := tx.Bucket(appliedBucket).Put(key, v); err != nil {
		return err
	}
	return tx.Bucket(appliedByTimeBucket).Put(append(timeKey(a.At), key...), nil)
}

// emptyApplied empties the applied records of the learner whose key is
// lk (their replies may repeat what the learner typed), keeping their
// names, which are keyed hashes, until the retention: a replay of the
// learner's messages is still recognised. Their records are the keys that
// start with msgKey(lk, "").
func emptyApplied(tx *bolt.Tx, lk string) error {
	prefix := msgKey(lk, "")
	recs := tx.Bucket(appliedBucket)
	type entry struct{ key, value []byte }
	var emptied []entry
	c := recs.Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		var a applied
		// A record that does not decode keeps its time unknown: the
		// purge then finds it by its index entry, if any, or never; it
		// holds no reply either way once emptied.
		_ = json.Unmarshal(v, &a)
		e, err := json.Marshal(applied{At: a.At})
		if err != nil {
			return err
		}
		// Copied: keys are only valid until the next change.
		emptied = append(emptied, entry{key: bytes.Clone(k), value: e})
	}
	// Written after the walk, because writing under a bbolt cursor can
	// make it skip the next key.
	for _, e := range emptied {
		if err := recs.Put(e.key, e.value); err != nil {
			return err
		}
	}
	return nil
}

// msgKey is the key of message msgID of learner id: the length of id as a
// uvarint, id, then msgID. The length prefix keeps ("a", "bc") and ("ab",
// "c") apart whatever bytes the ids contain.
func msgKey(id, msgID string) []byte {
	k := make([]byte, 0, binary.MaxVarintLen64+len(id)+len(msgID))
	k = binary.AppendUvarint(k, uint64(len(id)))
	k = append(k, id...)
	return append(k, msgID...)
}

// timeKey encodes t so that byte order is time order (for times after 1970).
func timeKey(t time.Time) []byte {
	return binary.BigEndian.AppendUint64(make([]byte, 0, 8), uint64(max(t.UnixNano(), 0)))
}

// wrap gives err the kind it deserves, unless it already has one.
func wrap(op string, err error) error {
	var e *bot.Error
	switch {
	case errors.As(err, &e):
		return err
	case errors.Is(err, berrors.ErrDatabaseNotOpen):
		return bot.Errorf(op, bot.Unavailable, "store closed: %w", err)
	}
	return bot.E(op, bot.Internal, err)
}
