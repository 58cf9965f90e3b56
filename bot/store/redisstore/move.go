package redisstore

import (
	"cmp"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/app"
	"github.com/darsi-ma/darsi/bot/cohort"
	"github.com/darsi-ma/darsi/bot/schedule"
)

var (
	_ app.Dumper = (*Store)(nil)
	_ app.Loader = (*Store)(nil)
)

// A move (app.Move) reads the store kind by kind: the keys of a kind are
// found by SCAN on every node, sorted, and read a batch at a time, so
// that a dump resumes after any record. It writes with the store's own
// scripts or ones that write a record with every index it implies, and
// leave a record the store holds as it is. P{meta}:move holds the
// checkpoint of the move that writes into the store.

func (s *Store) moveKey() string { return s.prefix + "{meta}:move" }

// Fingerprint implements app.Dumper: a keyed hash of a fixed text with
// the store's keys.
func (s *Store) Fingerprint(ctx context.Context) (string, error) {
	keys, err := s.secretKeys(ctx)
	if err != nil {
		return "", wrap("redisstore.Fingerprint", err)
	}
	return keys.Learner("darsi move"), nil
}

// scanKeys returns every key matching match on every node, once each,
// sorted.
func (s *Store) scanKeys(ctx context.Context, match string) ([]string, error) {
	nodes, err := s.nodes(ctx)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var out []string
	for _, node := range nodes {
		var cursor uint64
		for {
			keys, next, err := node.Scan(ctx, cursor, match, 1000).Result()
			if err != nil {
				return nil, err
			}
			for _, k := range keys {
				if !seen[k] {
					seen[k] = true
					out = append(out, k)
				}
			}
			if next == 0 {
				break
			}
			cursor = next
		}
	}
	slices.Sort(out)
	return out, nil
}

// emit calls read on the names after after, batch at a time, and fn with
// what it read.
func emit(names []string, after string, batch int, read func([]string) ([]app.Record, error), fn func([]app.Record) error) error {
	i, _ := slices.BinarySearch(names, after)
	if i < len(names) && names[i] == after {
		i++
	}
	if after == "" {
		i = 0
	}
	for ; i < len(names); i += batch {
		recs, err := read(names[i:min(i+batch, len(names))])
		if err != nil {
			return err
		}
		if len(recs) > 0 {
			if err := fn(recs); err != nil {
				return err
			}
		}
	}
	return nil
}

// bucketKeys turns the keys of a kind kept in buckets ("P{b3}:l:<rest>")
// into their rests, sorted, once each.
func (s *Store) bucketKeys(ctx context.Context, part string) ([]string, error) {
	keys, err := s.scanKeys(ctx, globEscape(s.prefix)+"{b*}:"+part+"*")
	if err != nil {
		return nil, err
	}
	var rests []string
	for _, k := range keys {
		_, rest, ok := strings.Cut(strings.TrimPrefix(k, s.prefix), "}:"+part)
		if ok {
			rests = append(rests, rest)
		}
	}
	slices.Sort(rests)
	return slices.Compact(rests), nil
}

// Dump implements app.Dumper.
func (s *Store) Dump(ctx context.Context, kind, after string, batch int, fn func([]app.Record) error) error {
	const op = "redisstore.Dump"
	if batch <= 0 {
		batch = 500
	}
	err := s.dump(ctx, kind, after, batch, fn)
	var e *bot.Error
	if err == nil || errors.As(err, &e) || errors.Is(err, context.Canceled) {
		return err
	}
	return wrap(op, err)
}

