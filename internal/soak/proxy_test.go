package soak

import (
	"bufio"
	"net"
	"testing"
	"time"
)

// echo serves a line echo on loopback.
func echo(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r := bufio.NewReader(c)
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					c.Write([]byte(line))
				}
			}()
		}
	}()
	return ln.Addr().String()
}

func roundTrip(t *testing.T, c net.Conn) error {
	t.Helper()
	c.SetDeadline(time.Now().Add(3 * time.Second))
	if _, err := c.Write([]byte("ping\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err == nil && line != "ping\n" {
		t.Fatalf("echoed %q", line)
	}
	return err
}

// TestProxyFaults: the proxy passes data, holds it for the latency,
// cuts open connections on Drop and refuses new ones while asked.
func TestProxyFaults(t *testing.T) {
	p, err := NewProxy(echo(t))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := roundTrip(t, c); err != nil {
		t.Fatal(err)
	}

	p.SetLatency(100 * time.Millisecond)
	start := time.Now()
	if err := roundTrip(t, c); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 200*time.Millisecond {
		t.Errorf("a round trip with 100 ms each way took %s", d)
	}
	p.SetLatency(0)

	if n := p.Drop(); n != 1 {
		t.Errorf("Drop cut %d connections, want 1", n)
	}
	if err := roundTrip(t, c); err == nil {
		t.Error("a dropped connection still carries data")
	}

	p.SetRefuse(true)
	r, err := net.Dial("tcp", p.Addr())
	if err == nil {
		if roundTrip(t, r) == nil {
			t.Error("a refused connection carried data")
		}
		r.Close()
	}
	p.SetRefuse(false)
	ok, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer ok.Close()
	if err := roundTrip(t, ok); err != nil {
		t.Errorf("after the faults: %v", err)
	}
}
