package realm

import (
	"net/url"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxReturnToBytes bounds a return_to URL; longer values are refused.
const MaxReturnToBytes = 2048

// ReturnURL checks raw, a return_to URL a page flow was started with,
// against the realm's allow-list (ReturnTo) and returns the normalised URL
// to send the browser to.
//
// Only an absolute http or https URL is allowed, written in the characters
// of RFC 3986 alone (no spaces, control characters, backslashes or
// non-ASCII; well-formed percent escapes), without user information, with a
// host of letters, digits, dots and hyphens (or an IP address), and a path
// that every server reads alike: no dot segments ("." or "..", also
// percent-encoded or with ";" parameters), no empty segments ("//"), no ";",
// no encoded percent ("%25"), no encoded slashes, and nothing that decodes to
// a control character or invalid UTF-8 ("%0d%0a", "%00", "%c0%ae"). It matches an entry when its origin — scheme, lower-cased host and
// port, the scheme's default port written or not — equals the entry's, and,
// when the entry has a path, its path equals that path or continues it after
// a "/" (the entry "https://shop.example.jp/mypage" allows "/mypage" and
// "/mypage/orders" but not "/mypageevil"). The URL returned has the
// lower-cased scheme and host, no default port, and "/" for an empty path;
// query and fragment are kept as given.
func (r *Realm) ReturnURL(raw string) (string, bool) {
	if r == nil || len(r.ReturnTo) == 0 {
		return "", false
	}
	u, ok := parseReturnURL(raw)
	if !ok {
		return "", false
	}
	for _, entry := range r.ReturnTo {
		e, ok := parseAllowEntry(entry)
		if ok && e.origin == u.origin && pathWithin(u.path, e.path) {
			return u.String(), true
		}
	}
	return "", false
}

// returnURL is a checked URL split into what matching needs.
type returnURL struct {
	origin string // "https://shop.example.jp" (default port left out)
	path   string // escaped path, "/" when empty
	rest   string // "?query#fragment" as given, or ""
}

func (u returnURL) String() string { return u.origin + u.path + u.rest }

// parseReturnURL checks raw strictly (see ReturnURL) and splits it.
func parseReturnURL(raw string) (returnURL, bool) {
	if raw == "" || len(raw) > MaxReturnToBytes || !uriChars(raw) {
		return returnURL{}, false
	}
	// The scheme and "//" must be written out: "https:evil", "https:/evil"
	// and scheme-relative "//evil" are refused.
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return returnURL{}, false
	}
	scheme = strings.ToLower(scheme)
	if scheme != "https" && scheme != "http" {
		return returnURL{}, false
	}
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	origin, ok := normaliseOrigin(scheme, rest[:end])
	if !ok {
		return returnURL{}, false
	}
	if u, err := url.Parse(raw); err != nil || u.Opaque != "" || u.User != nil {
		return returnURL{}, false
	}
	path, tail := rest[end:], ""
	if i := strings.IndexAny(path, "?#"); i >= 0 {
		path, tail = path[:i], path[i:]
	}
	if path == "" {
		path = "/"
	}
	if !pathOK(path) {
		return returnURL{}, false
	}
	return returnURL{origin: origin, path: path, rest: tail}, true
}

// allowEntry is one allow-list entry: an origin and a path prefix ("/" for
// the whole origin).
type allowEntry struct {
	origin string
	path   string
}

// ValidAllowEntry reports whether entry reads as an allow-list entry that
// ReturnURL can match: an absolute http(s) origin, optionally with a path
// prefix, under the same rules as a return_to URL and without query or
// fragment. The configuration refuses entries that would never match.
func ValidAllowEntry(entry string) bool {
	_, ok := parseAllowEntry(entry)
	return ok
}

// parseAllowEntry reads an allow-list entry (checked at start by the
// configuration); an entry that does not read as one never matches.
func parseAllowEntry(entry string) (allowEntry, bool) {
	u, ok := parseReturnURL(entry)
	if !ok || u.rest != "" {
		return allowEntry{}, false
	}
	return allowEntry{origin: u.origin, path: u.path}, true
}

// pathWithin reports whether path is prefix or continues it after a "/".
func pathWithin(path, prefix string) bool {
	if prefix == "/" || path == prefix {
		return true
	}
	if !strings.HasPrefix(path, prefix) {
		return false
	}
	return strings.HasSuffix(prefix, "/") || path[len(prefix)] == '/'
}

