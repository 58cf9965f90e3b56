package soak

import (
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Proxy is a TCP proxy on loopback between darsi and Redis that injects
// the network's faults on command: it drops every connection (Drop), holds
// each chunk of data for a while in both directions (SetLatency), and
// refuses new connections (SetRefuse). Its target may change (SetTarget),
// as a Sentinel failover moves the master.
type Proxy struct {
	ln     net.Listener
	target atomic.Value // string
	// latency is how long each chunk waits, in nanoseconds.
	latency atomic.Int64
	refuse  atomic.Bool

	mu    sync.Mutex
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup

	// Dropped counts the connections Drop cut; Refused those refused.
	Dropped, Refused atomic.Int64
}

// NewProxy listens on a free loopback port and forwards to target.
func NewProxy(target string) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{ln: ln, conns: map[net.Conn]struct{}{}}
	p.target.Store(target)
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

// Addr is where darsi connects: host:port.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// SetTarget points new connections at another address.
func (p *Proxy) SetTarget(addr string) { p.target.Store(addr) }

// SetLatency holds every chunk of data d before it goes on; 0 ends it.
func (p *Proxy) SetLatency(d time.Duration) { p.latency.Store(int64(d)) }

// SetRefuse makes new connections close at once (true) or pass (false).
func (p *Proxy) SetRefuse(on bool) { p.refuse.Store(on) }

// Drop cuts every open connection, as a network partition or a NAT
// timeout does, and returns how many it cut.
func (p *Proxy) Drop() int {
	p.mu.Lock()
	n := len(p.conns) / 2 // each connection is two: to darsi and to Redis
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.Dropped.Add(int64(n))
	return n
}

// Close stops listening and cuts every connection.
func (p *Proxy) Close() {
	p.ln.Close()
	p.Drop()
	p.wg.Wait()
}

func (p *Proxy) track(c net.Conn, on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if on {
		p.conns[c] = struct{}{}
	} else {
		delete(p.conns, c)
	}
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		if p.refuse.Load() {
			p.Refused.Add(1)
			c.Close()
			continue
		}
		p.wg.Add(1)
		go p.serve(c)
	}
}

func (p *Proxy) serve(client net.Conn) {
	defer p.wg.Done()
	server, err := net.DialTimeout("tcp", p.target.Load().(string), 2*time.Second)
	if err != nil {
		client.Close()
		return
	}
	p.track(client, true)
	p.track(server, true)
	var once sync.Once
	done := func() {
		once.Do(func() {
			client.Close()
			server.Close()
			p.track(client, false)
			p.track(server, false)
		})
	}
	var wg sync.WaitGroup
	wg.Go(func() { p.pipe(server, client); done() })
	wg.Go(func() { p.pipe(client, server); done() })
	wg.Wait()
}

// pipe copies from src to dst, holding each chunk for the latency.
func (p *Proxy) pipe(dst io.Writer, src io.Reader) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if d := time.Duration(p.latency.Load()); d > 0 {
				time.Sleep(d)
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}
