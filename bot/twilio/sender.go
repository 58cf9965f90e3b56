package twilio

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/darsi-ma/darsi/bot"
	"github.com/twilio/twilio-go/client"
	openapi "github.com/twilio/twilio-go/rest/api/v2010"
)

// Defaults of SenderConfig.
const (
	DefaultBaseURL       = "https://api.twilio.com"
	DefaultSenderTimeout = 10 * time.Second
)

// SenderConfig configures a Sender.
type SenderConfig struct {
	// AccountSID and AuthToken are the Twilio credentials (both
	// alphanumeric, as twilio-go requires).
	AccountSID, AuthToken string
	// BaseURL is where REST requests go (TWILIO_API_BASE_URL): a test
	// server or a proxy; a path in it prefixes Twilio's paths. Empty or
	// DefaultBaseURL, requests go to Twilio, where twilio-go's TWILIO_EDGE
	// and TWILIO_REGION apply; another BaseURL overrides them.
	BaseURL string
	// Timeout bounds one call: a send, or a whole listing. Default 10 s.
	Timeout time.Duration
	// Now is the clock that stamps deliveries. Nil: time.Now.
	Now func() time.Time
}

// Sender sends messages over Twilio's REST API with twilio-go's client and
// its 2010 API package, and nothing more of twilio-go: its root package
// builds the services of every Twilio product. It is the outbox's sender
// (schedule.Sender). It is safe for concurrent use.
type Sender struct {
	// client holds the credentials and the HTTP client every call
	// starts from: the timeout, no redirects, and a transport that sends
	// to the base URL. Calls use shallow copies and never change it.
	client  *client.Client
	timeout time.Duration
	now     func() time.Time
}

// NewSender returns a Sender. Errors are of kind Invalid: credentials
// missing or not alphanumeric, a BaseURL that is not an http(s) URL.
func NewSender(cfg SenderConfig) (*Sender, error) {
	const op = "twilio.NewSender"
	if cfg.AccountSID == "" || cfg.AuthToken == "" {
		return nil, bot.Errorf(op, bot.Invalid, "account SID and auth token are required")
	}
	if !alphanumeric(cfg.AccountSID) || !alphanumeric(cfg.AuthToken) {
		return nil, bot.Errorf(op, bot.Invalid, "account SID and auth token must be alphanumeric")
	}
	s := &Sender{timeout: cfg.Timeout, now: cfg.Now}
	if s.timeout <= 0 {
		s.timeout = DefaultSenderTimeout
	}
	if s.now == nil {
		s.now = time.Now
	}
	transport := http.DefaultTransport
	// Twilio's own URL needs no rewriting, which would undo TWILIO_EDGE and
	// TWILIO_REGION.
	if base := strings.TrimRight(cfg.BaseURL, "/"); base != "" && base != DefaultBaseURL {
		u, err := url.Parse(base)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			return nil, bot.Errorf(op, bot.Invalid, "base URL %q: want http(s)://host[/path]", cfg.BaseURL)
		}
		transport = &baseTransport{base: u, next: transport}
	}
	s.client = &client.Client{
		Credentials: client.NewCredentials(cfg.AccountSID, cfg.AuthToken),
		HTTPClient: &http.Client{
			Transport: transport,
			Timeout:   s.timeout,
			// As twilio-go's default client: a redirect would lose the form.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
	s.client.SetAccountSid(cfg.AccountSID)
	return s, nil
}

func alphanumeric(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return false
		}
	}
	return true
}

// ClassifyCode returns the class of a Twilio error code, as found in a
// REST error or a status callback's ErrorCode: Permanent for a code it does
// not know.
func ClassifyCode(code int) bot.SendClass {
	switch code {
	case 63016:
		return bot.NeedsTemplate
	case 21610:
		return bot.OptedOut
	case 63018, 30001, 21611, 20429:
		return bot.RetryLater
	}
	return bot.Permanent
}

