// Package twiliotest is a fake of Twilio's Messages REST API for tests: it
// accepts sends and lists them as twilio-go expects, fails chosen sends with
// Twilio's error codes, and posts signed status callbacks, so that code
// built on package twilio is tested without the network. Start serves it
// outside tests too, such as under the load tool.
package twiliotest

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/darsi-ma/darsi/bot"
	"github.com/darsi-ma/darsi/bot/locale"
)

// FakeMessage is one message the fake accepted.
type FakeMessage struct {
	SID                 string // "SM" and 32 hex digits
	To, From            string
	MessagingServiceSID string
	Body                string
	MediaURL            []string
	ContentSID          string
	ContentVariables    map[string]string // decoded from the JSON sent
	StatusCallback      string
	Status              bot.DeliveryStatus // queued, then whatever Callback reported
	ErrorCode           int
	At                  time.Time // when the fake accepted it
}

type failure struct{ code, status int }

// Fake is a fake Twilio REST API on an httptest server. It is safe for
// concurrent use.
//
// It also serves the Content API's POST and GET /v1/Content (see
// createContent), and a Messages.json send with ContentSid: a SID that is
// not "HX" and 32 hex digits gets 21655; one of the fake's contents that
// breaks WhatsApp's limits on a session message (1 to 3 quick replies of
// at most 20 characters, at most 10 list items of at most 24, a body of at
// most 1,024) gets 63021; a SID of the right shape the fake never made
// stands for an approved template, and is sent.
//
// It serves POST and GET /2010-04-01/Accounts/{AccountSid}/Messages.json
// with HTTP Basic auth (the account SID and auth token given to Start or
// NewFake).
// A listing filters on To, From, DateSent> and DateSent< (to the day, as
// Twilio documents these filters), lists newest first, and pages with
// PageSize, Page and next_page_uri. Accepted messages count as sent at once:
// listings give them a date_sent (the create response, like Twilio's, has
// none yet).
type Fake struct {
	// URL is the server's base URL, such as http://127.0.0.1:38211: give it
	// to twilio.SenderConfig.BaseURL.
	URL string

	accountSID, authToken string
	srv                   *httptest.Server

	mu       sync.Mutex
	msgs     []*FakeMessage
	contents []*FakeContent
	fails    map[string][]failure
	delay    time.Duration
	hold     time.Duration
	pageSize int
	now      func() time.Time
}

// NewFake starts a fake for the given account, closed with tb.Cleanup.
func NewFake(tb testing.TB, accountSID, authToken string) *Fake {
	tb.Helper()
	f := Start(accountSID, authToken)
	tb.Cleanup(f.Close)
	return f
}

// Start starts a fake for the given account on a local port, for programs
// that are not tests; Close stops it.
func Start(accountSID, authToken string) *Fake {
	f := &Fake{
		accountSID: accountSID,
		authToken:  authToken,
		fails:      map[string][]failure{},
		now:        time.Now,
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /2010-04-01/Accounts/{sid}/Messages.json", f.create)
	mux.HandleFunc("GET /2010-04-01/Accounts/{sid}/Messages.json", f.list)
	mux.HandleFunc("POST /v1/Content", f.createContent)
	mux.HandleFunc("GET /v1/Content", f.listContents)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, 20404, "The requested resource "+r.URL.Path+" was not found")
	})
	f.srv = httptest.NewServer(mux)
	f.URL = f.srv.URL
	return f
}

// Close stops the server, waiting for the requests in flight.
func (f *Fake) Close() { f.srv.Close() }

// Messages returns copies of the messages the fake accepted, in the order
// it accepted them. Sends that failed (FailNext, bad requests) are not
// among them.
func (f *Fake) Messages() []FakeMessage {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]FakeMessage, len(f.msgs))
	for i, m := range f.msgs {
		out[i] = m.clone()
	}
	return out
}

// FailNext makes the next send to `to` fail with Twilio's error code and
// HTTP status, such as (63016, 400), (63018, 429) or (21610, 400). Calls add
// up: two calls fail the next two sends.
func (f *Fake) FailNext(to string, code, httpStatus int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fails[to] = append(f.fails[to], failure{code, httpStatus})
}

// SetDelay makes every request wait d before it is handled (or until the
// client gives up, in which case nothing is recorded): for timeouts.
func (f *Fake) SetDelay(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.delay = d
}

// SetHold makes every accepted send wait d after the fake recorded it,
// before it answers (or until the client gives up): a sender that dies
// meanwhile has sent the message without knowing it.
func (f *Fake) SetHold(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.hold = d
}

// SetPageSize caps the page size of listings (Twilio's default is 50), so
// that tests see several pages.
func (f *Fake) SetPageSize(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pageSize = n
}

