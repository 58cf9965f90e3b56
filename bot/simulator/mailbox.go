package simulator

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/darsi-ma/darsi/bot"
)

// Bounds of the Mailbox: nothing in it grows without bound.
const (
	// MaxMessages is how many messages a simulator learner's mailbox
	// keeps: the oldest go first.
	MaxMessages = 50
	// MaxLearners is how many simulator learners have a mailbox: the one
	// least recently written to or read goes first.
	MaxLearners = 1000
	// Retention is how long a message stays in a mailbox.
	Retention = 7 * 24 * time.Hour
)

// Message is one message the outbox sent to a simulator learner: a
// reminder, a nudge, a review, a follow-up, a coach's answer.
type Message struct {
	// Seq orders every message of the mailbox; the page asks for those
	// after the last one it has.
	Seq   int64    `json:"seq"`
	Text  string   `json:"text"`
	Media []string `json:"media,omitempty"`
	// Template is set when the message went as a WhatsApp template
	// (outside the 24-hour window): its SID; Text then holds its
	// variables, one a line, as the learner's phone fills them in.
	Template string    `json:"template,omitempty"`
	At       time.Time `json:"at"`

	sid, job  string
	delivered bool
}

type box struct {
	msgs []Message
	seen time.Time
	// wake is closed, and replaced, when a message arrives.
	wake chan struct{}
}

// Mailbox is where the outbox's sends to the simulator's learners (channel
// sim) go instead of Twilio: it implements the outbox's sender for them
// (Send, Sent), and the page's event stream reads it. A message counts as
// delivered once a page has been sent it, and OnDelivered hears of it, as
// Twilio's status callback would report it. It lives in the process's
// memory, bounded (MaxLearners, MaxMessages, Retention): a restart forgets
// what no page has shown yet. It is safe for concurrent use.
type Mailbox struct {
	// OnDelivered, when set, hears of each message a page was sent,
	// once: the outbox job it was for, and the SID Send gave it.
	OnDelivered func(ctx context.Context, d bot.Delivery)
	// Now is the clock; nil for time.Now.
	Now func() time.Time

	mu     sync.Mutex
	boxes  map[string]*box
	seq    int64
	closed chan struct{}
	once   sync.Once
}

// NewMailbox returns an empty mailbox.
func NewMailbox() *Mailbox {
	return &Mailbox{boxes: map[string]*box{}, closed: make(chan struct{})}
}

// Close ends every event stream reading the mailbox (at shutdown).
func (mb *Mailbox) Close() { mb.once.Do(func() { close(mb.closed) }) }

func (mb *Mailbox) now() time.Time {
	if mb.Now != nil {
		return mb.Now()
	}
	return time.Now()
}

// Send implements the outbox's sender for a simulator learner: m.To is
// the learner's id ("sim:+212…"). A template's variables become its text.
// Errors are *bot.SendError of class Permanent: a recipient that is not a
// simulator learner, a message with nothing in it.
func (mb *Mailbox) Send(ctx context.Context, m bot.Outbound) (bot.Delivery, error) {
	ch, number := bot.SplitLearnerID(m.To)
	if ch != bot.Sim || !phone.MatchString(number) {
		return bot.Delivery{}, &bot.SendError{Class: bot.Permanent, Message: "the simulator's mailbox takes simulator learners only"}
	}
	msg := Message{Text: m.Body, Media: slices.Clone(m.MediaURL), Template: m.ContentSID}
	if m.ContentSID != "" {
		keys := make([]string, 0, len(m.ContentVariables))
		for k := range m.ContentVariables {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, func(a, b string) int {
			if len(a) != len(b) {
				return len(a) - len(b) // "2" before "10"
			}
			return strings.Compare(a, b)
		})
		var lines []string
		for _, k := range keys {
			lines = append(lines, m.ContentVariables[k])
		}
		msg.Text = strings.Join(lines, "\n")
	}
	if strings.TrimSpace(msg.Text) == "" && len(msg.Media) == 0 && msg.Template == "" {
		return bot.Delivery{}, &bot.SendError{Class: bot.Permanent, Message: "an empty message"}
	}
	var b [16]byte
	rand.Read(b[:])
	msg.sid, msg.job = "SM"+hex.EncodeToString(b[:]), m.JobID
	now := mb.now()
	msg.At = now.UTC()

	mb.mu.Lock()
	defer mb.mu.Unlock()
	mb.expire(now)
	bx := mb.boxes[m.To]
	if bx == nil {
		if len(mb.boxes) >= MaxLearners {
			mb.evict()
		}
		bx = &box{wake: make(chan struct{})}
		mb.boxes[m.To] = bx
	}
	mb.seq++
	msg.Seq = mb.seq
	bx.msgs = append(bx.msgs, msg)
	if n := len(bx.msgs) - MaxMessages; n > 0 {
		bx.msgs = slices.Delete(bx.msgs, 0, n)
	}
	bx.seen = now
	close(bx.wake)
	bx.wake = make(chan struct{})
	return bot.Delivery{SID: msg.sid, To: m.To, Status: bot.StatusSent, JobID: m.JobID, UpdatedAt: now}, nil
}

