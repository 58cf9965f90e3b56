package boltstore

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/cohort"
	bolt "go.etcd.io/bbolt"
)

var _ cohort.Store = (*Store)(nil)

// The buckets of cohorts, coaches and sessions, created by the first write
// that needs them.
var (
	// cohortsBucket maps the upper-case code of a cohort to the cohort as
	// JSON: codes are case-insensitive.
	cohortsBucket = []byte("cohorts")
	// coachesBucket maps a login to the coach as JSON.
	coachesBucket = []byte("coaches")
	// coachTokensBucket maps the SHA-256 of a coach's API token to the
	// login.
	coachTokensBucket = []byte("coach_tokens")
	// sessionsBucket maps a session id to a cohort.Session as JSON.
	sessionsBucket = []byte("sessions")
	// sessionsByExpiryBucket orders sessions by expiry, so that a purge
	// reads only the expired ones: timeKey(expires) then the id.
	sessionsByExpiryBucket = []byte("sessions_by_expiry")
)

func codeKey(code string) []byte { return []byte(strings.ToUpper(code)) }

// cohortView runs fn in a read transaction; buckets that do not exist yet are nil.
func (s *Store) cohortView(ctx context.Context, op string, fn func(tx *bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return bot.E(op, bot.Unavailable, err)
	}
	if err := s.view(fn); err != nil {
		return wrap(op, err)
	}
	return nil
}

// cohortUpdate runs fn in a write transaction after creating the buckets named.
func (s *Store) cohortUpdate(ctx context.Context, op string, buckets [][]byte, fn func(tx *bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return bot.E(op, bot.Unavailable, err)
	}
	err := s.update(func(tx *bolt.Tx) error {
		for _, b := range buckets {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return fn(tx)
	})
	if err != nil {
		return wrap(op, err)
	}
	return nil
}

// CreateCohort implements cohort.Store. Errors: Invalid for an empty code,
// Conflict when the code is taken in any case, Unavailable for a closed
// store or a cancelled context, Internal for a failed write.
func (s *Store) CreateCohort(ctx context.Context, c cohort.Cohort) error {
	const op = "boltstore.CreateCohort"
	if c.Code == "" {
		return bot.Errorf(op, bot.Invalid, "cohort without a code")
	}
	v, err := json.Marshal(c)
	if err != nil {
		return bot.E(op, bot.Internal, err)
	}
	return s.cohortUpdate(ctx, op, [][]byte{cohortsBucket}, func(tx *bolt.Tx) error {
		b := tx.Bucket(cohortsBucket)
		if b.Get(codeKey(c.Code)) != nil {
			return bot.Errorf(op, bot.Conflict, "cohort code %s is taken", c.Code)
		}
		return b.Put(codeKey(c.Code), v)
	})
}

// Cohort implements cohort.Store. Errors: NotFound, Unavailable for a
// closed store or a cancelled context, Internal for a record that does not
// decode.
func (s *Store) Cohort(ctx context.Context, code string) (cohort.Cohort, error) {
	const op = "boltstore.Cohort"
	var c cohort.Cohort
	err := s.cohortView(ctx, op, func(tx *bolt.Tx) error {
		var v []byte
		if b := tx.Bucket(cohortsBucket); b != nil {
			v = b.Get(codeKey(code))
		}
		if v == nil {
			return bot.Errorf(op, bot.NotFound, "no cohort %s", code)
		}
		if err := json.Unmarshal(v, &c); err != nil {
			return bot.Errorf(op, bot.Internal, "decode cohort: %w", err)
		}
		return nil
	})
	return c, err
}

// Cohorts implements cohort.Store, reading every cohort: a program has
// tens or hundreds, not more. Ties in CreatedAt go by code. Errors:
// Unavailable for a closed store or a cancelled context, Internal for a
// record that does not decode.
func (s *Store) Cohorts(ctx context.Context, coach string) ([]cohort.Cohort, error) {
	const op = "boltstore.Cohorts"
	var out []cohort.Cohort
	err := s.cohortView(ctx, op, func(tx *bolt.Tx) error {
		b := tx.Bucket(cohortsBucket)
		if b == nil {
			return nil
		}
		return b.ForEach(func(_, v []byte) error {
			var c cohort.Cohort
			if err := json.Unmarshal(v, &c); err != nil {
				return bot.Errorf(op, bot.Internal, "decode cohort: %w", err)
			}
			if coach == "" || c.Coach == coach {
				out = append(out, c)
			}
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b cohort.Cohort) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.Code, b.Code))
	})
	return out, nil
}