func (s *Store) dump(ctx context.Context, kind, after string, batch int, fn func([]app.Record) error) error {
	keys, err := s.secretKeys(ctx)
	if err != nil {
		return err
	}
	switch kind {
	case app.KindSecret:
		v, err := s.client.Get(ctx, s.secretKey()).Result()
		if errors.Is(err, redis.Nil) || after != "" {
			return nil
		}
		if err != nil {
			return err
		}
		secret, err := hex.DecodeString(v)
		if err != nil {
			return err
		}
		return fn([]app.Record{{Kind: kind, Key: "secret", Secret: secret}})
	case app.KindCohorts, app.KindCoaches, app.KindContents:
		key := map[string]string{app.KindCohorts: s.cohortKeys().codes, app.KindCoaches: s.cohortKeys().logins,
			app.KindContents: s.contentsKey()}[kind]
		h, err := s.client.HGetAll(ctx, key).Result()
		if err != nil {
			return err
		}
		names := make([]string, 0, len(h))
		for k := range h {
			names = append(names, k)
		}
		slices.Sort(names)
		return emit(names, after, batch, func(names []string) ([]app.Record, error) {
			recs := make([]app.Record, len(names))
			for i, n := range names {
				r := app.Record{Kind: kind, Key: n}
				var err error
				switch kind {
				case app.KindCohorts:
					r.Cohort = new(cohort.Cohort)
					err = json.Unmarshal([]byte(h[n]), r.Cohort)
				case app.KindCoaches:
					r.Coach = new(cohort.Coach)
					err = json.Unmarshal([]byte(h[n]), r.Coach)
				default:
					r.Content = &app.ContentRecord{Slot: n}
					err = json.Unmarshal([]byte(h[n]), &r.Content.Content)
				}
				if err != nil {
					return nil, err
				}
				recs[i] = r
			}
			return recs, nil
		}, fn)
	case app.KindLearners:
		ids, err := s.learnerIDs(ctx)
		if err != nil {
			return err
		}
		return emit(ids, after, batch, func(ids []string) ([]app.Record, error) {
			page, err := s.page(ctx, ids)
			if err != nil {
				return nil, err
			}
			recs := make([]app.Record, len(page))
			for i := range page {
				recs[i] = app.Record{Kind: kind, Key: page[i].ID, Learner: &page[i]}
			}
			return recs, nil
		}, fn)
	case app.KindMessages:
		return s.dumpMessages(ctx, keys, after, batch, fn)
	case app.KindTombstones:
		hs, err := s.bucketKeys(ctx, "a:")
		if err != nil {
			return err
		}
		return emit(hs, after, batch, func(hs []string) ([]app.Record, error) {
			var recs []app.Record
			for _, h := range hs {
				for b := range s.buckets {
					k := s.bucketTag(b) + "a:" + h
					v, err := s.client.Get(ctx, k).Result()
					if errors.Is(err, redis.Nil) || (err == nil && (v == "" || v[0] != '~')) {
						continue
					}
					if err != nil {
						return nil, err
					}
					ttl, err := s.client.PTTL(ctx, k).Result()
					if err != nil || ttl <= 0 {
						continue
					}
					recs = append(recs, app.Record{Kind: kind, Key: h, Tombstone: &app.Tombstone{BSUIDKey: h, LearnerKey: v[1:], Expires: time.Now().Add(ttl)}})
					break
				}
			}
			return recs, nil
		}, fn)
	case app.KindJobs:
		ids, err := s.bucketKeys(ctx, "j:")
		if err != nil {
			return err
		}
		return emit(ids, after, batch, func(ids []string) ([]app.Record, error) {
			vals := make([]*redis.StringCmd, len(ids))
			ends := make([]*redis.FloatCmd, len(ids))
			_, err := s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
				for i, id := range ids {
					tag := s.jobTag(id)
					vals[i] = p.Get(ctx, tag+"j:"+id)
					ends[i] = p.ZScore(ctx, tag+"jf", id)
				}
				return nil
			})
			if err != nil && !errors.Is(err, redis.Nil) {
				return nil, err
			}
			var recs []app.Record
			for i, id := range ids {
				raw, err := vals[i].Result()
				if errors.Is(err, redis.Nil) {
					continue
				}
				if err != nil {
					return nil, err
				}
				j, err := decodeJob(raw)
				if err != nil {
					return nil, err
				}
				j.ID = id
				r := &app.JobRecord{Job: j}
				state, _, _ := strings.Cut(raw, "\x1e")
				if f := strings.Split(state, "\x1f"); len(f) == 11 {
					r.Delivery = bot.DeliveryStatus(f[9])
					r.ErrorCode, _ = strconv.Atoi(f[10])
				}
				if ms, err := ends[i].Result(); err == nil {
					r.EndedAt = time.UnixMilli(int64(ms))
				}
				recs = append(recs, app.Record{Kind: kind, Key: id, Job: r})
			}
			return recs, nil
		}, fn)
	case app.KindDeliveries:
		names, err := s.scanKeys(ctx, globEscape(s.prefix)+"d:*")
		if err != nil {
			return err
		}
		return emit(names, after, batch, func(names []string) ([]app.Record, error) {
			var recs []app.Record
			for _, n := range names {
				d, err := s.Delivery(ctx, strings.TrimPrefix(n, s.prefix+"d:"))
				if bot.KindOf(err) == bot.NotFound {
					continue
				}
				if err != nil {
					return nil, err
				}
				recs = append(recs, app.Record{Kind: kind, Key: n, Delivery: &d})
			}
			return recs, nil
		}, fn)
	case app.KindAudit:
		from := "-"
		if after != "" {
			from = "(" + after
		}
		for {
			msgs, err := s.client.XRangeN(ctx, s.cohortKeys().audit, from, "+", int64(batch)).Result()
			if err != nil {
				return err
			}
			if len(msgs) == 0 {
				return nil
			}
			recs := make([]app.Record, 0, len(msgs))
			for _, m := range msgs {
				var e cohort.AuditEntry
				v, _ := m.Values["e"].(string)
				if err := json.Unmarshal([]byte(v), &e); err != nil {
					return err
				}
				e.ID = m.ID
				recs = append(recs, app.Record{Kind: kind, Key: m.ID, Audit: &e})
			}
			if err := fn(recs); err != nil {
				return err
			}
			from = "(" + msgs[len(msgs)-1].ID
		}
	case app.KindInbox:
		pfx := s.inboxPrefix()
		names, err := s.scanKeys(ctx, globEscape(pfx)+"t:*")
		if err != nil {
			return err
		}
		return emit(names, after, batch, func(names []string) ([]app.Record, error) {
			var recs []app.Record
			for _, n := range names {
				key := strings.TrimPrefix(n, pfx+"t:")
				res, err := s.runInbox(ctx, readThreadScript, key).Slice()
				if err != nil {
					return nil, err
				}
				if len(res) != 2 {
					continue
				}
				msgs, _ := res[1].([]any)
				t, ok, err := decodeThread(key, res[0], msgs)
				if err != nil {
					return nil, err
				}
				if ok {
					recs = append(recs, app.Record{Kind: kind, Key: n, Thread: &app.ThreadRecord{Thread: t, Learner: t.Learner}})
				}
			}
			return recs, nil
		}, fn)
	}
	return bot.Errorf("redisstore.Dump", bot.Invalid, "no kind %q", kind)
}

