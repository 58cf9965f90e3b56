// Package twilio is Darsi's Twilio adapter: the webhook that receives
// WhatsApp and SMS messages and answers them with TwiML, the status callback
// that records how sent messages fare, and the REST sender the outbox uses
// for messages the bot starts.
//
// Every webhook request is verified against X-Twilio-Signature before
// anything reaches the application. Phone numbers only ever appear masked in
// logs.
package twilio

import (
	"context"
	"errors"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/app"
	"github.com/darsi-ma/darsi/bot/httpstatus"
	"github.com/prometheus/client_golang/prometheus"
)

// Inbound is what the webhook needs from the application.
type Inbound interface {
	HandleInbound(ctx context.Context, in bot.Inbound) (app.Result, error)
}

var _ Inbound = (*app.App)(nil)

// Replier sends a turn's replies over the REST API: the webhook hands it a
// turn whose replies TwiML cannot carry (an interactive message). It must
// send each reply once however often the same message comes (Twilio
// retries, replicas), and in order; it may send after it returned, and an
// error makes the webhook answer 503, so that Twilio retries.
type Replier interface {
	SendReplies(ctx context.Context, in bot.Inbound, replies []bot.Reply) error
}

// Defaults of WebhookConfig.
const (
	DefaultMaxBody        = 64 << 10
	DefaultWebhookTimeout = 10 * time.Second
)

// WebhookConfig configures a Webhook. The zero value of every field but
// AuthToken is usable.
type WebhookConfig struct {
	// AuthToken is Twilio's auth token, the key of X-Twilio-Signature.
	// Empty, the webhook answers every request 503: it never runs
	// unverified.
	AuthToken string
	// AccountSID is our Twilio account ("AC" and 32 hexadecimal digits):
	// a request whose AccountSid is another gets 403. Empty, any
	// AccountSid of the right format is taken.
	AccountSID string
	// PublicURL is the base URL Twilio calls, such as
	// https://darsi.example.org; the URL that was signed is PublicURL +
	// r.URL.RequestURI(), so a path in PublicURL is one a proxy strips.
	// Empty, it comes from the request: X-Forwarded-Proto and
	// X-Forwarded-Host when present, else TLS and Host. Replies' relative
	// media links are made absolute against it.
	PublicURL string
	// MaxBody bounds a request body; a larger one gets 413. Default 64 KiB.
	MaxBody int64
	// Timeout bounds the application's work on one message, so that a hung
	// store gets a 503 before Twilio's own 15-second limit. Default 10 s.
	Timeout time.Duration
	// Log receives one line per request, phone numbers masked with
	// bot.Mask. Nil: no logs.
	Log *slog.Logger
	// Registerer receives the webhook's metrics. Nil: no metrics.
	Registerer prometheus.Registerer
	// Now is the clock that stamps deliveries. Nil: time.Now.
	Now func() time.Time
	// Replies, when set, sends the turns of WhatsApp learners whose
	// replies include an interactive message (DARSI_INTERACTIVE): the
	// webhook then answers with an empty TwiML response. Nil: every turn
	// goes as TwiML, choices as their numbered lines.
	Replies Replier
}

// Webhook serves Twilio's inbound-message webhook and status callbacks.
type Webhook struct {
	app        Inbound
	deliveries app.Deliveries
	token      string
	account    string
	publicURL  string
	maxBody    int64
	timeout    time.Duration
	log        *slog.Logger
	metrics    *metrics
	now        func() time.Time
	replies    Replier
}

// NewWebhook returns a webhook that hands verified messages to a and
// records status callbacks in d. d may be nil when status callbacks are not
// wired; Status then answers 503.
func NewWebhook(a Inbound, d app.Deliveries, cfg WebhookConfig) *Webhook {
	w := &Webhook{
		app:        a,
		deliveries: d,
		token:      cfg.AuthToken,
		account:    cfg.AccountSID,
		publicURL:  strings.TrimRight(cfg.PublicURL, "/"),
		maxBody:    cfg.MaxBody,
		timeout:    cfg.Timeout,
		log:        cfg.Log,
		metrics:    newMetrics(cfg.Registerer),
		now:        cfg.Now,
		replies:    cfg.Replies,
	}
	if w.maxBody <= 0 {
		w.maxBody = DefaultMaxBody
	}
	if w.timeout <= 0 {
		w.timeout = DefaultWebhookTimeout
	}
	if w.log == nil {
		w.log = slog.New(slog.DiscardHandler)
	}
	if w.now == nil {
		w.now = time.Now
	}
	return w
}

