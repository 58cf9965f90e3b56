package redisstore

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/cohort"
	"github.com/redis/go-redis/v9"
)

var _ cohort.Store = (*Store)(nil)

// The keys of cohorts, coaches, sessions and the audit log, where P is
// Options.Prefix:
//
//	P{cohorts}:codes   a hash: the upper-case code of a cohort → the cohort as JSON
//	P{coaches}:logins  a hash: login → the coach as JSON
//	P{coaches}:tokens  a hash: the SHA-256 of a coach's API token → login
//	Psession:<id>      a dashboard session: a cohort.Session as JSON; expires
//	                   with the session
//	P{audit}:log       the audit log: a stream, trimmed to its retention
//
// The two coach hashes share a hash tag, so that one script keeps them in
// step on Redis Cluster.
type cohortKeys struct{ codes, logins, tokens, session, audit string }

func (s *Store) cohortKeys() cohortKeys {
	return cohortKeys{
		codes:   s.prefix + "{cohorts}:codes",
		logins:  s.prefix + "{coaches}:logins",
		tokens:  s.prefix + "{coaches}:tokens",
		session: s.prefix + "session:",
		audit:   s.prefix + "{audit}:log",
	}
}

// codeKey is what cohort codes are compared by: codes are case-insensitive.
func codeKey(code string) string { return strings.ToUpper(code) }

// CreateCohort implements cohort.Store in one round trip. Errors: Invalid
// for an empty code, Conflict when the code is taken in any case,
// Unavailable and Internal as for Update.
func (s *Store) CreateCohort(ctx context.Context, c cohort.Cohort) error {
	const op = "redisstore.CreateCohort"
	if c.Code == "" {
		return bot.Errorf(op, bot.Invalid, "cohort without a code")
	}
	if err := ctx.Err(); err != nil {
		return bot.E(op, bot.Unavailable, err)
	}
	v, err := json.Marshal(c)
	if err != nil {
		return bot.E(op, bot.Internal, err)
	}
	created, err := s.client.HSetNX(ctx, s.cohortKeys().codes, codeKey(c.Code), v).Result()
	if err != nil {
		return wrap(op, err)
	}
	if !created {
		return bot.Errorf(op, bot.Conflict, "cohort code %s is taken", c.Code)
	}
	return nil
}

// Cohort implements cohort.Store in one round trip. Errors: NotFound,
// Unavailable as for Update, Internal for a value that does not decode.
func (s *Store) Cohort(ctx context.Context, code string) (cohort.Cohort, error) {
	const op = "redisstore.Cohort"
	if err := ctx.Err(); err != nil {
		return cohort.Cohort{}, bot.E(op, bot.Unavailable, err)
	}
	v, err := s.client.HGet(ctx, s.cohortKeys().codes, codeKey(code)).Result()
	if errors.Is(err, redis.Nil) {
		return cohort.Cohort{}, bot.Errorf(op, bot.NotFound, "no cohort %s", code)
	}
	if err != nil {
		return cohort.Cohort{}, wrap(op, err)
	}
	var c cohort.Cohort
	if err := json.Unmarshal([]byte(v), &c); err != nil {
		return cohort.Cohort{}, bot.Errorf(op, bot.Internal, "decode cohort: %w", err)
	}
	return c, nil
}

// Cohorts implements cohort.Store in one round trip, reading every cohort:
// a program has tens or hundreds, not more. Ties in CreatedAt go by code.
// Errors: Unavailable as for Update, Internal for a value that does not
// decode.
func (s *Store) Cohorts(ctx context.Context, coach string) ([]cohort.Cohort, error) {
	const op = "redisstore.Cohorts"
	if err := ctx.Err(); err != nil {
		return nil, bot.E(op, bot.Unavailable, err)
	}
	all, err := s.client.HGetAll(ctx, s.cohortKeys().codes).Result()
	if err != nil {
		return nil, wrap(op, err)
	}
	var out []cohort.Cohort
	for _, v := range all {
		var c cohort.Cohort
		if err := json.Unmarshal([]byte(v), &c); err != nil {
			return nil, bot.Errorf(op, bot.Internal, "decode cohort: %w", err)
		}
		if coach == "" || c.Coach == coach {
			out = append(out, c)
		}
	}
	sortCohorts(out)
	return out, nil
}

func sortCohorts(cs []cohort.Cohort) {
	slices.SortFunc(cs, func(a, b cohort.Cohort) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.Code, b.Code))
	})
}

