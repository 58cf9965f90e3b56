// Package simulator serves the web chat simulator: a page where anyone can
// talk to the bot as a learner would on a phone, without WhatsApp. Its
// learners live in their own namespace (channel "sim"), apart from real ones.
package simulator

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/app"
	"github.com/darsi-ma/darsi/bot/httpstatus"
)

// Inbound is what the simulator needs from the application.
type Inbound interface {
	HandleInbound(ctx context.Context, in bot.Inbound) (app.Result, error)
}

//go:embed page.html
var page []byte

// maxBody bounds a simulator request.
const maxBody = 16 << 10

var phone = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

// Handler serves the page at /, the messages at /sim/messages, and what
// the outbox sends to a learner at /sim/events.
type Handler struct {
	app  Inbound
	log  *slog.Logger
	mux  *http.ServeMux
	mail *Mailbox
}

// New returns the simulator's handler. mb, when not nil, is the mailbox
// of what the outbox sends to the simulator's learners: their page
// receives it live.
func New(a Inbound, log *slog.Logger, mb *Mailbox) *Handler {
	h := &Handler{app: a, log: log, mux: http.NewServeMux(), mail: mb}
	h.mux.HandleFunc("GET /{$}", h.page)
	h.mux.HandleFunc("POST /sim/messages", h.message)
	h.mux.HandleFunc("GET /sim/events", h.events)
	return h
}

// Timings of the event stream.
const (
	// keepAlive is how often a quiet stream sends a comment line, so that
	// proxies keep it open and a page that left is noticed.
	keepAlive = 20 * time.Second
	// writeWait bounds each write to the stream.
	writeWait = 10 * time.Second
	// retryMillis is how soon a page reconnects after the stream ends.
	retryMillis = 2000
)

// events streams what the outbox sends to the learner ?from=+212…, as
// Server-Sent Events: one event a message, its id the message's Seq, its
// data the Message as JSON. It starts after ?after=SEQ, or the
// Last-Event-ID a reconnecting page sends. Each message sent counts as
// delivered. Without a mailbox it answers 204, which tells the page not
// to reconnect.
func (h *Handler) events(w http.ResponseWriter, r *http.Request) {
	if h.mail == nil {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	from := r.URL.Query().Get("from")
	if !phone.MatchString(from) {
		writeJSON(w, http.StatusBadRequest, Response{Error: "from must be a phone number such as +212600000001"})
		return
	}
	var after int64
	for _, v := range []string{r.URL.Query().Get("after"), r.Header.Get("Last-Event-ID")} {
		if v == "" {
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			writeJSON(w, http.StatusBadRequest, Response{Error: "after must be a message number (0 or more)"})
			return
		}
		after = max(after, n)
	}
	learner := bot.LearnerID(bot.Sim, from)
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no") // nginx: do not hold events back
	w.WriteHeader(http.StatusOK)
	write := func(s string) bool {
		rc.SetWriteDeadline(time.Now().Add(writeWait))
		if _, err := io.WriteString(w, s); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	if !write("retry: " + strconv.Itoa(retryMillis) + "\n\n") {
		return
	}
	for {
		msgs, delivered, wake := h.mail.after(learner, after)
		var b strings.Builder
		for _, m := range msgs {
			data, _ := json.Marshal(m)
			fmt.Fprintf(&b, "id: %d\ndata: %s\n\n", m.Seq, data)
			after = m.Seq
		}
		if b.Len() > 0 {
			if !write(b.String()) {
				return // not shown: the next stream sends them again
			}
		}
		if h.mail.OnDelivered != nil {
			for _, d := range delivered {
				h.mail.OnDelivered(context.WithoutCancel(r.Context()), d)
			}
		}
		t := time.NewTimer(keepAlive)
		select {
		case <-wake:
			t.Stop()
		case <-t.C:
			if !write(": keep-alive\n\n") {
				return
			}
		case <-r.Context().Done():
			t.Stop()
			return
		case <-h.mail.closed:
			t.Stop()
			return
		}
	}
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

func (h *Handler) page(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'")
	w.Write(page)
}

// Request is one message typed in the simulator.
type Request struct {
	From string `json:"from"` // an E.164 number, such as +212600000001
	Text string `json:"text"`
	ID   string `json:"id,omitempty"` // idempotency key chosen by the page
	// Payload is the id of an option the learner clicked, as WhatsApp's
	// ButtonPayload carries it; Text then holds the option's words.
	Payload string `json:"payload,omitempty"`
}

// Response carries the bot's replies.
type Response struct {
	Replies []bot.Reply `json:"replies"`
	Error   string      `json:"error,omitempty"`
}

func (h *Handler) message(w http.ResponseWriter, r *http.Request) {
	var req Request
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	if err := dec.Decode(&req); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeJSON(w, http.StatusRequestEntityTooLarge, Response{Error: "message too long"})
			return
		}
		writeJSON(w, http.StatusBadRequest, Response{Error: "send JSON: {\"from\": \"+212…\", \"text\": \"…\"}"})
		return
	}
	if !phone.MatchString(req.From) {
		writeJSON(w, http.StatusBadRequest, Response{Error: "from must be a phone number such as +212600000001"})
		return
	}
	if len(req.ID) > 100 || len(req.Payload) > 200 {
		writeJSON(w, http.StatusBadRequest, Response{Error: "id or payload too long"})
		return
	}
	res, err := h.app.HandleInbound(r.Context(), bot.Inbound{
		ID:      req.ID,
		From:    bot.LearnerID(bot.Sim, req.From),
		Channel: bot.Sim,
		Text:    req.Text,
		Payload: req.Payload,
	})
	if err != nil {
		h.log.Error("simulator message", "err", err)
		writeJSON(w, httpstatus.Of(err), Response{Error: bot.KindOf(err).String()})
		return
	}
	writeJSON(w, http.StatusOK, Response{Replies: res.Replies})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}
