package app

import (
	"context"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/schedule"
)

// DeliveryReports applies Twilio's status callbacks: the delivery record,
// as Deliveries keeps it, and the outbox job that sent the message (the
// callback's ?job=), so that coaches see "delivered" on the outbox page.
type DeliveryReports struct {
	Deliveries
	// Outbox is nil when the store keeps none: jobs are then not moved.
	Outbox schedule.Outbox
}

// AdvanceDelivery records d if it moves the message's status forward, and
// then moves its job. A job the outbox no longer has is not an error: the
// delivery is recorded all the same.
//
// Errors: the stores'.
func (r DeliveryReports) AdvanceDelivery(ctx context.Context, d bot.Delivery) (bool, error) {
	applied, err := r.Deliveries.AdvanceDelivery(ctx, d)
	if err != nil || !applied || d.JobID == "" || r.Outbox == nil {
		return applied, err
	}
	if err := r.Outbox.Delivered(ctx, d.JobID, d.Status, d.ErrorCode); err != nil && bot.KindOf(err) != bot.NotFound {
		return applied, err
	}
	return applied, nil
}