// learnerIDs returns the ids of every learner, sorted.
func (s *Store) learnerIDs(ctx context.Context) ([]string, error) {
	esc, err := s.bucketKeys(ctx, "l:")
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(esc))
	for i, e := range esc {
		ids[i] = unescapeID(e)
	}
	slices.Sort(ids)
	return ids, nil
}

// dumpMessages writes the message records: each learner's message index
// (PB:ms:K) names them with their expiry, and the learner's record, when
// the learner is still there, holds their replies.
func (s *Store) dumpMessages(ctx context.Context, keys app.Keys, after string, batch int, fn func([]app.Record) error) error {
	ids, err := s.learnerIDs(ctx)
	if err != nil {
		return err
	}
	byKey := make(map[string]string, len(ids))
	for _, id := range ids {
		byKey[keys.Learner(id)] = id
	}
	lks, err := s.bucketKeys(ctx, "ms:")
	if err != nil {
		return err
	}
	// A learner's records, in their order, under "K:M".
	var pending []app.Record
	flush := func(force bool) error {
		for len(pending) >= batch || (force && len(pending) > 0) {
			n := min(batch, len(pending))
			if err := fn(pending[:n]); err != nil {
				return err
			}
			pending = pending[n:]
		}
		return nil
	}
	afterKey, _, _ := strings.Cut(after, ":")
	for _, lk := range lks {
		if after != "" && lk < afterKey {
			continue
		}
		id := byKey[lk]
		// An erased learner's index may be in any bucket (a move from the
		// embedded store files it in each): the first found is enough.
		var entries []redis.Z
		tags := []string{}
		if id != "" {
			tags = append(tags, s.keysOf(id, "").bucket)
		} else {
			for b := range s.buckets {
				tags = append(tags, s.bucketTag(b))
			}
		}
		var tag string
		for _, t := range tags {
			z, err := s.client.ZRangeWithScores(ctx, t+"ms:"+lk, 0, -1).Result()
			if err != nil {
				return err
			}
			if len(z) > 0 {
				entries, tag = z, t
				break
			}
		}
		var recs []app.Record
		var gets []*redis.StringCmd
		_, err := s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, z := range entries {
				hash, _ := z.Member.(string)
				if id != "" {
					gets = append(gets, p.Get(ctx, tag+"m:"+lk+":"+hash))
				}
			}
			return nil
		})
		if err != nil && !errors.Is(err, redis.Nil) {
			return err
		}
		now := time.Now()
		for i, z := range entries {
			hash, _ := z.Member.(string)
			key := lk + ":" + hash
			exp := time.UnixMilli(int64(z.Score))
			if (after != "" && key <= after) || !exp.After(now) {
				continue
			}
			m := &app.MessageRecord{LearnerKey: lk, Hash: hash, Learner: id, Expires: exp}
			if id != "" {
				v, err := gets[i].Result()
				if errors.Is(err, redis.Nil) {
					continue // expired meanwhile
				}
				if err != nil {
					return err
				}
				if m.Replies, err = decodeReplies(v); err != nil {
					return err
				}
			}
			recs = append(recs, app.Record{Kind: app.KindMessages, Key: key, Message: m})
		}
		slices.SortFunc(recs, func(a, b app.Record) int { return cmp.Compare(a.Key, b.Key) })
		pending = append(pending, recs...)
		if err := flush(false); err != nil {
			return err
		}
	}
	return flush(true)
}