// Messages returns the handler of POST /twilio/messages, Twilio's
// inbound-message webhook for WhatsApp and SMS.
//
// It answers 405 to other methods, 503 without an auth token, 400 to a body
// that is not a form, 413 to one over MaxBody; then, before the signature is
// checked, 400 when MessageSid (or SmsMessageSid, SmsSid) or AccountSid is
// missing or not in Twilio's format (two letters and 32 hexadecimal
// digits; SM or MM for a message, AC for the account) and 403 when
// AccountSid is not WebhookConfig.AccountSID; 403 when X-Twilio-Signature
// is missing or wrong (nothing reaches the application), 400 when From is
// missing or not a WhatsApp or SMS number, the status of the application's
// error kind (see httpstatus.Of: 503 when the store is down), and otherwise
// 200 with the replies as TwiML (text/xml). A message Twilio delivers again
// gets the same TwiML as the first time.
func (w *Webhook) Messages() http.Handler { return http.HandlerFunc(w.messages) }

// Status returns the handler of POST /twilio/status, Twilio's status
// callbacks for messages sent over REST.
//
// It is verified like Messages, SIDs included. It reads MessageSid, MessageStatus,
// ErrorCode and To, and the query parameter job (the outbox job that set the
// StatusCallback URL), and hands them to Deliveries.AdvanceDelivery, which
// keeps only moves forward. It answers 200 with an empty body whether or not
// the status moved; an unknown status is logged and ignored (200); a
// missing MessageSid is 400; a store error gets its kind's status.
func (w *Webhook) Status() http.Handler { return http.HandlerFunc(w.status) }

