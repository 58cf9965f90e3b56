// Package redisstore is Darsi's production store: everything app.Backend
// names (learners and the message ids already applied to them, their
// indexes, delivery statuses, cohorts with coaches and sessions, the
// outbox, and the send-rate limiter), in Redis through go-redis's
// UniversalClient (one node, Sentinel or Cluster), so that every replica of
// the bot shares them. layout.go lists the keys.
//
// Update is optimistic. One round trip reads the learner and checks the
// message id, fn runs in the caller's goroutine, and one script compares the
// learner with what was read and, if nothing changed, writes it together
// with the message record and whatever the change moves in the learner's
// indexes (due index, cohort members and counters), all in the learner's
// bucket. When another update got in between, Update reads again, a few
// times at most. A process that wrote the learner last skips the read.
package redisstore

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/app"
	"github.com/redis/go-redis/v9"
)

var (
	_ app.Store      = (*Store)(nil)
	_ app.Deliveries = (*Store)(nil)
	_ app.Backend    = (*Store)(nil) // and so everything else the stores keep
)

// Defaults for Options.
const (
	DefaultPrefix            = "darsi:"
	DefaultRetention         = 7 * 24 * time.Hour
	DefaultDeliveryRetention = 30 * 24 * time.Hour
	DefaultMaxRetries        = 30
)

// DefaultJobRetention is Options.JobRetention's default.
const DefaultJobRetention = 30 * 24 * time.Hour

// Connection defaults that Open sets when the URL does not: a store that
// does not answer must fail a webhook quickly (Twilio waits 15 seconds at
// most), not hang it.
const (
	DefaultDialTimeout = 2 * time.Second
	DefaultIOTimeout   = time.Second
)

// scanCount is the COUNT hint of the SCAN that Learners runs.
const scanCount = 500

// Options tunes a Store. The zero value is ready to use.
//
// There is no Now: every expiry is measured by Redis's own clock, which is
// the one that matters when replicas' clocks disagree.
type Options struct {
	// Prefix starts every key, so that several bots (or tests) share one
	// Redis. Braces, which would change the hash tag, are escaped like
	// learner ids. Default DefaultPrefix.
	Prefix string
	// Retention is how long an applied message id is remembered. Twilio
	// retries a webhook within hours, so days are plenty. Default
	// DefaultRetention.
	Retention time.Duration
	// DeliveryRetention is how long a delivery status is kept after its
	// last change. Default DefaultDeliveryRetention.
	DeliveryRetention time.Duration
	// MaxRetries is how many times Update reads again after another update
	// of the same learner won the race, before it gives up with Conflict.
	// Default DefaultMaxRetries.
	MaxRetries int
	// Remember is how many learners' last known values the store keeps in
	// memory, so that an update of a learner this process wrote last goes
	// straight to the compare-and-set: one round trip instead of two. A
	// value another replica changed since costs the same two trips as
	// before (the failed compare-and-set answers the current value).
	// Default DefaultRemember; negative turns it off.
	Remember int
	// Buckets is how many buckets the keys are spread over (see
	// layout.go): more buckets spread a Cluster's load over more masters.
	// It is fixed when the store is first used; Open refuses another
	// number then. Default DefaultBuckets.
	Buckets int
	// JobRetention is how long a job is kept after it ended. Default
	// DefaultJobRetention.
	JobRetention time.Duration
	// Secret keys the hashes that stand for learners (app.Keys): what an
	// erased learner leaves against replays, and the keys of job ids.
	// Empty: the store's own, made at its first use and kept in Redis.
	Secret []byte
	// AuditRetention is how long an audit entry is kept. Default
	// cohort.DefaultAuditRetention.
	AuditRetention time.Duration
	// InboxRetention is how long a thread of the inbox is kept after its
	// last message. Default app.DefaultInboxRetention.
	InboxRetention time.Duration
}

// Store is an app.Store and app.Deliveries in Redis. It is safe for
// concurrent use, by any number of processes.
type Store struct {
	client            redis.UniversalClient
	prefix            string
	retention         time.Duration
	deliveryRetention time.Duration
	jobRetention      time.Duration
	buckets           int
	maxRetries        int
	// scanCount is the COUNT hint of Learners' SCAN; tests lower it.
	scanCount int64
	// trimEvery is trimEvery; tests lower it.
	trimEvery int
	trips     atomic.Uint64
	known     *knownValues
	// keys is set by New from Options.Secret, or by Open (or the first
	// call of Keys) from the store's own secret.
	keysMu sync.Mutex
	keys   app.Keys
	// fixedSecret is set when Options.Secret gave the keys.
	fixedSecret bool
	// dueStart and claimStart are where TakeDue and Claim start their
	// visit of the buckets.
	dueStart, claimStart atomic.Int64

	// auditRetention is Options.AuditRetention.
	auditRetention time.Duration
	// inboxRetention is Options.InboxRetention.
	inboxRetention time.Duration
}