// MoveCheckpoint implements app.Loader.
func (s *Store) MoveCheckpoint(ctx context.Context) (*app.MoveCheckpoint, error) {
	v, err := s.client.Get(ctx, s.moveKey()).Result()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, wrap("redisstore.MoveCheckpoint", err)
	}
	cp := new(app.MoveCheckpoint)
	if err := json.Unmarshal([]byte(v), cp); err != nil {
		return nil, bot.E("redisstore.MoveCheckpoint", bot.Internal, err)
	}
	return cp, nil
}

// Holds implements app.Loader: the first key of the store's that is not
// its layout, secret, presence or lock.
func (s *Store) Holds(ctx context.Context) (string, error) {
	nodes, err := s.nodes(ctx)
	if err != nil {
		return "", wrap("redisstore.Holds", err)
	}
	for _, node := range nodes {
		var cursor uint64
		for {
			keys, next, err := node.Scan(ctx, cursor, globEscape(s.prefix)+"*", 1000).Result()
			if err != nil {
				return "", wrap("redisstore.Holds", err)
			}
			for _, k := range keys {
				if !strings.HasPrefix(k, s.prefix+"{meta}:") {
					// The key's class only ("{b3}:l"): the rest may name a learner.
					parts := strings.SplitN(strings.TrimPrefix(k, s.prefix), ":", 3)
					return "keys such as " + s.prefix + strings.Join(parts[:min(2, len(parts))], ":") + ":…", nil
				}
			}
			if next == 0 {
				break
			}
			cursor = next
		}
	}
	return "", nil
}

// loadMessageScript files a message record and its place in the
// learner's message index, which lives as long as its last record.
//
//	KEYS[1]  the learner's message index (PB:ms:K)
//	KEYS[2]  the record (PB:m:K:M), or none for an erased learner
//	ARGV[1]  the message's key (M)
//	ARGV[2]  when it expires (ms)
//	ARGV[3]  how long it lives (ms)
//	ARGV[4]  the record's value
var loadMessageScript = redis.NewScript(`
if KEYS[2] then redis.call('SET', KEYS[2], ARGV[4], 'PX', ARGV[3], 'NX') end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[3]) then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
return 1
`)

// loadJobsScript stores the jobs whose id is not stored yet, in the state
// they are in, with every listing and count they belong to.
//
//	KEYS[1]  the bucket's due set
//	ARGV[1]  the bucket's tag
//	ARGV[2…] per job, 5 values: id, due score, claimable score ("" for
//	         none), the end (ms, "" for none), the job as jobValue writes it
var loadJobsScript = redis.NewScript(outboxLua + `
local bp, n = ARGV[1], 0
for b = 2, #ARGV, 5 do
  local id = ARGV[b]
  local k = bp .. 'j:' .. id
  if redis.call('EXISTS', k) == 0 then
    redis.call('SET', k, ARGV[b+4])
    local f = load(k)
    if ARGV[b+2] ~= '' then redis.call('ZADD', KEYS[1], ARGV[b+2], id) end
    index(bp, id, ARGV[b+1], f.k)
    count(bp, f.k, '', f.s)
    if ARGV[b+3] ~= '' then redis.call('ZADD', bp .. 'jf', ARGV[b+3], id) end
    n = n + 1
  end
end
return n
`)

