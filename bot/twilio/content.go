package twilio

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"sync"
	"unicode/utf8"

	contentapi "github.com/twilio/twilio-go/rest/content/v1"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/app"
)

// The interactive contents a choice goes out as on WhatsApp.
const (
	QuickReply = "twilio/quick-reply"
	ListPicker = "twilio/list-picker"
)

// WhatsApp's limits on interactive messages, as Twilio enforces them.
const (
	MinQuickReplies    = 2 // ours: one option is no question
	MaxQuickReplies    = 3 // in a session message
	MaxQuickReplyTitle = 20
	MinListItems       = 4 // ours: fewer go as quick replies
	MaxListItems       = 10
	MaxListItem        = 24
	MaxListButton      = 20
	MaxListDescription = 72
	MaxContentBody     = 1024
)

// ContentType returns the content a choice goes out as on WhatsApp:
// QuickReply for 2 to 3 options whose titles fit 20 characters (and have
// no description), ListPicker for 4 to 10 options of at most 24 characters
// (descriptions of at most 72) with a button of at most 20; "" for anything else, which keeps its numbered lines. The
// body must fit 1,024 characters. Characters are counted as Twilio does,
// direction marks included.
func ContentType(c *bot.Choice) string {
	if c == nil || c.Body == "" || utf8.RuneCountInString(c.Body) > MaxContentBody {
		return ""
	}
	longest, described := 0, false
	for _, o := range c.Options {
		n := utf8.RuneCountInString(o.Title)
		if n == 0 || o.ID == "" || utf8.RuneCountInString(o.Description) > MaxListDescription {
			return ""
		}
		longest = max(longest, n)
		described = described || o.Description != ""
	}
	switch n := len(c.Options); {
	case n >= MinQuickReplies && n <= MaxQuickReplies && longest <= MaxQuickReplyTitle && !described:
		return QuickReply
	case n >= MinListItems && n <= MaxListItems && longest <= MaxListItem &&
		c.Button != "" && utf8.RuneCountInString(c.Button) <= MaxListButton:
		return ListPicker
	}
	return ""
}

// Interactive reports whether any of the replies goes out as an
// interactive content on WhatsApp.
func Interactive(replies []bot.Reply) bool {
	for _, r := range replies {
		if ContentType(r.Choice) != "" {
			return true
		}
	}
	return false
}

// ContentSlot names where a choice's content is kept: its scope and
// language. A slot holds one content at a time; an edit of its text makes
// a new content (a new ContentHash) in the same slot.
func ContentSlot(c *bot.Choice) string { return c.Scope + "|" + string(c.Lang) }