// Send sends m and returns its delivery: Twilio's MessageSid, the status
// Twilio reported (usually queued), and the job ID carried by
// m.StatusCallback.
//
// The request carries ctx, bounded by the Timeout: cancelling ctx aborts
// it in flight. A send that times out or is cancelled may still have
// reached Twilio; before sending again, Sent tells whether it went out.
//
// Errors are *bot.SendError: RetryLater for throttling (63018, 30001,
// 21611, HTTP 429), Twilio's 5xx, timeouts, cancellation and network
// failures; NeedsTemplate for 63016; OptedOut for 21610; Permanent for
// anything else, including a message that is incomplete (no To, no From
// nor messaging service, nothing to send, Body with ContentSID). Their
// kinds are Unavailable for RetryLater, Invalid for what Twilio or
// validation refused, Internal for an answer that could not be read.
func (s *Sender) Send(ctx context.Context, m bot.Outbound) (bot.Delivery, error) {
	const op = "twilio.Send"
	if err := validate(m); err != nil {
		return bot.Delivery{}, &bot.SendError{Class: bot.Permanent, Message: err.Error(), Err: bot.E(op, bot.Invalid, err)}
	}
	if err := ctx.Err(); err != nil {
		return bot.Delivery{}, &bot.SendError{Class: bot.RetryLater, Message: "not sent: " + err.Error(), Err: bot.E(op, bot.Unavailable, err)}
	}
	p := &openapi.CreateMessageParams{}
	p.SetTo(m.To)
	if m.From != "" {
		p.SetFrom(m.From)
	}
	if m.MessagingServiceSID != "" {
		p.SetMessagingServiceSid(m.MessagingServiceSID)
	}
	if m.Body != "" {
		p.SetBody(m.Body)
	}
	if len(m.MediaURL) > 0 {
		p.SetMediaUrl(m.MediaURL)
	}
	if m.ContentSID != "" {
		p.SetContentSid(m.ContentSID)
		if m.ContentVariables != nil {
			vars, err := contentVariables(m.ContentVariables)
			if err != nil {
				return bot.Delivery{}, &bot.SendError{Class: bot.Permanent, Message: err.Error(), Err: bot.E(op, bot.Invalid, err)}
			}
			p.SetContentVariables(vars)
		}
	}
	if m.StatusCallback != "" {
		p.SetStatusCallback(m.StatusCallback)
	}

	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	api, call := s.api(ctx)
	msg, err := api.CreateMessage(p)
	if err != nil {
		return bot.Delivery{}, classify(op, err, call.status.Load())
	}
	if msg == nil || msg.Sid == nil || *msg.Sid == "" {
		// Twilio answered 2xx: the message probably exists, so retrying
		// could send it twice.
		err := errors.New("response without a message sid")
		return bot.Delivery{}, &bot.SendError{Class: bot.Permanent, HTTPStatus: int(call.status.Load()), Message: err.Error(), Err: bot.E(op, bot.Internal, err)}
	}
	d := bot.Delivery{
		SID:       *msg.Sid,
		To:        m.To,
		Status:    bot.StatusQueued,
		JobID:     jobOf(m.StatusCallback),
		UpdatedAt: s.now(),
	}
	if msg.To != nil && *msg.To != "" {
		d.To = *msg.To
	}
	if msg.Status != nil && *msg.Status != "" {
		d.Status = bot.DeliveryStatus(*msg.Status)
	}
	if msg.ErrorCode != nil {
		d.ErrorCode = *msg.ErrorCode
	}
	return d, nil
}

