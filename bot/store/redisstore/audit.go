package redisstore

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/cohort"
	"github.com/redis/go-redis/v9"
)

var _ cohort.AuditLog = (*Store)(nil)

// The audit log is one stream (P{audit}:log, see cohortKeys): Redis gives
// each entry an ID of its own clock's milliseconds and a sequence number,
// which orders the entries and pages through them, and XADD … MINID trims
// the entries past their retention in the same command. Each script
// reads Redis's clock, so that replicas whose clocks disagree keep the
// same retention. An entry is one field, "e": the entry as JSON, without
// its ID.

// auditMinID is the Lua that sets minid to the oldest stream ID inside the
// retention (ARGV[1], in milliseconds), by Redis's clock.
const auditMinID = `
local t = redis.call('TIME')
local ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) - tonumber(ARGV[1])
if ms < 0 then ms = 0 end
local minid = string.format('%.0f', ms)
`

// appendAuditScript adds an entry and trims the entries past retention.
//
//	KEYS[1]  the stream
//	ARGV[1]  the retention, in milliseconds
//	ARGV[2]  the entry as JSON
var appendAuditScript = redis.NewScript(auditMinID + `
return redis.call('XADD', KEYS[1], 'MINID', minid, '*', 'e', ARGV[2])
`)

// listAuditScript returns up to ARGV[3] entries, newest first, from
// ARGV[2] ("+" or "(" and an ID) down to the oldest inside retention.
//
//	KEYS[1]  the stream
//	ARGV[1]  the retention, in milliseconds
//	ARGV[2]  where to start
//	ARGV[3]  how many
var listAuditScript = redis.NewScript(auditMinID + `
return redis.call('XREVRANGE', KEYS[1], ARGV[2], minid, 'COUNT', ARGV[3])
`)

// countAuditScript trims the entries past retention and counts the rest.
//
//	KEYS[1]  the stream
//	ARGV[1]  the retention, in milliseconds
var countAuditScript = redis.NewScript(auditMinID + `
redis.call('XTRIM', KEYS[1], 'MINID', minid)
return redis.call('XLEN', KEYS[1])
`)

// streamID matches an ID Redis gives a stream entry.
var streamID = regexp.MustCompile(`^[0-9]{1,20}-[0-9]{1,20}$`)

// auditRetentionMS is Options.AuditRetention (or its default) in
// milliseconds, as the scripts take it.
func (s *Store) auditRetentionMS() string {
	d := s.auditRetention
	if d <= 0 {
		d = cohort.DefaultAuditRetention
	}
	return strconv.FormatInt(d.Milliseconds(), 10)
}

// AppendAudit implements cohort.AuditLog in one round trip. Errors:
// Invalid for an entry without an action, Unavailable and Internal as for
// Update.
func (s *Store) AppendAudit(ctx context.Context, e cohort.AuditEntry) error {
	const op = "redisstore.AppendAudit"
	if e.Action == "" {
		return bot.Errorf(op, bot.Invalid, "audit entry without an action")
	}
	if err := ctx.Err(); err != nil {
		return bot.E(op, bot.Unavailable, err)
	}
	e.ID = ""
	v, err := json.Marshal(e)
	if err != nil {
		return bot.E(op, bot.Internal, err)
	}
	if err := appendAuditScript.Run(ctx, s.client, []string{s.cohortKeys().audit}, s.auditRetentionMS(), v).Err(); err != nil {
		return wrap(op, err)
	}
	return nil
}

// Audit implements cohort.AuditLog in one round trip. Errors: Invalid for
// a cursor that is not a stream ID, Unavailable as for Update, Internal
// for an entry that does not decode.
func (s *Store) Audit(ctx context.Context, cursor string, limit int) ([]cohort.AuditEntry, string, error) {
	const op = "redisstore.Audit"
	if limit <= 0 {
		limit = 100
	}
	from := "+"
	if cursor != "" {
		if !streamID.MatchString(cursor) {
			return nil, "", bot.Errorf(op, bot.Invalid, "cursor %q is no audit entry's id", cursor)
		}
		from = "(" + cursor
	}
	if err := ctx.Err(); err != nil {
		return nil, "", bot.E(op, bot.Unavailable, err)
	}
	raw, err := listAuditScript.Run(ctx, s.client, []string{s.cohortKeys().audit}, s.auditRetentionMS(), from, limit+1).Slice()
	if err != nil {
		return nil, "", wrap(op, err)
	}
	out := make([]cohort.AuditEntry, 0, min(len(raw), limit))
	for _, item := range raw {
		e, err := decodeAuditEntry(item)
		if err != nil {
			return nil, "", bot.Errorf(op, bot.Internal, "decode audit entry: %w", err)
		}
		out = append(out, e)
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		next = out[limit-1].ID
	}
	return out, next, nil
}

// decodeAuditEntry reads one entry of XREVRANGE's answer: its ID, then
// its fields and values.
func decodeAuditEntry(item any) (cohort.AuditEntry, error) {
	pair, ok := item.([]any)
	if !ok || len(pair) != 2 {
		return cohort.AuditEntry{}, fmt.Errorf("unexpected reply %v", item)
	}
	id, _ := pair[0].(string)
	fields, _ := pair[1].([]any)
	for i := 0; i+1 < len(fields); i += 2 {
		if name, _ := fields[i].(string); name != "e" {
			continue
		}
		v, _ := fields[i+1].(string)
		var e cohort.AuditEntry
		if err := json.Unmarshal([]byte(v), &e); err != nil {
			return cohort.AuditEntry{}, err
		}
		e.ID = id
		return e, nil
	}
	return cohort.AuditEntry{}, fmt.Errorf("entry %s has no field e", id)
}

// AuditCount implements cohort.AuditLog in one round trip, which trims
// the entries past their retention first. Errors: Unavailable and
// Internal as for Update.
func (s *Store) AuditCount(ctx context.Context) (int, error) {
	const op = "redisstore.AuditCount"
	if err := ctx.Err(); err != nil {
		return 0, bot.E(op, bot.Unavailable, err)
	}
	n, err := countAuditScript.Run(ctx, s.client, []string{s.cohortKeys().audit}, s.auditRetentionMS()).Int()
	if err != nil {
		return 0, wrap(op, err)
	}
	return n, nil
}
