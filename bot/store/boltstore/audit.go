package boltstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"time"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/cohort"
	bolt "go.etcd.io/bbolt"
)

var _ cohort.AuditLog = (*Store)(nil)

// The buckets of the audit log, created by the first entry.
var (
	// auditBucket maps an entry's key to the entry as JSON. A key is the
	// time the store wrote the entry (timeKey) then the bucket's next
	// sequence number (8 bytes, big-endian): keys sort by time, and two
	// entries of the same nanosecond still get two keys. An entry's ID is
	// its key in hex.
	auditBucket = []byte("audit")
	// auditMetaBucket holds the number of entries in auditBucket under
	// auditCountKey, so that counting reads no entry.
	auditMetaBucket = []byte("audit_meta")
	auditCountKey   = []byte("count")
)

// auditKeyLen is the length of a key of auditBucket.
const auditKeyLen = 16

// auditRetentionOrDefault is Options.AuditRetention, or its default.
func (s *Store) auditRetentionOrDefault() time.Duration {
	if s.auditRetention > 0 {
		return s.auditRetention
	}
	return cohort.DefaultAuditRetention
}

// AppendAudit implements cohort.AuditLog. In the same transaction it
// removes the entries past their retention, reading only those. Errors:
// Invalid for an entry without an action, Unavailable for a closed store
// or a cancelled context, Internal for a failed write.
func (s *Store) AppendAudit(ctx context.Context, e cohort.AuditEntry) error {
	const op = "boltstore.AppendAudit"
	if e.Action == "" {
		return bot.Errorf(op, bot.Invalid, "audit entry without an action")
	}
	now := s.now()
	return s.cohortUpdate(ctx, op, [][]byte{auditBucket, auditMetaBucket}, func(tx *bolt.Tx) error {
		b, meta := tx.Bucket(auditBucket), tx.Bucket(auditMetaBucket)
		count := auditCount(meta)
		purged, err := purgeAudit(b, now.Add(-s.auditRetentionOrDefault()))
		if err != nil {
			return err
		}
		seq, err := b.NextSequence()
		if err != nil {
			return err
		}
		key := binary.BigEndian.AppendUint64(timeKey(now), seq)
		e.ID = hex.EncodeToString(key)
		v, err := json.Marshal(e)
		if err != nil {
			return bot.E(op, bot.Internal, err)
		}
		if err := b.Put(key, v); err != nil {
			return err
		}
		return meta.Put(auditCountKey, binary.BigEndian.AppendUint64(nil, uint64(max(count-purged, 0)+1)))
	})
}

// auditCount is the number of entries meta records; 0 before the first.
func auditCount(meta *bolt.Bucket) int {
	if v := meta.Get(auditCountKey); len(v) == 8 {
		return int(binary.BigEndian.Uint64(v))
	}
	return 0
}

// purgeAudit deletes the entries stored before cutoff and says how many.
func purgeAudit(b *bolt.Bucket, cutoff time.Time) (int, error) {
	limit := timeKey(cutoff)
	var expired [][]byte
	c := b.Cursor()
	for k, _ := c.First(); k != nil && bytes.Compare(k[:8], limit) < 0; k, _ = c.Next() {
		expired = append(expired, bytes.Clone(k))
	}
	// Deleted after the walk: deleting under a cursor can skip keys.
	for _, k := range expired {
		if err := b.Delete(k); err != nil {
			return 0, err
		}
	}
	return len(expired), nil
}

// Audit implements cohort.AuditLog in one read transaction. Errors:
// Invalid for a cursor that is not an entry ID, Unavailable for a closed
// store or a cancelled context, Internal for an entry that does not
// decode.
func (s *Store) Audit(ctx context.Context, cursor string, limit int) ([]cohort.AuditEntry, string, error) {
	const op = "boltstore.Audit"
	if limit <= 0 {
		limit = 100
	}
	var from []byte
	if cursor != "" {
		k, err := hex.DecodeString(cursor)
		if err != nil || len(k) != auditKeyLen {
			return nil, "", bot.Errorf(op, bot.Invalid, "cursor %q is no audit entry's id", cursor)
		}
		from = k
	}
	cutoff := timeKey(s.now().Add(-s.auditRetentionOrDefault()))
	var out []cohort.AuditEntry
	next := ""
	err := s.cohortView(ctx, op, func(tx *bolt.Tx) error {
		b := tx.Bucket(auditBucket)
		if b == nil {
			return nil
		}
		c := b.Cursor()
		var k, v []byte
		if from == nil {
			k, v = c.Last()
		} else {
			// The entry before the cursor: Seek finds the cursor or the
			// first key after it.
			if k, _ = c.Seek(from); k == nil {
				k, v = c.Last()
			} else {
				k, v = c.Prev()
			}
		}
		for ; k != nil && bytes.Compare(k[:8], cutoff) >= 0; k, v = c.Prev() {
			if len(out) == limit {
				next = out[len(out)-1].ID
				return nil
			}
			var e cohort.AuditEntry
			if err := json.Unmarshal(v, &e); err != nil {
				return bot.Errorf(op, bot.Internal, "decode audit entry: %w", err)
			}
			out = append(out, e)
		}
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	return out, next, nil
}

// AuditCount implements cohort.AuditLog: the count the store keeps, less
// the entries past their retention that no append has purged yet.
// Errors: Unavailable for a closed store or a cancelled context.
func (s *Store) AuditCount(ctx context.Context) (int, error) {
	const op = "boltstore.AuditCount"
	n := 0
	cutoff := timeKey(s.now().Add(-s.auditRetentionOrDefault()))
	err := s.cohortView(ctx, op, func(tx *bolt.Tx) error {
		b, meta := tx.Bucket(auditBucket), tx.Bucket(auditMetaBucket)
		if b == nil || meta == nil {
			return nil
		}
		n = auditCount(meta)
		c := b.Cursor()
		for k, _ := c.First(); k != nil && bytes.Compare(k[:8], cutoff) < 0; k, _ = c.Next() {
			n--
		}
		return nil
	})
	return n, err
}
