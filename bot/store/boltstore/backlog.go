package boltstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/schedule"
)

var _ schedule.BacklogReader = (*Store)(nil)

// Backlog implements schedule.BacklogReader in one read transaction: a
// walk of the claimable jobs' index up to now, or up to limit of them.
func (s *Store) Backlog(ctx context.Context, now time.Time, limit int) (schedule.Backlog, error) {
	const op = "boltstore.Backlog"
	if err := ctx.Err(); err != nil {
		return schedule.Backlog{}, bot.E(op, bot.Unavailable, err)
	}
	if limit <= 0 {
		limit = schedule.DefaultBacklogLimit
	}
	var b schedule.Backlog
	err := s.view(func(tx *bolt.Tx) error {
		due := tx.Bucket(jobsDueBucket)
		if due == nil {
			return nil // no job was ever queued
		}
		nowKey := timeKey(now)
		c := due.Cursor()
		for k, _ := c.First(); k != nil && b.Due < limit && bytes.Compare(k[:8], nowKey) <= 0; k, _ = c.Next() {
			if b.Due == 0 {
				b.Oldest = time.Unix(0, int64(binary.BigEndian.Uint64(k[:8])))
			}
			b.Due++
		}
		return nil
	})
	if err != nil {
		return schedule.Backlog{}, wrap(op, err)
	}
	return b, nil
}