// Open connects to the Redis that rawURL names, checks that it answers and
// loads the scripts. The URL takes one of three forms:
//
//	redis://[user:password@]host:port[/db][?option=value…]        one node
//	redis://host:port?addr=host2:port&addr=host3:port[&…]          Cluster (seed nodes)
//	redis://sentinel:26379[/db]?master_name=NAME[&addr=…][&…]       Sentinel
//
// rediss:// is the same over TLS. Options are go-redis's, in snake case
// (dial_timeout=3s, pool_size=20…). Unless the URL says otherwise, dials
// time out after DefaultDialTimeout, reads and writes after
// DefaultIOTimeout, a failed dial is not retried at once, a failed command
// is sent again once, and the context's deadline bounds every command.
//
// Open also checks the layout of the keys (layout.go): a store first used
// by this version records its number of buckets; one written by an earlier
// version, with a key per learner's own hash tag, is moved to buckets once.
//
// Errors: Invalid for a URL that is not one of these, or a number of
// buckets other than the store's, Unavailable when Redis does not answer
// (in which case nothing is left open).
func Open(ctx context.Context, rawURL string, o Options) (*Store, error) {
	const op = "redisstore.Open"
	client, err := newClient(rawURL)
	if err != nil {
		return nil, bot.E(op, bot.Invalid, err)
	}
	s := New(client, o)
	if err := s.client.Ping(ctx).Err(); err != nil {
		client.Close()
		return nil, wrap(op, fmt.Errorf("ping: %w", err))
	}
	// Loaded now so that the first updates do not pay for NOSCRIPT; should
	// Redis forget them (a restart, a failover), Run loads them again.
	for _, sc := range []*redis.Script{updateScript, advanceScript} {
		if err := sc.Load(ctx, s.client).Err(); err != nil {
			client.Close()
			return nil, wrap(op, fmt.Errorf("load script: %w", err))
		}
	}
	if err := s.checkLayout(ctx); err != nil {
		client.Close()
		return nil, err
	}
	if _, err := s.secretKeys(ctx); err != nil {
		client.Close()
		return nil, wrap(op, err)
	}
	return s, nil
}

// New returns a store on client, which may be any UniversalClient: a
// *redis.Client, a Sentinel-backed failover client or a *redis.ClusterClient
// (NewUniversalClient picks one from redis.UniversalOptions). The store adds
// a hook to client that counts round trips (see RoundTrips), and Close
// closes client. New does no I/O.
func New(client redis.UniversalClient, o Options) *Store {
	if o.Prefix == "" {
		o.Prefix = DefaultPrefix
	}
	if o.Retention <= 0 {
		o.Retention = DefaultRetention
	}
	if o.DeliveryRetention <= 0 {
		o.DeliveryRetention = DefaultDeliveryRetention
	}
	if o.MaxRetries <= 0 {
		o.MaxRetries = DefaultMaxRetries
	}
	if o.Remember == 0 {
		o.Remember = DefaultRemember
	}
	if o.Buckets <= 0 {
		o.Buckets = DefaultBuckets
	}
	if o.JobRetention <= 0 {
		o.JobRetention = DefaultJobRetention
	}
	s := &Store{
		known:             newKnownValues(o.Remember),
		client:            client,
		prefix:            escapeID(o.Prefix),
		retention:         o.Retention,
		deliveryRetention: o.DeliveryRetention,
		jobRetention:      o.JobRetention,
		buckets:           o.Buckets,
		maxRetries:        o.MaxRetries,
		scanCount:         scanCount,
		trimEvery:         trimEvery,
		auditRetention:    o.AuditRetention,
		inboxRetention:    o.InboxRetention,
	}
	client.AddHook(tripCounter{&s.trips})
	if len(o.Secret) > 0 {
		s.keys = app.NewKeys(o.Secret)
		s.fixedSecret = true
	}
	return s
}