// SetClock replaces the clock that stamps accepted messages.
func (f *Fake) SetClock(now func() time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = now
}

// Callback posts a status callback for message sid, as Twilio would: to
// the message's StatusCallback URL, form-encoded, signed with the auth
// token in X-Twilio-Signature, with MessageSid, MessageStatus, To, From,
// AccountSid and ErrorCode (when not 0). It records the status on the
// message if it moves it forward. It fails if the message is unknown, has
// no StatusCallback, or the callback does not answer 2xx.
func (f *Fake) Callback(ctx context.Context, sid string, status bot.DeliveryStatus, errorCode int) error {
	f.mu.Lock()
	var m *FakeMessage
	for _, x := range f.msgs {
		if x.SID == sid {
			m = x
			break
		}
	}
	if m == nil {
		f.mu.Unlock()
		return fmt.Errorf("twiliotest: no message %s", sid)
	}
	if status.After(m.Status) {
		m.Status = status
		m.ErrorCode = errorCode
	}
	callback := m.StatusCallback
	form := url.Values{
		"AccountSid":    {f.accountSID},
		"ApiVersion":    {"2010-04-01"},
		"MessageSid":    {m.SID},
		"SmsSid":        {m.SID},
		"MessageStatus": {string(status)},
		"SmsStatus":     {string(status)},
		"To":            {m.To},
		"From":          {m.From},
	}
	if m.MessagingServiceSID != "" {
		form.Set("MessagingServiceSid", m.MessagingServiceSID)
	}
	if errorCode != 0 {
		form.Set("ErrorCode", strconv.Itoa(errorCode))
	}
	f.mu.Unlock()

	if callback == "" {
		return fmt.Errorf("twiliotest: message %s has no StatusCallback", sid)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, callback, strings.NewReader(form.Encode()))
	if err != nil {
		return fmt.Errorf("twiliotest: callback: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", Signature(f.authToken, callback, form))
	req.Header.Set("User-Agent", "TwilioProxy/1.1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("twiliotest: callback: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("twiliotest: callback %s: HTTP %d: %s", sid, resp.StatusCode, bytes.TrimSpace(body))
	}
	return nil
}

// Signature computes X-Twilio-Signature as Twilio does: HMAC-SHA1 keyed
// with the auth token over fullURL followed by each parameter's name and
// value, names sorted, in standard base64. It reads the first value of a
// repeated parameter, as twilio.VerifySignature does.
func Signature(authToken, fullURL string, form url.Values) string {
	mac := hmac.New(sha1.New, []byte(authToken))
	io.WriteString(mac, fullURL)
	for _, k := range slices.Sorted(maps.Keys(form)) {
		io.WriteString(mac, k)
		if vs := form[k]; len(vs) > 0 {
			io.WriteString(mac, vs[0])
		}
	}
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// wait holds a request for the configured delay; false if the client left.
func (f *Fake) wait(r *http.Request) bool {
	f.mu.Lock()
	d := f.delay
	f.mu.Unlock()
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	}
}

func (f *Fake) authorized(w http.ResponseWriter, r *http.Request) bool {
	user, pass, ok := r.BasicAuth()
	if !ok || subtle.ConstantTimeCompare([]byte(user), []byte(f.accountSID)) != 1 ||
		subtle.ConstantTimeCompare([]byte(pass), []byte(f.authToken)) != 1 {
		writeError(w, http.StatusUnauthorized, 20003, "Authenticate")
		return false
	}
	if r.PathValue("sid") != f.accountSID {
		writeError(w, http.StatusNotFound, 20404, "The requested resource "+r.URL.Path+" was not found")
		return false
	}
	return true
}

func (f *Fake) create(w http.ResponseWriter, r *http.Request) {
	// Read the body before waiting: only then does the server notice a
	// client that gives up.
	if err := r.ParseForm(); err != nil {
		writeError(w, http.StatusBadRequest, 20001, "malformed form: "+err.Error())
		return
	}
	if !f.wait(r) || !f.authorized(w, r) {
		return
	}
	p := r.PostForm
	m := &FakeMessage{
		To:                  p.Get("To"),
		From:                p.Get("From"),
		MessagingServiceSID: p.Get("MessagingServiceSid"),
		Body:                p.Get("Body"),
		MediaURL:            p["MediaUrl"],
		ContentSID:          p.Get("ContentSid"),
		StatusCallback:      p.Get("StatusCallback"),
		Status:              bot.StatusQueued,
	}
	switch {
	case m.To == "":
		writeError(w, http.StatusBadRequest, 21604, "A 'To' phone number is required.")
		return
	case m.From == "" && m.MessagingServiceSID == "":
		writeError(w, http.StatusBadRequest, 21603, "A 'From' or 'MessagingServiceSid' parameter is required to send a message.")
		return
	case m.Body == "" && len(m.MediaURL) == 0 && m.ContentSID == "":
		writeError(w, http.StatusBadRequest, 21602, "Message body is required.")
		return
	}
	if v := p.Get("ContentVariables"); v != "" {
		if err := json.Unmarshal([]byte(v), &m.ContentVariables); err != nil {
			writeError(w, http.StatusBadRequest, 21656, "The ContentVariables Parameter is invalid.")
			return
		}
	}

	f.mu.Lock()
	if m.ContentSID != "" {
		c := f.content(m.ContentSID)
		switch {
		case c == nil && !contentSIDFormat(m.ContentSID):
			f.mu.Unlock()
			writeError(w, http.StatusBadRequest, 21655, "The ContentSid is Invalid")
			return
		case c != nil:
			if problem := sessionProblem(c); problem != "" {
				f.mu.Unlock()
				writeError(w, http.StatusBadRequest, 63021, "Channel invalid content error: "+problem)
				return
			}
			// A content's message reads as its body in listings, as
			// Twilio's do.
			m.Body = c.Body
		}
	}
	if q := f.fails[m.To]; len(q) > 0 {
		fail := q[0]
		if len(q) == 1 {
			delete(f.fails, m.To)
		} else {
			f.fails[m.To] = q[1:]
		}
		f.mu.Unlock()
		writeError(w, fail.status, fail.code, "Simulated error "+strconv.Itoa(fail.code))
		return
	}
	m.SID = newSID()
	m.At = f.now().UTC()
	f.msgs = append(f.msgs, m)
	resp := f.resource(m, false)
	hold := f.hold
	f.mu.Unlock()
	if hold > 0 {
		t := time.NewTimer(hold)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}

	writeJSON(w, http.StatusCreated, resp)
}

func (f *Fake) list(w http.ResponseWriter, r *http.Request) {
	if !f.wait(r) || !f.authorized(w, r) {
		return
	}
	q := r.URL.Query()
	after, err := day(q.Get("DateSent>"))
	if err != nil {
		writeError(w, http.StatusBadRequest, 20001, "Invalid DateSent>: "+err.Error())
		return
	}
	before, err := day(q.Get("DateSent<"))
	if err != nil {
		writeError(w, http.StatusBadRequest, 20001, "Invalid DateSent<: "+err.Error())
		return
	}
	size, page, ok := paging(w, q)
	if !ok {
		return
	}

	f.mu.Lock()
	if f.pageSize > 0 {
		size = min(size, f.pageSize)
	}
	var match []*FakeMessage
	for _, m := range slices.Backward(f.msgs) { // newest first
		switch {
		case q.Has("To") && m.To != q.Get("To"),
			q.Has("From") && m.From != q.Get("From"),
			!after.IsZero() && m.At.Before(after),
			!before.IsZero() && !m.At.Before(before.AddDate(0, 0, 1)):
			continue
		}
		match = append(match, m)
	}
	start := min(page*size, len(match))
	end := min(start+size, len(match))
	msgs := make([]apiMessage, 0, end-start)
	for _, m := range match[start:end] {
		msgs = append(msgs, f.resource(m, true))
	}
	f.mu.Unlock()

	base := "/2010-04-01/Accounts/" + f.accountSID + "/Messages.json?"
	resp := listResponse{
		Messages:     msgs,
		FirstPageURI: base + pageQuery(q, size, 0, ""),
		URI:          base + pageQuery(q, size, page, ""),
		Page:         page,
		PageSize:     size,
		Start:        start,
		End:          max(end-1, start),
	}
	if end < len(match) {
		next := base + pageQuery(q, size, page+1, match[end-1].SID)
		resp.NextPageURI = &next
	}
	if page > 0 {
		prev := base + pageQuery(q, size, page-1, "")
		resp.PreviousPageURI = &prev
	}
	writeJSON(w, http.StatusOK, resp)
}

// pageQuery is the query string of a page of a listing, keeping its
// filters; the PageToken names the last message of the page before.
func pageQuery(q url.Values, size, page int, lastSID string) string {
	v := url.Values{}
	for _, k := range []string{"To", "From", "DateSent>", "DateSent<"} {
		if q.Has(k) {
			v.Set(k, q.Get(k))
		}
	}
	v.Set("PageSize", strconv.Itoa(size))
	v.Set("Page", strconv.Itoa(page))
	if lastSID != "" {
		v.Set("PageToken", "PA"+lastSID)
	}
	return v.Encode()
}

// day parses a DateSent filter, RFC 3339 or YYYY-MM-DD, down to its day in
// UTC: Twilio documents these filters as dates.
func day(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		if t, err = time.Parse(time.DateOnly, s); err != nil {
			return time.Time{}, err
		}
	}
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC), nil
}

