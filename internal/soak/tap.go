package soak

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/schedule"
	"github.com/darsi-ma/darsi/bot/twilio/twiliotest"
)

// sent is one message the fake Twilio accepted, as the tap saw it.
type sent struct {
	SID, To, Body, Job string
	Media              bool
	Content            bool // sent as a content (buttons, a list)
	At                 time.Time
}

// Tap stands between the replicas and the fake Twilio: it passes every
// request on, tells the harness of each message the fake accepted as it
// happens (so that a learner reads their replies before answering), and
// posts the message's status callbacks as Twilio does: "sent", then
// "delivered", each retried until darsi answers 2xx.
type Tap struct {
	URL  string
	fake *twiliotest.Fake
	srv  *http.Server

	mu      sync.Mutex
	byTo    map[string][]sent
	replies map[string]int // replies (outbox jobs of kind reply) sent to each address
	waiters map[string]chan struct{}

	callbacks chan string
	wg        sync.WaitGroup
	// Callbacks counts the status callbacks darsi acknowledged;
	// CallbackRetries those that had to be posted again.
	Callbacks, CallbackRetries, CallbacksFailed atomic.Int64
}

// NewTap serves on a free loopback port in front of fake.
func NewTap(fake *twiliotest.Fake) (*Tap, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	t := &Tap{URL: "http://" + ln.Addr().String(), fake: fake,
		byTo: map[string][]sent{}, replies: map[string]int{}, waiters: map[string]chan struct{}{},
		callbacks: make(chan string, 1<<16)}
	t.srv = &http.Server{Handler: t, ReadHeaderTimeout: 5 * time.Second}
	go t.srv.Serve(ln)
	return t, nil
}

// StartCallbacks posts status callbacks with n workers until ctx ends.
func (t *Tap) StartCallbacks(ctx context.Context, n int) {
	for range n {
		t.wg.Go(func() {
			for {
				select {
				case <-ctx.Done():
					return
				case sid := <-t.callbacks:
					t.callback(ctx, sid)
				}
			}
		})
	}
}

// Pending is how many callbacks wait to be posted.
func (t *Tap) Pending() int { return len(t.callbacks) }

// callback posts "sent" then "delivered" for sid, each until darsi takes
// it (Twilio retries a failed callback too) or two minutes have passed.
func (t *Tap) callback(ctx context.Context, sid string) {
	for _, status := range []bot.DeliveryStatus{bot.StatusSent, bot.StatusDelivered} {
		deadline := time.Now().Add(2 * time.Minute)
		for try := 0; ; try++ {
			cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
			err := t.fake.Callback(cctx, sid, status, 0)
			cancel()
			if err == nil {
				t.Callbacks.Add(1)
				break
			}
			if ctx.Err() != nil || time.Now().After(deadline) {
				t.CallbacksFailed.Add(1)
				return
			}
			t.CallbackRetries.Add(1)
			time.Sleep(time.Duration(min(try+1, 10)) * 200 * time.Millisecond)
		}
	}
}

// Close stops the tap; callbacks stop with their context.
func (t *Tap) Close() {
	t.srv.Close()
	t.wg.Wait()
}

// To returns the messages sent to the address so far.
func (t *Tap) To(addr string) []sent {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]sent(nil), t.byTo[addr]...)
}

// WaitReplies waits until at least n replies (outbox jobs of kind reply)
// went to addr, or ctx ends; it returns how many went.
func (t *Tap) WaitReplies(ctx context.Context, addr string, n int) int {
	for {
		t.mu.Lock()
		got := t.replies[addr]
		if got >= n {
			t.mu.Unlock()
			return got
		}
		ch := t.waiters[addr]
		if ch == nil {
			ch = make(chan struct{})
			t.waiters[addr] = ch
		}
		t.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			t.mu.Lock()
			defer t.mu.Unlock()
			return t.replies[addr]
		}
	}
}

func (t *Tap) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	req, err := http.NewRequestWithContext(r.Context(), r.Method, t.fake.URL+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	req.Header = r.Header.Clone()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	out, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/Messages.json") && resp.StatusCode == http.StatusCreated {
		t.accepted(body, out)
	}
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.StatusCode)
	w.Write(out)
}

// accepted records a message the fake took and queues its callbacks.
func (t *Tap) accepted(form, resp []byte) {
	var m struct {
		SID  string `json:"sid"`
		To   string `json:"to"`
		Body string `json:"body"`
	}
	if json.Unmarshal(resp, &m) != nil || m.SID == "" {
		return
	}
	p, _ := url.ParseQuery(string(form))
	s := sent{SID: m.SID, To: m.To, Body: m.Body, At: time.Now(),
		Media: p.Get("MediaUrl") != "", Content: p.Get("ContentSid") != ""}
	if cb := p.Get("StatusCallback"); cb != "" {
		if u, err := url.Parse(cb); err == nil {
			s.Job = u.Query().Get("job")
		}
	}
	t.mu.Lock()
	t.byTo[m.To] = append(t.byTo[m.To], s)
	if strings.HasPrefix(s.Job, schedule.ReplyIDPrefix) {
		t.replies[m.To]++
	}
	if ch := t.waiters[m.To]; ch != nil {
		close(ch)
		delete(t.waiters, m.To)
	}
	t.mu.Unlock()
	if p.Get("StatusCallback") != "" {
		select {
		case t.callbacks <- m.SID:
		default:
			t.CallbacksFailed.Add(1)
		}
	}
}
