package boltstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/app"
	"github.com/darsi-ma/darsi/bot/cohort"
)

var (
	_ app.Dumper = (*Store)(nil)
	_ app.Loader = (*Store)(nil)
)

// metaMove is the meta bucket's key of a move's checkpoint (JSON).
var metaMove = []byte("move")

// Fingerprint implements app.Dumper: a keyed hash of a fixed text with
// the store's keys.
func (s *Store) Fingerprint(ctx context.Context) (string, error) {
	return s.keys.Learner("darsi move"), nil
}

// Dump implements app.Dumper, reading each batch in a read transaction of
// its own and calling fn outside it.
func (s *Store) Dump(ctx context.Context, kind, after string, batch int, fn func([]app.Record) error) error {
	const op = "boltstore.Dump"
	if batch <= 0 {
		batch = 500
	}
	switch kind {
	case app.KindSecret:
		var secret []byte
		err := s.view(func(tx *bolt.Tx) error {
			secret = bytes.Clone(tx.Bucket(metaBucket).Get(metaSecret))
			return nil
		})
		if err != nil || len(secret) == 0 || after != "" {
			return wrapOrNil(op, err)
		}
		return fn([]app.Record{{Kind: kind, Key: "secret", Secret: secret}})
	case app.KindCohorts:
		return s.dumpBucket(ctx, cohortsBucket, kind, after, batch, fn, false, func(_ *bolt.Tx, _, v []byte, r *app.Record) (bool, error) {
			r.Cohort = new(cohort.Cohort)
			return true, json.Unmarshal(v, r.Cohort)
		})
	case app.KindCoaches:
		return s.dumpBucket(ctx, coachesBucket, kind, after, batch, fn, false, func(_ *bolt.Tx, _, v []byte, r *app.Record) (bool, error) {
			r.Coach = new(cohort.Coach)
			return true, json.Unmarshal(v, r.Coach)
		})
	case app.KindLearners:
		return s.dumpBucket(ctx, learnersBucket, kind, after, batch, fn, false, func(_ *bolt.Tx, _, v []byte, r *app.Record) (bool, error) {
			r.Learner = new(bot.Learner)
			return true, json.Unmarshal(v, r.Learner)
		})
	case app.KindMessages:
		ids, err := s.learnerKeys(ctx)
		if err != nil {
			return wrap(op, err)
		}
		return s.dumpBucket(ctx, appliedBucket, kind, after, batch, fn, true, func(tx *bolt.Tx, k, v []byte, r *app.Record) (bool, error) {
			lk, hash, ok := splitMsgKey(k)
			if !ok {
				return false, nil
			}
			var a applied
			if err := json.Unmarshal(v, &a); err != nil {
				return false, err
			}
			r.Message = &app.MessageRecord{LearnerKey: lk, Hash: hash, Learner: ids[lk],
				Expires: a.At.Add(s.retention), Replies: a.Replies}
			return true, nil
		})
	case app.KindTombstones:
		return s.dumpBucket(ctx, aliasesBucket, kind, after, batch, fn, true, func(tx *bolt.Tx, k, v []byte, r *app.Record) (bool, error) {
			if len(v) == 0 || v[0] != tombstone {
				return false, nil
			}
			lk := string(v[1:])
			// It lasts as long as the learner's message records.
			var expires time.Time
			prefix := msgKey(lk, "")
			c := tx.Bucket(appliedBucket).Cursor()
			for mk, mv := c.Seek(prefix); mk != nil && bytes.HasPrefix(mk, prefix); mk, mv = c.Next() {
				var a applied
				if json.Unmarshal(mv, &a) == nil && a.At.Add(s.retention).After(expires) {
					expires = a.At.Add(s.retention)
				}
			}
			if expires.IsZero() {
				return false, nil
			}
			r.Tombstone = &app.Tombstone{BSUIDKey: string(k), LearnerKey: lk, Expires: expires}
			return true, nil
		})
	case app.KindJobs:
		return s.dumpBucket(ctx, jobsBucket, kind, after, batch, fn, false, func(_ *bolt.Tx, _, v []byte, r *app.Record) (bool, error) {
			var j jobRecord
			if err := json.Unmarshal(v, &j); err != nil {
				return false, err
			}
			r.Job = &app.JobRecord{Job: j.Job, Delivery: j.Delivery, ErrorCode: j.ErrorCode, EndedAt: j.EndedAt}
			return true, nil
		})
	case app.KindDeliveries:
		return s.dumpBucket(ctx, deliveriesBucket, kind, after, batch, fn, false, func(_ *bolt.Tx, _, v []byte, r *app.Record) (bool, error) {
			r.Delivery = new(bot.Delivery)
			return true, json.Unmarshal(v, r.Delivery)
		})
	case app.KindAudit:
		return s.dumpBucket(ctx, auditBucket, kind, after, batch, fn, true, func(tx *bolt.Tx, k, v []byte, r *app.Record) (bool, error) {
			r.Audit = new(cohort.AuditEntry)
			if err := json.Unmarshal(v, r.Audit); err != nil {
				return false, err
			}
			r.Audit.ID = hex.EncodeToString(k)
			return true, nil
		})
	case app.KindContents:
		return s.dumpBucket(ctx, contentsBucket, kind, after, batch, fn, false, func(_ *bolt.Tx, k, v []byte, r *app.Record) (bool, error) {
			r.Content = &app.ContentRecord{Slot: string(k)}
			return true, json.Unmarshal(v, &r.Content.Content)
		})
	case app.KindInbox:
		return s.dumpBucket(ctx, inboxBucket, kind, after, batch, fn, false, func(_ *bolt.Tx, _, v []byte, r *app.Record) (bool, error) {
			var t threadRecord
			if err := json.Unmarshal(v, &t); err != nil {
				return false, err
			}
			t.Thread.Learner = t.LearnerID
			r.Thread = &app.ThreadRecord{Thread: t.Thread, Learner: t.LearnerID}
			return true, nil
		})
	}
	return bot.Errorf(op, bot.Invalid, "no kind %q", kind)
}