// loadAuditScript adds an entry at the time it was made (or after the
// last entry, should that be later), unless an equal entry of that
// millisecond is there.
//
//	KEYS[1]  the stream
//	ARGV[1]  the entry's time (ms)
//	ARGV[2]  the entry as JSON
var loadAuditScript = redis.NewScript(`
for _, e in ipairs(redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1])) do
  if e[2][2] == ARGV[2] then return 0 end
end
local ms = tonumber(ARGV[1])
local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
if last[1] then
  local lms = tonumber(string.match(last[1][1], '^(%d+)'))
  if lms > ms then ms = lms end
end
redis.call('XADD', KEYS[1], string.format('%.0f', ms) .. '-*', 'e', ARGV[2])
return 1
`)

// loadThreadScript files a whole thread of the inbox, unless the store
// holds it. ARGV[3] the key, [4] learner, [5] cohort, [6] name, [7] lang,
// [8] updated (RFC 3339), [9] order, [10] updated in ms, [11] unread,
// [12…] the messages, each its id, a line break and its JSON.
var loadThreadScript = redis.NewScript(inboxPurge + `
local key = ARGV[3]
local tk, mk = pfx .. 't:' .. key, pfx .. 'm:' .. key
if redis.call('EXISTS', tk) == 1 then return 0 end
for i = 12, #ARGV do redis.call('RPUSH', mk, ARGV[i]) end
redis.call('HSET', tk, 'learner', ARGV[4], 'cohort', ARGV[5], 'name', ARGV[6], 'lang', ARGV[7],
  'updated', ARGV[8], 'order', ARGV[9], 'unread', ARGV[11])
if tonumber(ARGV[11]) > 0 then redis.call('SADD', pfx .. 'u:' .. ARGV[5], key) end
redis.call('ZADD', pfx .. 'o:' .. ARGV[5], 0, ARGV[9])
redis.call('ZADD', KEYS[1], ARGV[10], key)
return 1
`)

// putNewScript stores a coach unless there, and their token's entry.
//
//	KEYS[1]  the coaches by login
//	KEYS[2]  the logins by token hash
//	ARGV[1]  the login
//	ARGV[2]  the coach as JSON
//	ARGV[3]  the token hash
var putNewScript = redis.NewScript(`
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 1 and ARGV[3] ~= '' then
  redis.call('HSET', KEYS[2], ARGV[3], ARGV[1])
end
return 1
`)

// Load implements app.Loader: the records, then the checkpoint.
func (s *Store) Load(ctx context.Context, kind string, recs []app.Record, cp app.MoveCheckpoint) error {
	const op = "redisstore.Load"
	if err := ctx.Err(); err != nil {
		return bot.E(op, bot.Unavailable, err)
	}
	if err := s.load(ctx, kind, recs); err != nil {
		var e *bot.Error
		if errors.As(err, &e) {
			return err
		}
		return wrap(op, err)
	}
	v, err := json.Marshal(cp)
	if err != nil {
		return bot.E(op, bot.Internal, err)
	}
	return wrapOrNil(op, s.client.Set(ctx, s.moveKey(), v, 0).Err())
}

