package twiliotest

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"
	"unicode/utf8"
)

// FakeContent is one content the fake's Content API holds.
type FakeContent struct {
	SID          string // "HX" and 32 hex digits
	FriendlyName string
	Language     string
	// Type is the one type it has: "twilio/text", "twilio/quick-reply" or
	// "twilio/list-picker".
	Type   string
	Body   string
	Button string // of a list picker
	// Options are the quick replies' or the list's rows: title and id.
	Options []FakeOption
	At      time.Time
}

// FakeOption is a quick reply or a row of a list picker (with its
// description).
type FakeOption struct{ ID, Title, Description string }

// WhatsApp's limits on a session message that the fake enforces when a
// content is sent: Twilio's error 63021 when one is broken.
const (
	maxSessionQuickReplies = 3
	maxQuickReplyTitle     = 20
	maxListItems           = 10
	maxListItem            = 24
	maxListButton          = 20
	maxListDescription     = 72
	maxContentBody         = 1024
)

// Contents returns copies of the contents the fake holds, in the order
// they were created.
func (f *Fake) Contents() []FakeContent {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]FakeContent, len(f.contents))
	for i, c := range f.contents {
		out[i] = *c
		out[i].Options = append([]FakeOption(nil), c.Options...)
	}
	return out
}

// content returns the content of sid; nil when there is none. Called with
// f.mu held.
func (f *Fake) content(sid string) *FakeContent {
	for _, c := range f.contents {
		if c.SID == sid {
			return c
		}
	}
	return nil
}

// contentRequest is the JSON twilio-go's content package posts.
type contentRequest struct {
	FriendlyName string            `json:"friendly_name"`
	Language     string            `json:"language"`
	Variables    map[string]string `json:"variables"`
	Types        map[string]struct {
		Body    string `json:"body"`
		Button  string `json:"button"`
		Actions []struct {
			Title string `json:"title"`
			ID    string `json:"id"`
		} `json:"actions"`
		Items []struct {
			Item        string `json:"item"`
			ID          string `json:"id"`
			Description string `json:"description"`
		} `json:"items"`
	} `json:"types"`
}

// createContent serves POST /v1/Content: a content of one type among
// twilio/text, twilio/quick-reply (1 to 10 actions with a title and an
// id) and twilio/list-picker (1 to 10 items with an id, and a button),
// with a body and a language. Anything else is refused with 400 and
// Twilio's code 20001 (invalid parameter). WhatsApp's limits on what goes
// out in a session are checked when the content is sent.
func (f *Fake) createContent(w http.ResponseWriter, r *http.Request) {
	if !f.authorizedContent(w, r) || !f.wait(r) {
		return
	}
	var req contentRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, 20001, "Invalid JSON: "+err.Error())
		return
	}
	invalid := func(msg string) { writeError(w, http.StatusBadRequest, 20001, "Invalid parameter: "+msg) }
	if req.Language == "" {
		invalid("language is required")
		return
	}
	if len(req.Types) != 1 {
		invalid("types must hold exactly one type")
		return
	}
	c := &FakeContent{FriendlyName: req.FriendlyName, Language: req.Language}
	for typ, t := range req.Types {
		c.Type, c.Body, c.Button = typ, t.Body, t.Button
		if t.Body == "" {
			invalid("body is required")
			return
		}
		switch typ {
		case "twilio/text":
		case "twilio/quick-reply":
			if len(t.Actions) < 1 || len(t.Actions) > 10 {
				invalid("actions: between 1 and 10")
				return
			}
			for _, a := range t.Actions {
				if a.Title == "" {
					invalid("actions: a title is required")
					return
				}
				c.Options = append(c.Options, FakeOption{ID: a.ID, Title: a.Title})
			}
		case "twilio/list-picker":
			if len(t.Items) < 1 || len(t.Items) > 10 || t.Button == "" {
				invalid("items: between 1 and 10, and a button")
				return
			}
			for _, it := range t.Items {
				if it.Item == "" || it.ID == "" {
					invalid("items: an item and an id are required")
					return
				}
				c.Options = append(c.Options, FakeOption{ID: it.ID, Title: it.Item, Description: it.Description})
			}
		default:
			invalid("type " + typ + " is not supported by the fake")
			return
		}
	}
	var b [16]byte
	rand.Read(b[:])
	f.mu.Lock()
	c.SID = "HX" + hex.EncodeToString(b[:])
	c.At = f.now().UTC()
	f.contents = append(f.contents, c)
	resp := f.contentResource(c)
	f.mu.Unlock()
	writeJSON(w, http.StatusCreated, resp)
}