// normaliseOrigin checks an authority (host and optional port, nothing
// else: no user information, no percent escapes) and returns the origin
// "scheme://host[:port]" with the host lower-cased and a default port left
// out.
func normaliseOrigin(scheme, authority string) (string, bool) {
	host, port := authority, ""
	if strings.HasPrefix(authority, "[") {
		// An IPv6 literal: hex digits and colons only (no zone).
		i := strings.IndexByte(authority, ']')
		if i < 0 {
			return "", false
		}
		host = authority[:i+1]
		if i < 3 {
			return "", false
		}
		for _, c := range host[1:i] {
			if !isHex(c) && c != ':' && c != '.' {
				return "", false
			}
		}
		after := authority[i+1:]
		if after != "" {
			if after[0] != ':' {
				return "", false
			}
			port = after[1:]
			if port == "" {
				return "", false
			}
		}
	} else {
		if i := strings.IndexByte(authority, ':'); i >= 0 {
			host, port = authority[:i], authority[i+1:]
			if port == "" {
				return "", false
			}
		}
		if !hostName(host) {
			return "", false
		}
	}
	if port != "" {
		if len(port) > 5 || strings.TrimLeft(port, "0123456789") != "" {
			return "", false
		}
		n := 0
		for _, c := range port {
			n = n*10 + int(c-'0')
		}
		if n < 1 || n > 65535 {
			return "", false
		}
		port = strings.TrimLeft(port, "0")
		if (scheme == "https" && port == "443") || (scheme == "http" && port == "80") {
			port = ""
		}
	}
	origin := scheme + "://" + strings.ToLower(host)
	if port != "" {
		origin += ":" + port
	}
	return origin, true
}

// hostName reports whether h is a host name of ASCII letters, digits,
// hyphens and dots, with no empty label (no leading, trailing or doubled
// dot) and no label starting or ending with a hyphen.
func hostName(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	for label := range strings.SplitSeq(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range label {
			if !isAlnum(c) && c != '-' {
				return false
			}
		}
	}
	return true
}

// pathOK refuses paths that a browser, a proxy or an application server
// may read as somewhere else than they say: dot segments ("." or "..",
// also percent-encoded or followed by ";" parameters, as in "/..;/" that
// Tomcat and some proxies treat as ".."), empty segments ("//", which some
// servers collapse and some read as a scheme-relative host), ";" anywhere
// (path parameters), an encoded percent "%25" (double encoding: "%252e" is
// "%2e" after one decoding) and encoded slashes or backslashes.
func pathOK(path string) bool {
	if !strings.HasPrefix(path, "/") {
		return false
	}
	lower := strings.ToLower(path)
	for _, bad := range []string{"//", ";", "%25", "%2f", "%5c"} {
		if strings.Contains(lower, bad) {
			return false
		}
	}
	for seg := range strings.SplitSeq(lower, "/") {
		seg = strings.ReplaceAll(seg, "%2e", ".")
		// A segment's parameters, also with an encoded ";", do not
		// make a dot segment any less one.
		if i := strings.Index(seg, "%3b"); i >= 0 {
			seg = seg[:i]
		}
		if seg == "." || seg == ".." {
			return false
		}
	}
	// Decoded, the path must be text a person could type: valid UTF-8
	// (no overlong "%c0%ae"), no control characters ("%00", "%0d%0a") —
	// back ends that decode the path must all read the same one.
	decoded, err := url.PathUnescape(path)
	if err != nil || !utf8.ValidString(decoded) {
		return false
	}
	for _, r := range decoded {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}

// uriChars reports whether s holds only the characters RFC 3986 allows in
// a URI (unreserved, reserved and "%"), with every "%" starting a
// well-formed escape.
func uriChars(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case isAlnum(rune(c)):
		case strings.IndexByte("-._~:/?#[]@!$&'()*+,;=", c) >= 0:
		case c == '%':
			if i+2 >= len(s) || !isHex(rune(s[i+1])) || !isHex(rune(s[i+2])) {
				return false
			}
		default:
			return false
		}
	}
	return true
}

func isAlnum(c rune) bool {
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
}

func isHex(c rune) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

// ReturnOrigins lists the origins of the realm's return_to allow-list
// ("https://shop.example.jp"), each once, in the list's order: where a form
// of the hosted pages may end up after its redirects.
func (r *Realm) ReturnOrigins() []string {
	var out []string
	for _, entry := range r.ReturnTo {
		if e, ok := parseAllowEntry(entry); ok && !slices.Contains(out, e.origin) {
			out = append(out, e.origin)
		}
	}
	return out
}