func (s *Store) load(ctx context.Context, kind string, recs []app.Record) error {
	if len(recs) == 0 {
		return nil
	}
	if kind == app.KindSecret {
		s.keysMu.Lock()
		defer s.keysMu.Unlock()
		if err := s.client.Set(ctx, s.secretKey(), hex.EncodeToString(recs[0].Secret), 0).Err(); err != nil {
			return err
		}
		// Read again on first use: the store's own secret is now the one
		// loaded (unless Options.Secret gave one, which stays).
		if !s.fixedSecret {
			s.keys = app.Keys{}
		}
		return nil
	}
	if _, err := s.secretKeys(ctx); err != nil {
		return err
	}
	now := time.Now()
	switch kind {
	case app.KindLearners:
		ls := make([]bot.Learner, len(recs))
		for i, r := range recs {
			ls[i] = *r.Learner
		}
		return s.Import(ctx, ls)
	case app.KindJobs:
		byBucket := map[int][]any{}
		var jobs []schedule.Job
		for _, r := range recs {
			j := r.Job
			claimable, ended := "", ""
			switch j.Status {
			case schedule.Queued:
				claimable = score(j.DueAt)
			case schedule.Claimed:
				claimable = score(j.LeaseUntil)
			}
			if !j.EndedAt.IsZero() && j.Status.Final() {
				ended = strconv.FormatInt(j.EndedAt.UnixMilli(), 10)
			}
			de := ""
			if j.ErrorCode != 0 {
				de = strconv.Itoa(j.ErrorCode)
			}
			b := s.bucketOf(j.ID)
			byBucket[b] = append(byBucket[b], j.ID, score(j.DueAt), claimable, ended,
				jobValue(&j.Job, escapeID(codeKey(j.Cohort)), string(j.Delivery), de))
			jobs = append(jobs, j.Job)
		}
		return s.runScripts(ctx, loadJobsScript, byBucket, func(b int) ([]string, []any) {
			tag := s.bucketTag(b)
			return []string{tag + "jd"}, []any{tag}
		}, func(any) error { return nil }, func(p redis.Pipeliner) { s.fileJobs(ctx, p, jobs) })
	}
	_, err := s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, r := range recs {
			switch kind {
			case app.KindCohorts:
				v, _ := json.Marshal(r.Cohort)
				p.HSetNX(ctx, s.cohortKeys().codes, codeKey(r.Cohort.Code), v)
			case app.KindCoaches:
				v, _ := json.Marshal(r.Coach)
				k := s.cohortKeys()
				putNewScript.Eval(ctx, p, []string{k.logins, k.tokens}, r.Coach.Login, v, r.Coach.TokenHash)
			case app.KindContents:
				v, _ := json.Marshal(r.Content.Content)
				p.HSet(ctx, s.contentsKey(), r.Content.Slot, v)
			case app.KindMessages:
				m := r.Message
				ttl := m.Expires.Sub(now).Milliseconds()
				if ttl <= 0 {
					continue
				}
				args := []any{m.Hash, m.Expires.UnixMilli(), ttl, encodeReplies(m.Replies, rand.Uint64())}
				if m.Learner != "" {
					tag := s.keysOf(m.Learner, "").bucket
					loadMessageScript.Eval(ctx, p, []string{tag + "ms:" + m.LearnerKey, tag + "m:" + m.LearnerKey + ":" + m.Hash}, args...)
					continue
				}
				// An erased learner: their id, and so their bucket, is
				// gone; their index goes in every bucket, where a replay
				// of their messages by number or by BSUID looks.
				for b := range s.buckets {
					loadMessageScript.Eval(ctx, p, []string{s.bucketTag(b) + "ms:" + m.LearnerKey}, args...)
				}
			case app.KindTombstones:
				t := r.Tombstone
				ttl := t.Expires.Sub(now)
				if ttl <= 0 {
					continue
				}
				p.SetNX(ctx, s.bucketTag(s.bucketOf(t.LearnerKey))+"a:"+t.BSUIDKey, "~"+t.LearnerKey, ttl)
			case app.KindDeliveries:
				d := *r.Delivery
				d.To = ""
				if !d.UpdatedAt.Add(s.deliveryRetention).After(now) {
					continue
				}
				prev := d.Status.Replaces()
				args := []any{string(d.Status), "", d.JobID, d.ErrorCode, appendTime(nil, d.UpdatedAt), s.deliveryRetention.Milliseconds()}
				for _, st := range prev {
					args = append(args, string(st))
				}
				advanceScript.Eval(ctx, p, []string{s.deliveryKey(d.SID)}, args...)
				p.PExpireAt(ctx, s.deliveryKey(d.SID), d.UpdatedAt.Add(s.deliveryRetention))
			case app.KindAudit:
				e := *r.Audit
				e.ID = ""
				v, _ := json.Marshal(e)
				loadAuditScript.Eval(ctx, p, []string{s.cohortKeys().audit}, e.At.UnixMilli(), v)
			case app.KindInbox:
				t := r.Thread.Thread
				args := []any{t.Key, r.Thread.Learner, t.Cohort, t.Name, string(t.Lang), t.UpdatedAt.UTC().Format(time.RFC3339Nano),
					t.Order(), t.UpdatedAt.UnixMilli(), t.Unread}
				for _, m := range t.Messages {
					v, _ := json.Marshal(m)
					args = append(args, m.ID+"\n"+string(v))
				}
				pfx := s.inboxPrefix()
				loadThreadScript.Eval(ctx, p, []string{pfx + "age"}, append([]any{pfx, s.inboxCutoff()}, args...)...)
			}
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return err
	}
	return nil
}