// PutCoach implements cohort.Store; the coach's former token no longer
// finds it. Errors: Invalid for an empty login, Unavailable for a closed
// store or a cancelled context, Internal for a failed write.
func (s *Store) PutCoach(ctx context.Context, c cohort.Coach) error {
	const op = "boltstore.PutCoach"
	if c.Login == "" {
		return bot.Errorf(op, bot.Invalid, "coach without a login")
	}
	v, err := json.Marshal(c)
	if err != nil {
		return bot.E(op, bot.Internal, err)
	}
	return s.cohortUpdate(ctx, op, [][]byte{coachesBucket, coachTokensBucket}, func(tx *bolt.Tx) error {
		coaches, tokens := tx.Bucket(coachesBucket), tx.Bucket(coachTokensBucket)
		var old cohort.Coach
		if ov := coaches.Get([]byte(c.Login)); ov != nil && json.Unmarshal(ov, &old) == nil &&
			old.TokenHash != "" && old.TokenHash != c.TokenHash &&
			string(tokens.Get([]byte(old.TokenHash))) == c.Login {
			if err := tokens.Delete([]byte(old.TokenHash)); err != nil {
				return err
			}
		}
		if err := coaches.Put([]byte(c.Login), v); err != nil {
			return err
		}
		if c.TokenHash == "" {
			return nil
		}
		return tokens.Put([]byte(c.TokenHash), []byte(c.Login))
	})
}

// Coach implements cohort.Store. Errors: NotFound, Unavailable for a closed
// store or a cancelled context, Internal for a record that does not decode.
func (s *Store) Coach(ctx context.Context, login string) (cohort.Coach, error) {
	const op = "boltstore.Coach"
	var c cohort.Coach
	err := s.cohortView(ctx, op, func(tx *bolt.Tx) error {
		var err error
		c, err = coachOf(op, tx, login)
		return err
	})
	return c, err
}

func coachOf(op string, tx *bolt.Tx, login string) (cohort.Coach, error) {
	var v []byte
	if b := tx.Bucket(coachesBucket); b != nil {
		v = b.Get([]byte(login))
	}
	if v == nil {
		return cohort.Coach{}, bot.Errorf(op, bot.NotFound, "no coach %q", login)
	}
	var c cohort.Coach
	if err := json.Unmarshal(v, &c); err != nil {
		return cohort.Coach{}, bot.Errorf(op, bot.Internal, "decode coach: %w", err)
	}
	return c, nil
}

// CoachByToken implements cohort.Store. Errors: NotFound (always for the
// empty hash), Unavailable for a closed store or a cancelled context,
// Internal for a record that does not decode.
func (s *Store) CoachByToken(ctx context.Context, tokenHash string) (cohort.Coach, error) {
	const op = "boltstore.CoachByToken"
	notFound := bot.Errorf(op, bot.NotFound, "no coach for that token")
	if tokenHash == "" {
		return cohort.Coach{}, notFound
	}
	var c cohort.Coach
	err := s.cohortView(ctx, op, func(tx *bolt.Tx) error {
		b := tx.Bucket(coachTokensBucket)
		if b == nil {
			return notFound
		}
		login := b.Get([]byte(tokenHash))
		if login == nil {
			return notFound
		}
		var err error
		if c, err = coachOf(op, tx, string(login)); err != nil {
			return err
		}
		// The index is only a guide: the coach's own record decides.
		if c.TokenHash != tokenHash {
			return notFound
		}
		return nil
	})
	if err != nil {
		return cohort.Coach{}, err
	}
	return c, nil
}

// PutSession implements cohort.Store. Every call also purges the
// sessions that expired, reading only those. Errors: Invalid for an empty
// id or login, Unavailable for a closed store or a cancelled context,
// Internal for a failed write.
func (s *Store) PutSession(ctx context.Context, id string, ses cohort.Session) error {
	return s.putSession(ctx, "boltstore.PutSession", id, ses, false)
}

// RenewSession implements cohort.Store. Errors: NotFound, and those of
// PutSession.
func (s *Store) RenewSession(ctx context.Context, id string, ses cohort.Session) error {
	return s.putSession(ctx, "boltstore.RenewSession", id, ses, true)
}

// putSession stores ses under id; with renew, only in place of a session
// that is still there.
func (s *Store) putSession(ctx context.Context, op, id string, ses cohort.Session, renew bool) error {
	if id == "" || ses.Login == "" {
		return bot.Errorf(op, bot.Invalid, "session needs an id and a login")
	}
	v, err := json.Marshal(ses)
	if err != nil {
		return bot.E(op, bot.Internal, err)
	}
	now := s.now()
	return s.cohortUpdate(ctx, op, [][]byte{sessionsBucket, sessionsByExpiryBucket}, func(tx *bolt.Tx) error {
		if renew {
			if _, err := liveSession(op, tx, id, now); err != nil {
				return err
			}
		}
		if err := deleteSession(tx, id); err != nil {
			return err
		}
		if err := purgeSessions(tx, now); err != nil {
			return err
		}
		if !ses.Expires.After(now) {
			return nil
		}
		if err := tx.Bucket(sessionsBucket).Put([]byte(id), v); err != nil {
			return err
		}
		return tx.Bucket(sessionsByExpiryBucket).Put(append(timeKey(ses.Expires), id...), nil)
	})
}