// Sent lists the messages sent to `to` since the given time, across all
// pages, newest first as Twilio lists them: what the outbox checks before
// sending again a message whose send timed out. Twilio filters on the
// date_sent (its DateSent> filter may only honour the day), and the list is
// filtered again here to the second. A message still queued at Twilio has
// no date_sent yet and may be missing. Deliveries carry the message's Body
// but no JobID: Twilio does not return the StatusCallback URL.
//
// Errors are *bot.SendError, classified as for Send.
func (s *Sender) Sent(ctx context.Context, to string, since time.Time) ([]bot.Delivery, error) {
	const op = "twilio.Sent"
	if to == "" {
		err := errors.New("no recipient")
		return nil, &bot.SendError{Class: bot.Permanent, Message: err.Error(), Err: bot.E(op, bot.Invalid, err)}
	}
	if err := ctx.Err(); err != nil {
		return nil, &bot.SendError{Class: bot.RetryLater, Message: "not listed: " + err.Error(), Err: bot.E(op, bot.Unavailable, err)}
	}
	p := &openapi.ListMessageParams{}
	p.SetTo(to)
	p.SetDateSentAfter(since.UTC().Truncate(time.Second))

	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	api, call := s.api(ctx)
	msgs, err := api.ListMessage(p)
	if err != nil {
		return nil, classify(op, err, call.status.Load())
	}
	floor := since.Truncate(time.Second)
	out := make([]bot.Delivery, 0, len(msgs))
	for _, m := range msgs {
		if m.Sid == nil {
			continue
		}
		sent, sentOK := parseDate(m.DateSent)
		if sentOK && sent.Before(floor) {
			continue
		}
		d := bot.Delivery{SID: *m.Sid, To: deref(m.To), Status: bot.DeliveryStatus(deref(m.Status)), Body: deref(m.Body)}
		if m.ErrorCode != nil {
			d.ErrorCode = *m.ErrorCode
		}
		if t, ok := parseDate(m.DateUpdated); ok {
			d.UpdatedAt = t
		} else if sentOK {
			d.UpdatedAt = sent
		}
		out = append(out, d)
	}
	return out, nil
}

// call records what happened on the wire during one call.
type call struct {
	status atomic.Int32 // the last HTTP status received
}

// api returns a twilio-go API service for one call: its requests carry
// ctx, which twilio-go cannot pass (it builds requests with
// context.Background()), and their HTTP status is recorded in the call.
// Only the client and its http.Client are copied, shallowly: the
// credentials and the transport to the base URL stay the sender's.
func (s *Sender) api(ctx context.Context) (*openapi.ApiService, *call) {
	rec := &call{}
	hc := *s.client.HTTPClient
	hc.Transport = &callTransport{ctx: ctx, call: rec, next: hc.Transport}
	c := *s.client
	c.HTTPClient = &hc
	return openapi.NewApiServiceWithClient(&c), rec
}

// callTransport puts one call's context on each request and records the
// HTTP status, which twilio-go drops when an error body is not JSON.
type callTransport struct {
	ctx  context.Context
	call *call
	next http.RoundTripper
}

func (t *callTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(req.WithContext(t.ctx))
	if resp != nil {
		t.call.status.Store(int32(resp.StatusCode))
	}
	return resp, err
}

// baseTransport sends requests to the base URL: its scheme and host, and
// its path before Twilio's.
type baseTransport struct {
	base *url.URL
	next http.RoundTripper
}

func (t *baseTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	// A RoundTripper may not change the request it is given.
	r := req.Clone(req.Context())
	r.URL.Scheme = t.base.Scheme
	r.URL.Host = t.base.Host
	if t.base.Path != "" {
		r.URL.Path = t.base.Path + r.URL.Path
		r.URL.RawPath = ""
	}
	r.Host = ""
	return t.next.RoundTrip(r)
}

