package redisstore

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/app"
	"github.com/redis/go-redis/v9"
)

var _ app.Inbox = (*Store)(nil)

// The inbox lives under one hash tag, P{inbox}: learners write to their
// coach rarely, and one slot lets one script file a message with every
// index it moves. Where K is a thread's key (the learner's key) and C a
// cohort's code ("" for learners without one):
//
//	P{inbox}:t:K    the thread (a hash: learner, cohort, name, lang,
//	                updated, order, unread)
//	P{inbox}:m:K    its messages, oldest first (a list of the message's
//	                id, a line break, and the message as JSON)
//	P{inbox}:o:C    the cohort's threads, newest first (a sorted set of
//	                each thread's order, all scores 0: read by lex range)
//	P{inbox}:u:C    the cohort's threads with unread messages (a set)
//	P{inbox}:age    every thread by the time of its last message (ms),
//	                for retention
//
// Each script first removes up to 100 threads past their retention.

func (s *Store) inboxPrefix() string { return s.prefix + "{inbox}:" }

func (s *Store) inboxRetentionOrDefault() time.Duration {
	if s.inboxRetention > 0 {
		return s.inboxRetention
	}
	return app.DefaultInboxRetention
}

// inboxCutoff is the time, in ms, before which threads are past retention.
func (s *Store) inboxCutoff() string {
	return strconv.FormatInt(time.Now().Add(-s.inboxRetentionOrDefault()).UnixMilli(), 10)
}

// inboxPurge is the Lua that every inbox script starts with: forget(key)
// removes a thread and its place in the indexes, and the threads past
// retention (last written before ARGV[2], ms) go.
//
//	KEYS[1]  P{inbox}:age
//	ARGV[1]  P{inbox}:
//	ARGV[2]  the cutoff
const inboxPurge = `
local pfx = ARGV[1]
local function forget(key)
  local h = redis.call('HMGET', pfx .. 't:' .. key, 'cohort', 'order')
  if h[2] then
    redis.call('ZREM', pfx .. 'o:' .. h[1], h[2])
    redis.call('SREM', pfx .. 'u:' .. h[1], key)
  end
  redis.call('DEL', pfx .. 't:' .. key, pfx .. 'm:' .. key)
  redis.call('ZREM', KEYS[1], key)
end
for _, k in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[2], 'LIMIT', 0, 100)) do
  forget(k)
end
`

// fileInboxScript: ARGV[3] the key, [4] the message id, [5] the message
// as JSON, [6] "1" for a learner's message, [7] learner, [8] cohort,
// [9] name, [10] lang, [11] updated (RFC 3339), [12] order, [13] updated
// in ms, [14] the most messages kept. Answers 1 when filed, 0 when the
// thread holds the message already.
var fileInboxScript = redis.NewScript(inboxPurge + `
local key = ARGV[3]
local tk, mk = pfx .. 't:' .. key, pfx .. 'm:' .. key
local want = ARGV[4] .. '\n'
for _, m in ipairs(redis.call('LRANGE', mk, 0, -1)) do
  if string.sub(m, 1, #want) == want then return 0 end
end
local h = redis.call('HMGET', tk, 'cohort', 'order')
if h[2] then
  redis.call('ZREM', pfx .. 'o:' .. h[1], h[2])
  redis.call('SREM', pfx .. 'u:' .. h[1], key)
end
redis.call('RPUSH', mk, want .. ARGV[5])
redis.call('LTRIM', mk, -tonumber(ARGV[14]), -1)
redis.call('HSET', tk, 'learner', ARGV[7], 'cohort', ARGV[8], 'name', ARGV[9], 'lang', ARGV[10],
  'updated', ARGV[11], 'order', ARGV[12])
local unread
if ARGV[6] == '1' then
  unread = redis.call('HINCRBY', tk, 'unread', 1)
else
  unread = tonumber(redis.call('HGET', tk, 'unread') or '0')
end
if unread > 0 then redis.call('SADD', pfx .. 'u:' .. ARGV[8], key) end
redis.call('ZADD', pfx .. 'o:' .. ARGV[8], 0, ARGV[12])
redis.call('ZADD', KEYS[1], ARGV[13], key)
return 1
`)

