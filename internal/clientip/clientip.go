// Package clientip finds the address of the client behind a request: the
// connection's address, or — only when the connection comes from a trusted
// proxy — the right-most address of X-Forwarded-For that is not itself a
// trusted proxy. Risk, throttling and history use it.
package clientip

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Resolver resolves client addresses. Trusted lists the networks of the
// reverse proxies whose X-Forwarded-For entries are believed. The zero value
// trusts no proxy and returns the connection's address. A Resolver is safe for
// concurrent use once built; its fields must not change afterwards.
type Resolver struct {
	Trusted []netip.Prefix
}

// ParsePrefixes parses CIDR prefixes ("10.0.0.0/8") and bare addresses
// ("192.0.2.1", taken as a /32 or /128), as given by --trusted-proxy.
func ParsePrefixes(ss []string) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(ss))
	for _, s := range ss {
		s = strings.TrimSpace(s)
		if strings.Contains(s, "/") {
			p, err := netip.ParsePrefix(s)
			if err != nil {
				return nil, fmt.Errorf("clientip: trusted proxy %q: %w", s, err)
			}
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("clientip: trusted proxy %q: %w", s, err)
		}
		a = a.Unmap().WithZone("")
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// ClientIP returns the client address of r as text. When the connection's
// address cannot be parsed it returns r.RemoteAddr's host part unchanged; when
// an X-Forwarded-For entry that would be the answer is malformed it returns
// the connection's address, which no client can forge.
func (rs *Resolver) ClientIP(r *http.Request) string {
	peer, ok := parseAddr(r.RemoteAddr)
	if !ok {
		if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
			return host
		}
		return r.RemoteAddr
	}
	if rs == nil || !rs.trusted(peer) {
		return peer.String()
	}
	values := r.Header.Values("X-Forwarded-For")
	last := peer // the left-most trusted hop seen so far
	for i := len(values) - 1; i >= 0; i-- {
		v := values[i]
		for {
			entry := v
			j := strings.LastIndexByte(v, ',')
			if j >= 0 {
				entry, v = v[j+1:], v[:j]
			}
			entry = strings.TrimSpace(entry)
			if entry != "" {
				a, ok := parseAddr(entry)
				if !ok {
					return peer.String()
				}
				if !rs.trusted(a) {
					return a.String()
				}
				last = a
			}
			if j < 0 {
				break
			}
		}
	}
	// Every hop is a trusted proxy: the request started inside them.
	return last.String()
}

func (rs *Resolver) trusted(a netip.Addr) bool {
	for _, p := range rs.Trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// parseAddr parses an address with or without a port ("192.0.2.1",
// "192.0.2.1:443", "[2001:db8::1]:443", "2001:db8::1"), drops any zone and
// turns IPv4-mapped IPv6 addresses into IPv4.
func parseAddr(s string) (netip.Addr, bool) {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap().WithZone(""), true
	}
	if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		s = s[1 : len(s)-1]
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, false
	}
	return a.Unmap().WithZone(""), true
}

type ctxKey struct{}

// NewContext returns ctx carrying the resolved client address ip.
func NewContext(ctx context.Context, ip string) context.Context {
	return context.WithValue(ctx, ctxKey{}, ip)
}

// FromContext returns the client address stored by NewContext, or "" and
// false.
func FromContext(ctx context.Context) (string, bool) {
	ip, ok := ctx.Value(ctxKey{}).(string)
	return ip, ok
}

// MustParse is ParsePrefixes for literals known to be valid; it panics on a
// malformed one.
func MustParse(ss ...string) []netip.Prefix {
	p, err := ParsePrefixes(ss)
	if err != nil {
		panic(err)
	}
	return p
}
