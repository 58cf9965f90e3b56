package soak

import (
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"syscall"
	"time"
)

// Balancer is a round-robin HTTP load balancer on loopback in front of
// the replicas, as a platform's router is: a replica that refuses the
// connection (down) is skipped for the next; one that fails once the
// request is sent gets the caller a 502, which Twilio retries.
type Balancer struct {
	URL      string
	backends []*Replica
	next     atomic.Uint64
	srv      *http.Server
	client   *http.Client
	// Skipped counts requests that went to another replica because one
	// was down; BadGateway those answered 502.
	Skipped, BadGateway atomic.Int64
}

// NewBalancer serves on a free loopback port.
func NewBalancer(backends []*Replica) (*Balancer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	b := &Balancer{URL: "http://" + ln.Addr().String(), backends: backends,
		client: &http.Client{
			Timeout: 15 * time.Second, // Twilio's limit for a webhook
			Transport: &http.Transport{MaxIdleConnsPerHost: 64, IdleConnTimeout: 30 * time.Second,
				DialContext: (&net.Dialer{Timeout: time.Second}).DialContext},
		}}
	b.srv = &http.Server{Handler: b, ReadHeaderTimeout: 5 * time.Second}
	go b.srv.Serve(ln)
	return b, nil
}

// Close stops the balancer.
func (b *Balancer) Close() { b.srv.Close() }

func (b *Balancer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	start := b.next.Add(1)
	for i := range len(b.backends) {
		be := b.backends[(int(start)+i)%len(b.backends)]
		req, err := http.NewRequestWithContext(r.Context(), r.Method, be.Base+r.URL.RequestURI(), bytes.NewReader(body))
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		req.Header = r.Header.Clone()
		resp, err := b.client.Do(req)
		if err != nil {
			if errors.Is(err, syscall.ECONNREFUSED) {
				b.Skipped.Add(1)
				continue
			}
			b.BadGateway.Add(1)
			http.Error(w, "bad gateway", http.StatusBadGateway)
			return
		}
		out, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			b.BadGateway.Add(1)
			http.Error(w, "bad gateway", http.StatusBadGateway)
			return
		}
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		w.Write(out)
		return
	}
	b.BadGateway.Add(1)
	http.Error(w, "no replica", http.StatusBadGateway)
}