func wrapOrNil(op string, err error) error {
	if err == nil {
		return nil
	}
	return wrap(op, err)
}

// dumpBucket walks bucket name in key order from after on, a batch per
// read transaction: decode fills each record (false: not one of kind's).
// A record's Key is the bucket's key, in hex when hexed (binary keys).
func (s *Store) dumpBucket(ctx context.Context, name []byte, kind, after string, batch int, fn func([]app.Record) error,
	hexed bool, decode func(tx *bolt.Tx, k, v []byte, r *app.Record) (bool, error)) error {
	const op = "boltstore.Dump"
	keyOf := func(k []byte) string { return string(k) }
	if hexed {
		keyOf = hex.EncodeToString
	}
	var from []byte
	if after != "" {
		from = []byte(after)
		if hexed {
			var err error
			if from, err = hex.DecodeString(after); err != nil {
				return bot.Errorf(op, bot.Invalid, "cursor %q: %v", after, err)
			}
		}
	}
	for {
		if err := ctx.Err(); err != nil {
			return bot.E(op, bot.Unavailable, err)
		}
		var recs []app.Record
		var last []byte
		err := s.view(func(tx *bolt.Tx) error {
			b := tx.Bucket(name)
			if b == nil {
				return nil
			}
			c := b.Cursor()
			k, v := c.First()
			if from != nil {
				if k, v = c.Seek(from); bytes.Equal(k, from) {
					k, v = c.Next()
				}
			}
			for ; k != nil && len(recs) < batch; k, v = c.Next() {
				last = bytes.Clone(k)
				r := app.Record{Kind: kind, Key: keyOf(k)}
				ok, err := decode(tx, k, v, &r)
				if err != nil {
					return fmt.Errorf("decode %s %q: %w", kind, r.Key, err)
				}
				if ok {
					recs = append(recs, r)
				}
			}
			return nil
		})
		if err != nil {
			return wrap(op, err)
		}
		if len(recs) > 0 {
			if err := fn(recs); err != nil {
				return err
			}
		}
		if last == nil {
			return nil
		}
		from = last
	}
}

// learnerKeys maps each learner's key (app.Keys) to their id.
func (s *Store) learnerKeys(ctx context.Context) (map[string]string, error) {
	ids := map[string]string{}
	err := s.view(func(tx *bolt.Tx) error {
		return tx.Bucket(learnersBucket).ForEach(func(k, _ []byte) error {
			ids[s.keys.Learner(string(k))] = string(k)
			return nil
		})
	})
	return ids, err
}