// Sent implements the outbox's sender: the messages of the learner `to`
// since the given time, newest first, as Twilio's list would give them.
func (mb *Mailbox) Sent(ctx context.Context, to string, since time.Time) ([]bot.Delivery, error) {
	mb.mu.Lock()
	defer mb.mu.Unlock()
	bx := mb.boxes[to]
	if bx == nil {
		return nil, nil
	}
	var out []bot.Delivery
	for i := len(bx.msgs) - 1; i >= 0; i-- {
		m := bx.msgs[i]
		if m.At.Before(since) {
			break
		}
		st := bot.StatusSent
		if m.delivered {
			st = bot.StatusDelivered
		}
		body := m.Text
		if m.Template != "" {
			body = "" // Twilio fills a template's text in: not ours to compare
		}
		out = append(out, bot.Delivery{SID: m.sid, To: to, Status: st, Body: body, UpdatedAt: m.At})
	}
	return out, nil
}

// after returns the learner's messages after seq, marks them delivered,
// and the channel that is closed when another arrives.
func (mb *Mailbox) after(learner string, seq int64) ([]Message, []bot.Delivery, <-chan struct{}) {
	mb.mu.Lock()
	defer mb.mu.Unlock()
	now := mb.now()
	mb.expire(now)
	bx := mb.boxes[learner]
	if bx == nil {
		if len(mb.boxes) >= MaxLearners {
			mb.evict()
		}
		bx = &box{wake: make(chan struct{})}
		mb.boxes[learner] = bx
	}
	bx.seen = now
	var (
		out  []Message
		done []bot.Delivery
	)
	for i := range bx.msgs {
		m := &bx.msgs[i]
		if m.Seq <= seq {
			continue
		}
		out = append(out, *m)
		if !m.delivered {
			m.delivered = true
			done = append(done, bot.Delivery{SID: m.sid, Status: bot.StatusDelivered, JobID: m.job, UpdatedAt: now})
		}
	}
	return out, done, bx.wake
}

// expire drops messages past Retention, and mailboxes left empty that no
// page reads. mb.mu is held.
func (mb *Mailbox) expire(now time.Time) {
	cut := now.Add(-Retention)
	for id, bx := range mb.boxes {
		i := 0
		for i < len(bx.msgs) && bx.msgs[i].At.Before(cut) {
			i++
		}
		if i > 0 {
			bx.msgs = slices.Delete(bx.msgs, 0, i)
		}
		if len(bx.msgs) == 0 && bx.seen.Before(cut) {
			delete(mb.boxes, id)
		}
	}
}

// evict drops the mailbox least recently written to or read. mb.mu is
// held.
func (mb *Mailbox) evict() {
	var (
		oldest string
		at     time.Time
	)
	for id, bx := range mb.boxes {
		if oldest == "" || bx.seen.Before(at) {
			oldest, at = id, bx.seen
		}
	}
	if bx := mb.boxes[oldest]; bx != nil {
		close(bx.wake) // its readers look again, and find a new mailbox
		delete(mb.boxes, oldest)
	}
}

// Len returns how many learners have a mailbox and how many messages they
// hold in all.
func (mb *Mailbox) Len() (learners, messages int) {
	mb.mu.Lock()
	defer mb.mu.Unlock()
	for _, bx := range mb.boxes {
		messages += len(bx.msgs)
	}
	return len(mb.boxes), messages
}