// deleteSession deletes session id and its index entry, if any.
func deleteSession(tx *bolt.Tx, id string) error {
	b := tx.Bucket(sessionsBucket)
	v := b.Get([]byte(id))
	if v == nil {
		return nil
	}
	var old cohort.Session
	if json.Unmarshal(v, &old) == nil {
		if err := tx.Bucket(sessionsByExpiryBucket).Delete(append(timeKey(old.Expires), id...)); err != nil {
			return err
		}
	}
	return b.Delete([]byte(id))
}

// purgeSessions deletes the sessions expired at now.
func purgeSessions(tx *bolt.Tx, now time.Time) error {
	byExpiry := tx.Bucket(sessionsByExpiryBucket)
	cutoff := timeKey(now)
	var expired [][]byte
	c := byExpiry.Cursor()
	for k, _ := c.First(); k != nil && bytes.Compare(k[:8], cutoff) <= 0; k, _ = c.Next() {
		expired = append(expired, bytes.Clone(k))
	}
	// Deleted after the walk: deleting under a cursor can skip keys.
	for _, k := range expired {
		if err := tx.Bucket(sessionsBucket).Delete(k[8:]); err != nil {
			return err
		}
		if err := byExpiry.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// liveSession returns session id unless it is missing, past its expiry at
// now, or of an earlier version's form (without an end): NotFound.
func liveSession(op string, tx *bolt.Tx, id string, now time.Time) (cohort.Session, error) {
	notFound := bot.Errorf(op, bot.NotFound, "no such session")
	var v []byte
	if b := tx.Bucket(sessionsBucket); b != nil {
		v = b.Get([]byte(id))
	}
	if v == nil {
		return cohort.Session{}, notFound
	}
	var ses cohort.Session
	if err := json.Unmarshal(v, &ses); err != nil {
		return cohort.Session{}, bot.Errorf(op, bot.Internal, "decode session: %w", err)
	}
	if ses.End.IsZero() || !ses.Expires.After(now) {
		return cohort.Session{}, notFound
	}
	return ses, nil
}

// Session implements cohort.Store: a session past its expiry is not found,
// whether or not a purge has deleted it yet, nor is one an earlier version
// stored (it has no end). Errors: NotFound, Unavailable for a closed store
// or a cancelled context, Internal for a record that does not decode.
func (s *Store) Session(ctx context.Context, id string) (cohort.Session, error) {
	const op = "boltstore.Session"
	var ses cohort.Session
	err := s.cohortView(ctx, op, func(tx *bolt.Tx) error {
		var err error
		ses, err = liveSession(op, tx, id, s.now())
		return err
	})
	return ses, err
}

// DeleteSession implements cohort.Store; deleting a session that is gone
// does nothing. Errors: Unavailable for a closed store or a cancelled
// context, Internal for a failed write.
func (s *Store) DeleteSession(ctx context.Context, id string) error {
	const op = "boltstore.DeleteSession"
	return s.cohortUpdate(ctx, op, [][]byte{sessionsBucket, sessionsByExpiryBucket}, func(tx *bolt.Tx) error {
		return deleteSession(tx, id)
	})
}

// Coaches implements cohort.Store. Errors: Unavailable for a closed store
// or a cancelled context, Internal for a record that does not decode.
func (s *Store) Coaches(ctx context.Context, after string, limit int) ([]cohort.Coach, string, error) {
	const op = "boltstore.Coaches"
	if limit <= 0 || limit > cohort.MaxCoachesPage {
		limit = cohort.MaxCoachesPage
	}
	var (
		out  []cohort.Coach
		next string
	)
	err := s.cohortView(ctx, op, func(tx *bolt.Tx) error {
		b := tx.Bucket(coachesBucket)
		if b == nil {
			return nil
		}
		cur := b.Cursor()
		k, v := cur.Seek([]byte(after))
		if k != nil && after != "" && string(k) == after {
			k, v = cur.Next()
		}
		for ; k != nil; k, v = cur.Next() {
			if len(out) == limit {
				next = out[len(out)-1].Login
				return nil
			}
			var c cohort.Coach
			if err := json.Unmarshal(v, &c); err != nil {
				return bot.Errorf(op, bot.Internal, "decode coach: %w", err)
			}
			out = append(out, c)
		}
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	return out, next, nil
}