// apiMessage is the JSON of Twilio's Message resource. num_segments and
// num_media are strings, as Twilio sends them.
type apiMessage struct {
	AccountSID          string            `json:"account_sid"`
	APIVersion          string            `json:"api_version"`
	Body                string            `json:"body"`
	DateCreated         string            `json:"date_created"`
	DateSent            *string           `json:"date_sent"`
	DateUpdated         string            `json:"date_updated"`
	Direction           string            `json:"direction"`
	ErrorCode           *int              `json:"error_code"`
	ErrorMessage        *string           `json:"error_message"`
	From                string            `json:"from"`
	MessagingServiceSID *string           `json:"messaging_service_sid"`
	NumMedia            string            `json:"num_media"`
	NumSegments         string            `json:"num_segments"`
	Price               *string           `json:"price"`
	PriceUnit           string            `json:"price_unit"`
	SID                 string            `json:"sid"`
	Status              string            `json:"status"`
	SubresourceURIs     map[string]string `json:"subresource_uris"`
	To                  string            `json:"to"`
	URI                 string            `json:"uri"`
}

type listResponse struct {
	End             int          `json:"end"`
	FirstPageURI    string       `json:"first_page_uri"`
	NextPageURI     *string      `json:"next_page_uri"`
	Page            int          `json:"page"`
	PageSize        int          `json:"page_size"`
	PreviousPageURI *string      `json:"previous_page_uri"`
	Start           int          `json:"start"`
	URI             string       `json:"uri"`
	Messages        []apiMessage `json:"messages"`
}

