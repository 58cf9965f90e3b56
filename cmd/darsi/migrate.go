package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/app"
	"github.com/darsi-ma/darsi/bot/store/boltstore"
	"github.com/darsi-ma/darsi/bot/store/redisstore"
)

// Presence on Redis: a serving replica announces itself for
// replicaTTL and renews every replicaRenew; a move holds the store for
// moveTTL and renews every moveRenew.
const (
	replicaTTL   = 15 * time.Second
	replicaRenew = 5 * time.Second
	moveTTL      = 30 * time.Second
	moveRenew    = 10 * time.Second
)

// moveProgress, when set (tests), is told after each batch a move copies.
var moveProgress func(app.MoveCheckpoint)

// movable is a store a move reads and writes.
type movable interface {
	store
	app.Dumper
	app.Loader
}

// migrateCmd is "darsi migrate --from SRC --to DST": everything a store
// holds that must survive a move, copied into another store, resumable.
func migrateCmd(ctx context.Context, cfg Config, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	from := fs.String("from", "", "the store to copy: an embedded store's file, or a Redis URL")
	to := fs.String("to", "", "the store to copy into: empty, or holding this move's checkpoint")
	batch := fs.Int("batch", 500, "records copied in one batch")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *from == "" || *to == "" || fs.NArg() != 0 {
		return errors.New("usage: darsi migrate --from SRC --to DST (each an embedded store's file or a redis:// URL)")
	}
	if *from == *to {
		return errors.New("darsi migrate: --from and --to name the same store")
	}
	log := cfg.logger(stderr)
	holder := "darsi migrate " + redisstore.ReplicaID()

	src, err := openMovable(ctx, cfg, *from, "--from", holder, false)
	if err != nil {
		return err
	}
	defer src.close()
	dst, err := openMovable(ctx, cfg, *to, "--to", holder, true)
	if err != nil {
		return err
	}
	defer func() { dst.close() }()

	fmt.Fprintf(stdout, "moving %s (%s) to %s (%s)\n", describeStore(*from), storeKind(*from), describeStore(*to), storeKind(*to))
	progress := func(cp app.MoveCheckpoint) {
		fmt.Fprintf(stdout, "  %-11s %8d copied\n", cp.Kind, cp.Counts[cp.Kind])
		if moveProgress != nil {
			moveProgress(cp)
		}
	}
	// The secret first: the target is opened again with it, so that
	// learners' keys, job ids and message records are the source's.
	source := describeStore(*from)
	if storeKind(*from) == "embedded" {
		if abs, err := filepath.Abs(*from); err == nil {
			source = abs
		}
	}
	cp, err := app.Move(ctx, src.s, dst.s, app.MoveOptions{Batch: *batch, Progress: progress, StopAfter: app.KindSecret, Source: source})
	if err != nil {
		return moveErr(err, cp)
	}
	if !cp.Done {
		dst.close()
		if dst, err = openMovable(ctx, cfg, *to, "--to", holder, true); err != nil {
			return err
		}
		if cp, err = app.Move(ctx, src.s, dst.s, app.MoveOptions{Batch: *batch, Progress: progress, Source: source}); err != nil {
			return moveErr(err, cp)
		}
	}
	fmt.Fprintln(stdout, "done:")
	for _, k := range app.MoveKinds {
		fmt.Fprintf(stdout, "  %-11s %8d\n", k, cp.Counts[k])
	}
	fmt.Fprintln(stdout, "  sessions    not copied: coaches log in again")
	log.Info("store moved", "from", storeKind(*from), "to", storeKind(*to), "learners", cp.Counts[app.KindLearners],
		"took", cp.Updated.Sub(cp.Started).Round(time.Millisecond))
	return nil
}

// moveErr says what an interrupted move left and how to go on.
func moveErr(err error, cp app.MoveCheckpoint) error {
	if bot.KindOf(err) == bot.Conflict {
		return err
	}
	if cp.Source != "" && cp.Kind != "" {
		return fmt.Errorf("%w\nthe move stopped while copying %s; run the same darsi migrate again to go on from there", err, cp.Kind)
	}
	return err
}

// opened is a store a move holds, with how to let it go.
type opened struct {
	s     movable
	close func()
}