// putCoachScript replaces a coach and keeps the token index in step.
//
//	KEYS[1]  the coaches by login
//	KEYS[2]  the logins by token hash
//	ARGV[1]  the login
//	ARGV[2]  the coach as JSON
//	ARGV[3]  the coach's token hash, "" for none
var putCoachScript = redis.NewScript(`
local old = redis.call('HGET', KEYS[1], ARGV[1])
if old then
  local ok, c = pcall(cjson.decode, old)
  if ok and type(c) == 'table' and type(c.token_hash) == 'string' and c.token_hash ~= ''
      and c.token_hash ~= ARGV[3] and redis.call('HGET', KEYS[2], c.token_hash) == ARGV[1] then
    redis.call('HDEL', KEYS[2], c.token_hash)
  end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
if ARGV[3] ~= '' then redis.call('HSET', KEYS[2], ARGV[3], ARGV[1]) end
return 1
`)

// coachByTokenScript returns the coach a token hash names, or nil.
//
//	KEYS[1]  the coaches by login
//	KEYS[2]  the logins by token hash
//	ARGV[1]  the token hash
var coachByTokenScript = redis.NewScript(`
local login = redis.call('HGET', KEYS[2], ARGV[1])
if not login then return false end
return redis.call('HGET', KEYS[1], login)
`)

// PutCoach implements cohort.Store in one round trip; the coach's former
// token no longer finds it. Errors: Invalid for an empty login,
// Unavailable and Internal as for Update.
func (s *Store) PutCoach(ctx context.Context, c cohort.Coach) error {
	const op = "redisstore.PutCoach"
	if c.Login == "" {
		return bot.Errorf(op, bot.Invalid, "coach without a login")
	}
	if err := ctx.Err(); err != nil {
		return bot.E(op, bot.Unavailable, err)
	}
	v, err := json.Marshal(c)
	if err != nil {
		return bot.E(op, bot.Internal, err)
	}
	k := s.cohortKeys()
	if err := putCoachScript.Run(ctx, s.client, []string{k.logins, k.tokens}, c.Login, v, c.TokenHash).Err(); err != nil {
		return wrap(op, err)
	}
	return nil
}

// Coach implements cohort.Store in one round trip. Errors: NotFound,
// Unavailable as for Update, Internal for a value that does not decode.
func (s *Store) Coach(ctx context.Context, login string) (cohort.Coach, error) {
	const op = "redisstore.Coach"
	if err := ctx.Err(); err != nil {
		return cohort.Coach{}, bot.E(op, bot.Unavailable, err)
	}
	v, err := s.client.HGet(ctx, s.cohortKeys().logins, login).Result()
	if errors.Is(err, redis.Nil) {
		return cohort.Coach{}, bot.Errorf(op, bot.NotFound, "no coach %q", login)
	}
	if err != nil {
		return cohort.Coach{}, wrap(op, err)
	}
	return decodeCoach(op, v)
}

// CoachByToken implements cohort.Store in one round trip. Errors: NotFound
// (always for the empty hash), Unavailable as for Update, Internal for a
// value that does not decode.
func (s *Store) CoachByToken(ctx context.Context, tokenHash string) (cohort.Coach, error) {
	const op = "redisstore.CoachByToken"
	if tokenHash == "" {
		return cohort.Coach{}, bot.Errorf(op, bot.NotFound, "no coach for the empty token")
	}
	if err := ctx.Err(); err != nil {
		return cohort.Coach{}, bot.E(op, bot.Unavailable, err)
	}
	k := s.cohortKeys()
	v, err := coachByTokenScript.Run(ctx, s.client, []string{k.logins, k.tokens}, tokenHash).Text()
	if errors.Is(err, redis.Nil) {
		return cohort.Coach{}, bot.Errorf(op, bot.NotFound, "no coach for that token")
	}
	if err != nil {
		return cohort.Coach{}, wrap(op, err)
	}
	c, err := decodeCoach(op, v)
	if err != nil {
		return cohort.Coach{}, err
	}
	// The index is only a guide: the coach's own record decides.
	if c.TokenHash != tokenHash {
		return cohort.Coach{}, bot.Errorf(op, bot.NotFound, "no coach for that token")
	}
	return c, nil
}

func decodeCoach(op, v string) (cohort.Coach, error) {
	var c cohort.Coach
	if err := json.Unmarshal([]byte(v), &c); err != nil {
		return cohort.Coach{}, bot.Errorf(op, bot.Internal, "decode coach: %w", err)
	}
	return c, nil
}

// PutSession implements cohort.Store in one round trip: the key expires at
// s.Expires, by this process's clock; a session that has already expired
// is deleted instead. Errors: Invalid for an empty id or login,
// Unavailable and Internal as for Update.
func (s *Store) PutSession(ctx context.Context, id string, ses cohort.Session) error {
	_, err := s.putSession(ctx, "redisstore.PutSession", id, ses, "")
	return err
}

