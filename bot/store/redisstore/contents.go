package redisstore

import (
	"context"
	"encoding/json"

	"github.com/redis/go-redis/v9"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/app"
)

var _ app.Contents = (*Store)(nil)

// contentsKey is the hash of the interactive contents, one field per slot
// (question and language): it holds as many fields as the lessons have
// questions with options, times four languages, whatever learners do.
func (s *Store) contentsKey() string { return s.prefix + "{meta}:contents" }

// Content implements app.Contents in one round trip. Errors: NotFound,
// Unavailable and Internal as for Update.
func (s *Store) Content(ctx context.Context, slot string) (app.Content, error) {
	const op = "redisstore.Content"
	v, err := s.client.HGet(ctx, s.contentsKey(), slot).Result()
	if err == redis.Nil {
		return app.Content{}, bot.Errorf(op, bot.NotFound, "no content for %q", slot)
	}
	if err != nil {
		return app.Content{}, wrap(op, err)
	}
	var c app.Content
	if err := json.Unmarshal([]byte(v), &c); err != nil {
		return app.Content{}, bot.E(op, bot.Internal, err)
	}
	return c, nil
}

// PutContent implements app.Contents in one round trip. Errors: Invalid
// for an empty slot or SID, Unavailable and Internal as for Update.
func (s *Store) PutContent(ctx context.Context, slot string, c app.Content) error {
	const op = "redisstore.PutContent"
	if slot == "" || c.SID == "" {
		return bot.Errorf(op, bot.Invalid, "a content needs a slot and a SID")
	}
	v, err := json.Marshal(c)
	if err != nil {
		return bot.E(op, bot.Internal, err)
	}
	if err := s.client.HSet(ctx, s.contentsKey(), slot, v).Err(); err != nil {
		return wrap(op, err)
	}
	return nil
}