// splitMsgKey is the inverse of msgKey.
func splitMsgKey(k []byte) (id, rest string, ok bool) {
	n, w := binary.Uvarint(k)
	if w <= 0 || uint64(len(k)-w) < n {
		return "", "", false
	}
	return string(k[w : w+int(n)]), string(k[w+int(n):]), true
}

// MoveCheckpoint implements app.Loader.
func (s *Store) MoveCheckpoint(ctx context.Context) (*app.MoveCheckpoint, error) {
	var cp *app.MoveCheckpoint
	err := s.view(func(tx *bolt.Tx) error {
		v := tx.Bucket(metaBucket).Get(metaMove)
		if v == nil {
			return nil
		}
		cp = new(app.MoveCheckpoint)
		return json.Unmarshal(v, cp)
	})
	if err != nil {
		return nil, wrap("boltstore.MoveCheckpoint", err)
	}
	return cp, nil
}

// Holds implements app.Loader.
func (s *Store) Holds(ctx context.Context) (string, error) {
	var kind string
	err := s.view(func(tx *bolt.Tx) error {
		for _, b := range []struct {
			kind string
			name []byte
		}{{app.KindLearners, learnersBucket}, {app.KindMessages, appliedBucket}, {app.KindCohorts, cohortsBucket},
			{app.KindCoaches, coachesBucket}, {app.KindJobs, jobsBucket}, {app.KindDeliveries, deliveriesBucket},
			{app.KindAudit, auditBucket}, {app.KindContents, contentsBucket}, {app.KindInbox, inboxBucket},
			{app.KindTombstones, aliasesBucket}} {
			if bk := tx.Bucket(b.name); bk != nil {
				if k, _ := bk.Cursor().First(); k != nil {
					kind = b.kind
					return nil
				}
			}
		}
		return nil
	})
	return kind, wrapOrNil("boltstore.Holds", err)
}

// Load implements app.Loader: the records and the checkpoint in one write
// transaction. A record whose key the store holds is left as it is.
func (s *Store) Load(ctx context.Context, kind string, recs []app.Record, cp app.MoveCheckpoint) error {
	const op = "boltstore.Load"
	if err := ctx.Err(); err != nil {
		return bot.E(op, bot.Unavailable, err)
	}
	err := s.update(func(tx *bolt.Tx) error {
		if err := s.load(tx, kind, recs); err != nil {
			return err
		}
		v, err := json.Marshal(cp)
		if err != nil {
			return err
		}
		return tx.Bucket(metaBucket).Put(metaMove, v)
	})
	return wrapOrNil(op, err)
}

func (s *Store) load(tx *bolt.Tx, kind string, recs []app.Record) error {
	for _, name := range [][]byte{cohortsBucket, coachesBucket, coachTokensBucket, contentsBucket, auditBucket, auditMetaBucket} {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return err
		}
	}
	for _, name := range inboxBuckets {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return err
		}
	}
	put := func(bucket []byte, k string, v any) error {
		b := tx.Bucket(bucket)
		if b.Get([]byte(k)) != nil {
			return nil
		}
		data, err := json.Marshal(v)
		if err != nil {
			return err
		}
		return b.Put([]byte(k), data)
	}
	now := s.now()
	for _, r := range recs {
		var err error
		switch kind {
		case app.KindSecret:
			err = tx.Bucket(metaBucket).Put(metaSecret, r.Secret)
		case app.KindCohorts:
			err = put(cohortsBucket, string(codeKey(r.Cohort.Code)), r.Cohort)
		case app.KindCoaches:
			if err = put(coachesBucket, r.Coach.Login, r.Coach); err == nil && r.Coach.TokenHash != "" {
				err = tx.Bucket(coachTokensBucket).Put([]byte(r.Coach.TokenHash), []byte(r.Coach.Login))
			}
		case app.KindLearners:
			err = importLearner(tx, s.keys, r.Learner)
		case app.KindMessages:
			m := r.Message
			if !m.Expires.After(now) {
				continue
			}
			key := msgKey(m.LearnerKey, m.Hash)
			if tx.Bucket(appliedBucket).Get(key) != nil {
				continue
			}
			err = putApplied(tx, key, applied{At: m.Expires.Add(-s.retention), Replies: m.Replies})
		case app.KindTombstones:
			err = tx.Bucket(aliasesBucket).Put([]byte(r.Tombstone.BSUIDKey), append([]byte{tombstone}, r.Tombstone.LearnerKey...))
		case app.KindJobs:
			var b outboxBuckets
			if b, err = writeBuckets(tx, now, s.keys); err != nil {
				return err
			}
			b.keep = s.jobRetention
			var old *jobRecord
			if old, err = b.get(r.Job.ID); err == nil && old == nil {
				err = b.put(nil, &jobRecord{Job: r.Job.Job, Delivery: r.Job.Delivery, ErrorCode: r.Job.ErrorCode, EndedAt: r.Job.EndedAt})
			}
		case app.KindDeliveries:
			d := *r.Delivery
			d.To = ""
			err = put(deliveriesBucket, d.SID, d)
		case app.KindAudit:
			err = loadAudit(tx, r.Audit)
		case app.KindContents:
			err = tx.Bucket(contentsBucket).Put([]byte(r.Content.Slot), mustJSON(r.Content.Content))
		case app.KindInbox:
			t := r.Thread.Thread
			t.Learner = r.Thread.Learner
			var ok bool
			if _, ok, err = getThread(tx, t.Key); err == nil && !ok {
				err = fileThread(tx, t)
			}
		}
		if err != nil {
			return fmt.Errorf("%s %q: %w", kind, r.Key, err)
		}
	}
	return nil
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