// RenewSession implements cohort.Store in one round trip (SET … XX: only
// a key that is still there is replaced). Errors: NotFound, and those of
// PutSession.
func (s *Store) RenewSession(ctx context.Context, id string, ses cohort.Session) error {
	const op = "redisstore.RenewSession"
	set, err := s.putSession(ctx, op, id, ses, "XX")
	if err == nil && !set {
		return bot.Errorf(op, bot.NotFound, "no such session")
	}
	return err
}

// putSession writes ses under id with SET in mode ("" or XX), or deletes
// it when it has expired already, and says whether it set the key.
func (s *Store) putSession(ctx context.Context, op, id string, ses cohort.Session, mode string) (bool, error) {
	if id == "" || ses.Login == "" {
		return false, bot.Errorf(op, bot.Invalid, "session needs an id and a login")
	}
	if err := ctx.Err(); err != nil {
		return false, bot.E(op, bot.Unavailable, err)
	}
	v, err := json.Marshal(ses)
	if err != nil {
		return false, bot.E(op, bot.Internal, err)
	}
	key := s.cohortKeys().session + escapeID(id)
	ttl := time.Until(ses.Expires).Truncate(time.Millisecond)
	if ttl <= 0 {
		return true, wrapOrNil(op, s.client.Del(ctx, key).Err())
	}
	_, err = s.client.SetArgs(ctx, key, v, redis.SetArgs{Mode: mode, TTL: ttl}).Result()
	if errors.Is(err, redis.Nil) {
		return false, nil // XX, and the key was gone
	}
	if err != nil {
		return false, wrap(op, err)
	}
	return true, nil
}

// Session implements cohort.Store in one round trip. A session an
// earlier version stored (the login alone, not JSON) is not found.
// Errors: NotFound, Unavailable as for Update, Internal for a value that
// does not decode.
func (s *Store) Session(ctx context.Context, id string) (cohort.Session, error) {
	const op = "redisstore.Session"
	notFound := bot.Errorf(op, bot.NotFound, "no such session")
	if err := ctx.Err(); err != nil {
		return cohort.Session{}, bot.E(op, bot.Unavailable, err)
	}
	v, err := s.client.Get(ctx, s.cohortKeys().session+escapeID(id)).Result()
	if errors.Is(err, redis.Nil) {
		return cohort.Session{}, notFound
	}
	if err != nil {
		return cohort.Session{}, wrap(op, err)
	}
	if !strings.HasPrefix(v, "{") {
		return cohort.Session{}, notFound
	}
	var ses cohort.Session
	if err := json.Unmarshal([]byte(v), &ses); err != nil {
		return cohort.Session{}, bot.Errorf(op, bot.Internal, "decode session: %w", err)
	}
	if ses.End.IsZero() {
		return cohort.Session{}, notFound
	}
	return ses, nil
}

// DeleteSession implements cohort.Store in one round trip; deleting a
// session that is gone does nothing. Errors: Unavailable and Internal as
// for Update.
func (s *Store) DeleteSession(ctx context.Context, id string) error {
	const op = "redisstore.DeleteSession"
	if err := ctx.Err(); err != nil {
		return bot.E(op, bot.Unavailable, err)
	}
	if err := s.client.Del(ctx, s.cohortKeys().session+escapeID(id)).Err(); err != nil {
		return wrap(op, err)
	}
	return nil
}

// Coaches implements cohort.Store in two round trips: the logins, then
// the page's accounts. Accounts are few (a programme's staff), so the
// logins are read whole and sorted here.
func (s *Store) Coaches(ctx context.Context, after string, limit int) ([]cohort.Coach, string, error) {
	const op = "redisstore.Coaches"
	if err := ctx.Err(); err != nil {
		return nil, "", bot.E(op, bot.Unavailable, err)
	}
	if limit <= 0 || limit > cohort.MaxCoachesPage {
		limit = cohort.MaxCoachesPage
	}
	k := s.cohortKeys()
	logins, err := s.client.HKeys(ctx, k.logins).Result()
	if err != nil {
		return nil, "", wrap(op, err)
	}
	slices.Sort(logins)
	i, _ := slices.BinarySearch(logins, after)
	if i < len(logins) && logins[i] == after {
		i++
	}
	page := logins[i:]
	next := ""
	if len(page) > limit {
		page, next = page[:limit], page[limit-1]
	}
	if len(page) == 0 {
		return nil, "", nil
	}
	vals, err := s.client.HMGet(ctx, k.logins, page...).Result()
	if err != nil {
		return nil, "", wrap(op, err)
	}
	out := make([]cohort.Coach, 0, len(vals))
	for _, v := range vals {
		str, ok := v.(string)
		if !ok {
			continue // removed between the two reads
		}
		c, err := decodeCoach(op, str)
		if err != nil {
			return nil, "", err
		}
		out = append(out, c)
	}
	return out, next, nil
}
