package soak

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/dialog"
	"github.com/darsi-ma/darsi/bot/lesson"
	"github.com/darsi-ma/darsi/bot/twilio/twiliotest"
)

// learner is one simulated WhatsApp learner: they join the cohort, pick
// a language, agree, and take lessons, answering what they are asked
// (right or wrong), each message sent to darsi as Twilio sends it and
// retried as Twilio retries it, and to the twin.
type learner struct {
	h       *harness
	number  string // +E.164
	lang    int    // 1 to 4: the language menu's line
	turns   int    // messages to send
	rng     *rand.Rand
	toronto bool // a number whose local time is inside the quiet hours all run

	shadow bot.Learner // the twin learner
	// rest are the replies that must come over REST, in order;
	// turnsREST the same by message.
	rest      []bot.Reply
	turnsREST []restTurn
	// joinedAt is when darsi acknowledged the join; zero before.
	joinedAt time.Time
	// joinSent is when the join was first sent; zero before.
	joinSent time.Time
	// lastAck is when darsi acknowledged the last message.
	lastAck time.Time
	sent    int // messages acknowledged
	failed  string
}

func (l *learner) addr() string { return "whatsapp:" + l.number }

// sid is the MessageSid of the learner's nth message: the same on every
// retry.
func (l *learner) sid(n int) string {
	sum := sha256.Sum256([]byte(l.h.runID + l.number + strconv.Itoa(n)))
	return "SM" + hex.EncodeToString(sum[:16])
}

// next is what the learner writes, given what the twin says they are
// asked.
func (l *learner) next(c *dialog.Content) string {
	sh := l.shadow
	switch {
	case l.sent == 0:
		return l.h.code
	case sh.Phase == bot.PhaseNew, sh.Phase == bot.PhaseLanguage:
		return strconv.Itoa(l.lang)
	case sh.Phase == bot.PhaseConsent:
		return "1"
	case sh.Phase == bot.PhaseLesson:
		les := c.Lessons.Lesson(sh.Lesson)
		if les == nil {
			return "1"
		}
		st, _ := les.Step(sh.Step)
		if st == nil {
			return "1"
		}
		switch {
		case st.Kind == lesson.Input && st.InputKind == "number":
			lo, hi := 1.0, 900.0
			if st.Min != nil {
				lo = *st.Min
			}
			if st.Max != nil {
				hi = *st.Max
			}
			if hi < lo {
				hi = lo
			}
			return strconv.Itoa(int(lo) + l.rng.IntN(int(hi-lo)+1))
		case st.Kind == lesson.Input:
			return "Atelier"
		case len(st.Options) > 0:
			return strconv.Itoa(1 + l.rng.IntN(len(st.Options)))
		}
	}
	return "1"
}

// run sends the learner's messages one by one, each after the replies of
// the one before arrived, as a person answers what they read.
func (l *learner) run(ctx context.Context) {
	c := l.h.content
	for n := 0; n < l.turns; n++ {
		if ctx.Err() != nil || time.Now().After(l.h.stopAt) {
			return
		}
		text := l.next(c)
		sid := l.sid(n)
		in := bot.Inbound{ID: sid, From: l.addr(), Channel: bot.WhatsApp, Text: text}
		turn, shadow, err := l.h.twin.Handle(ctx, in)
		if err != nil {
			l.failed = "twin: " + err.Error()
			return
		}
		l.shadow = shadow
		if n == 0 {
			l.joinSent = time.Now()
		}
		form := url.Values{
			"MessageSid": {sid}, "SmsSid": {sid}, "AccountSid": {l.h.account},
			"From": {l.addr()}, "To": {l.h.whatsAppFrom}, "Body": {text}, "NumMedia": {"0"},
			"WaId": {strings.TrimPrefix(l.number, "+")},
		}
		body, ok := l.h.deliver(ctx, form)
		if !ok {
			l.failed = fmt.Sprintf("message %d never acknowledged", n+1)
			return
		}
		l.lastAck = time.Now()
		if n == 0 {
			l.joinedAt = l.lastAck
		}
		l.sent++
		want := turn.TwiML
		if !bytes.Equal(body, want) {
			l.h.wrongAnswer(l, text, body, want)
		}
		if len(turn.REST) > 0 {
			l.rest = append(l.rest, turn.REST...)
			l.turnsREST = append(l.turnsREST, restTurn{sid: sid, replies: turn.REST})
			// Read the replies before answering them.
			wctx, cancel := context.WithTimeout(ctx, l.h.replyWait)
			got := l.h.tap.WaitReplies(wctx, l.addr(), len(l.rest))
			cancel()
			if got < len(l.rest) {
				l.h.lateReplies.Add(1)
			}
		}
		// Reading and typing.
		pause := l.h.think/2 + time.Duration(l.rng.Int64N(int64(l.h.think)+1))
		select {
		case <-ctx.Done():
			return
		case <-time.After(pause):
		}
	}
}

// restTurn is a message whose replies go over REST.
type restTurn struct {
	sid     string
	replies []bot.Reply
}

// deliver posts a signed webhook to the balancer until darsi acknowledges
// it with a 2xx, as Twilio retries a webhook that failed (5xx, a timeout,
// a connection refused): the same MessageSid each time. It returns the
// body of the answer.
func (h *harness) deliver(ctx context.Context, form url.Values) ([]byte, bool) {
	target := h.lb.URL + "/twilio/messages"
	payload := form.Encode()
	sig := twiliotest.Signature(h.token, target, form)
	deadline := time.Now().Add(h.giveUp)
	for try := 0; ; try++ {
		h.attempts.Add(1)
		rctx, cancel := context.WithTimeout(ctx, 15*time.Second) // Twilio's limit
		req, _ := http.NewRequestWithContext(rctx, http.MethodPost, target, strings.NewReader(payload))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Twilio-Signature", sig)
		req.Header.Set("I-Twilio-Idempotency-Token", form.Get("MessageSid"))
		sentAt := time.Now()
		resp, err := h.client.Do(req)
		var body []byte
		status := 0
		if err == nil {
			body, err = io.ReadAll(resp.Body)
			resp.Body.Close()
			status = resp.StatusCode
		}
		cancel()
		switch {
		case err == nil && status/100 == 2:
			h.messages.Add(1)
			h.mu.Lock()
			h.took = append(h.took, time.Since(sentAt))
			h.mu.Unlock()
			return body, true
		case err == nil && status/100 == 4:
			h.problem("webhook answered %d (Twilio does not retry it): %s", status, bytes.TrimSpace(body))
			return nil, false
		case ctx.Err() != nil:
			return nil, false
		case err != nil && rctx.Err() != nil:
			h.retried("timeout")
		case err != nil:
			h.retried("connection")
		default:
			h.retried(strconv.Itoa(status))
		}
		if time.Now().After(deadline) {
			return nil, false
		}
		// Twilio retries within seconds; a little jitter spreads them.
		time.Sleep(time.Duration(200+rand.IntN(300)) * time.Millisecond * time.Duration(min(try+1, 6)))
	}
}

// counter is a set of named counts safe for concurrent use.
type counter struct {
	mu sync.Mutex
	m  map[string]int
}

func (c *counter) add(k string, n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]int{}
	}
	c.m[k] += n
}

func (c *counter) snapshot() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]int, len(c.m))
	for k, v := range c.m {
		out[k] = v
	}
	return out
}