// importLearner writes a learner the store does not hold, with their
// indexes and their BSUID's pair, as Update would from nothing, keeping
// their Version; a learner the store holds is left as it is.
func importLearner(tx *bolt.Tx, keys app.Keys, l *bot.Learner) error {
	learners := tx.Bucket(learnersBucket)
	if l.ID == "" {
		return fmt.Errorf("a learner without an id")
	}
	if learners.Get([]byte(l.ID)) != nil {
		return nil
	}
	v, err := json.Marshal(l)
	if err != nil {
		return err
	}
	if err := learners.Put([]byte(l.ID), v); err != nil {
		return err
	}
	if err := reindex(tx, l.ID, nil, l); err != nil {
		return err
	}
	return realias(tx, keys, l.ID, keys.Learner(l.ID), nil, l)
}

// Import writes learners the store does not hold, with their indexes, as
// Update would from nothing (keeping each one's Version), in one write
// transaction; a learner the store holds is left as it is. It is for
// loading a store (a move, a test's population), not for conversations.
// Errors: Invalid for a learner without an id, Unavailable for a closed
// store, Internal for a failed write.
func (s *Store) Import(ctx context.Context, learners []bot.Learner) error {
	const op = "boltstore.Import"
	for _, l := range learners {
		if l.ID == "" {
			return bot.Errorf(op, bot.Invalid, "a learner without an id")
		}
	}
	if err := ctx.Err(); err != nil {
		return bot.E(op, bot.Unavailable, err)
	}
	err := s.update(func(tx *bolt.Tx) error {
		for i := range learners {
			if err := importLearner(tx, s.keys, &learners[i]); err != nil {
				return err
			}
		}
		return nil
	})
	return wrapOrNil(op, err)
}

// loadAudit files an audit entry at the time it was made (its key's time
// is the entry's At), unless an equal entry of that time is there; the
// count follows.
func loadAudit(tx *bolt.Tx, e *cohort.AuditEntry) error {
	b, meta := tx.Bucket(auditBucket), tx.Bucket(auditMetaBucket)
	entry := *e
	entry.ID = ""
	v, err := json.Marshal(entry)
	if err != nil {
		return err
	}
	at := timeKey(e.At)
	c := b.Cursor()
	for k, old := c.Seek(at); k != nil && bytes.HasPrefix(k, at); k, old = c.Next() {
		var o cohort.AuditEntry
		if json.Unmarshal(old, &o) == nil {
			o.ID = ""
			if ov, _ := json.Marshal(o); bytes.Equal(ov, v) {
				return nil
			}
		}
	}
	seq, err := b.NextSequence()
	if err != nil {
		return err
	}
	key := binary.BigEndian.AppendUint64(at, seq)
	entry.ID = hex.EncodeToString(key)
	if v, err = json.Marshal(entry); err != nil {
		return err
	}
	if err := b.Put(key, v); err != nil {
		return err
	}
	return meta.Put(auditCountKey, binary.BigEndian.AppendUint64(nil, uint64(auditCount(meta)+1)))
}
