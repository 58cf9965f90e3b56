package boltstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"time"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/app"
	bolt "go.etcd.io/bbolt"
)

var (
	_ app.Members  = (*Store)(nil)
	_ app.DueIndex = (*Store)(nil)
)

// The learners' indexes, which Update keeps in the transaction that
// changes the learner, and Open builds for a file written before they
// existed.
var (
	// membersBucket holds the members of each cohort: msgKey(CohortKey of
	// the cohort, learner id), empty values, so that a cohort's members
	// are one range of keys in ID order.
	membersBucket = []byte("members")
	// cohortCountsBucket holds each cohort's counters (app.Counters
	// summed over its members): msgKey(CohortKey of the cohort, counter
	// name) to a count (8 bytes, big-endian). A counter at zero is
	// deleted.
	cohortCountsBucket = []byte("cohort_counts")
	// dueBucket is the due index: timeKey(when the learner is due)
	// followed by the learner id, empty values.
	dueBucket = []byte("due")
	// learnerJobsBucket holds the jobs addressed to each learner:
	// msgKey(the learner's key, job id), empty values, so that an erase
	// finds them without a walk over the outbox.
	learnerJobsBucket = []byte("learner_jobs")
	// dueAtBucket maps a learner id to the time key of their entry in
	// dueBucket, which TakeDue moves away from the learner's Outreach.At
	// for the lease: Update finds the entry here to move or delete it.
	dueAtBucket = []byte("due_at")
	// metaBucket records which indexes the file holds (metaLearnerIndexes,
	// metaOutboxIndexes), so that Open builds those a file lacks once.
	metaBucket = []byte("meta")
)

// Keys of metaBucket.
var (
	metaLearnerIndexes = []byte("learner_indexes")
	metaOutboxIndexes  = []byte("outbox_indexes")
	metaLearnerJobs    = []byte("learner_jobs")
	// metaSecret is the store's own secret (Options.Secret), made at the
	// first Open that needed it.
	metaSecret = []byte("secret")
)

// indexVersion is the value of a meta key once its indexes are built.
var indexVersion = []byte("1")

// defaultMembersLimit is the page size of Members when the caller gives
// none.
const defaultMembersLimit = 100

// reindex moves learner id in the indexes from what before says to what
// after says (nil: not stored, or erased), writing only the keys that
// change: a message that changes neither the learner's cohort, nor their
// counters, nor Outreach.At costs no write here.
func reindex(tx *bolt.Tx, id string, before, after *bot.Learner) error {
	if was, is := memberOf(before), memberOf(after); was != is {
		members := tx.Bucket(membersBucket)
		if was != "" {
			if err := members.Delete(msgKey(was, id)); err != nil {
				return err
			}
		}
		if is != "" {
			if err := members.Put(msgKey(is, id), nil); err != nil {
				return err
			}
		}
	}
	counts := tx.Bucket(cohortCountsBucket)
	for _, d := range app.CountDeltas(before, after) {
		if err := addCount(counts, msgKey(d.Cohort, d.Name), d.Delta); err != nil {
			return err
		}
	}
	if was, is := dueOf(before), dueOf(after); !was.Equal(is) {
		return refile(tx, id, is)
	}
	return nil
}

// memberOf is the cohort whose members l is among, as CohortKey gives
// it; "" for none.
func memberOf(l *bot.Learner) string {
	if l == nil || l.Cohort == "" {
		return ""
	}
	return app.CohortKey(l.Cohort)
}

// dueOf is when l is due; zero for none.
func dueOf(l *bot.Learner) time.Time {
	if l == nil {
		return time.Time{}
	}
	return l.Outreach.At
}