// CheckURL reports whether rawURL is a store URL Open takes (see Open),
// without connecting. Errors are of kind Invalid and never repeat the URL,
// which may hold a password.
func CheckURL(rawURL string) error {
	client, err := newClient(rawURL)
	if err != nil {
		return bot.E("redisstore.CheckURL", bot.Invalid, err)
	}
	return client.Close()
}

// newClient builds the client that rawURL describes (see Open).
func newClient(rawURL string) (redis.UniversalClient, error) {
	if strings.HasPrefix(rawURL, SentinelScheme+"://") {
		failover, err := sentinelURL(rawURL)
		if err != nil {
			return nil, err
		}
		rawURL = failover
	}
	rawURL, minReplicas, replicaTimeout, err := replicaOptions(rawURL)
	if err != nil {
		return nil, err
	}
	withWait := func(c redis.UniversalClient, read time.Duration) (redis.UniversalClient, error) {
		if minReplicas == 0 {
			return c, nil
		}
		if read > 0 && replicaTimeout >= read {
			c.Close()
			return nil, fmt.Errorf("store URL: min_replicas_timeout (%s) must be shorter than read_timeout (%s), which a write's wait for its replicas is part of", replicaTimeout, read)
		}
		c.AddHook(&replicaWait{n: int64(minReplicas), timeout: replicaTimeout, client: c})
		return c, nil
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		// url.Error repeats the URL, password included: say less.
		return nil, errors.New("store URL does not parse")
	}
	if u.Scheme != "redis" && u.Scheme != "rediss" {
		return nil, fmt.Errorf("store URL scheme %q: want redis or rediss", u.Scheme)
	}
	q := u.Query()
	ctxTimeout := !q.Has("context_timeout_enabled")
	// RESP2 unless the URL asks otherwise: the store uses no RESP3 feature,
	// and RESP3 makes go-redis look for push notifications on every reply.
	protocol := func(p *int) {
		if !q.Has("protocol") {
			*p = 2
		}
	}
	switch {
	case q.Has("master_name"):
		o, err := redis.ParseFailoverURL(rawURL)
		if err != nil {
			return nil, err
		}
		connDefaults(&o.DialTimeout, &o.ReadTimeout, &o.WriteTimeout, &o.DialerRetries, &o.MaxRetries)
		protocol(&o.Protocol)
		o.ContextTimeoutEnabled = o.ContextTimeoutEnabled || ctxTimeout
		return withWait(redis.NewFailoverClient(o), o.ReadTimeout)
	case q.Has("addr"):
		if minReplicas > 0 {
			return nil, errors.New("store URL: min_replicas is for one Redis or Sentinel, not a Cluster")
		}
		o, err := redis.ParseClusterURL(rawURL)
		if err != nil {
			return nil, err
		}
		connDefaults(&o.DialTimeout, &o.ReadTimeout, &o.WriteTimeout, &o.DialerRetries, &o.MaxRetries)
		protocol(&o.Protocol)
		o.ContextTimeoutEnabled = o.ContextTimeoutEnabled || ctxTimeout
		return redis.NewClusterClient(o), nil
	}
	o, err := redis.ParseURL(rawURL)
	if err != nil {
		return nil, err
	}
	connDefaults(&o.DialTimeout, &o.ReadTimeout, &o.WriteTimeout, &o.DialerRetries, &o.MaxRetries)
	protocol(&o.Protocol)
	o.ContextTimeoutEnabled = o.ContextTimeoutEnabled || ctxTimeout
	return withWait(redis.NewClient(o), o.ReadTimeout)
}

// connDefaults fills the connection options a URL left unset (zero).
func connDefaults(dial, read, write *time.Duration, dialerRetries, maxRetries *int) {
	if *dial == 0 {
		*dial = DefaultDialTimeout
	}
	if *read == 0 {
		*read = DefaultIOTimeout
	}
	if *write == 0 {
		*write = DefaultIOTimeout
	}
	// go-redis dials five times by default, each time for up to the dial
	// timeout; once is enough when every command is sent again once.
	if *dialerRetries == 0 {
		*dialerRetries = 1
	}
	if *maxRetries == 0 {
		*maxRetries = 1
	}
}

