package boltstore

import (
	"context"
	"encoding/json"

	bolt "go.etcd.io/bbolt"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/app"
)

var _ app.Contents = (*Store)(nil)

// contentsBucket holds the interactive contents, one key per slot
// (question and language).
var contentsBucket = []byte("contents")

// Content implements app.Contents. Errors: NotFound, Unavailable and
// Internal as for Get.
func (s *Store) Content(ctx context.Context, slot string) (app.Content, error) {
	const op = "boltstore.Content"
	if err := ctx.Err(); err != nil {
		return app.Content{}, bot.E(op, bot.Unavailable, err)
	}
	var c app.Content
	found := false
	err := s.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(contentsBucket)
		if b == nil {
			return nil
		}
		v := b.Get([]byte(slot))
		if v == nil {
			return nil
		}
		found = true
		return json.Unmarshal(v, &c)
	})
	if err != nil {
		return app.Content{}, wrap(op, err)
	}
	if !found {
		return app.Content{}, bot.Errorf(op, bot.NotFound, "no content for %q", slot)
	}
	return c, nil
}

// PutContent implements app.Contents in one write transaction. Errors:
// Invalid for an empty slot or SID, Unavailable and Internal as for
// Update.
func (s *Store) PutContent(ctx context.Context, slot string, c app.Content) error {
	const op = "boltstore.PutContent"
	if slot == "" || c.SID == "" {
		return bot.Errorf(op, bot.Invalid, "a content needs a slot and a SID")
	}
	if err := ctx.Err(); err != nil {
		return bot.E(op, bot.Unavailable, err)
	}
	v, err := json.Marshal(c)
	if err != nil {
		return bot.E(op, bot.Internal, err)
	}
	err = s.update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(contentsBucket)
		if err != nil {
			return err
		}
		return b.Put([]byte(slot), v)
	})
	if err != nil {
		return wrap(op, err)
	}
	return nil
}
