package bot

import (
	"fmt"
	"strings"
)

// Outbound is one message to send over Twilio's REST API: what the outbox
// hands to its sender, and what the Twilio adapter sends.
type Outbound struct {
	// To is the recipient: "whatsapp:+2126…" or "+E.164" for SMS.
	To string
	// From is the sender ("whatsapp:+…" or a number); it may be empty when
	// MessagingServiceSID is set.
	From, MessagingServiceSID string
	// Body is the text, up to MaxBody as BodyLen counts it. Not with
	// ContentSID.
	Body     string
	MediaURL []string
	// ContentSID and ContentVariables send an approved WhatsApp template,
	// the only thing allowed outside the 24-hour window. ContentVariables
	// are sent as JSON, such as {"1":"Amina"}.
	ContentSID       string
	ContentVariables map[string]string
	// StatusCallback is where Twilio reports the message's progress; it may
	// carry ?job=ID, which comes back with every callback and is copied to
	// the Delivery the send returns.
	StatusCallback string
	// JobID is the outbox job the message is for; Twilio never gets it
	// (the simulator's mailbox reports its deliveries with it).
	JobID string
}

// SendClass says what to do about a failed send.
type SendClass int

// Classes of send errors. The zero class is Permanent: an error nobody
// classified is not retried, since retrying a send that may have gone out
// may send the message twice.
const (
	Permanent     SendClass = iota // give up on this message (21211 invalid number, 21614 not mobile, …)
	NeedsTemplate                  // 63016: outside the 24-hour window, send a template instead
	RetryLater                     // throttled (63018, 30001, 21611, HTTP 429), 5xx, timeouts, Twilio unreachable
	OptedOut                       // 21610: the recipient opted out; stop sending to them
)

func (c SendClass) String() string {
	switch c {
	case NeedsTemplate:
		return "needs template"
	case RetryLater:
		return "retry later"
	case OptedOut:
		return "opted out"
	}
	return "permanent failure"
}

// SendError is a failed send, or a failed listing of the messages sent.
type SendError struct {
	Class      SendClass
	Code       int    // Twilio's error code, 0 when Twilio did not answer with one
	HTTPStatus int    // 0 when no answer came: a send may have gone out
	Message    string // Twilio's message, or what went wrong
	// Err is the cause. Senders wrap it in an *Error whose kind is
	// Unavailable for RetryLater, Invalid for a request Twilio refused, and
	// Internal otherwise, so that KindOf and httpstatus.Of see through a
	// SendError.
	Err error
}

// Error reads "twilio: CLASS[: error CODE][ (HTTP STATUS)][: MESSAGE]",
// with Err's text when there is no Message.
func (e *SendError) Error() string {
	var b strings.Builder
	b.WriteString("twilio: ")
	b.WriteString(e.Class.String())
	if e.Code != 0 {
		fmt.Fprintf(&b, ": error %d", e.Code)
	}
	if e.HTTPStatus != 0 {
		fmt.Fprintf(&b, " (HTTP %d)", e.HTTPStatus)
	}
	switch {
	case e.Message != "":
		b.WriteString(": ")
		b.WriteString(e.Message)
	case e.Err != nil:
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func (e *SendError) Unwrap() error { return e.Err }
