package boltstore

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"time"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/app"
	bolt "go.etcd.io/bbolt"
)

var _ app.Inbox = (*Store)(nil)

// The buckets of the inbox, created by the first thread.
var (
	// inboxBucket maps a thread's key (the learner's key) to the thread
	// as JSON, its messages included.
	inboxBucket = []byte("inbox")
	// inboxOrderBucket lists each cohort's threads: the cohort's code,
	// a NUL, then the thread's Order (newest first).
	inboxOrderBucket = []byte("inbox_order")
	// inboxUnreadBucket holds the cohort's code, a NUL and the key of
	// each thread with unread messages.
	inboxUnreadBucket = []byte("inbox_unread")
	// inboxAgeBucket holds timeKey(UpdatedAt) and the key of each
	// thread, for retention.
	inboxAgeBucket = []byte("inbox_age")
)

var inboxBuckets = [][]byte{inboxBucket, inboxOrderBucket, inboxUnreadBucket, inboxAgeBucket}

func (s *Store) inboxRetentionOrDefault() time.Duration {
	if s.inboxRetention > 0 {
		return s.inboxRetention
	}
	return app.DefaultInboxRetention
}

func cohortIndexKey(cohort, rest string) []byte {
	return append(append([]byte(cohort), 0), rest...)
}

// unfileThread takes a stored thread out of the indexes.
func unfileThread(tx *bolt.Tx, t app.Thread) error {
	for _, del := range []struct {
		bucket []byte
		key    []byte
	}{
		{inboxOrderBucket, cohortIndexKey(t.Cohort, t.Order())},
		{inboxUnreadBucket, cohortIndexKey(t.Cohort, t.Key)},
		{inboxAgeBucket, append(timeKey(t.UpdatedAt), t.Key...)},
	} {
		if b := tx.Bucket(del.bucket); b != nil {
			if err := b.Delete(del.key); err != nil {
				return err
			}
		}
	}
	return nil
}

// fileThread puts a thread in the indexes and stores it.
func fileThread(tx *bolt.Tx, t app.Thread) error {
	v, err := json.Marshal(threadRecord{t, t.Learner})
	if err != nil {
		return err
	}
	if err := tx.Bucket(inboxBucket).Put([]byte(t.Key), v); err != nil {
		return err
	}
	if err := tx.Bucket(inboxOrderBucket).Put(cohortIndexKey(t.Cohort, t.Order()), nil); err != nil {
		return err
	}
	if t.Unread > 0 {
		if err := tx.Bucket(inboxUnreadBucket).Put(cohortIndexKey(t.Cohort, t.Key), nil); err != nil {
			return err
		}
	}
	return tx.Bucket(inboxAgeBucket).Put(append(timeKey(t.UpdatedAt), t.Key...), nil)
}

// threadRecord is a thread as stored: with the learner's address, which
// the JSON of app.Thread leaves out.
type threadRecord struct {
	app.Thread
	LearnerID string `json:"learner"`
}

func getThread(tx *bolt.Tx, key string) (app.Thread, bool, error) {
	b := tx.Bucket(inboxBucket)
	if b == nil {
		return app.Thread{}, false, nil
	}
	v := b.Get([]byte(key))
	if v == nil {
		return app.Thread{}, false, nil
	}
	var r threadRecord
	if err := json.Unmarshal(v, &r); err != nil {
		return app.Thread{}, false, err
	}
	r.Thread.Learner = r.LearnerID
	return r.Thread, true, nil
}

// forgetThread removes a thread and its place in every index; nothing
// when there is none.
func forgetThread(tx *bolt.Tx, key string) error {
	t, ok, err := getThread(tx, key)
	if err != nil || !ok {
		return err
	}
	if err := unfileThread(tx, t); err != nil {
		return err
	}
	return tx.Bucket(inboxBucket).Delete([]byte(key))
}

// purgeThreads removes the threads last written before cutoff.
func purgeThreads(tx *bolt.Tx, cutoff time.Time) error {
	age := tx.Bucket(inboxAgeBucket)
	if age == nil {
		return nil
	}
	limit := timeKey(cutoff)
	var keys []string
	c := age.Cursor()
	for k, _ := c.First(); k != nil && bytes.Compare(k[:8], limit) < 0; k, _ = c.Next() {
		keys = append(keys, string(k[8:]))
	}
	for _, key := range keys {
		if err := forgetThread(tx, key); err != nil {
			return err
		}
	}
	return nil
}

