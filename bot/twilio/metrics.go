package twilio

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// Outcomes of an inbound webhook request, the "outcome" label of
// darsi_inbound_messages_total.
const (
	outcomeOK           = "ok"
	outcomeDuplicate    = "duplicate"
	outcomeBadSignature = "bad_signature"
	outcomeBadRequest   = "bad_request"
	outcomeTooLarge     = "too_large"
	outcomeError        = "error"
	// outcomeBadSID: a MessageSid or AccountSid missing or not in
	// Twilio's format (400).
	outcomeBadSID = "bad_sid"
	// outcomeForeignAccount: the AccountSid of another account (403).
	outcomeForeignAccount = "foreign_account"
)

// The "endpoint" and "reason" labels of darsi_sid_rejections_total.
const (
	endpointMessages     = "messages"
	endpointStatus       = "status"
	reasonMalformed      = "malformed"
	reasonForeignAccount = "foreign_account"
)

type metrics struct {
	inbound           *prometheus.CounterVec // channel, outcome
	duration          prometheus.Histogram
	signatureFailures prometheus.Counter
	duplicates        prometheus.Counter
	replies           *prometheus.CounterVec // channel
	callbacks         *prometheus.CounterVec // status, applied
	sidRejections     *prometheus.CounterVec // endpoint, reason
	deliveryFailures  *prometheus.CounterVec // code
}

// newMetrics builds the webhook's collectors and registers them on reg when
// it is not nil. A collector already registered (a second webhook on the
// same registry) is shared rather than failing.
func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		inbound: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "darsi_inbound_messages_total",
			Help: "Inbound messages received on the Twilio webhook, by channel and outcome.",
		}, []string{"channel", "outcome"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "darsi_webhook_duration_seconds",
			Help: "Time to answer Twilio's inbound-message webhook (Twilio gives up after 15 s).",
			// Up to Twilio's 15-second limit.
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 15},
		}),
		signatureFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "darsi_signature_failures_total",
			Help: "Twilio webhook and status-callback requests rejected for a missing or wrong X-Twilio-Signature.",
		}),
		duplicates: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "darsi_duplicate_messages_total",
			Help: "Inbound messages received again (same MessageSid) and answered with the first reply.",
		}),
		replies: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "darsi_replies_total",
			Help: "Replies returned as TwiML, by channel.",
		}, []string{"channel"}),
		callbacks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "darsi_status_callbacks_total",
			Help: "Twilio status callbacks, by status and whether they moved the delivery forward.",
		}, []string{"status", "applied"}),
		sidRejections: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "darsi_sid_rejections_total",
			Help: "Twilio webhook and status-callback requests refused for their SIDs, before the signature is checked: by endpoint (messages, status) and reason (malformed: a MessageSid or AccountSid missing or not two letters and 32 hexadecimal digits; foreign_account: another account's AccountSid).",
		}, []string{"endpoint", "reason"}),
		deliveryFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "darsi_delivery_failures_total",
			Help: "Messages sent over REST that Twilio reported failed or undelivered in a status callback, by Twilio error code (none: no code; other: past the first 40 codes). Each message counts once.",
		}, []string{"code"}),
	}
	if reg != nil {
		m.inbound = register(reg, m.inbound)
		m.duration = register(reg, m.duration)
		m.signatureFailures = register(reg, m.signatureFailures)
		m.duplicates = register(reg, m.duplicates)
		m.replies = register(reg, m.replies)
		m.callbacks = register(reg, m.callbacks)
		m.sidRejections = register(reg, m.sidRejections)
		m.deliveryFailures = register(reg, m.deliveryFailures)
	}
	// Every endpoint and reason is there from the start, at zero, so that
	// an alert on a rate of refusals is defined before the first one.
	for _, e := range []string{endpointMessages, endpointStatus} {
		for _, r := range []string{reasonMalformed, reasonForeignAccount} {
			m.sidRejections.WithLabelValues(e, r)
		}
	}
	return m
}

// register registers c, or returns the collector already registered under
// the same description. Any other failure (a name clash with a different
// metric) is a programming error.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	err := reg.Register(c)
	if err == nil {
		return c
	}
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(C); ok {
			return existing
		}
	}
	panic("twilio: registering metrics: " + err.Error())
}
