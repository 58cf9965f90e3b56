package boltstore

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"

	"github.com/darsi-ma/darsi/bot"
	bolt "go.etcd.io/bbolt"
)

// errNotForward ends the transaction of an AdvanceDelivery that changes
// nothing; it never leaves the package.
var errNotForward = errors.New("not a move forward")

// AdvanceDelivery implements app.Deliveries in one write transaction. A
// status unknown to bot.DeliveryStatus.Known is never a move forward.
// Deliveries are purged Options.DeliveryRetention after their last change.
// Errors: Invalid for an empty SID, Unavailable for a closed store or a
// cancelled context, Internal for a record that does not decode or a failed
// write.
func (s *Store) AdvanceDelivery(ctx context.Context, d bot.Delivery) (bool, error) {
	const op = "boltstore.AdvanceDelivery"
	if d.SID == "" {
		return false, bot.Errorf(op, bot.Invalid, "empty message sid")
	}
	if err := ctx.Err(); err != nil {
		return false, bot.E(op, bot.Unavailable, err)
	}
	if !d.Status.Known() {
		return false, nil
	}
	err := s.update(func(tx *bolt.Tx) error {
		// Rolled back rather than committed when it changes nothing: an
		// empty commit would still cost a sync to disk.
		return advanceDelivery(tx.Bucket(deliveriesBucket), d)
	})
	if err == errNotForward {
		return false, nil
	}
	if err != nil {
		return false, wrap(op, err)
	}
	return true, nil
}

// advanceDelivery writes d in b if it moves forward, else returns
// errNotForward.
func advanceDelivery(b *bolt.Bucket, d bot.Delivery) error {
	const op = "boltstore.AdvanceDelivery"
	key := []byte(d.SID)
	if v := b.Get(key); v != nil {
		var prev bot.Delivery
		if err := json.Unmarshal(v, &prev); err != nil {
			return bot.Errorf(op, bot.Internal, "decode delivery: %w", err)
		}
		var forward bool
		if d, forward = d.Advance(prev); !forward {
			return errNotForward
		}
	}
	// The recipient is not kept: a delivery names its job, never a
	// number.
	d.To = ""
	v, err := json.Marshal(d)
	if err != nil {
		return bot.Errorf(op, bot.Internal, "encode delivery: %w", err)
	}
	return b.Put(key, v)
}

// purgeDeliveries deletes the deliveries unchanged for longer than the
// delivery retention. Deliveries are few next to messages, so a scan now and
// then is cheap enough for the embedded store.
func (s *Store) purgeDeliveries() (int, error) {
	const op = "boltstore.PurgeDeliveries"
	cutoff := s.now().Add(-s.deliveryRetention)
	n := 0
	err := s.update(func(tx *bolt.Tx) error {
		b := tx.Bucket(deliveriesBucket)
		var old [][]byte
		err := b.ForEach(func(k, v []byte) error {
			var d bot.Delivery
			if json.Unmarshal(v, &d) != nil || d.UpdatedAt.Before(cutoff) {
				old = append(old, bytes.Clone(k))
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, k := range old {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		n = len(old)
		return nil
	})
	if err != nil {
		return 0, wrap(op, err)
	}
	return n, nil
}

// Delivery implements app.Deliveries. Errors: NotFound, Unavailable for a
// closed store or a cancelled context, Internal for a record that does not
// decode.
func (s *Store) Delivery(ctx context.Context, sid string) (bot.Delivery, error) {
	const op = "boltstore.Delivery"
	if err := ctx.Err(); err != nil {
		return bot.Delivery{}, bot.E(op, bot.Unavailable, err)
	}
	var d bot.Delivery
	err := s.view(func(tx *bolt.Tx) error {
		v := tx.Bucket(deliveriesBucket).Get([]byte(sid))
		if v == nil {
			return bot.Errorf(op, bot.NotFound, "no such delivery")
		}
		if err := json.Unmarshal(v, &d); err != nil {
			return bot.Errorf(op, bot.Internal, "decode delivery: %w", err)
		}
		return nil
	})
	if err != nil {
		return bot.Delivery{}, wrap(op, err)
	}
	return d, nil
}