// refile moves learner id's entry in the due index to at, wherever
// dueAtBucket says it is now (TakeDue may have moved it); a zero at takes
// the learner out.
func refile(tx *bolt.Tx, id string, at time.Time) error {
	due, dueAt := tx.Bucket(dueBucket), tx.Bucket(dueAtBucket)
	if old := dueAt.Get([]byte(id)); old != nil {
		if err := due.Delete(append(bytes.Clone(old), id...)); err != nil {
			return err
		}
	}
	if at.IsZero() {
		return dueAt.Delete([]byte(id))
	}
	key := timeKey(at)
	if err := due.Put(append(bytes.Clone(key), id...), nil); err != nil {
		return err
	}
	return dueAt.Put([]byte(id), key)
}

// addCount adds delta to the counter at key, deleting it at zero.
func addCount(b *bolt.Bucket, key []byte, delta int64) error {
	n := readCount(b.Get(key)) + delta
	if n == 0 {
		return b.Delete(key)
	}
	return b.Put(key, binary.BigEndian.AppendUint64(make([]byte, 0, 8), uint64(n)))
}

// readCount decodes a counter's value; a missing one is zero.
func readCount(v []byte) int64 {
	if len(v) != 8 {
		return 0
	}
	return int64(binary.BigEndian.Uint64(v))
}

// buildLearnerIndexes builds the learners' indexes from the learners, for
// a file written before they existed. It runs inside Open's transaction:
// the embedded store is a pilot's, whose learners fit one transaction.
func buildLearnerIndexes(tx *bolt.Tx) error {
	for _, name := range [][]byte{membersBucket, cohortCountsBucket, dueBucket, dueAtBucket} {
		if tx.Bucket(name) != nil {
			if err := tx.DeleteBucket(name); err != nil {
				return err
			}
		}
		if _, err := tx.CreateBucket(name); err != nil {
			return err
		}
	}
	return tx.Bucket(learnersBucket).ForEach(func(k, v []byte) error {
		var l bot.Learner
		if err := json.Unmarshal(v, &l); err != nil {
			return bot.Errorf("boltstore.Open", bot.Internal, "decode learner: %w", err)
		}
		return reindex(tx, string(k), nil, &l)
	})
}

// Members implements app.Members in one read transaction: the cohort's
// range of the members index, from the cursor on. A learner without a
// cohort is in none, so the code "" has no members. Errors: Unavailable
// for a closed store or a cancelled context, Internal for a record that
// does not decode.
func (s *Store) Members(ctx context.Context, code, cursor string, limit int) ([]bot.Learner, string, error) {
	const op = "boltstore.Members"
	if err := ctx.Err(); err != nil {
		return nil, "", bot.E(op, bot.Unavailable, err)
	}
	if limit <= 0 {
		limit = defaultMembersLimit
	}
	var (
		page []bot.Learner
		next string
	)
	err := s.view(func(tx *bolt.Tx) error {
		prefix := msgKey(app.CohortKey(code), "")
		learners := tx.Bucket(learnersBucket)
		c := tx.Bucket(membersBucket).Cursor()
		// The page starts after the cursor, which need not be a member
		// (any more).
		from := msgKey(app.CohortKey(code), cursor)
		k, _ := c.Seek(from)
		if cursor != "" && bytes.Equal(k, from) {
			k, _ = c.Next()
		}
		for ; k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			if len(page) == limit {
				next = page[len(page)-1].ID
				return nil
			}
			v := learners.Get(k[len(prefix):])
			if v == nil {
				continue // cannot be: Update keeps both in one transaction
			}
			var l bot.Learner
			if err := json.Unmarshal(v, &l); err != nil {
				return bot.Errorf(op, bot.Internal, "decode learner: %w", err)
			}
			page = append(page, l)
		}
		return nil
	})
	if err != nil {
		return nil, "", wrap(op, err)
	}
	return page, next, nil
}