// readThreadScript: ARGV[3] the key. Answers the thread's hash and its
// messages.
var readThreadScript = redis.NewScript(inboxPurge + `
local key = ARGV[3]
return {redis.call('HGETALL', pfx .. 't:' .. key), redis.call('LRANGE', pfx .. 'm:' .. key, 0, -1)}
`)

// listThreadsScript: ARGV[3] the cohort, [4] where to start ("-" or "("
// and an order), [5] how many. Answers, for each thread, its hash and its
// last message.
var listThreadsScript = redis.NewScript(inboxPurge + `
local out = {}
for _, order in ipairs(redis.call('ZRANGEBYLEX', pfx .. 'o:' .. ARGV[3], ARGV[4], '+', 'LIMIT', 0, tonumber(ARGV[5]))) do
  local key = string.sub(order, string.find(order, ':', 1, true) + 1)
  local last = redis.call('LINDEX', pfx .. 'm:' .. key, -1) or ''
  table.insert(out, {redis.call('HGETALL', pfx .. 't:' .. key), last})
end
return out
`)

// markReadScript: ARGV[3] the key. Answers 0 for no thread.
var markReadScript = redis.NewScript(inboxPurge + `
local tk = pfx .. 't:' .. ARGV[3]
local cohort = redis.call('HGET', tk, 'cohort')
if not cohort then return 0 end
redis.call('HSET', tk, 'unread', 0)
redis.call('SREM', pfx .. 'u:' .. cohort, ARGV[3])
return 1
`)

// unreadScript: ARGV[3] the cohort.
var unreadScript = redis.NewScript(inboxPurge + `
return redis.call('SCARD', pfx .. 'u:' .. ARGV[3])
`)

// forgetThreadScript: ARGV[3] the key; an erase.
var forgetThreadScript = redis.NewScript(inboxPurge + `
forget(ARGV[3])
return 1
`)

func (s *Store) runInbox(ctx context.Context, script *redis.Script, args ...any) *redis.Cmd {
	pfx := s.inboxPrefix()
	return script.Run(ctx, s.client, []string{pfx + "age"}, append([]any{pfx, s.inboxCutoff()}, args...)...)
}

// FileInbox implements app.Inbox in one round trip.
func (s *Store) FileInbox(ctx context.Context, t app.Thread, m app.InboxMessage) (bool, error) {
	const op = "redisstore.FileInbox"
	if t.Key == "" || m.ID == "" || strings.ContainsAny(m.ID, "\n") {
		return false, bot.Errorf(op, bot.Invalid, "a thread needs a key and a message an id on one line")
	}
	if err := ctx.Err(); err != nil {
		return false, bot.E(op, bot.Unavailable, err)
	}
	v, err := json.Marshal(m)
	if err != nil {
		return false, bot.E(op, bot.Internal, err)
	}
	fromLearner := "0"
	if m.From == "" {
		fromLearner = "1"
	}
	t.UpdatedAt = m.At
	n, err := s.runInbox(ctx, fileInboxScript, t.Key, m.ID, v, fromLearner, t.Learner, t.Cohort, t.Name, string(t.Lang),
		m.At.UTC().Format(time.RFC3339Nano), t.Order(), m.At.UnixMilli(), app.MaxThreadMessages).Int()
	if err != nil {
		return false, wrap(op, err)
	}
	return n == 1, nil
}

// decodeThread reads a thread's hash (HGETALL's answer as a list) and
// messages.
func decodeThread(key string, hash any, msgs []any) (app.Thread, bool, error) {
	fields, _ := hash.([]any)
	if len(fields) == 0 {
		return app.Thread{}, false, nil
	}
	t := app.Thread{Key: key}
	for i := 0; i+1 < len(fields); i += 2 {
		name, _ := fields[i].(string)
		v, _ := fields[i+1].(string)
		switch name {
		case "learner":
			t.Learner = v
		case "cohort":
			t.Cohort = v
		case "name":
			t.Name = v
		case "lang":
			t.Lang = bot.Lang(v)
		case "unread":
			t.Unread, _ = strconv.Atoi(v)
		case "updated":
			at, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				return app.Thread{}, false, err
			}
			t.UpdatedAt = at
		}
	}
	for _, raw := range msgs {
		v, _ := raw.(string)
		if v == "" {
			continue
		}
		_, js, ok := strings.Cut(v, "\n")
		if !ok {
			return app.Thread{}, false, fmt.Errorf("message of thread %s without its id", key)
		}
		var m app.InboxMessage
		if err := json.Unmarshal([]byte(js), &m); err != nil {
			return app.Thread{}, false, err
		}
		t.Messages = append(t.Messages, m)
	}
	return t, true, nil
}

