package soak

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/app"
	"github.com/darsi-ma/darsi/bot/cohort"
	"github.com/darsi-ma/darsi/bot/dialog"
	"github.com/darsi-ma/darsi/bot/lint"
	"github.com/darsi-ma/darsi/bot/locale"
	"github.com/darsi-ma/darsi/bot/store/boltstore"
	"github.com/darsi-ma/darsi/bot/twilio"
	"github.com/darsi-ma/darsi/lessons"
	"github.com/darsi-ma/darsi/locales"
)

// LoadContent loads the built-in lessons and texts, as darsi serve does
// without DARSI_LESSONS.
func LoadContent() (*dialog.Content, error) {
	text, err := locale.Load(locales.FS)
	if err != nil {
		return nil, fmt.Errorf("locales: %w", err)
	}
	media, _ := fs.Sub(lessons.Media, "media")
	cat, rep, err := lint.Load(lessons.FS, "lessons", lint.Options{Media: media, MediaPrefix: "lessons/media"})
	if err != nil {
		return nil, fmt.Errorf("lessons: %w", err)
	}
	if rep.Errors > 0 {
		return nil, fmt.Errorf("lessons: %d errors (darsi lint lessons)", rep.Errors)
	}
	return &dialog.Content{Lessons: cat, Text: text}, nil
}

// Twin is darsi without faults: the same app, lessons and texts on an
// embedded store of its own, in the harness's process. Each simulated
// learner's twin gets the same messages, in the same order, and says what
// the learner must be answered and what they must end as.
type Twin struct {
	app   *app.App
	store *boltstore.Store
	base  string // the public URL media links are made absolute against
	dir   string
}

// NewTwin opens the twin's store in dir, with the cohort learners join.
// The embedded store syncs each write to disk; on a busy disk that would
// make the twin, which writes every learner's every message one at a
// time, the slowest part of the run: a folder in shared memory serves
// when the machine has one.
func NewTwin(dir string, content *dialog.Content, co cohort.Cohort, publicURL string) (*Twin, error) {
	if shm, err := os.MkdirTemp("/dev/shm", "darsi-soak-twin-"); err == nil {
		dir = shm
	}
	s, err := boltstore.Open(filepath.Join(dir, "twin.db"), boltstore.Options{})
	if err != nil {
		return nil, err
	}
	if err := s.CreateCohort(context.Background(), co); err != nil {
		s.Close()
		return nil, err
	}
	a := app.New(s, content)
	a.Cohorts = s
	return &Twin{app: a, store: s, base: publicURL, dir: dir}, nil
}

// Close closes the twin's store and removes it.
func (t *Twin) Close() error {
	err := t.store.Close()
	os.Remove(filepath.Join(t.dir, "twin.db"))
	if strings.HasPrefix(t.dir, "/dev/shm/") {
		os.Remove(t.dir)
	}
	return err
}

// Turn is what one message must get from darsi.
type Turn struct {
	// REST: the replies go over Twilio's REST API (an interactive
	// message among them), in this order; the webhook answers empty
	// TwiML.
	REST []bot.Reply
	// TwiML is the webhook's exact answer.
	TwiML []byte
}

// Handle applies one message to the twin and returns what darsi must do
// with it and the twin learner after it.
func (t *Twin) Handle(ctx context.Context, in bot.Inbound) (Turn, bot.Learner, error) {
	res, err := t.app.HandleInbound(ctx, in)
	if err != nil {
		return Turn{}, bot.Learner{}, err
	}
	l, err := t.store.Get(ctx, in.From)
	if err != nil {
		return Turn{}, bot.Learner{}, err
	}
	replies := t.absoluteMedia(res.Replies)
	var turn Turn
	if in.Channel == bot.WhatsApp && twilio.Interactive(replies) {
		turn.REST = twilio.RESTMessages(replies)
		replies = nil
	}
	turn.TwiML, err = twilio.TwiML(replies)
	return turn, l, err
}

// Learner returns the twin learner's export.
func (t *Twin) Learner(ctx context.Context, id string) (app.ExportedLearner, error) {
	l, err := t.store.Get(ctx, id)
	if err != nil {
		return app.ExportedLearner{}, err
	}
	return app.Export(l), nil
}

// absoluteMedia makes replies' media links absolute against the public
// URL, as the webhook does.
func (t *Twin) absoluteMedia(replies []bot.Reply) []bot.Reply {
	out := append([]bot.Reply(nil), replies...)
	for i, r := range out {
		switch {
		case r.Media == "" || strings.Contains(r.Media, "://"):
		case strings.HasPrefix(r.Media, "//"):
			out[i].Media = "http:" + r.Media
		case strings.HasPrefix(r.Media, "/"):
			out[i].Media = t.base + r.Media
		default:
			out[i].Media = t.base + "/" + r.Media
		}
	}
	return out
}