// listContents serves GET /v1/Content, oldest first, a page at a time
// (PageSize, Page; meta.next_page_url).
func (f *Fake) listContents(w http.ResponseWriter, r *http.Request) {
	if !f.authorizedContent(w, r) || !f.wait(r) {
		return
	}
	q := r.URL.Query()
	size, page, ok := paging(w, q)
	if !ok {
		return
	}
	f.mu.Lock()
	if f.pageSize > 0 {
		size = min(size, f.pageSize)
	}
	start := min(page*size, len(f.contents))
	end := min(start+size, len(f.contents))
	items := make([]map[string]any, 0, end-start)
	for _, c := range f.contents[start:end] {
		items = append(items, f.contentResource(c))
	}
	more := end < len(f.contents)
	f.mu.Unlock()
	pageURL := func(p int) string {
		v := url.Values{"PageSize": {strconv.Itoa(size)}, "Page": {strconv.Itoa(p)}}
		return f.URL + "/v1/Content?" + v.Encode()
	}
	meta := map[string]any{"page": page, "page_size": size, "first_page_url": pageURL(0), "url": pageURL(page),
		"key": "contents", "next_page_url": nil, "previous_page_url": nil}
	if more {
		meta["next_page_url"] = pageURL(page + 1)
	}
	if page > 0 {
		meta["previous_page_url"] = pageURL(page - 1)
	}
	writeJSON(w, http.StatusOK, map[string]any{"contents": items, "meta": meta})
}

// authorizedContent checks the account's Basic auth on the Content API.
func (f *Fake) authorizedContent(w http.ResponseWriter, r *http.Request) bool {
	user, pass, ok := r.BasicAuth()
	if !ok || user != f.accountSID || pass != f.authToken {
		writeError(w, http.StatusUnauthorized, 20003, "Authenticate")
		return false
	}
	return true
}

// contentResource renders c as the Content API does. Called with f.mu
// held.
func (f *Fake) contentResource(c *FakeContent) map[string]any {
	t := map[string]any{"body": c.Body}
	switch c.Type {
	case "twilio/quick-reply":
		var actions []map[string]string
		for _, o := range c.Options {
			actions = append(actions, map[string]string{"title": o.Title, "id": o.ID})
		}
		t["actions"] = actions
	case "twilio/list-picker":
		var items []map[string]string
		for _, o := range c.Options {
			items = append(items, map[string]string{"item": o.Title, "id": o.ID, "description": o.Description})
		}
		t["items"], t["button"] = items, c.Button
	}
	date := c.At.Format(time.RFC3339)
	return map[string]any{
		"sid": c.SID, "account_sid": f.accountSID, "friendly_name": c.FriendlyName, "language": c.Language,
		"variables": map[string]string{}, "types": map[string]any{c.Type: t},
		"date_created": date, "date_updated": date, "url": f.URL + "/v1/Content/" + c.SID,
	}
}

// sessionProblem says which of WhatsApp's limits on a session message c
// breaks, "" for none.
func sessionProblem(c *FakeContent) string {
	n := utf8.RuneCountInString
	if n(c.Body) > maxContentBody {
		return "body longer than 1024 characters"
	}
	switch c.Type {
	case "twilio/quick-reply":
		if len(c.Options) > maxSessionQuickReplies {
			return "more than 3 quick replies in a session message"
		}
		for _, o := range c.Options {
			if n(o.Title) > maxQuickReplyTitle {
				return "a quick reply's title is longer than 20 characters"
			}
		}
	case "twilio/list-picker":
		if len(c.Options) > maxListItems {
			return "more than 10 list items"
		}
		if n(c.Button) > maxListButton {
			return "a list's button is longer than 20 characters"
		}
		for _, o := range c.Options {
			if n(o.Title) > maxListItem {
				return "a list item is longer than 24 characters"
			}
			if n(o.Description) > maxListDescription {
				return "a list item's description is longer than 72 characters"
			}
		}
	}
	return ""
}