// InboxThread implements app.Inbox in one round trip.
func (s *Store) InboxThread(ctx context.Context, key string) (app.Thread, error) {
	const op = "redisstore.InboxThread"
	if err := ctx.Err(); err != nil {
		return app.Thread{}, bot.E(op, bot.Unavailable, err)
	}
	res, err := s.runInbox(ctx, readThreadScript, key).Slice()
	if err != nil {
		return app.Thread{}, wrap(op, err)
	}
	if len(res) != 2 {
		return app.Thread{}, bot.Errorf(op, bot.Internal, "thread script answered %v", res)
	}
	msgs, _ := res[1].([]any)
	t, ok, err := decodeThread(key, res[0], msgs)
	if err != nil {
		return app.Thread{}, bot.Errorf(op, bot.Internal, "decode thread: %w", err)
	}
	if !ok {
		return app.Thread{}, bot.Errorf(op, bot.NotFound, "no thread %q", key)
	}
	return t, nil
}

// InboxThreads implements app.Inbox in one round trip.
func (s *Store) InboxThreads(ctx context.Context, cohort, cursor string, limit int) ([]app.Thread, string, error) {
	const op = "redisstore.InboxThreads"
	if limit <= 0 {
		limit = 100
	}
	if err := ctx.Err(); err != nil {
		return nil, "", bot.E(op, bot.Unavailable, err)
	}
	from := "-"
	if cursor != "" {
		from = "(" + cursor
	}
	res, err := s.runInbox(ctx, listThreadsScript, cohort, from, limit+1).Slice()
	if err != nil {
		return nil, "", wrap(op, err)
	}
	out := make([]app.Thread, 0, min(len(res), limit))
	for _, item := range res {
		pair, _ := item.([]any)
		if len(pair) != 2 {
			return nil, "", bot.Errorf(op, bot.Internal, "list script answered %v", item)
		}
		hash, _ := pair[0].([]any)
		key := ""
		for i := 0; i+1 < len(hash); i += 2 {
			if name, _ := hash[i].(string); name == "order" {
				order, _ := hash[i+1].(string)
				_, key, _ = strings.Cut(order, ":")
			}
		}
		t, ok, err := decodeThread(key, pair[0], []any{pair[1]})
		if err != nil {
			return nil, "", bot.Errorf(op, bot.Internal, "decode thread: %w", err)
		}
		if ok {
			out = append(out, t)
		}
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		next = out[limit-1].Order()
	}
	return out, next, nil
}

// MarkInboxRead implements app.Inbox in one round trip.
func (s *Store) MarkInboxRead(ctx context.Context, key string) error {
	const op = "redisstore.MarkInboxRead"
	if err := ctx.Err(); err != nil {
		return bot.E(op, bot.Unavailable, err)
	}
	n, err := s.runInbox(ctx, markReadScript, key).Int()
	if err != nil {
		return wrap(op, err)
	}
	if n == 0 {
		return bot.Errorf(op, bot.NotFound, "no thread %q", key)
	}
	return nil
}

// InboxUnread implements app.Inbox in one round trip.
func (s *Store) InboxUnread(ctx context.Context, cohort string) (int, error) {
	const op = "redisstore.InboxUnread"
	if err := ctx.Err(); err != nil {
		return 0, bot.E(op, bot.Unavailable, err)
	}
	n, err := s.runInbox(ctx, unreadScript, cohort).Int()
	if err != nil {
		return 0, wrap(op, err)
	}
	return n, nil
}

// forgetThread removes the thread of the learner whose key is key, for an
// erase.
func (s *Store) forgetThread(ctx context.Context, key string) error {
	return s.runInbox(ctx, forgetThreadScript, key).Err()
}