// CohortCounts implements app.Members in one read transaction: the
// cohort's range of counters, none of them zero. Errors: Unavailable for a
// closed store or a cancelled context.
func (s *Store) CohortCounts(ctx context.Context, code string) (app.Counts, error) {
	const op = "boltstore.CohortCounts"
	if err := ctx.Err(); err != nil {
		return nil, bot.E(op, bot.Unavailable, err)
	}
	counts := app.Counts{}
	err := s.view(func(tx *bolt.Tx) error {
		prefix := msgKey(app.CohortKey(code), "")
		c := tx.Bucket(cohortCountsBucket).Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			counts[string(k[len(prefix):])] = readCount(v)
		}
		return nil
	})
	if err != nil {
		return nil, wrap(op, err)
	}
	return counts, nil
}

// TakeDue implements app.DueIndex in one write transaction, which bbolt
// runs alone: two callers never take the same learner within a lease. Each
// learner taken is filed again at now+lease; an entry whose learner is
// gone is dropped and does not count against max. Errors: Invalid for a
// lease that is not positive, Unavailable for a closed store or a
// cancelled context, Internal for a failed write.
func (s *Store) TakeDue(ctx context.Context, now time.Time, lease time.Duration, max int) ([]string, error) {
	const op = "boltstore.TakeDue"
	if lease <= 0 {
		return nil, bot.Errorf(op, bot.Invalid, "a lease must be positive (got %v)", lease)
	}
	if err := ctx.Err(); err != nil {
		return nil, bot.E(op, bot.Unavailable, err)
	}
	if max <= 0 {
		return nil, nil
	}
	// Nothing due: a read transaction answers without the writer lock or
	// a sync to disk, which matters to a sweeper polling every few
	// seconds.
	if !s.anyLearnerDue(now) {
		return nil, nil
	}
	var taken []string
	err := s.update(func(tx *bolt.Tx) error {
		if err := ctx.Err(); err != nil {
			return bot.E(op, bot.Unavailable, err)
		}
		taken = nil // a retried transaction starts afresh
		due, dueAt, learners := tx.Bucket(dueBucket), tx.Bucket(dueAtBucket), tx.Bucket(learnersBucket)
		nowKey, leaseKey := timeKey(now), timeKey(now.Add(lease))
		seen := map[string]bool{}
		for len(taken) < max {
			var keys [][]byte
			c := due.Cursor()
			for k, _ := c.First(); k != nil && len(keys) < max-len(taken) && bytes.Compare(k[:8], nowKey) <= 0; k, _ = c.Next() {
				if !seen[string(k[8:])] {
					keys = append(keys, bytes.Clone(k))
				}
			}
			if len(keys) == 0 {
				return nil
			}
			// Changed after the walk: deleting under a cursor can skip
			// keys.
			for _, k := range keys {
				id := k[8:]
				seen[string(id)] = true
				if err := due.Delete(k); err != nil {
					return err
				}
				// An entry the learner's record no longer points to (left
				// by a crash between versions) goes with the one taken.
				if at := dueAt.Get(id); at != nil && !bytes.Equal(at, k[:8]) {
					if err := due.Delete(append(bytes.Clone(at), id...)); err != nil {
						return err
					}
				}
				if learners.Get(id) == nil {
					if err := dueAt.Delete(id); err != nil {
						return err
					}
					continue
				}
				if err := due.Put(append(bytes.Clone(leaseKey), id...), nil); err != nil {
					return err
				}
				if err := dueAt.Put(id, leaseKey); err != nil {
					return err
				}
				taken = append(taken, string(id))
			}
		}
		return nil
	})
	if err != nil {
		return nil, wrap(op, err)
	}
	return taken, nil
}

// anyLearnerDue reports whether TakeDue at now may find a learner. It
// errs on the side of yes: TakeDue itself decides.
func (s *Store) anyLearnerDue(now time.Time) bool {
	due := true
	_ = s.view(func(tx *bolt.Tx) error {
		k, _ := tx.Bucket(dueBucket).Cursor().First()
		due = k != nil && bytes.Compare(k[:8], timeKey(now)) <= 0
		return nil
	})
	return due
}
