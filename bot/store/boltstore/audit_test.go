package boltstore

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/darsi-ma/darsi/bot/cohort"
	"github.com/darsi-ma/darsi/bot/store/storetest"
	bolt "go.etcd.io/bbolt"
)

func TestAudit(t *testing.T) {
	storetest.RunAudit(t, func(t *testing.T, retention time.Duration) cohort.AuditLog {
		return open(t, filepath.Join(t.TempDir(), "darsi.db"), Options{AuditRetention: retention})
	})
}

// TestAuditPurge: an append purges the entries past their
// retention, and the count the store keeps follows, on the store's clock.
func TestAuditPurge(t *testing.T) {
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	s := open(t, filepath.Join(t.TempDir(), "darsi.db"), Options{Now: func() time.Time { return now }})
	ctx := context.Background()
	for range 3 {
		if err := s.AppendAudit(ctx, cohort.AuditEntry{Action: "login"}); err != nil {
			t.Fatal(err)
		}
	}
	now = now.Add(cohort.DefaultAuditRetention + time.Second)
	if err := s.AppendAudit(ctx, cohort.AuditEntry{Action: "logout"}); err != nil {
		t.Fatal(err)
	}
	stored := 0
	s.db.View(func(tx *bolt.Tx) error {
		stored = tx.Bucket(auditBucket).Stats().KeyN
		return nil
	})
	if stored != 1 {
		t.Errorf("after an append a year on: got %d entries in the file, want 1", stored)
	}
	if n, err := s.AuditCount(ctx); err != nil || n != 1 {
		t.Errorf("AuditCount: got %d, %v; want 1", n, err)
	}
}
