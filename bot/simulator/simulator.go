// Package simulator serves the web chat simulator: a page where anyone can
// talk to the bot as a learner would on a phone, without WhatsApp. Its
// learners live in their own namespace (channel "sim"), apart from real ones.
package simulator

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"regexp"

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

// Handler serves the page at / and the messages at /sim/messages.
type Handler struct {
	app Inbound
	log *slog.Logger
	mux *http.ServeMux
}

// New returns the simulator's handler.
func New(a Inbound, log *slog.Logger) *Handler {
	h := &Handler{app: a, log: log, mux: http.NewServeMux()}
	h.mux.HandleFunc("GET /{$}", h.page)
	h.mux.HandleFunc("POST /sim/messages", h.message)
	return h
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
