package boltstore

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/darsi-ma/darsi/bot/app"
	"github.com/darsi-ma/darsi/bot/store/storetest"
)

func TestInbox(t *testing.T) {
	storetest.RunInbox(t, func(t *testing.T, retention time.Duration) app.Inbox {
		return open(t, filepath.Join(t.TempDir(), "darsi.db"), Options{InboxRetention: retention})
	})
}