// Update implements app.Store. Without a conflict it takes two round trips,
// one to read and one to write, or only the write when this store wrote
// the learner last (see Options.Remember); a duplicate or an error from fn
// takes one.
//
// Errors: Invalid for an empty id, Unavailable when Redis cannot be reached
// or answers that it cannot serve now (loading, read-only, out of memory,
// cluster down) or the context ends, Conflict when other updates of the
// learner won Options.MaxRetries times in a row, Internal for a stored
// value that does not decode or another error from Redis; fn's own error
// as is. After an Unavailable error the update may or may not have been
// written, never half: a retry with the same msgID tells which.
func (s *Store) Update(ctx context.Context, id, msgID string, fn func(l *bot.Learner) (app.Change, error)) (app.Result, error) {
	const op = "redisstore.Update"
	if id == "" {
		return app.Result{}, bot.Errorf(op, bot.Invalid, "empty learner id")
	}
	if err := ctx.Err(); err != nil {
		return app.Result{}, bot.E(op, bot.Unavailable, err)
	}
	if _, err := s.secretKeys(ctx); err != nil {
		return app.Result{}, wrap(op, err)
	}
	k := s.keysOf(id, msgID)
	scriptKeys := []string{k.learner, k.index, k.due}
	if msgID != "" {
		scriptKeys = append(scriptKeys, k.msg)
	}
	old, cached := s.known.get(id)
	for attempt := 0; ; attempt++ {
		// The first retry follows a stale remembered value and goes at
		// once; later ones are real races and wait a little.
		if attempt > 0 && (!cached || attempt > 1) {
			if attempt > s.maxRetries {
				return app.Result{}, bot.Errorf(op, bot.Conflict, "the learner changed under %d attempts in a row", attempt)
			}
			if err := sleep(ctx, backoff(attempt)); err != nil {
				return app.Result{}, bot.E(op, bot.Unavailable, err)
			}
		}

		if !cached {
			var rec *string
			var err error
			old, rec, err = s.read(ctx, k)
			if err != nil {
				return app.Result{}, wrap(op, err)
			}
			if rec != nil {
				s.known.put(id, old)
				replies, err := decodeReplies(*rec)
				if err != nil {
					return app.Result{}, bot.E(op, bot.Internal, err)
				}
				return app.Result{Replies: replies, Duplicate: true}, nil
			}
		}
		// Decoding afresh on every attempt gives fn a deep copy; before
		// is another, for the indexes.
		var before *bot.Learner
		l := bot.Learner{ID: id}
		if old != "" {
			var err error
			if l, err = decodeLearner(old, id); err != nil {
				s.known.forget(id)
				return app.Result{}, bot.E(op, bot.Internal, err)
			}
			b, _ := decodeLearner(old, id)
			before = &b
		}
		version := l.Version
		ch, err := fn(&l)
		if err != nil {
			return app.Result{}, err
		}

		var value, record []byte
		after := &l
		if ch.Erase {
			after = nil
		} else {
			l.ID = id
			l.Version = version + 1
			value = encodeLearner(&l, rand.Uint64())
		}
		if msgID != "" {
			record = encodeReplies(ch.Replies, rand.Uint64())
		}
		args := append([]any{old, value, record, s.retention.Milliseconds(), k.msgPrefix, k.msgHash, s.trimIndex(), k.member, k.bucket},
			s.indexArgs(before, after, k.key)...)
		res, err := updateScript.Run(ctx, s.client, scriptKeys, args...).Slice()
		if err != nil {
			// Whether it was written is unknown: read next time.
			s.known.forget(id)
			return app.Result{}, wrap(op, err)
		}
		switch code, _ := res[0].(int64); code {
		case 1:
			s.known.put(id, string(value))
			if ch.Erase {
				// Erased means gone: the jobs addressed to the learner
				// and what they sent go too.
				if err := s.forgetJobs(ctx, k); err != nil {
					return app.Result{}, wrap(op, fmt.Errorf("erased, but not their jobs: %w", err))
				}
				// And their thread with their coach.
				if err := s.forgetThread(ctx, k.key); err != nil {
					return app.Result{}, wrap(op, fmt.Errorf("erased, but not their thread: %w", err))
				}
			}
			return app.Result{Replies: ch.Replies}, nil
		case 2:
			// The message was applied before, or by a concurrent delivery.
			v, _ := res[1].(string)
			replies, err := decodeReplies(v)
			if err != nil {
				return app.Result{}, bot.E(op, bot.Internal, err)
			}
			return app.Result{Replies: replies, Duplicate: true}, nil
		case 0:
			// The learner changed since it was read or remembered; the
			// script answered its current value: try again on that.
			old, _ = res[1].(string)
			cached = true
		case 3:
			// A message of an erased learner, replayed: nothing happens.
			s.known.forget(id)
			return app.Result{Duplicate: true}, nil
		default:
			return app.Result{}, bot.Errorf(op, bot.Internal, "update script answered %v", res)
		}
	}
}