func (w *Webhook) messages(rw http.ResponseWriter, r *http.Request) {
	start := time.Now()
	defer func() { w.metrics.duration.Observe(time.Since(start).Seconds()) }()

	form, rej := w.verifiedForm(rw, r, endpointMessages)
	if rej.code != 0 {
		from := form.Get("From")
		w.metrics.inbound.WithLabelValues(channelLabel(from), rej.outcome).Inc()
		w.log.Warn("twilio webhook rejected", "status", rej.code, "reason", rej.why, "from", maskAddress(from))
		http.Error(rw, rej.why, rej.code)
		return
	}

	in, err := ParseInbound(form)
	if err != nil {
		from := form.Get("From")
		w.metrics.inbound.WithLabelValues(channelLabel(from), outcomeBadRequest).Inc()
		w.log.Warn("twilio webhook rejected", "status", http.StatusBadRequest, "reason", err, "from", maskAddress(from))
		http.Error(rw, "bad request: "+err.Error(), http.StatusBadRequest)
		return
	}
	ch := string(in.Channel)

	ctx, cancel := context.WithTimeout(r.Context(), w.timeout)
	defer cancel()
	res, err := w.app.HandleInbound(ctx, in)
	if err != nil {
		status := httpstatus.Of(err)
		if errors.Is(err, context.DeadlineExceeded) {
			status = http.StatusServiceUnavailable
		}
		w.metrics.inbound.WithLabelValues(ch, outcomeError).Inc()
		w.log.Error("twilio webhook", "status", status, "sid", in.ID, "from", bot.Mask(in.From), "err", err)
		http.Error(rw, http.StatusText(status), status)
		return
	}

	replies := w.absoluteMedia(r, res.Replies)
	rest := w.replies != nil && in.Channel == bot.WhatsApp && Interactive(replies)
	if rest {
		// TwiML cannot carry a content: every reply of the turn goes
		// over REST, in order, and the webhook answers with nothing.
		if err := w.replies.SendReplies(ctx, in, replies); err != nil {
			status := httpstatus.Of(err)
			if errors.Is(err, context.DeadlineExceeded) {
				status = http.StatusServiceUnavailable
			}
			w.metrics.inbound.WithLabelValues(ch, outcomeError).Inc()
			w.log.Error("twilio webhook: replies over REST", "status", status, "sid", in.ID, "from", bot.Mask(in.From), "err", err)
			http.Error(rw, http.StatusText(status), status)
			return
		}
		replies = nil
	}
	body, err := TwiML(replies)
	if err != nil {
		w.metrics.inbound.WithLabelValues(ch, outcomeError).Inc()
		w.log.Error("twilio webhook", "status", http.StatusInternalServerError, "sid", in.ID, "from", bot.Mask(in.From), "err", err)
		http.Error(rw, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
		return
	}
	outcome := outcomeOK
	if res.Duplicate {
		outcome = outcomeDuplicate
		w.metrics.duplicates.Inc()
	}
	w.metrics.inbound.WithLabelValues(ch, outcome).Inc()
	w.metrics.replies.WithLabelValues(ch).Add(float64(len(res.Replies)))
	w.log.Info("twilio webhook", "sid", in.ID, "from", bot.Mask(in.From), "outcome", outcome,
		"replies", len(res.Replies), "rest", rest, "duration", time.Since(start))

	rw.Header().Set("Content-Type", "text/xml; charset=utf-8")
	rw.WriteHeader(http.StatusOK)
	rw.Write(body)
}

func (w *Webhook) status(rw http.ResponseWriter, r *http.Request) {
	form, rej := w.verifiedForm(rw, r, endpointStatus)
	if rej.code != 0 {
		w.log.Warn("twilio status callback rejected", "status", rej.code, "reason", rej.why)
		http.Error(rw, rej.why, rej.code)
		return
	}
	if w.deliveries == nil {
		w.log.Error("twilio status callback: no delivery store configured")
		http.Error(rw, "status callbacks not configured", http.StatusServiceUnavailable)
		return
	}
	sid := form.Get("MessageSid")
	if sid == "" {
		sid = form.Get("SmsSid")
	}
	if sid == "" || len(sid) > maxSIDLen {
		w.log.Warn("twilio status callback rejected", "status", http.StatusBadRequest, "reason", "missing or malformed MessageSid")
		http.Error(rw, "bad request: missing or malformed MessageSid", http.StatusBadRequest)
		return
	}
	st := bot.DeliveryStatus(firstOf(form, "MessageStatus", "SmsStatus"))
	if !st.Known() {
		w.metrics.callbacks.WithLabelValues("unknown", "false").Inc()
		w.log.Warn("twilio status callback: unknown status ignored", "sid", sid, "status", truncate(string(st), 32))
		rw.WriteHeader(http.StatusOK)
		return
	}
	d := bot.Delivery{
		SID:       sid,
		To:        form.Get("To"),
		Status:    st,
		JobID:     r.URL.Query().Get("job"),
		UpdatedAt: w.now(),
	}
	if ec := form.Get("ErrorCode"); ec != "" {
		if n, err := strconv.Atoi(ec); err == nil {
			d.ErrorCode = n
		}
	}
	ctx, cancel := context.WithTimeout(r.Context(), w.timeout)
	defer cancel()
	applied, err := w.deliveries.AdvanceDelivery(ctx, d)
	if err != nil {
		status := httpstatus.Of(err)
		if errors.Is(err, context.DeadlineExceeded) {
			status = http.StatusServiceUnavailable
		}
		w.log.Error("twilio status callback", "sid", sid, "status", st, "err", err)
		http.Error(rw, http.StatusText(status), status)
		return
	}
	w.metrics.callbacks.WithLabelValues(string(st), strconv.FormatBool(applied)).Inc()
	if applied && (st == bot.StatusFailed || st == bot.StatusUndelivered) {
		w.metrics.deliveryFailures.WithLabelValues(bot.ErrorCodeLabel(d.ErrorCode)).Inc()
	}
	w.log.Info("twilio status callback", "sid", sid, "to", bot.Mask(d.To), "status", st,
		"error_code", d.ErrorCode, "job", d.JobID, "applied", applied)
	rw.WriteHeader(http.StatusOK)
}

// rejection is why a webhook request is refused: the HTTP status (0 for
// none), a short reason, and the outcome label of
// darsi_inbound_messages_total.
type rejection struct {
	code    int
	why     string
	outcome string
}

// verifiedForm reads and verifies a webhook request to endpoint (for
// metrics). It returns the POST form, or a rejection; the form is returned
// (unverified) also when only its SIDs or its signature failed, for logs
// and metrics. The SIDs are checked before the signature: they cost
// nothing, and a form cut again so that its signature still verifies is
// refused whatever else it holds.
func (w *Webhook) verifiedForm(rw http.ResponseWriter, r *http.Request, endpoint string) (url.Values, rejection) {
	if r.Method != http.MethodPost {
		rw.Header().Set("Allow", http.MethodPost)
		return nil, rejection{http.StatusMethodNotAllowed, "method not allowed", outcomeBadRequest}
	}
	if w.token == "" {
		return nil, rejection{http.StatusServiceUnavailable, "twilio auth token not configured", outcomeError}
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/x-www-form-urlencoded" {
		return nil, rejection{http.StatusBadRequest, "bad request: expected application/x-www-form-urlencoded", outcomeBadRequest}
	}
	r.Body = http.MaxBytesReader(rw, r.Body, w.maxBody)
	if err := r.ParseForm(); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, rejection{http.StatusRequestEntityTooLarge, "request body too large", outcomeTooLarge}
		}
		return nil, rejection{http.StatusBadRequest, "bad request: malformed form", outcomeBadRequest}
	}
	switch problem, why := checkSIDs(r.PostForm, w.account); problem {
	case sidMalformed:
		w.metrics.sidRejections.WithLabelValues(endpoint, reasonMalformed).Inc()
		return r.PostForm, rejection{http.StatusBadRequest, "bad request: " + why, outcomeBadSID}
	case sidForeign:
		w.metrics.sidRejections.WithLabelValues(endpoint, reasonForeignAccount).Inc()
		return r.PostForm, rejection{http.StatusForbidden, why, outcomeForeignAccount}
	}
	sig := r.Header.Get("X-Twilio-Signature")
	if sig == "" {
		w.metrics.signatureFailures.Inc()
		return r.PostForm, rejection{http.StatusForbidden, "missing X-Twilio-Signature", outcomeBadSignature}
	}
	if !VerifySignature(w.token, w.baseURL(r)+r.URL.RequestURI(), r.PostForm, sig) {
		w.metrics.signatureFailures.Inc()
		return r.PostForm, rejection{http.StatusForbidden, "invalid X-Twilio-Signature", outcomeBadSignature}
	}
	return r.PostForm, rejection{}
}

