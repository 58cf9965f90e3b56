package boltstore

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/app"
	"github.com/darsi-ma/darsi/bot/store/storetest"
)

// TestBackupLeavesErasedOut: a backup taken after an erase holds nothing
// of the erased learner, though the file's free pages did, and it opens
// as a whole store with the other learners.
func TestBackupLeavesErasedOut(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Open(filepath.Join(dir, "darsi.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const marker = "MARKER-4711-erased"
	for _, id := range []string{"whatsapp:+212600000001", "whatsapp:+212600000002"} {
		_, err := s.Update(ctx, id, "SM1", func(l *bot.Learner) (app.Change, error) {
			l.Vars = map[string]string{"note": marker}
			return app.Change{}, nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Update(ctx, "whatsapp:+212600000001", "SM2", func(l *bot.Learner) (app.Change, error) {
		return app.Change{Erase: true}, nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Update(ctx, "whatsapp:+212600000002", "SM2", func(l *bot.Learner) (app.Change, error) {
		l.Vars = nil
		return app.Change{}, nil
	}); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	var size int64
	n, err := s.WriteBackup(ctx, &buf, func(n int64) { size = n })
	if err != nil {
		t.Fatal(err)
	}
	if n != size || int64(buf.Len()) != n {
		t.Errorf("wrote %d bytes, announced %d, buffer %d", n, size, buf.Len())
	}
	for _, leak := range []string{marker, "212600000001"} {
		if bytes.Contains(buf.Bytes(), []byte(leak)) {
			t.Errorf("the backup holds %q", leak)
		}
	}
	path := filepath.Join(dir, "backup.db")
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	learners, err := CheckBackup(path)
	if err != nil || learners != 1 {
		t.Errorf("CheckBackup: %d learners, %v; want 1", learners, err)
	}
}

// FuzzSplitMsgKey: the keys of message records read back as what made
// them, and any other bytes are refused or read without a panic.
func FuzzSplitMsgKey(f *testing.F) {
	f.Add("Labc", "0123", []byte{3, 'a'})
	f.Add("", "", []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Fuzz(func(t *testing.T, id, rest string, raw []byte) {
		gotID, gotRest, ok := splitMsgKey(msgKey(id, rest))
		if !ok || gotID != id || gotRest != rest {
			t.Fatalf("splitMsgKey(msgKey(%q, %q)) = %q, %q, %v", id, rest, gotID, gotRest, ok)
		}
		if id, rest, ok := splitMsgKey(raw); ok && !bytes.Equal(msgKey(id, rest), raw) {
			// A key read must be the key that its parts make, unless
			// its length prefix was not the shortest form.
			if n := len(raw) - len(id) - len(rest); n < 1 || n > 10 {
				t.Fatalf("splitMsgKey(%x) = %q, %q", raw, id, rest)
			}
		}
	})
}

func TestMove(t *testing.T) {
	storetest.RunMove(t, func(t *testing.T, secret []byte) storetest.MoveStore {
		s, err := Open(filepath.Join(t.TempDir(), "darsi.db"), Options{Secret: secret})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}
