package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/store/boltstore"
)

// backupDocs is where operators read how each store is backed up.
const backupDocs = "docs/operations-data.md (Backups and restore)"

// backuper is a store that writes a consistent copy of itself: the
// embedded store.
type backuper interface {
	WriteBackup(ctx context.Context, w io.Writer, size func(int64)) (int64, error)
}

// backupHandler serves GET /backup on the admin listener: the embedded
// store's file as one read transaction sees it, while the server goes on
// serving. The Redis store has Redis's own backups: the answer says so.
func backupHandler(s store, log *slog.Logger) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		b, ok := s.(backuper)
		if !ok {
			http.Error(w, "this server's store is Redis: back it up with Redis's RDB snapshots or AOF, see "+backupDocs, http.StatusNotImplemented)
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Cache-Control", "no-store")
		start := time.Now()
		n, err := b.WriteBackup(r.Context(), w, func(size int64) {
			w.Header().Set("Content-Length", strconv.FormatInt(size, 10))
		})
		if err != nil {
			// Once the first byte went out the status is sent; the
			// client sees a body shorter than its Content-Length.
			log.Error("store backup failed", "bytes", n, "err", err)
			if n == 0 {
				http.Error(w, err.Error(), http.StatusServiceUnavailable)
			}
			return
		}
		log.Info("store backup served", "bytes", n, "took", time.Since(start).Round(time.Millisecond))
	}
}

// backupCmd is "darsi backup --out FILE": a consistent copy of the
// embedded store, from the running server's admin listener when a server
// holds the file, else from the file itself.
func backupCmd(ctx context.Context, cfg Config, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("backup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg.storeFlags(fs)
	out := fs.String("out", "", "the backup file to write (replaced whole, or left as it was)")
	cfg.flagFor(fs, "admin", "DARSI_ADMIN_ADDR", "the running server's admin listener, which serves the backup while it runs")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" || fs.NArg() != 0 {
		return errors.New("usage: darsi backup --out FILE [--store PATH] [--admin 127.0.0.1:9090]")
	}
	switch storeKind(cfg.Store) {
	case "redis":
		return errors.New("the store is Redis: Redis keeps its own backups (RDB snapshots, the append-only file), see " + backupDocs)
	case "memory":
		return errors.New("the store is memory: there is nothing to back up")
	}
	if _, err := os.Stat(cfg.Store); err != nil {
		return fmt.Errorf("no embedded store at %s: %w", cfg.Store, err)
	}
	o := cfg.boltOptions()
	o.LockTimeout = 300 * time.Millisecond
	var (
		from string
		n    int64
	)
	s, err := boltstore.Open(cfg.Store, o)
	switch {
	case err == nil:
		from = "the file " + cfg.Store
		err = boltstore.WriteFileAtomic(*out, func(f *os.File) error {
			var err error
			if n, err = s.WriteBackup(ctx, f, nil); err != nil {
				return err
			}
			return checkBackupFile(f)
		})
		if cerr := s.Close(); err == nil {
			err = cerr
		}
	case bot.KindOf(err) == bot.Unavailable:
		// A running darsi holds the file: it writes the copy.
		if cfg.AdminAddr == "off" {
			return fmt.Errorf("the embedded store %s is in use by a running darsi, whose admin listener is off (DARSI_ADMIN_ADDR=off): set DARSI_ADMIN_ADDR on the server, or stop it and run darsi backup again", cfg.Store)
		}
		url := "http://" + clientAddr(cfg.AdminAddr) + "/backup"
		from = "the running server at " + clientAddr(cfg.AdminAddr)
		err = boltstore.WriteFileAtomic(*out, func(f *os.File) error {
			var err error
			if n, err = fetchBackup(ctx, url, f); err != nil {
				return fmt.Errorf("the embedded store %s is in use by a running darsi; its admin listener: %w", cfg.Store, err)
			}
			return checkBackupFile(f)
		})
	}
	if err != nil {
		return err
	}
	learners, err := boltstore.CheckBackup(*out)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "backup of %s: %s, %d bytes, %d learners\n", from, *out, n, learners)
	return nil
}

// checkBackupFile checks a backup being written, before it takes its
// name: a copy that does not open as a whole store never replaces one.
func checkBackupFile(f *os.File) error {
	if err := f.Sync(); err != nil {
		return err
	}
	_, err := boltstore.CheckBackup(f.Name())
	return err
}

// fetchBackup copies a running server's backup (GET /backup on its admin
// listener) into w, and fails unless all of it came.
func fetchBackup(ctx context.Context, url string, w io.Writer) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		return 0, fmt.Errorf("GET %s: %s: %s", url, resp.Status, msg)
	}
	n, err := io.Copy(w, resp.Body)
	if err != nil {
		return n, fmt.Errorf("GET %s: %w after %d bytes", url, err, n)
	}
	if resp.ContentLength >= 0 && n != resp.ContentLength {
		return n, fmt.Errorf("GET %s: %d bytes of %d", url, n, resp.ContentLength)
	}
	return n, nil
}

// clientAddr turns a listen address into one to dial: ":9090" is
// 127.0.0.1:9090.
func clientAddr(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

// restoreCmd is "darsi restore --from FILE --to PATH": a backup put in
// place as the embedded store's file, once checked.
func restoreCmd(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("restore", flag.ContinueOnError)
	fs.SetOutput(stderr)
	from := fs.String("from", "", "the backup file")
	to := fs.String("to", "", "the store's file (DARSI_STORE of the server that will use it)")
	force := fs.Bool("force", false, "replace an existing store file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *from == "" || *to == "" || fs.NArg() != 0 {
		return errors.New("usage: darsi restore --from BACKUP --to PATH [--force]")
	}
	n, err := boltstore.Restore(*from, *to, *force)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "restored %s to %s: %d learners; start darsi serve on it\n", *from, *to, n)
	return nil
}