// baseURL is the scheme and host Twilio called, without a trailing slash.
func (w *Webhook) baseURL(r *http.Request) string {
	if w.publicURL != "" {
		return w.publicURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if p := firstField(r.Header.Get("X-Forwarded-Proto")); p != "" {
		scheme = strings.ToLower(p)
	}
	host := r.Host
	if h := firstField(r.Header.Get("X-Forwarded-Host")); h != "" {
		host = h
	}
	return scheme + "://" + host
}

// absoluteMedia makes the replies' relative media links absolute against
// the base URL Twilio called: Twilio fetches media itself and needs a full
// URL.
func (w *Webhook) absoluteMedia(r *http.Request, replies []bot.Reply) []bot.Reply {
	out, copied := replies, false
	for i, rep := range replies {
		if rep.Media == "" {
			continue
		}
		u, err := url.Parse(rep.Media)
		if err != nil || u.Scheme != "" {
			continue
		}
		if !copied {
			out, copied = append([]bot.Reply(nil), replies...), true
		}
		base := w.baseURL(r)
		switch {
		case u.Host != "": // "//cdn.example.org/x.jpg"
			scheme, _, _ := strings.Cut(base, ":")
			out[i].Media = scheme + ":" + rep.Media
		case strings.HasPrefix(rep.Media, "/"):
			out[i].Media = base + rep.Media
		default:
			out[i].Media = base + "/" + rep.Media
		}
	}
	return out
}

// firstField returns the first comma-separated field of a header such as
// X-Forwarded-Proto, trimmed.
func firstField(h string) string {
	f, _, _ := strings.Cut(h, ",")
	return strings.TrimSpace(f)
}

// maskAddress masks a Twilio address ("whatsapp:+2126…" or "+2126…") for
// logs.
func maskAddress(a string) string {
	if a == "" {
		return ""
	}
	return bot.Mask(truncate(a, 40))
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
