package simulator

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/darsi-ma/darsi/bot"
)

func send(t *testing.T, mb *Mailbox, to, body, job string) bot.Delivery {
	t.Helper()
	d, err := mb.Send(context.Background(), bot.Outbound{To: to, From: "sim", Body: body, JobID: job})
	if err != nil {
		t.Fatalf("Send to %s: %v", to, err)
	}
	return d
}

// TestMailboxBounds: a learner's mailbox keeps its last MaxMessages, at
// most MaxLearners learners have one, and messages go after Retention.
func TestMailboxBounds(t *testing.T) {
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	mb := NewMailbox()
	mb.Now = func() time.Time { return now }
	for i := range MaxMessages + 5 {
		send(t, mb, "sim:+212600000001", fmt.Sprint("message ", i), "")
	}
	msgs, _, _ := mb.after("sim:+212600000001", 0)
	if len(msgs) != MaxMessages || msgs[0].Text != "message 5" {
		t.Errorf("a full mailbox keeps %d messages from %q, want %d from message 5", len(msgs), msgs[0].Text, MaxMessages)
	}
	for i := range MaxLearners + 10 {
		now = now.Add(time.Second)
		send(t, mb, fmt.Sprintf("sim:+2126%08d", i+2), "salam", "")
	}
	if learners, _ := mb.Len(); learners != MaxLearners {
		t.Errorf("%d learners have a mailbox, want at most %d", learners, MaxLearners)
	}
	now = now.Add(Retention + time.Hour)
	send(t, mb, "sim:+212699999999", "late", "")
	if learners, messages := mb.Len(); learners != 1 || messages != 1 {
		t.Errorf("after the retention %d learners, %d messages are kept, want 1 and 1", learners, messages)
	}
}

// TestMailboxSend: only simulator learners; a template's variables are
// its text; Sent lists newest first, as Twilio's list does.
func TestMailboxSend(t *testing.T) {
	mb := NewMailbox()
	ctx := context.Background()
	for _, to := range []string{"whatsapp:+212600000001", "sim:me", ""} {
		_, err := mb.Send(ctx, bot.Outbound{To: to, Body: "x"})
		var se *bot.SendError
		if !errors.As(err, &se) || se.Class != bot.Permanent {
			t.Errorf("Send to %q: %v, want a permanent failure", to, err)
		}
	}
	if _, err := mb.Send(ctx, bot.Outbound{To: "sim:+212600000001"}); err == nil {
		t.Error("an empty message was taken")
	}
	start := time.Now().Add(-time.Second)
	first := send(t, mb, "sim:+212600000001", "bonjour", "job-1")
	d, err := mb.Send(ctx, bot.Outbound{To: "sim:+212600000001", ContentSID: "HX00000000000000000000000000000001",
		ContentVariables: map[string]string{"10": "dix", "2": "deux", "1": "un"}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(first.SID, "SM") || len(first.SID) != 34 || first.SID == d.SID || first.JobID != "job-1" {
		t.Errorf("deliveries %+v and %+v", first, d)
	}
	msgs, _, _ := mb.after("sim:+212600000001", 0)
	if len(msgs) != 2 || msgs[1].Text != "un\ndeux\ndix" || msgs[1].Template == "" {
		t.Errorf("the template reads %+v", msgs)
	}
	listed, err := mb.Sent(ctx, "sim:+212600000001", start)
	if err != nil || len(listed) != 2 || listed[0].SID != d.SID || listed[1].SID != first.SID || listed[1].Body != "bonjour" {
		t.Errorf("Sent: %+v, %v", listed, err)
	}
	if listed, _ := mb.Sent(ctx, "sim:+212600000001", time.Now().Add(time.Hour)); len(listed) != 0 {
		t.Errorf("Sent since later lists %d", len(listed))
	}
}

// TestEvents: the page's stream gets what was sent before it opened and
// what comes after, each once and in order, from where it says it stood;
// each is reported delivered once, with its job.
func TestEvents(t *testing.T) {
	mb := NewMailbox()
	var mu sync.Mutex
	delivered := map[string]int{}
	mb.OnDelivered = func(_ context.Context, d bot.Delivery) {
		mu.Lock()
		defer mu.Unlock()
		if d.Status != bot.StatusDelivered || d.SID == "" {
			t.Errorf("reported %+v", d)
		}
		delivered[d.JobID]++
	}
	srv := httptest.NewServer(New(nil, slog.New(slog.DiscardHandler), mb))
	defer srv.Close()
	defer mb.Close()
	const to = "sim:+212600000001"
	send(t, mb, to, "avant", "job-1")

	read := func(after string) (*http.Response, *bufio.Reader) {
		t.Helper()
		resp, err := http.Get(srv.URL + "/sim/events?from=%2B212600000001&after=" + after)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
			t.Fatalf("events: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		return resp, bufio.NewReader(resp.Body)
	}
	next := func(r *bufio.Reader) Message {
		t.Helper()
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				t.Fatalf("reading the stream: %v", err)
			}
			if data, ok := strings.CutPrefix(line, "data: "); ok {
				var m Message
				if err := json.Unmarshal([]byte(data), &m); err != nil {
					t.Fatal(err)
				}
				return m
			}
		}
	}
	resp, r := read("0")
	if m := next(r); m.Text != "avant" || m.Seq != 1 {
		t.Errorf("first event %+v", m)
	}
	send(t, mb, to, "après", "job-2")
	if m := next(r); m.Text != "après" || m.Seq != 2 {
		t.Errorf("second event %+v", m)
	}
	resp.Body.Close()

	// A page that had the first message asks for what came after it.
	resp, r = read("1")
	if m := next(r); m.Text != "après" {
		t.Errorf("from 1, the first event is %+v", m)
	}
	resp.Body.Close()
	// The report follows the write: give it a moment.
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		mu.Lock()
		n := delivered["job-2"]
		mu.Unlock()
		if n > 0 {
			break
		}
	}
	mu.Lock()
	if delivered["job-1"] != 1 || delivered["job-2"] != 1 {
		t.Errorf("deliveries reported: %v, want each job once", delivered)
	}
	mu.Unlock()

	for _, q := range []string{"from=me", "from=%2B212600000001&after=-1", "from=%2B212600000001&after=x"} {
		resp, err := http.Get(srv.URL + "/sim/events?" + q)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "error") {
			t.Errorf("events?%s: %d %s, want 400 with what is wanted", q, resp.StatusCode, body)
		}
	}
	// Without a mailbox, 204 tells the page not to come back.
	bare := httptest.NewServer(New(nil, slog.New(slog.DiscardHandler), nil))
	defer bare.Close()
	resp, err := http.Get(bare.URL + "/sim/events?from=%2B212600000001")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Errorf("events without a mailbox: %d, want 204", resp.StatusCode)
	}
}