// openMovable opens one side of a move. An embedded store must not be
// held by a running darsi; a Redis store must have no serving replica,
// and is held for the move (darsi serve refuses to start meanwhile).
func openMovable(ctx context.Context, cfg Config, spec, flagName, holder string, target bool) (opened, error) {
	switch storeKind(spec) {
	case "memory":
		return opened{}, fmt.Errorf("%s memory: a throwaway store cannot be moved", flagName)
	case "embedded":
		if !target {
			if _, err := os.Stat(spec); err != nil {
				return opened{}, fmt.Errorf("%s %s: no embedded store there (%v)", flagName, spec, err)
			}
		}
		o := cfg.boltOptions()
		o.LockTimeout = 300 * time.Millisecond
		s, err := boltstore.Open(spec, o)
		if bot.KindOf(err) == bot.Unavailable {
			return opened{}, fmt.Errorf("%s %s: the embedded store is in use by a running darsi; stop it first", flagName, spec)
		}
		if err != nil {
			return opened{}, fmt.Errorf("%s %s: %w", flagName, spec, err)
		}
		return opened{s: s, close: func() { s.Close() }}, nil
	}
	s, err := redisstore.Open(ctx, spec, redisstore.Options{Buckets: cfg.RedisBuckets, Secret: []byte(cfg.Secret),
		Retention: cfg.MessageRetention, DeliveryRetention: cfg.DeliveryRetention, JobRetention: cfg.JobRetention})
	if err != nil {
		return opened{}, fmt.Errorf("%s %s: %w", flagName, redactURL(spec), err)
	}
	ok, err := s.LockMove(ctx, holder, moveTTL)
	if err == nil && !ok {
		err = errors.New("another darsi migrate is moving this store; wait for it to end")
	}
	if err == nil {
		var n int
		if n, err = s.Replicas(ctx); err == nil && n > 0 {
			s.UnlockMove(ctx, holder)
			err = fmt.Errorf("the store is in use by %d running darsi (each replica announces itself every %v); stop them first", n, replicaRenew)
		}
	}
	if err != nil {
		s.Close()
		return opened{}, fmt.Errorf("%s %s: %w", flagName, redactURL(spec), err)
	}
	renew, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(moveRenew)
		defer t.Stop()
		for {
			select {
			case <-renew.Done():
				return
			case <-t.C:
				s.LockMove(renew, holder, moveTTL)
			}
		}
	}()
	return opened{s: s, close: func() {
		stop()
		<-done
		s.UnlockMove(context.Background(), holder)
		s.Close()
	}}, nil
}

// describeStore names a store for what migrate prints: a file's path, a
// Redis URL without its password.
func describeStore(spec string) string {
	if storeKind(spec) == "redis" {
		return redactURL(spec)
	}
	return spec
}

// announceReplica, on the Redis store, files this replica as serving it
// until stop is called, and refuses to start while darsi migrate holds
// the store. On the embedded store it does nothing: the file's lock keeps
// a move out.
func announceReplica(ctx context.Context, s store, log *slog.Logger) (stop func(), err error) {
	rs, ok := s.(*redisstore.Store)
	if !ok {
		return func() {}, nil
	}
	id := redisstore.ReplicaID()
	if err := rs.Announce(ctx, id, replicaTTL); err != nil {
		return nil, err
	}
	moving, left, err := rs.Moving(ctx)
	if err != nil || moving {
		rs.Withdraw(context.Background(), id)
		if err == nil {
			err = fmt.Errorf("darsi migrate is moving this store (DARSI_STORE): start darsi serve once it has ended (its hold ends within %v if it stopped)", left.Round(time.Second))
		}
		return nil, err
	}
	renew, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(replicaRenew)
		defer t.Stop()
		for {
			select {
			case <-renew.Done():
				return
			case <-t.C:
				if err := rs.Announce(renew, id, replicaTTL); err != nil && renew.Err() == nil {
					log.Warn("announcing this replica to darsi migrate", "err", err)
				}
			}
		}
	}()
	return func() {
		cancel()
		<-done
		ctx, c := context.WithTimeout(context.Background(), time.Second)
		defer c()
		rs.Withdraw(ctx, id)
	}, nil
}