// trimEvery is how many writes, on average, go between two trims of a
// learner's message index. Expired ids cost only a few bytes until then
// (and an erase deletes keys that are already gone), while trimming on
// every write was a sizeable part of the script's time.
const trimEvery = 16

// trimIndex tells the update script whether to trim the index this time.
func (s *Store) trimIndex() string {
	if s.trimEvery <= 1 || rand.N(s.trimEvery) == 0 {
		return "1"
	}
	return "0"
}

// read returns the stored learner ("" for none) and, when k has a message
// key, that message's record if it is already applied, in one round trip.
func (s *Store) read(ctx context.Context, k learnerKeys) (old string, rec *string, err error) {
	if k.msg == "" {
		old, err = s.client.Get(ctx, k.learner).Result()
		if errors.Is(err, redis.Nil) {
			return "", nil, nil
		}
		return old, nil, err
	}
	// Both keys carry the learner's hash tag: one slot, so MGET is fine on
	// Cluster too.
	vals, err := s.client.MGet(ctx, k.learner, k.msg).Result()
	if err != nil {
		return "", nil, err
	}
	if len(vals) != 2 {
		return "", nil, fmt.Errorf("MGET answered %d values, want 2", len(vals))
	}
	old, _ = vals[0].(string)
	if v, ok := vals[1].(string); ok {
		rec = &v
	}
	return old, rec, nil
}

// backoff is how long Update waits before its attempt-th read (attempt ≥
// 1): up to a millisecond, then up to twice as long each time, at most 64
// ms, jittered so that the losers of a race do not meet again. The usual
// race (two messages of one learner at once) costs one retry and well
// under a millisecond; the bound on retries keeps the worst case under two
// seconds, well within Twilio's 15-second webhook timeout.
func backoff(attempt int) time.Duration {
	return rand.N(time.Millisecond<<min(attempt-1, 6)) + 1
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Get implements app.Store. Errors: NotFound, Unavailable (see Update),
// Internal for a stored value that does not decode.
func (s *Store) Get(ctx context.Context, id string) (bot.Learner, error) {
	const op = "redisstore.Get"
	if err := ctx.Err(); err != nil {
		return bot.Learner{}, bot.E(op, bot.Unavailable, err)
	}
	v, err := s.client.Get(ctx, s.keysOf(id, "").learner).Result()
	if errors.Is(err, redis.Nil) {
		// The id is a phone number: keep it out of error text, which ends
		// up in logs.
		return bot.Learner{}, bot.Errorf(op, bot.NotFound, "no such learner")
	}
	if err != nil {
		return bot.Learner{}, wrap(op, err)
	}
	l, err := decodeLearner(v, id)
	if err != nil {
		return bot.Learner{}, bot.E(op, bot.Internal, err)
	}
	return l, nil
}

// Learners implements app.Store. It SCANs each master node for learner keys,
// reads each batch of up to 500 learners in one round trip, and calls fn
// outside of any Redis call, so fn may call Update. A learner written during
// the walk may or may not be seen; none is seen twice, which costs a set of
// the ids seen so far (SCAN may return a key twice). Errors: fn's as is,
// Unavailable (see Update), Internal for a stored value that does not
// decode.
func (s *Store) Learners(ctx context.Context, fn func(bot.Learner) error) error {
	const op = "redisstore.Learners"
	if err := ctx.Err(); err != nil {
		return bot.E(op, bot.Unavailable, err)
	}
	nodes, err := s.nodes(ctx)
	if err != nil {
		return wrap(op, err)
	}
	match := globEscape(s.prefix) + "{b*}:l:*"
	seen := map[string]bool{}
	for _, node := range nodes {
		var cursor uint64
		for {
			keys, next, err := node.Scan(ctx, cursor, match, s.scanCount).Result()
			if err != nil {
				return wrap(op, err)
			}
			page, err := s.page(ctx, s.unseen(keys, seen))
			if err != nil {
				return wrap(op, err)
			}
			for _, l := range page {
				if err := fn(l); err != nil {
					return err
				}
			}
			if next == 0 {
				break
			}
			cursor = next
		}
	}
	return nil
}

// scanner is the part of a node's client that Learners uses.
type scanner interface {
	Scan(ctx context.Context, cursor uint64, match string, count int64) *redis.ScanCmd
}

// nodes returns the clients to SCAN: every master of a cluster, or the
// client itself.
func (s *Store) nodes(ctx context.Context) ([]scanner, error) {
	c, ok := s.client.(*redis.ClusterClient)
	if !ok {
		return []scanner{s.client}, nil
	}
	var (
		mu    sync.Mutex
		nodes []scanner
	)
	err := c.ForEachMaster(ctx, func(_ context.Context, m *redis.Client) error {
		mu.Lock()
		defer mu.Unlock()
		nodes = append(nodes, m)
		return nil
	})
	return nodes, err
}

// unseen returns the ids of the learner keys a SCAN returned that were not
// seen yet, and marks them seen.
func (s *Store) unseen(keys []string, seen map[string]bool) []string {
	var ids []string
	for _, key := range keys {
		id, ok := s.learnerOfKey(key)
		if !ok || seen[id] {
			continue
		}
		seen[id] = true
		ids = append(ids, id)
	}
	return ids
}

// page reads the learners of ids, in their order, leaving out those that
// are gone. The reads go through the store's client in one pipeline, which
// follows Cluster's redirects should a slot move meanwhile.
func (s *Store) page(ctx context.Context, ids []string) ([]bot.Learner, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	cmds := make([]*redis.StringCmd, len(ids))
	_, err := s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, id := range ids {
			cmds[i] = p.Get(ctx, s.keysOf(id, "").learner)
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, err
	}
	page := make([]bot.Learner, 0, len(ids))
	for i, cmd := range cmds {
		v, err := cmd.Result()
		if errors.Is(err, redis.Nil) {
			continue // erased since the SCAN
		}
		if err != nil {
			return nil, err
		}
		l, err := decodeLearner(v, ids[i])
		if err != nil {
			return nil, bot.E("redisstore.Learners", bot.Internal, err)
		}
		page = append(page, l)
	}
	return page, nil
}

// Ping implements app.Store: it sends PING. Errors: Unavailable.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.client.Ping(ctx).Err(); err != nil {
		return wrap("redisstore.Ping", err)
	}
	return nil
}

