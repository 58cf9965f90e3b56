package bot

import "time"

// DeliveryStatus is where a message Darsi sent stands at Twilio.
type DeliveryStatus string

// Twilio's message statuses. Callbacks arrive out of order; Advance keeps
// only moves forward.
const (
	StatusAccepted    DeliveryStatus = "accepted"
	StatusScheduled   DeliveryStatus = "scheduled"
	StatusQueued      DeliveryStatus = "queued"
	StatusSending     DeliveryStatus = "sending"
	StatusSent        DeliveryStatus = "sent"
	StatusFailed      DeliveryStatus = "failed"
	StatusUndelivered DeliveryStatus = "undelivered"
	StatusCanceled    DeliveryStatus = "canceled"
	StatusDelivered   DeliveryStatus = "delivered"
	StatusRead        DeliveryStatus = "read"
)

// rank orders statuses: a message only ever moves to a higher rank. Failure
// outranks sent (a sent message can still fail to arrive) but not
// delivered: a late "failed" never undoes a receipt.
var rank = map[DeliveryStatus]int{
	StatusAccepted: 1, StatusScheduled: 1,
	StatusQueued:  2,
	StatusSending: 3,
	StatusSent:    4,
	StatusFailed:  5, StatusUndelivered: 5, StatusCanceled: 5,
	StatusDelivered: 6,
	StatusRead:      7,
}

// Known reports whether s is one of Twilio's statuses.
func (s DeliveryStatus) Known() bool { _, ok := rank[s]; return ok }

// After reports whether s is a move forward from prev. An unknown status is
// never a move forward.
func (s DeliveryStatus) After(prev DeliveryStatus) bool {
	r, ok := rank[s]
	return ok && r > rank[prev]
}

// Replaces returns the statuses that s is a move forward from, in no
// particular order; none for an unknown status.
func (s DeliveryStatus) Replaces() []DeliveryStatus {
	var prev []DeliveryStatus
	for p := range rank {
		if s.After(p) {
			prev = append(prev, p)
		}
	}
	return prev
}

// Delivery is what Darsi knows about one message it sent over REST.
type Delivery struct {
	SID string `json:"sid"` // Twilio's MessageSid
	// To is the recipient as Twilio reports it, for the moment a report
	// is handled (logged masked); no store keeps it.
	To        string         `json:"to,omitempty"`
	Status    DeliveryStatus `json:"status"`
	ErrorCode int            `json:"error_code,omitempty"`
	JobID     string         `json:"job,omitempty"` // the outbox job that sent it
	UpdatedAt time.Time      `json:"updated_at"`
	// Body is the message's text as Twilio lists it: the outbox compares
	// it with what a job would send before taking a listed message for the
	// job's. Stores never keep it.
	Body string `json:"-"`
}

// Advance returns what to keep of a message once d is reported after
// prev (the zero Delivery when nothing is kept yet), and whether d moves
// the status forward: the statuses only ever move forward, and fields d
// leaves empty (To, JobID) keep prev's values. Every keeper of deliveries
// applies it.
func (d Delivery) Advance(prev Delivery) (Delivery, bool) {
	if !d.Status.After(prev.Status) {
		return prev, false
	}
	if d.To == "" {
		d.To = prev.To
	}
	if d.JobID == "" {
		d.JobID = prev.JobID
	}
	return d, true
}
