package redisstore

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Writes that wait for replicas. Redis replicates asynchronously: the
// master answers a write before any replica has it, and a failover
// promotes a replica that may lack the last writes. A store URL with
// min_replicas=N makes every pipeline (and every single command) that
// writes end with WAIT N timeout, sent in the same round trip, on the
// same connection: darsi answers Twilio only once the write is on N
// replicas, so that a failover loses no message darsi acknowledged. A
// write that reached fewer replicas in time fails as Unavailable (the
// webhook answers 503 and Twilio sends the message again; the write
// itself is on the master, and the retry finds its message id there).
//
// min_replicas_timeout bounds the wait (default DefaultReplicaTimeout).
// The cost is one replica's acknowledgement per write: a round trip
// between the master and its fastest replica (docs/soak.md).

// DefaultReplicaTimeout is how long a write waits for its replicas
// unless the URL says min_replicas_timeout: half the default read
// timeout, which the wait is part of.
const DefaultReplicaTimeout = DefaultIOTimeout / 2

// errNoReplicas is the error of a write that reached fewer replicas than
// min_replicas in time.
var errNoReplicas = errors.New("the write reached fewer replicas than min_replicas asks, in time: it is on the master only")

// replicaOptions takes min_replicas and min_replicas_timeout out of a
// store URL's query (go-redis does not know them) and returns the URL
// without them.
func replicaOptions(rawURL string) (rest string, n int, timeout time.Duration, err error) {
	base, query, ok := strings.Cut(rawURL, "?")
	if !ok {
		return rawURL, 0, 0, nil
	}
	q, err := url.ParseQuery(query)
	if err != nil {
		return rawURL, 0, 0, nil // go-redis says what is wrong
	}
	if !q.Has("min_replicas") && !q.Has("min_replicas_timeout") {
		return rawURL, 0, 0, nil
	}
	timeout = DefaultReplicaTimeout
	if v := q.Get("min_replicas"); v != "" {
		if n, err = strconv.Atoi(v); err != nil || n < 0 || n > 100 {
			return "", 0, 0, fmt.Errorf("store URL: min_replicas=%q: want a number of replicas from 0 to 100", v)
		}
	}
	if v := q.Get("min_replicas_timeout"); v != "" {
		if timeout, err = time.ParseDuration(v); err != nil || timeout < time.Millisecond || timeout > time.Minute {
			return "", 0, 0, fmt.Errorf("store URL: min_replicas_timeout=%q: want a duration from 1ms to 1m, such as 500ms", v)
		}
	}
	q.Del("min_replicas")
	q.Del("min_replicas_timeout")
	if len(q) == 0 {
		return base, n, timeout, nil
	}
	return base + "?" + q.Encode(), n, timeout, nil
}

// replicaWait is the go-redis hook that adds WAIT to writes.
type replicaWait struct {
	n       int64
	timeout time.Duration
	client  redis.UniversalClient // single commands are sent as a pipeline of one through it
}

func (h *replicaWait) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *replicaWait) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if !writes(cmd) {
			return next(ctx, cmd)
		}
		// The same connection must carry the write and the WAIT: a
		// pipeline, which ProcessPipelineHook ends with WAIT.
		_, err := h.client.Pipelined(ctx, func(p redis.Pipeliner) error {
			return p.Process(ctx, cmd)
		})
		if err != nil && cmd.Err() == nil {
			cmd.SetErr(err)
		}
		return cmd.Err()
	}
}

func (h *replicaWait) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		write := false
		for _, c := range cmds {
			if writes(c) {
				write = true
				break
			}
		}
		if !write {
			return next(ctx, cmds)
		}
		wait := redis.NewIntCmd(ctx, "wait", h.n, h.timeout.Milliseconds())
		err := next(ctx, append(cmds, wait))
		if err == nil && wait.Err() == nil && wait.Val() < h.n {
			err = errNoReplicas
		}
		if err == nil {
			err = wait.Err()
		}
		if err != nil {
			// Whatever the caller reads, a write not known to be on
			// the replicas is not reported as done.
			for _, c := range cmds {
				if writes(c) && c.Err() == nil {
					c.SetErr(err)
				}
			}
		}
		return err
	}
}

// writes reports whether cmd may write: scripts (which may) and Redis's
// writing commands that the store uses.
func writes(cmd redis.Cmder) bool {
	switch cmd.Name() {
	case "eval", "evalsha", "fcall",
		"set", "setnx", "setex", "psetex", "getset", "getdel", "del", "unlink", "rename", "copy",
		"expire", "pexpire", "expireat", "pexpireat", "persist",
		"incr", "incrby", "decr", "decrby", "hincrby", "hset", "hsetnx", "hmset", "hdel",
		"sadd", "srem", "smove", "spop", "zadd", "zincrby", "zrem", "zremrangebyscore", "zremrangebyrank", "zpopmin",
		"lpush", "rpush", "lpop", "rpop", "lrem", "ltrim", "lmove", "xadd", "xtrim", "restore", "flushdb":
		return true
	}
	return false
}
