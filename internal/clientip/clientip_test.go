package clientip

import (
	"context"
	"net/http/httptest"
	"net/netip"
	"testing"
)

func TestClientIP(t *testing.T) {
	trusted := MustParsePrefixes(t, "10.0.0.0/8", "192.0.2.10", "2001:db8:ffff::/48")
	tests := []struct {
		name    string
		trusted []netip.Prefix
		remote  string
		xff     []string
		want    string
	}{
		{"no proxy trusted, header ignored", nil, "198.51.100.7:5000", []string{"203.0.113.9"}, "198.51.100.7"},
		{"untrusted peer, header ignored", trusted, "198.51.100.7:5000", []string{"203.0.113.9"}, "198.51.100.7"},
		{"trusted peer, no header", trusted, "10.1.2.3:5000", nil, "10.1.2.3"},
		{"trusted peer, one hop", trusted, "10.1.2.3:5000", []string{"203.0.113.9"}, "203.0.113.9"},
		{"right-most untrusted wins over spoofed left", trusted, "10.1.2.3:5000", []string{"1.1.1.1, 203.0.113.9"}, "203.0.113.9"},
		{"trusted hops skipped", trusted, "10.1.2.3:5000", []string{"1.1.1.1, 203.0.113.9, 10.9.9.9, 192.0.2.10"}, "203.0.113.9"},
		{"several header lines, last line is right-most", trusted, "10.1.2.3:5000", []string{"1.1.1.1, 203.0.113.9", "10.2.2.2"}, "203.0.113.9"},
		{"spaces and empty entries", trusted, "10.1.2.3:5000", []string{" , 203.0.113.9 ,, "}, "203.0.113.9"},
		{"all hops trusted", trusted, "10.1.2.3:5000", []string{"10.7.7.7, 10.8.8.8"}, "10.7.7.7"},
		{"malformed entry falls back to peer", trusted, "10.1.2.3:5000", []string{"1.1.1.1, not-an-ip"}, "10.1.2.3"},
		{"malformed left of answer is ignored", trusted, "10.1.2.3:5000", []string{"garbage, 203.0.113.9"}, "203.0.113.9"},
		{"entry with port", trusted, "10.1.2.3:5000", []string{"203.0.113.9:4711"}, "203.0.113.9"},
		{"ipv6 entry in brackets with port", trusted, "10.1.2.3:5000", []string{"[2001:db8::1]:4711"}, "2001:db8::1"},
		{"ipv6 entry bare", trusted, "[2001:db8:ffff::1]:443", []string{"2001:db8::2"}, "2001:db8::2"},
		{"ipv6 entry in brackets", trusted, "10.1.2.3:5000", []string{"[2001:db8::3]"}, "2001:db8::3"},
		{"ipv4-mapped peer is unmapped and trusted", trusted, "[::ffff:10.1.2.3]:5000", []string{"203.0.113.9"}, "203.0.113.9"},
		{"zone dropped", nil, "[fe80::1%eth0]:5000", nil, "fe80::1"},
		{"remote without port", nil, "198.51.100.7", nil, "198.51.100.7"},
		{"unparseable remote host kept", trusted, "example:80", []string{"203.0.113.9"}, "example"},
		{"unparseable remote kept", nil, "@", nil, "@"},
		{"obfuscated entry (RFC 7239 style) falls back", trusted, "10.1.2.3:5000", []string{"_hidden"}, "10.1.2.3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tt.remote
			for _, v := range tt.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			rs := &Resolver{Trusted: tt.trusted}
			if got := rs.ClientIP(r); got != tt.want {
				t.Errorf("ClientIP(remote %q, xff %q) = %q, want %q", tt.remote, tt.xff, got, tt.want)
			}
		})
	}
}

func TestNilResolver(t *testing.T) {
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "198.51.100.7:1"
	r.Header.Set("X-Forwarded-For", "203.0.113.9")
	var rs *Resolver
	if got, want := rs.ClientIP(r), "198.51.100.7"; got != want {
		t.Errorf("nil resolver: got %q, want %q", got, want)
	}
}

func TestParsePrefixes(t *testing.T) {
	got, err := ParsePrefixes([]string{"10.1.2.3/8", " 192.0.2.1 ", "2001:db8::/32", "::ffff:192.0.2.5"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"10.0.0.0/8", "192.0.2.1/32", "2001:db8::/32", "192.0.2.5/32"}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i].String() != want[i] {
			t.Errorf("prefix %d: got %s, want %s", i, got[i], want[i])
		}
	}
	for _, bad := range []string{"10.0.0.0/33", "nope", ""} {
		if _, err := ParsePrefixes([]string{bad}); err == nil {
			t.Errorf("ParsePrefixes(%q): got no error, want one", bad)
		}
	}
}

func TestContext(t *testing.T) {
	if _, ok := FromContext(context.Background()); ok {
		t.Error("empty context: got an address")
	}
	ctx := NewContext(context.Background(), "203.0.113.9")
	if got, ok := FromContext(ctx); !ok || got != "203.0.113.9" {
		t.Errorf("FromContext = %q, %v; want 203.0.113.9, true", got, ok)
	}
}

// MustParsePrefixes parses prefixes or fails the test.
func MustParsePrefixes(tb testing.TB, ss ...string) []netip.Prefix {
	tb.Helper()
	p, err := ParsePrefixes(ss)
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

func BenchmarkClientIP(b *testing.B) {
	rs := &Resolver{Trusted: MustParsePrefixes(b, "10.0.0.0/8")}
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "10.1.2.3:5000"
	r.Header.Set("X-Forwarded-For", "1.1.1.1, 203.0.113.9, 10.9.9.9")
	b.ReportAllocs()
	for b.Loop() {
		rs.ClientIP(r)
	}
}
