package coachweb

import (
	"net/http"
	"net/netip"
	"strings"
)

// privateAddr reports whether a is on the loopback or a private network:
// 127/8, ::1, 10/8, 172.16/12, 192.168/16, fc00::/7, fe80::/10.
func privateAddr(a netip.Addr) bool {
	a = a.Unmap()
	return a.IsLoopback() || a.IsPrivate() || (a.Is6() && a.IsLinkLocalUnicast())
}

// parseAddr reads an address with or without a port; the zero Addr when
// s is neither.
func parseAddr(s string) netip.Addr {
	s = strings.TrimSpace(s)
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap()
	}
	if a, err := netip.ParseAddr(strings.Trim(s, "[]")); err == nil {
		return a.Unmap()
	}
	return netip.Addr{}
}

// lastValue is the last comma-separated value of the header's last line.
func lastValue(r *http.Request, header string) string {
	lines := r.Header.Values(header)
	if len(lines) == 0 {
		return ""
	}
	line := lines[len(lines)-1]
	return strings.TrimSpace(line[strings.LastIndexByte(line, ',')+1:])
}

// clientAddr is the client's address: the connection's, unless the
// connection comes from the loopback or a private network, as from a
// reverse proxy in front of Darsi, and carries X-Forwarded-For. Then it is
// the header's last address: the one the proxy saw connect to it.
// Addresses further left were written by whoever sent the request, and
// are not believed. The zero Addr when there is none.
func clientAddr(r *http.Request) netip.Addr {
	remote := parseAddr(r.RemoteAddr)
	if !remote.IsValid() || !privateAddr(remote) {
		return remote
	}
	if fwd := parseAddr(lastValue(r, "X-Forwarded-For")); fwd.IsValid() {
		return fwd
	}
	return remote
}

// clientKey is what the login backoff counts a client's failures by: its
// address, or for IPv6 the /64 network, which a subscriber usually holds
// whole.
func clientKey(a netip.Addr) string {
	if !a.IsValid() {
		return "unknown"
	}
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}

// secureCookie says whether the session cookie must be Secure, which a
// browser keeps only over https: it follows the scheme the server is
// really reached by. DARSI_PUBLIC_URL's says it when it is set (https:
// always Secure; http: not, unless this request came over TLS). Without
// it the request does: over TLS, Secure; over plain http, Secure unless
// the connection comes from the loopback or a private network, a coach
// trying the dashboard on their machine or their LAN, or a proxy there,
// whose X-Forwarded-Proto then names the browser's scheme.
func (h *Handler) secureCookie(r *http.Request) bool {
	switch {
	case h.publicScheme == "https" || r.TLS != nil:
		return true
	case h.publicScheme == "http":
		return false
	}
	remote := parseAddr(r.RemoteAddr)
	if !remote.IsValid() || !privateAddr(remote) {
		return true
	}
	return strings.EqualFold(lastValue(r, "X-Forwarded-Proto"), "https")
}