// ContentHash identifies what a choice's content says: its type, body,
// button and options. 16 hexadecimal digits.
func ContentHash(c *bot.Choice) string {
	h := sha256.New()
	for _, s := range []string{ContentType(c), ContentSlot(c), c.Body, c.Button} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	for _, o := range c.Options {
		for _, s := range []string{o.ID, o.Title, o.Description} {
			h.Write([]byte(s))
			h.Write([]byte{0})
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// contentName is the friendly name of a choice's content at Twilio, by
// which a sync finds a content made before but not recorded.
func contentName(c *bot.Choice) string { return "darsi_" + ContentHash(c) }

// contentLanguage is the language Twilio files a content under; Darija
// goes as Arabic, and the language menu, in every language, as French.
func contentLanguage(l bot.Lang) string {
	switch l {
	case bot.Darija, bot.Arabic:
		return "ar"
	case "":
		return "fr"
	}
	return string(l)
}

// ContentRequest is the Content API's request that creates c's content.
// It fails for a choice ContentType refuses.
func ContentRequest(c *bot.Choice) (contentapi.ContentCreateRequest, error) {
	req := contentapi.ContentCreateRequest{FriendlyName: contentName(c), Language: contentLanguage(c.Lang)}
	switch ContentType(c) {
	case QuickReply:
		q := &contentapi.TwilioQuickReply{Body: c.Body}
		for _, o := range c.Options {
			q.Actions = append(q.Actions, contentapi.QuickReplyAction{Title: o.Title, Id: o.ID})
		}
		req.Types.TwilioQuickReply = q
	case ListPicker:
		l := &contentapi.TwilioListPicker{Body: c.Body, Button: c.Button}
		for _, o := range c.Options {
			l.Items = append(l.Items, contentapi.ListItem{Item: o.Title, Id: o.ID, Description: o.Description})
		}
		req.Types.TwilioListPicker = l
	default:
		return req, errors.New("the choice fits no interactive content")
	}
	return req, nil
}

// CreateContent creates c's content through the Content API and returns
// its SID ("HX…"). Errors are *bot.SendError, classified as for Send.
func (s *Sender) CreateContent(ctx context.Context, c *bot.Choice) (string, error) {
	const op = "twilio.CreateContent"
	req, err := ContentRequest(c)
	if err != nil {
		return "", &bot.SendError{Class: bot.Permanent, Message: err.Error(), Err: bot.E(op, bot.Invalid, err)}
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	api, call := s.contentAPI(ctx)
	got, err := api.CreateContent(&contentapi.CreateContentParams{ContentCreateRequest: &req})
	if err != nil {
		return "", classify(op, err, call.status.Load())
	}
	if got == nil || got.Sid == nil || *got.Sid == "" {
		err := errors.New("response without a content sid")
		return "", &bot.SendError{Class: bot.Permanent, Message: err.Error(), Err: bot.E(op, bot.Internal, err)}
	}
	return *got.Sid, nil
}

// ListContents returns the SID of each of our contents at Twilio by its
// friendly name, every page. Errors are *bot.SendError.
func (s *Sender) ListContents(ctx context.Context) (map[string]string, error) {
	const op = "twilio.ListContents"
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	api, call := s.contentAPI(ctx)
	list, err := api.ListContent(&contentapi.ListContentParams{})
	if err != nil {
		return nil, classify(op, err, call.status.Load())
	}
	out := map[string]string{}
	for _, c := range list {
		if c.Sid != nil && c.FriendlyName != nil && strings.HasPrefix(*c.FriendlyName, "darsi_") {
			out[*c.FriendlyName] = *c.Sid
		}
	}
	return out, nil
}

// contentAPI is api for the Content API.
func (s *Sender) contentAPI(ctx context.Context) (*contentapi.ApiService, *call) {
	rec := &call{}
	hc := *s.client.HTTPClient
	hc.Transport = &callTransport{ctx: ctx, call: rec, next: hc.Transport}
	c := *s.client
	c.HTTPClient = &hc
	return contentapi.NewApiServiceWithClient(&c), rec
}

// ContentAPI is what Contents needs of Twilio: Sender implements it.
type ContentAPI interface {
	CreateContent(ctx context.Context, c *bot.Choice) (string, error)
	ListContents(ctx context.Context) (map[string]string, error)
}

// Contents finds the content of a choice, and makes it when there is none:
// one per slot (lesson step or menu, and language) and text, kept in the
// store so that every replica reuses it. It is safe for concurrent use.
type Contents struct {
	Store app.Contents
	API   ContentAPI

	mu    sync.Mutex
	known map[string]string // slot and hash → SID, of this process
}

// maxKnown bounds the contents a process remembers; past it, it forgets
// them all and asks the store again.
const maxKnown = 10000

// Content returns the SID of c's content, making and recording it on first
// use. ok is false for a choice that keeps numbered lines. Two replicas
// making the same content at once make two, and the store keeps the last:
// both are the same message.
func (cs *Contents) Content(ctx context.Context, c *bot.Choice) (sid string, ok bool, err error) {
	if ContentType(c) == "" {
		return "", false, nil
	}
	slot, hash := ContentSlot(c), ContentHash(c)
	if sid := cs.remembered(slot, hash); sid != "" {
		return sid, true, nil
	}
	got, err := cs.Store.Content(ctx, slot)
	switch {
	case err == nil && got.Hash == hash:
		cs.remember(slot, hash, got.SID)
		return got.SID, true, nil
	case err != nil && bot.KindOf(err) != bot.NotFound:
		return "", false, err
	}
	sid, err = cs.API.CreateContent(ctx, c)
	if err != nil {
		return "", false, err
	}
	if err := cs.Store.PutContent(ctx, slot, app.Content{Hash: hash, SID: sid}); err != nil {
		return "", false, err
	}
	cs.remember(slot, hash, sid)
	return sid, true, nil
}

func (cs *Contents) remembered(slot, hash string) string {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	return cs.known[slot+"|"+hash]
}

func (cs *Contents) remember(slot, hash, sid string) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.known == nil || len(cs.known) >= maxKnown {
		cs.known = map[string]string{}
	}
	cs.known[slot+"|"+hash] = sid
}

// SyncResult counts what Sync did.
type SyncResult struct {
	Eligible int // choices that go out as a content
	Created  int // contents made now (or that a dry run would make)
	Adopted  int // contents found at Twilio by name, recorded now
	Existing int // contents already recorded
}

// Sync makes sure every eligible choice has its content: recorded ones are
// left, ones Twilio has under their name (made before, not recorded) are
// recorded, the others created. A dry run changes nothing and counts what
// it would do. Choices that keep numbered lines are skipped.
func (cs *Contents) Sync(ctx context.Context, choices []*bot.Choice, dryRun bool) (SyncResult, error) {
	var res SyncResult
	var listed map[string]string
	seen := map[string]bool{}
	for _, c := range choices {
		if ContentType(c) == "" {
			continue
		}
		slot, hash := ContentSlot(c), ContentHash(c)
		if seen[slot+"|"+hash] {
			continue
		}
		seen[slot+"|"+hash] = true
		res.Eligible++
		got, err := cs.Store.Content(ctx, slot)
		switch {
		case err == nil && got.Hash == hash:
			res.Existing++
			continue
		case err != nil && bot.KindOf(err) != bot.NotFound:
			return res, err
		}
		if listed == nil {
			if listed, err = cs.API.ListContents(ctx); err != nil {
				return res, err
			}
		}
		if sid, ok := listed[contentName(c)]; ok {
			res.Adopted++
			if !dryRun {
				if err := cs.Store.PutContent(ctx, slot, app.Content{Hash: hash, SID: sid}); err != nil {
					return res, err
				}
			}
			continue
		}
		res.Created++
		if dryRun {
			continue
		}
		sid, err := cs.API.CreateContent(ctx, c)
		if err != nil {
			return res, err
		}
		if err := cs.Store.PutContent(ctx, slot, app.Content{Hash: hash, SID: sid}); err != nil {
			return res, err
		}
	}
	return res, nil
}
