package boltstore

import (
	"bytes"
	"context"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/app"
	bolt "go.etcd.io/bbolt"
)

var _ app.Aliases = (*Store)(nil)

// aliasesBucket maps the keyed hash of a BSUID address (app.Keys.Learner
// of it: no number, no BSUID in the name) to the id of the learner whose
// record holds it (bot.Learner.BSUID). An erased learner's entry becomes a
// tombstone, tombstone followed by the learner's own key, for as long as
// their applied message records stay (the purge removes it after them):
// a replay of their messages by the BSUID is then recognised.
var aliasesBucket = []byte("aliases")

// tombstone starts the value of an erased learner's alias; learner ids
// start with a channel, never with it.
const tombstone = '~'

// realias moves the alias of learner id (whose key is lk) from what
// before holds to what after holds (nil: not stored, or erased), in the
// transaction of the update, writing only when the BSUID changes. An
// alias that another learner took since is left to them.
func realias(tx *bolt.Tx, keys app.Keys, id, lk string, before, after *bot.Learner) error {
	was, is := "", ""
	if before != nil {
		was = before.BSUID
	}
	if after != nil {
		is = after.BSUID
	}
	if was == is {
		return nil
	}
	aliases := tx.Bucket(aliasesBucket)
	if was != "" {
		k := []byte(keys.Learner(was))
		if string(aliases.Get(k)) == id {
			var err error
			if after == nil {
				err = aliases.Put(k, append([]byte{tombstone}, lk...))
			} else {
				err = aliases.Delete(k)
			}
			if err != nil {
				return err
			}
		}
	}
	if is != "" {
		return aliases.Put([]byte(keys.Learner(is)), []byte(id))
	}
	return nil
}

// Alias implements app.Aliases. Errors: NotFound, Unavailable for a closed
// store or a cancelled context.
func (s *Store) Alias(ctx context.Context, bsuid, msgID string) (string, bool, error) {
	const op = "boltstore.Alias"
	if err := ctx.Err(); err != nil {
		return "", false, bot.E(op, bot.Unavailable, err)
	}
	var (
		id     string
		replay bool
	)
	err := s.view(func(tx *bolt.Tx) error {
		v := tx.Bucket(aliasesBucket).Get([]byte(s.keys.Learner(bsuid)))
		switch {
		case v == nil:
		case v[0] != tombstone:
			id = string(v)
			return nil
		case msgID != "":
			lk := string(v[1:])
			replay = tx.Bucket(appliedBucket).Get(msgKey(lk, s.keys.Message(lk, msgID))) != nil
			if replay {
				return nil
			}
		}
		// Neither the BSUID nor anything about it in error text, which
		// ends up in logs.
		return bot.Errorf(op, bot.NotFound, "no learner for this BSUID")
	})
	if err != nil {
		return "", false, wrap(op, err)
	}
	return id, replay, nil
}

// purgeAliases removes the tombstones of erased learners whose applied
// message records are all gone: nothing is left for them to recognise.
func purgeAliases(tx *bolt.Tx) error {
	aliases, recs := tx.Bucket(aliasesBucket), tx.Bucket(appliedBucket)
	var gone [][]byte
	c := aliases.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if len(v) == 0 || v[0] != tombstone {
			continue
		}
		prefix := msgKey(string(v[1:]), "")
		if rk, _ := recs.Cursor().Seek(prefix); rk == nil || !bytes.HasPrefix(rk, prefix) {
			gone = append(gone, bytes.Clone(k))
		}
	}
	// Deleted after the walk, because deleting under a bbolt cursor can
	// make it skip the next key.
	for _, k := range gone {
		if err := aliases.Delete(k); err != nil {
			return err
		}
	}
	return nil
}
