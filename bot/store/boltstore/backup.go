package boltstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/darsi-ma/darsi/bot"
)

// Backups. A backup is a copy of the file as one read transaction sees
// it (bbolt's Tx.WriteTo): consistent, whatever writes go on meanwhile,
// and opened by Open like the file itself. A running server writes it
// for whoever asks on its private admin listener; with no server running,
// the file is opened and copied directly.
//
// A backup never carries an erased learner: when an erase marked the file
// (its free pages may still hold the erased values), the file is
// compacted first, and the copy is taken only from a file without the
// mark.

// backupTries bounds how often WriteBackup compacts because an erase came
// in between.
const backupTries = 3

// WriteBackup writes a consistent copy of the store's file to w, all of it
// in one read transaction, and returns how many bytes it wrote. size,
// when not nil, is told the copy's size before the first byte (an HTTP
// handler's Content-Length). Writers go on meanwhile. Errors: Unavailable
// for a closed store or a cancelled context, Internal when the copy fails
// (w's error included).
func (s *Store) WriteBackup(ctx context.Context, w io.Writer, size func(int64)) (int64, error) {
	const op = "boltstore.WriteBackup"
	for try := 0; ; try++ {
		if err := ctx.Err(); err != nil {
			return 0, bot.E(op, bot.Unavailable, err)
		}
		if _, marked := s.erasedSince(); marked {
			if try == backupTries {
				return 0, bot.Errorf(op, bot.Unavailable, "learners are being erased: try again in a moment")
			}
			if err := s.Compact(); err != nil {
				return 0, wrap(op, err)
			}
			continue
		}
		var n int64
		erased := false
		err := s.view(func(tx *bolt.Tx) error {
			// Checked again inside the snapshot: an erase may have come
			// in since.
			if meta := tx.Bucket(metaBucket); meta != nil && meta.Get(metaErasedAt) != nil {
				erased = true
				return nil
			}
			if size != nil {
				size(tx.Size())
			}
			var err error
			n, err = tx.WriteTo(w)
			return err
		})
		if err != nil {
			return n, wrap(op, err)
		}
		if !erased {
			return n, nil
		}
	}
}

// CheckBackup opens a backup (or any store file) read-only and reports
// whether it is a whole darsi store: bbolt's consistency check passes and
// the store's buckets are there. It returns the number of learners it
// holds. Errors: Invalid for a file that is not a darsi store or fails the
// check, Unavailable when a running darsi holds it.
func CheckBackup(path string) (int, error) {
	const op = "boltstore.CheckBackup"
	if _, err := os.Stat(path); err != nil {
		return 0, bot.Errorf(op, bot.Invalid, "%s: %w", path, err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: DefaultLockTimeout})
	if errors.Is(err, berrors.ErrTimeout) {
		return 0, bot.Errorf(op, bot.Unavailable, "%s is in use by a running darsi; stop it first", path)
	}
	if err != nil {
		return 0, bot.Errorf(op, bot.Invalid, "%s is not a darsi store: %w", path, err)
	}
	defer db.Close()
	learners := 0
	err = db.View(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{learnersBucket, metaBucket, appliedBucket} {
			if tx.Bucket(b) == nil {
				return fmt.Errorf("it has no %s bucket", b)
			}
		}
		if tx.Bucket(metaBucket).Get(metaLearnerIndexes) == nil {
			return errors.New("its indexes were never built")
		}
		var first error
		for err := range tx.Check() { // drained: the check runs until it ends
			if first == nil {
				first = err
			}
		}
		if first != nil {
			return fmt.Errorf("consistency check: %w", first)
		}
		learners = tx.Bucket(learnersBucket).Stats().KeyN
		return nil
	})
	if err != nil {
		return 0, bot.Errorf(op, bot.Invalid, "%s is not a whole darsi store: %w", path, err)
	}
	return learners, nil
}

// WriteFileAtomic writes what fill writes to path through a temporary file
// in the same folder, synced to disk, then renamed: path holds the old
// file or the whole new one, never a part. The file is readable by its
// owner only (it holds personal data).
func WriteFileAtomic(path string, fill func(f *os.File) error) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	err = f.Chmod(0o600)
	if err == nil {
		err = fill(f)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// Restore puts a backup in place as the store's file at path, after
// CheckBackup passed on it. It refuses while a running darsi holds path,
// and an existing file unless replace is set. It returns the number of
// learners the restored file holds. Errors: Invalid for a backup that
// does not pass the check or an existing file without replace,
// Unavailable when a running darsi holds path, Internal for a failed copy.
func Restore(backup, path string, replace bool) (int, error) {
	const op = "boltstore.Restore"
	n, err := CheckBackup(backup)
	if err != nil {
		return 0, err
	}
	if _, err := os.Stat(path); err == nil {
		if !replace {
			return 0, bot.Errorf(op, bot.Invalid, "%s exists: give --force to replace it", path)
		}
		// Whoever holds it is a running darsi: it must stop first.
		db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 200 * time.Millisecond})
		if errors.Is(err, berrors.ErrTimeout) {
			return 0, bot.Errorf(op, bot.Unavailable, "%s is in use by a running darsi; stop it first", path)
		}
		if err == nil {
			db.Close()
		}
	}
	src, err := os.Open(backup)
	if err != nil {
		return 0, bot.E(op, bot.Internal, err)
	}
	defer src.Close()
	err = WriteFileAtomic(path, func(f *os.File) error {
		_, err := io.Copy(f, src)
		return err
	})
	if err != nil {
		return 0, bot.E(op, bot.Internal, err)
	}
	return n, nil
}
