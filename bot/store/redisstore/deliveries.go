package redisstore

import (
	"context"
	"strconv"

	"github.com/darsi-ma/darsi/bot"
)

// AdvanceDelivery implements app.Deliveries in one round trip: a script
// compares and writes, so concurrent callbacks for one message end at the
// furthest status. A status Twilio might add later (unknown to
// bot.DeliveryStatus.Known) is never a move forward: AdvanceDelivery
// reports false without asking Redis. Every write renews the expiry
// (Options.DeliveryRetention). Errors: Invalid for an empty SID,
// Unavailable and Internal as for Update.
func (s *Store) AdvanceDelivery(ctx context.Context, d bot.Delivery) (bool, error) {
	const op = "redisstore.AdvanceDelivery"
	if d.SID == "" {
		return false, bot.Errorf(op, bot.Invalid, "empty message sid")
	}
	if err := ctx.Err(); err != nil {
		return false, bot.E(op, bot.Unavailable, err)
	}
	if !d.Status.Known() {
		return false, nil
	}
	keys, args := s.advanceArgs(d)
	n, err := advanceScript.Run(ctx, s.client, keys, args...).Int()
	if err != nil {
		return false, wrap(op, err)
	}
	return n == 1, nil
}

// advanceArgs are the keys and arguments of advanceScript for d.
func (s *Store) advanceArgs(d bot.Delivery) ([]string, []any) {
	prev := d.Status.Replaces()
	args := make([]any, 0, 6+len(prev))
	// The recipient is not kept: a delivery names its job, never a number.
	args = append(args, string(d.Status), "", d.JobID, d.ErrorCode,
		appendTime(nil, d.UpdatedAt), s.deliveryRetention.Milliseconds())
	for _, p := range prev {
		args = append(args, string(p))
	}
	return []string{s.deliveryKey(d.SID)}, args
}

// Delivery implements app.Deliveries. Errors: NotFound, Unavailable as for
// Update, Internal for a stored value that does not decode.
func (s *Store) Delivery(ctx context.Context, sid string) (bot.Delivery, error) {
	const op = "redisstore.Delivery"
	if err := ctx.Err(); err != nil {
		return bot.Delivery{}, bot.E(op, bot.Unavailable, err)
	}
	h, err := s.client.HGetAll(ctx, s.deliveryKey(sid)).Result()
	if err != nil {
		return bot.Delivery{}, wrap(op, err)
	}
	if len(h) == 0 {
		return bot.Delivery{}, bot.Errorf(op, bot.NotFound, "no such delivery")
	}
	d := bot.Delivery{SID: sid, Status: bot.DeliveryStatus(h["s"]), JobID: h["j"]}
	if e := h["e"]; e != "" {
		if d.ErrorCode, err = strconv.Atoi(e); err != nil {
			return bot.Delivery{}, bot.Errorf(op, bot.Internal, "decode delivery error code: %w", err)
		}
	}
	dec := decoder{v: h["u"]}
	d.UpdatedAt = dec.time()
	if err := dec.done(); err != nil {
		return bot.Delivery{}, bot.Errorf(op, bot.Internal, "decode delivery time: %w", err)
	}
	return d, nil
}
