// Command darsi-soak runs darsi under faults on this machine, on loopback
// only, and checks that nothing is lost or sent twice (docs/soak.md):
// its own Redis (append-only file, killed and restarted), two darsi
// replicas (one killed and restarted), a TCP proxy that drops connections
// and adds latency, a fake Twilio, and simulated learners, reminders and
// nudges. It prints the counts and exits 1 when an invariant failed.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/darsi-ma/darsi/internal/soak"
)

func main() {
	var opts soak.Options
	flag.DurationVar(&opts.Duration, "duration", 5*time.Minute, "how long learners write and faults happen (what is due then has up to 90 s more to arrive)")
	flag.IntVar(&opts.Learners, "learners", 2000, "how many simulated learners take lessons")
	flag.StringVar(&opts.Dir, "dir", "", "folder for Redis's files, the binary and the replicas' logs (default: a temporary one, removed after a run that passed)")
	flag.BoolVar(&opts.Sentinel, "sentinel", false, "Redis as a master, two replicas and three Sentinels; the master is killed")
	flag.StringVar(&opts.StoreQuery, "store-query", "", "added to the store URL's query, such as min_replicas=1")
	quiet := flag.Bool("quiet", false, "print only the report")
	flag.Parse()
	if !*quiet {
		opts.Progress = os.Stderr
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	start := time.Now()
	rep, err := soak.Run(ctx, opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, "darsi-soak:", err)
		os.Exit(2)
	}
	rep.Print(os.Stdout)
	fmt.Printf("soak: took %s in all (build and setup included)\n", time.Since(start).Round(time.Second))
	if !rep.OK() {
		os.Exit(1)
	}
}