// Close closes the client. Calls under way fail with Unavailable.
func (s *Store) Close() error {
	if err := s.client.Close(); err != nil {
		return bot.E("redisstore.Close", bot.Internal, err)
	}
	return nil
}

// RoundTrips reports how many commands and pipelines the store's client has
// sent since New, each one round trip to Redis (go-redis resending a
// command after a failure counts once). It is there for benchmarks, tests
// and metrics.
func (s *Store) RoundTrips() uint64 { return s.trips.Load() }

// tripCounter is the go-redis hook behind RoundTrips.
type tripCounter struct{ n *atomic.Uint64 }

func (h tripCounter) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h tripCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.n.Add(1)
		return next(ctx, cmd)
	}
}

func (h tripCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		h.n.Add(1)
		return next(ctx, cmds)
	}
}

var (
	idEscaper   = strings.NewReplacer("%", "%25", "{", "%7B", "}", "%7D")
	idUnescaper = strings.NewReplacer("%25", "%", "%7B", "{", "%7D", "}")
	globEscaper = strings.NewReplacer(`\`, `\\`, "*", `\*`, "?", `\?`, "[", `\[`, "]", `\]`)
)

// escapeID keeps braces out of a learner id or a cohort code, so that no
// key has a hash tag but its bucket's, and a key tells where an id ends.
func escapeID(id string) string  { return idEscaper.Replace(id) }
func unescapeID(s string) string { return idUnescaper.Replace(s) }
func globEscape(s string) string { return globEscaper.Replace(s) }

// transient lists the error replies of a Redis that cannot serve now but
// will: a retry later may succeed.
var transient = []string{"LOADING", "READONLY", "MASTERDOWN", "CLUSTERDOWN", "TRYAGAIN", "OOM", "BUSY", "NOREPLICAS", "MOVED", "ASK"}

// wrap gives err the kind it deserves, unless it already has one: an error
// reply from Redis is Internal unless it is transient; anything else (a
// refused or broken connection, a timeout, a closed client, the context)
// is Unavailable.
func wrap(op string, err error) error {
	var e *bot.Error
	if errors.As(err, &e) {
		return err
	}
	var rerr redis.Error
	if errors.As(err, &rerr) {
		for _, p := range transient {
			if redis.HasErrorPrefix(rerr, p) {
				return bot.E(op, bot.Unavailable, err)
			}
		}
		return bot.E(op, bot.Internal, err)
	}
	return bot.E(op, bot.Unavailable, err)
}