// FileInbox implements app.Inbox in one write transaction, which also
// removes the threads past their retention.
func (s *Store) FileInbox(ctx context.Context, t app.Thread, m app.InboxMessage) (bool, error) {
	const op = "boltstore.FileInbox"
	if t.Key == "" || m.ID == "" {
		return false, bot.Errorf(op, bot.Invalid, "a thread needs a key and a message an id")
	}
	added := false
	err := s.cohortUpdate(ctx, op, inboxBuckets, func(tx *bolt.Tx) error {
		if err := purgeThreads(tx, s.now().Add(-s.inboxRetentionOrDefault())); err != nil {
			return err
		}
		old, ok, err := getThread(tx, t.Key)
		if err != nil {
			return err
		}
		if ok {
			if slices.ContainsFunc(old.Messages, func(x app.InboxMessage) bool { return x.ID == m.ID }) {
				return nil
			}
			if err := unfileThread(tx, old); err != nil {
				return err
			}
		}
		nt := old
		nt.Key, nt.Learner, nt.Cohort, nt.Name, nt.Lang = t.Key, t.Learner, t.Cohort, t.Name, t.Lang
		nt.UpdatedAt = m.At
		nt.Messages = append(nt.Messages, m)
		if n := len(nt.Messages); n > app.MaxThreadMessages {
			nt.Messages = slices.Clone(nt.Messages[n-app.MaxThreadMessages:])
		}
		if m.From == "" {
			nt.Unread++
		}
		added = true
		return fileThread(tx, nt)
	})
	return added, err
}

// InboxThread implements app.Inbox.
func (s *Store) InboxThread(ctx context.Context, key string) (app.Thread, error) {
	const op = "boltstore.InboxThread"
	var t app.Thread
	found := false
	cutoff := s.now().Add(-s.inboxRetentionOrDefault())
	err := s.cohortView(ctx, op, func(tx *bolt.Tx) error {
		var err error
		t, found, err = getThread(tx, key)
		return err
	})
	if err != nil {
		return app.Thread{}, err
	}
	if !found || t.UpdatedAt.Before(cutoff) {
		return app.Thread{}, bot.Errorf(op, bot.NotFound, "no thread %q", key)
	}
	return t, nil
}

// InboxThreads implements app.Inbox in one read transaction.
func (s *Store) InboxThreads(ctx context.Context, cohort, cursor string, limit int) ([]app.Thread, string, error) {
	const op = "boltstore.InboxThreads"
	if limit <= 0 {
		limit = 100
	}
	cutoff := s.now().Add(-s.inboxRetentionOrDefault())
	var out []app.Thread
	next := ""
	err := s.cohortView(ctx, op, func(tx *bolt.Tx) error {
		b := tx.Bucket(inboxOrderBucket)
		if b == nil {
			return nil
		}
		prefix := cohortIndexKey(cohort, "")
		c := b.Cursor()
		k, _ := c.Seek(cohortIndexKey(cohort, cursor))
		if cursor != "" && k != nil && bytes.Equal(k, cohortIndexKey(cohort, cursor)) {
			k, _ = c.Next()
		}
		for ; k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			order := string(k[len(prefix):])
			_, key, _ := bytes.Cut([]byte(order), []byte(":"))
			t, ok, err := getThread(tx, string(key))
			if err != nil {
				return bot.Errorf(op, bot.Internal, "decode thread: %w", err)
			}
			if !ok || t.UpdatedAt.Before(cutoff) {
				continue
			}
			if len(out) == limit {
				next = out[len(out)-1].Order()
				return nil
			}
			if n := len(t.Messages); n > 1 {
				t.Messages = t.Messages[n-1:]
			}
			out = append(out, t)
		}
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	return out, next, nil
}

// MarkInboxRead implements app.Inbox.
func (s *Store) MarkInboxRead(ctx context.Context, key string) error {
	const op = "boltstore.MarkInboxRead"
	return s.cohortUpdate(ctx, op, inboxBuckets, func(tx *bolt.Tx) error {
		t, ok, err := getThread(tx, key)
		if err != nil {
			return err
		}
		if !ok {
			return bot.Errorf(op, bot.NotFound, "no thread %q", key)
		}
		if t.Unread == 0 {
			return nil
		}
		if err := tx.Bucket(inboxUnreadBucket).Delete(cohortIndexKey(t.Cohort, t.Key)); err != nil {
			return err
		}
		t.Unread = 0
		return fileThread(tx, t)
	})
}

// InboxUnread implements app.Inbox: it reads the cohort's unread index.
func (s *Store) InboxUnread(ctx context.Context, cohort string) (int, error) {
	const op = "boltstore.InboxUnread"
	n := 0
	cutoff := s.now().Add(-s.inboxRetentionOrDefault())
	err := s.cohortView(ctx, op, func(tx *bolt.Tx) error {
		b := tx.Bucket(inboxUnreadBucket)
		if b == nil {
			return nil
		}
		prefix := cohortIndexKey(cohort, "")
		c := b.Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			t, ok, err := getThread(tx, string(k[len(prefix):]))
			if err != nil {
				return err
			}
			if ok && !t.UpdatedAt.Before(cutoff) {
				n++
			}
		}
		return nil
	})
	return n, err
}