// resource renders m; listed messages count as sent, so they carry a
// date_sent. Called with f.mu held.
func (f *Fake) resource(m *FakeMessage, listed bool) apiMessage {
	date := m.At.Format(time.RFC1123Z)
	uri := "/2010-04-01/Accounts/" + f.accountSID + "/Messages/" + m.SID
	a := apiMessage{
		AccountSID:  f.accountSID,
		APIVersion:  "2010-04-01",
		Body:        m.Body,
		DateCreated: date,
		DateUpdated: date,
		Direction:   "outbound-api",
		From:        m.From,
		NumMedia:    strconv.Itoa(len(m.MediaURL)),
		NumSegments: strconv.Itoa(segments(m.Body)),
		PriceUnit:   "USD",
		SID:         m.SID,
		Status:      string(m.Status),
		SubresourceURIs: map[string]string{
			"media":    uri + "/Media.json",
			"feedback": uri + "/Feedback.json",
		},
		To:  m.To,
		URI: uri + ".json",
	}
	if listed {
		a.DateSent = &date
	}
	if m.MessagingServiceSID != "" {
		a.MessagingServiceSID = &m.MessagingServiceSID
	}
	if m.ErrorCode != 0 {
		code := m.ErrorCode
		a.ErrorCode = &code
	}
	return a
}

// segments counts the SMS segments of body as Twilio does (see
// locale.Segments); a message without a body, such as a template, counts
// as one.
func segments(body string) int { return max(1, locale.Segments(body).Segments) }

func (m *FakeMessage) clone() FakeMessage {
	c := *m
	c.MediaURL = slices.Clone(m.MediaURL)
	c.ContentVariables = maps.Clone(m.ContentVariables)
	return c
}

// contentSIDFormat reports whether s is "HX" and 32 hex digits.
func contentSIDFormat(s string) bool {
	if len(s) != 34 || s[:2] != "HX" {
		return false
	}
	_, err := hex.DecodeString(s[2:])
	return err == nil
}

func newSID() string {
	var b [16]byte
	rand.Read(b[:])
	return "SM" + hex.EncodeToString(b[:])
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// writeError answers with Twilio's error shape, which twilio-go decodes
// into *client.TwilioRestError.
func writeError(w http.ResponseWriter, status, code int, message string) {
	writeJSON(w, status, map[string]any{
		"code":      code,
		"message":   message,
		"more_info": "https://www.twilio.com/docs/errors/" + strconv.Itoa(code),
		"status":    status,
	})
}

// paging reads a list request's PageSize (default 50, at most 1,000) and
// Page (from 0) as Twilio does, answering 400 with code 20001 for a bad
// one (ok false).
func paging(w http.ResponseWriter, q url.Values) (size, page int, ok bool) {
	size = 50
	if s := q.Get("PageSize"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			writeError(w, http.StatusBadRequest, 20001, "Invalid PageSize")
			return 0, 0, false
		}
		size = min(n, 1000)
	}
	if s := q.Get("Page"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			writeError(w, http.StatusBadRequest, 20001, "Invalid Page")
			return 0, 0, false
		}
		page = n
	}
	return size, page, true
}
