package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// coachClient is the measured coach on darsi's dashboard: logged in with a
// session cookie for the pages, and with the API token for the API.
type coachClient struct {
	base   string
	client *http.Client
}

// newCoachClient logs the coach in on the server at base. Over plain http
// to the loopback the session cookie is not Secure, so the jar keeps and
// sends it.
func newCoachClient(ctx context.Context, base string) (*coachClient, error) {
	jar, err := cookiejar.New(nil)
	if err != nil {
		return nil, err
	}
	c := &coachClient{base: base, client: &http.Client{
		Jar:     jar,
		Timeout: 2 * time.Minute,
		// A page that sends to the login page has no session: an error,
		// not a login page measured by mistake.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
	form := url.Values{"login": {coachLogin}, "password": {coachPassword}, "next": {"/coach/"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/coach/login", strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || len(resp.Cookies()) == 0 {
		return nil, fmt.Errorf("logging in as %s: status %d, %d cookies", coachLogin, resp.StatusCode, len(resp.Cookies()))
	}
	return c, nil
}

// do sends a request, with the API token when api is set, and returns the
// response with its body read.
func (c *coachClient) do(ctx context.Context, method, path string, body any, api bool) (*http.Response, []byte, error) {
	var r io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return nil, nil, err
		}
		r = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, r)
	if err != nil {
		return nil, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if api {
		req.Header.Set("Authorization", "Bearer "+coachToken)
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return resp, data, err
}

// want checks a response's status.
func want(resp *http.Response, data []byte, status int) error {
	if resp.StatusCode != status {
		return fmt.Errorf("%s %s: status %d, want %d: %.200s", resp.Request.Method, resp.Request.URL.Path, resp.StatusCode, status, data)
	}
	return nil
}

// page gets a dashboard page.
func (c *coachClient) page(ctx context.Context, path string) error {
	resp, data, err := c.do(ctx, http.MethodGet, path, nil, false)
	if err != nil {
		return err
	}
	return want(resp, data, http.StatusOK)
}

// learners gets the first page of a cohort's members from the API and
// checks that it holds the whole cohort, of size members.
func (c *coachClient) learners(ctx context.Context, code string, members int) error {
	resp, data, err := c.do(ctx, http.MethodGet, "/coach/api/cohorts/"+code+"/learners", nil, true)
	if err != nil {
		return err
	}
	if err := want(resp, data, http.StatusOK); err != nil {
		return err
	}
	var rows []json.RawMessage
	if err := json.Unmarshal(data, &rows); err != nil {
		return err
	}
	if total := resp.Header.Get("X-Total-Count"); len(rows) != members || total != strconv.Itoa(members) {
		return fmt.Errorf("cohort %s: %d learners, X-Total-Count %s, want %d", code, len(rows), total, members)
	}
	return nil
}

// cohorts gets the coach's cohorts from the API and checks their number.
func (c *coachClient) cohorts(ctx context.Context, n int) error {
	resp, data, err := c.do(ctx, http.MethodGet, "/coach/api/cohorts", nil, true)
	if err != nil {
		return err
	}
	if err := want(resp, data, http.StatusOK); err != nil {
		return err
	}
	var rows []json.RawMessage
	if err := json.Unmarshal(data, &rows); err != nil {
		return err
	}
	if len(rows) != n {
		return fmt.Errorf("the coach has %d cohorts, want %d", len(rows), n)
	}
	return nil
}

// reminded is the part of the reminder API's answer the tool reads.
type reminded struct {
	Queued int    `json:"queued"`
	ID     string `json:"id"`
}

// remind queues a reminder for a cohort through the API.
func (c *coachClient) remind(ctx context.Context, code, text string, at time.Time) (reminded, error) {
	body := map[string]string{"text": text, "at": at.Format(time.RFC3339)}
	resp, data, err := c.do(ctx, http.MethodPost, "/coach/api/cohorts/"+code+"/reminders", body, true)
	if err != nil {
		return reminded{}, err
	}
	if err := want(resp, data, http.StatusAccepted); err != nil {
		return reminded{}, err
	}
	var res reminded
	if err := json.Unmarshal(data, &res); err != nil {
		return reminded{}, err
	}
	if res.ID == "" {
		return reminded{}, errors.New("the reminder has no id")
	}
	return res, nil
}

// timeRequests calls each of fns pageWarmups times unmeasured, then
// pageRequests times each, in turn (the first, the second, …, the first
// again), and returns each one's durations, sorted. Taking turns spreads
// each one's requests over the whole measurement, so that a burst of
// other work on the machine weighs on all of them a little rather than on
// one of them entirely.
func timeRequests(fns ...func() error) ([][]time.Duration, error) {
	for range pageWarmups {
		for _, fn := range fns {
			if err := fn(); err != nil {
				return nil, err
			}
		}
	}
	ds := make([][]time.Duration, len(fns))
	for range pageRequests {
		for i, fn := range fns {
			began := time.Now()
			if err := fn(); err != nil {
				return nil, err
			}
			ds[i] = append(ds[i], time.Since(began))
		}
	}
	for _, d := range ds {
		slices.Sort(d)
	}
	return ds, nil
}

// pctDuration is the p-th percentile of sorted durations (the lower of
// the two around it), 0 for none.
func pctDuration(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	return ds[(len(ds)-1)*p/100]
}

// medianDuration is the median of durations (the mean of the two middle
// ones for an even count), 0 for none.
func medianDuration(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	xs := make([]float64, len(ds))
	for i, d := range ds {
		xs[i] = float64(d)
	}
	return time.Duration(median(xs))
}