// classify turns an error of twilio-go into a *bot.SendError.
func classify(op string, err error, status int32) *bot.SendError {
	httpStatus := int(status)
	var tre *client.TwilioRestError
	if errors.As(err, &tre) {
		if tre.Status != 0 {
			httpStatus = tre.Status
		}
		return fromCode(op, err, tre.Code, httpStatus, tre.Message)
	}
	var v1 *client.RestErrorV1
	if errors.As(err, &v1) {
		if v1.HttpStatusCode != 0 {
			httpStatus = v1.HttpStatusCode
		}
		return fromCode(op, err, v1.Code, httpStatus, v1.Message)
	}
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout():
		return &bot.SendError{Class: bot.RetryLater, HTTPStatus: httpStatus, Message: "timeout", Err: bot.E(op, bot.Unavailable, err)}
	case errors.Is(err, context.Canceled):
		return &bot.SendError{Class: bot.RetryLater, HTTPStatus: httpStatus, Message: "canceled", Err: bot.E(op, bot.Unavailable, err)}
	case httpStatus == 0 || httpStatus == http.StatusTooManyRequests || httpStatus >= 500:
		// No answer (connection refused, reset, DNS), or an error page
		// from Twilio or a proxy.
		return &bot.SendError{Class: bot.RetryLater, HTTPStatus: httpStatus, Err: bot.E(op, bot.Unavailable, err)}
	case httpStatus >= 400:
		return &bot.SendError{Class: bot.Permanent, HTTPStatus: httpStatus, Err: bot.E(op, bot.Invalid, err)}
	}
	// A 2xx Twilio's client could not read: the request may have worked.
	return &bot.SendError{Class: bot.Permanent, HTTPStatus: httpStatus, Err: bot.E(op, bot.Internal, err)}
}

func fromCode(op string, err error, code, httpStatus int, msg string) *bot.SendError {
	c := ClassifyCode(code)
	if c == bot.Permanent && (httpStatus == http.StatusTooManyRequests || httpStatus >= 500) {
		c = bot.RetryLater
	}
	kind := bot.Invalid
	if c == bot.RetryLater {
		kind = bot.Unavailable
	}
	return &bot.SendError{Class: c, Code: code, HTTPStatus: httpStatus, Message: msg, Err: bot.E(op, kind, err)}
}

func validate(m bot.Outbound) error {
	switch {
	case m.To == "":
		return errors.New("message has no recipient")
	case !recipient(m.To):
		return fmt.Errorf("recipient %q is neither whatsapp: and an E.164 number or a BSUID, nor an E.164 number", bot.Mask(truncate(m.To, 40)))
	case m.From == "" && m.MessagingServiceSID == "":
		return errors.New("message has neither From nor MessagingServiceSID")
	case m.Body == "" && len(m.MediaURL) == 0 && m.ContentSID == "":
		return errors.New("message has no body, media or content template")
	case m.ContentSID != "" && m.Body != "":
		return errors.New("a template (ContentSID) takes ContentVariables, not Body")
	case m.ContentSID == "" && len(m.ContentVariables) > 0:
		return errors.New("ContentVariables without ContentSID")
	}
	return nil
}

// recipient reports whether to is an address Twilio sends to: a WhatsApp
// learner's ("whatsapp:+212…" or "whatsapp:MA.…", a BSUID) or an SMS
// number ("+212…").
func recipient(to string) bool {
	if rest, ok := cutWhatsApp(to); ok {
		return bot.CheckAddress(bot.LearnerID(bot.WhatsApp, rest)) == nil
	}
	return bot.ValidE164(to)
}

// contentVariables encodes template variables as Twilio wants them: a JSON
// object of strings, such as {"1":"Amina"}.
func contentVariables(vars map[string]string) (string, error) {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(vars); err != nil {
		return "", err
	}
	return strings.TrimSuffix(b.String(), "\n"), nil
}

// jobOf returns the job query parameter of a status callback URL.
func jobOf(callback string) string {
	if callback == "" {
		return ""
	}
	u, err := url.Parse(callback)
	if err != nil {
		return ""
	}
	return u.Query().Get("job")
}

// parseDate reads Twilio's RFC 2822 dates ("Mon, 02 Jan 2006 15:04:05
// +0000").
func parseDate(s *string) (time.Time, bool) {
	if s == nil || *s == "" {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC1123Z, *s)
	if err != nil {
		return time.Time{}, false
	}
	return t, true
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
