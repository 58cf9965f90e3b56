package boltstore

import (
	"encoding/binary"
	"errors"
	"os"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/darsi-ma/darsi/bot"
)

// Erased learners and the file's free pages. bbolt writes every change to
// new pages and keeps the old ones free until it reuses them, so what an
// erase deletes can still be read in the file for a while. An erase
// therefore marks the file (metaErasedAt), and the store rewrites it with
// only its live data (Compact): CompactAfter after the erase while the
// store is open (it checks hourly), at Close, or at the next Open when
// that time has passed. An erased learner is out of the file within hours,
// never more than a day.

// metaErasedAt is when the first erase since the last compaction was made
// (a timeKey): the file then holds deleted values in its free pages.
var metaErasedAt = []byte("erased_at")

// upkeepEvery is how often an open store purges what is past its
// retention and compacts after an erase.
const upkeepEvery = time.Hour

// compactTxSize bounds the transactions of a compaction's copy.
const compactTxSize = 1 << 20

// markErased records, in an erase's transaction, that the file holds an
// erased learner in its free pages, unless an earlier erase did.
func markErased(tx *bolt.Tx, now time.Time) error {
	meta := tx.Bucket(metaBucket)
	if meta.Get(metaErasedAt) != nil {
		return nil
	}
	return meta.Put(metaErasedAt, timeKey(now))
}

// erasedSince returns when the file was first marked by an erase since its
// last compaction, and false when it was not.
func (s *Store) erasedSince() (time.Time, bool) {
	var at time.Time
	var marked bool
	_ = s.view(func(tx *bolt.Tx) error {
		meta := tx.Bucket(metaBucket)
		if meta == nil {
			return nil
		}
		if v := meta.Get(metaErasedAt); len(v) == 8 {
			at, marked = time.Unix(0, int64(binary.BigEndian.Uint64(v))), true
		}
		return nil
	})
	return at, marked
}

// compactIfDue compacts the file when an erase marked it at least after
// ago: 0 compacts after any erase.
func (s *Store) compactIfDue(after time.Duration) error {
	at, marked := s.erasedSince()
	if !marked || s.now().Sub(at) < after {
		return nil
	}
	return s.Compact()
}

// upkeep purges and compacts every upkeepEvery until Close.
func (s *Store) upkeep() {
	defer close(s.stopped)
	t := time.NewTicker(upkeepEvery)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.maybePurge()
			_ = s.compactIfDue(s.compactIn) // tried again in an hour
		}
	}
}

// Compact rewrites the file with only its live data, so that nothing
// deleted (an erased learner above all) stays readable in its free pages,
// and clears the erase mark. Every other call waits meanwhile: it takes a
// moment for a pilot's file. Errors: Unavailable for a closed store,
// Internal when the copy or the swap fails (the file is then as it was).
func (s *Store) Compact() error {
	const op = "boltstore.Compact"
	s.rw.Lock()
	defer s.rw.Unlock()
	tmp := s.path + ".compact"
	os.Remove(tmp)
	dst, err := bolt.Open(tmp, 0o600, &bolt.Options{Timeout: s.lockWait})
	if err != nil {
		return bot.Errorf(op, bot.Internal, "open the copy: %w", err)
	}
	err = bolt.Compact(dst, s.db, compactTxSize)
	if err == nil {
		err = dst.Update(func(tx *bolt.Tx) error { return tx.Bucket(metaBucket).Delete(metaErasedAt) })
	}
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		if errors.Is(err, berrors.ErrDatabaseNotOpen) {
			return bot.E(op, bot.Unavailable, err)
		}
		return bot.Errorf(op, bot.Internal, "copy: %w", err)
	}
	if err := s.db.Close(); err != nil {
		os.Remove(tmp)
		return bot.Errorf(op, bot.Internal, "close: %w", err)
	}
	swapErr := os.Rename(tmp, s.path)
	db, err := bolt.Open(s.path, 0o600, &bolt.Options{Timeout: s.lockWait})
	if err != nil {
		return bot.Errorf(op, bot.Internal, "reopen after compaction: %w", err)
	}
	s.db = db
	if swapErr != nil {
		os.Remove(tmp)
		return bot.Errorf(op, bot.Internal, "swap: %w", swapErr)
	}
	return nil
}
