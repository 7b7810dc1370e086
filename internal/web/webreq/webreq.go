// Package webreq is what the browser pages and the JSON API share about a
// request: the cookies (session, device, language), the session token, the
// negotiated language and the ninsho.Request handed to services. It holds no
// rule; both adapters use it so that a cookie set by one is read by the other.
package webreq

import (
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ninsho/ninsho/internal/clientip"
	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/httperr"
	"github.com/ninsho/ninsho/internal/i18n"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/realm"
	"github.com/ninsho/ninsho/internal/signup"
)

// Cookie names.
const (
	SessionCookie = "ninsho_session"
	DeviceCookie  = "ninsho_device"
	LangCookie    = "ninsho_lang"
	// FlowCookiePrefix starts the name of a page flow's binding cookie; the
	// flow id follows (FlowCookie).
	FlowCookiePrefix = "ninsho_flow_"
	// TestCookie is set by every page answer to a request that brought no
	// cookie, so that the next request shows whether the browser keeps
	// cookies (HasCookies). It holds nothing but "1".
	TestCookie = "ninsho_cookies"
)

// HasCookies reports whether r brought any cookie at all (Ninsho's or
// another's on the same host). A browser that refuses cookies brings none,
// not even the TestCookie of the page it posts from.
func HasCookies(r *http.Request) bool {
	for _, v := range r.Header.Values("Cookie") {
		if strings.TrimSpace(v) != "" {
			return true
		}
	}
	return false
}

// SetTest sets TestCookie for the browser's session.
func (c Cookies) SetTest(w http.ResponseWriter, r *http.Request) {
	setCookie(w, c.cookie(r, TestCookie, "1", 0))
}

// FlowCookie is the name of the binding cookie of the page flow with the id.
func FlowCookie(flowID string) string { return FlowCookiePrefix + flowID }

// deviceCookieAge is the life of the device cookie: the 400 days browsers
// allow at most.
const deviceCookieAge = 400 * 24 * time.Hour

// Field length limits, shared by the pages and the API. They bound the work
// one request can cause; the rules (a password's length policy, say) belong
// to the services. Text a person types is counted in characters, secrets and
// machine values in bytes.
const (
	MaxIdentifier  = 320  // characters
	MaxName        = 200  // characters
	MaxCode        = 16   // characters
	MaxAnswer      = 64   // characters
	MaxPassword    = 1024 // characters (the refusal says characters; NFKC and the policy's 128 follow)
	MaxLocale      = 16   // bytes
	MaxDeviceToken = 256  // bytes
	MaxChannel     = 32   // bytes
	MaxAction      = 64   // bytes
	MaxToken       = 256  // bytes: a link token ("this wasn't me")
)

// limits maps input field names to their limit and whether it counts
// characters (true) or bytes.
// told, when set, is the limit the refusal names: the rule of the field
// (a name's 100 characters, signup.MaxNameLength) where the bound on the
// work is looser, so that one field has one limit and one message.
var limits = map[string]struct {
	max   int
	runes bool
	told  int
}{
	"identifier":            {MaxIdentifier, true, 0},
	"name":                  {MaxName, true, signup.MaxNameLength},
	"code":                  {MaxCode, true, 0},
	"answer":                {MaxAnswer, true, 0},
	"password":              {MaxPassword, true, 0},
	"password_confirmation": {MaxPassword, true, 0},
	"locale":                {MaxLocale, false, 0},
	"device_token":          {MaxDeviceToken, false, 0},
	"channel":               {MaxChannel, false, 0},
	"method":                {MaxChannel, false, 0},
	"action":                {MaxAction, false, 0},
	"token":                 {MaxToken, false, 0},
}

// CheckCredentialID checks the id of a two-step method or passkey taken
// from a path or a form: anything that is not an id is not_found (field
// credential), like an id of no method of the person's.
func CheckCredentialID(id string) error {
	if !ninsho.ValidID(id) {
		return ninsho.FieldError(ninsho.CodeNotFound, "credential")
	}
	return nil
}

// CheckLength returns a field_too_long error (parameter max) when value is
// longer than the limit of the named field. Fields without a limit pass.
func CheckLength(field, value string) error {
	l, ok := limits[field]
	if !ok || len(value) <= l.max {
		return nil
	}
	if l.runes && utf8.RuneCountInString(value) <= l.max {
		return nil
	}
	if l.told > 0 {
		return ninsho.FieldError(ninsho.CodeFieldTooLong, field).WithParam("max", l.told)
	}
	return ninsho.FieldError(ninsho.CodeFieldTooLong, field).WithParam("max", l.max)
}

// maxTokenLen bounds tokens read from cookies and headers.
const maxTokenLen = MaxDeviceToken

// Cookies sets and clears Ninsho's cookies. Secure forces the Secure attribute
// (the public URL is https); cookies on TLS requests are always Secure.
type Cookies struct {
	Secure bool
}

func (c Cookies) cookie(r *http.Request, name, value string, maxAge time.Duration) *http.Cookie {
	ck := &http.Cookie{
		Name:     name,
		Value:    value,
		Path:     "/",
		HttpOnly: true,
		Secure:   c.Secure || r.TLS != nil,
		SameSite: http.SameSiteLaxMode,
	}
	switch {
	case maxAge < 0:
		ck.MaxAge = -1
	case maxAge > 0:
		ck.MaxAge = int(maxAge / time.Second)
		if ck.MaxAge == 0 {
			ck.MaxAge = 1
		}
	}
	return ck
}

// SetSession sets the session cookie to the grant's token until it expires
// at now; g may be nil (nothing is set).
func (c Cookies) SetSession(w http.ResponseWriter, r *http.Request, g *flow.Grant, now time.Time) {
	if g == nil || g.Token == "" {
		return
	}
	age := g.ExpiresAt.Sub(now)
	if g.ExpiresAt.IsZero() || age <= 0 {
		age = 0 // a browser-session cookie
	}
	setCookie(w, c.cookie(r, SessionCookie, g.Token, age))
}

// ClearSession removes the session cookie.
func (c Cookies) ClearSession(w http.ResponseWriter, r *http.Request) {
	setCookie(w, c.cookie(r, SessionCookie, "", -1))
}

// SetDevice sets the long-lived device cookie; an empty token sets nothing.
func (c Cookies) SetDevice(w http.ResponseWriter, r *http.Request, token string) {
	if token == "" {
		return
	}
	setCookie(w, c.cookie(r, DeviceCookie, token, deviceCookieAge))
}

// SetFlow hands the browser the binding secret of a page flow that was just
// created (f.Secret), as an HttpOnly, SameSite=Lax cookie that lives as long
// as the flow (by the flow's own clock); a flow without a new secret sets
// nothing.
func (c Cookies) SetFlow(w http.ResponseWriter, r *http.Request, f *flow.Flow) {
	if f == nil || f.Secret == "" || !ninsho.ValidID(f.ID) {
		return
	}
	age := f.ExpiresAt.Sub(f.UpdatedAt)
	if age <= 0 {
		return
	}
	setCookie(w, c.cookie(r, FlowCookie(f.ID), f.Secret, age))
}

// ClearFlow removes the binding cookie of the flow with the id (it has
// finished).
func (c Cookies) ClearFlow(w http.ResponseWriter, r *http.Request, flowID string) {
	if !ninsho.ValidID(flowID) {
		return
	}
	if _, err := r.Cookie(FlowCookie(flowID)); err != nil {
		return // nothing to clear
	}
	setCookie(w, c.cookie(r, FlowCookie(flowID), "", -1))
}

// FlowSecret returns the binding secret the browser holds for the flow with
// the id, or "".
func FlowSecret(r *http.Request, flowID string) string {
	if !ninsho.ValidID(flowID) {
		return ""
	}
	return cookieValue(r, FlowCookie(flowID))
}

// SetLang remembers the chosen language for a year.
func (c Cookies) SetLang(w http.ResponseWriter, r *http.Request, locale string) {
	ck := c.cookie(r, LangCookie, locale, 365*24*time.Hour)
	setCookie(w, ck)
}

// setCookie adds ck to the response in place of any cookie of the same name
// set earlier in it: a handler that passes an answer on through two helpers
// (one keeping the flow's cookies, one following it to the next page) sends
// each cookie once. The browser would keep the last one anyway.
func setCookie(w http.ResponseWriter, ck *http.Cookie) {
	h := w.Header()
	prefix := ck.Name + "="
	var kept []string
	earlier := false
	for _, v := range h.Values("Set-Cookie") {
		if strings.HasPrefix(v, prefix) {
			earlier = true
			continue
		}
		kept = append(kept, v)
	}
	if earlier {
		h.Del("Set-Cookie")
		for _, v := range kept {
			h.Add("Set-Cookie", v)
		}
	}
	http.SetCookie(w, ck)
}

// cookieValue returns the value of the named cookie, "" when absent or longer
// than maxTokenLen.
func cookieValue(r *http.Request, name string) string {
	ck, err := r.Cookie(name)
	if err != nil || len(ck.Value) > maxTokenLen {
		return ""
	}
	return ck.Value
}

// BearerToken returns the token of an "Authorization: Bearer" header, or "".
func BearerToken(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) < 7 || !strings.EqualFold(h[:7], "bearer ") {
		return ""
	}
	t := strings.TrimSpace(h[7:])
	if len(t) > maxTokenLen {
		return ""
	}
	return t
}

// SessionToken returns the session token of r: the bearer token, else the
// session cookie. fromCookie reports that it came from the cookie, which a
// browser sends by itself (so a state change needs a cross-origin check).
func SessionToken(r *http.Request) (token string, fromCookie bool) {
	if t := BearerToken(r); t != "" {
		return t, false
	}
	if t := cookieValue(r, SessionCookie); t != "" {
		return t, true
	}
	return "", false
}

// DeviceToken returns the device cookie's token, or "".
func DeviceToken(r *http.Request) string { return cookieValue(r, DeviceCookie) }

// QueryLang returns a supported language asked for with ?lang=, or "".
func QueryLang(r *http.Request) string {
	if r.URL.RawQuery == "" {
		return ""
	}
	return i18n.Canonical(r.URL.Query().Get("lang"))
}

// Locale negotiates the language of r: ?lang=, the language cookie,
// Accept-Language, then the realm's default; a language the realm does not
// offer counts as not asked (realm.Realm.Language).
func Locale(r *http.Request, rl *realm.Realm) string {
	return rl.Language(ChosenLocale(r), "")
}

// ChosenLocale returns the language the person expressed in r (?lang=, the
// language cookie, Accept-Language), or "" when r expresses none.
func ChosenLocale(r *http.Request) string {
	return i18n.Asked(QueryLang(r), cookieValue(r, LangCookie), r.Header.Get("Accept-Language"))
}

// ClientIP returns the client address that the server's middleware resolved,
// or resolves it with rs.
func ClientIP(r *http.Request, rs *clientip.Resolver) string {
	if ip, ok := clientip.FromContext(r.Context()); ok {
		return ip
	}
	return rs.ClientIP(r)
}

// Request returns the service-facing description of r as a request of
// client, answered in locale (Locale of r). deviceToken is the token the
// client presented (body or cookie). Its LocaleChosen says whether r
// expressed a language (ChosenLocale) and locale is that language: one the
// realm does not offer (locale is then the realm's) is not chosen. The
// caller sets FlowSecret for a page request about a flow.
func Request(r *http.Request, rs *clientip.Resolver, client ninsho.Client, locale, deviceToken string) ninsho.Request {
	ua := r.UserAgent()
	if len(ua) > 512 {
		ua = strings.ToValidUTF8(ua[:512], "")
	}
	chosen := false
	if c := ChosenLocale(r); c != "" && c == locale {
		chosen = true
	}
	session, _ := SessionToken(r)
	return ninsho.Request{
		SessionToken: session,
		LocaleChosen: chosen,
		IP:           ClientIP(r, rs),
		UserAgent:    ua,
		DeviceToken:  deviceToken,
		RequestID:    httperr.RequestID(r.Context()),
		Locale:       locale,
		Client:       client,
	}
}

// RouteMiss asks mux how it would answer an unmatched request and returns the
// Allow header of its 405, or "" for a 404. The API and the pages use it to
// write their own 404 and 405 answers.
func RouteMiss(mux *http.ServeMux, r *http.Request) string {
	rec := &headerRecorder{h: http.Header{}}
	h, _ := mux.Handler(r)
	h.ServeHTTP(rec, r)
	if rec.status == http.StatusMethodNotAllowed {
		return rec.h.Get("Allow")
	}
	return ""
}

// headerRecorder keeps only the status and headers a handler writes.
type headerRecorder struct {
	h      http.Header
	status int
}

func (r *headerRecorder) Header() http.Header { return r.h }

func (r *headerRecorder) WriteHeader(s int) {
	if r.status == 0 {
		r.status = s
	}
}

func (r *headerRecorder) Write(b []byte) (int, error) {
	r.WriteHeader(http.StatusOK)
	return len(b), nil
}

// OIDCLoginPath is the OpenID Connect provider's bridge to the hosted
// sign-in (internal/oidc): the sign-in and re-authentication pages accept
// it as return_to and send the browser back there when they are done.
const OIDCLoginPath = "/oauth/v2/login"

// OIDCLogin returns raw when it is the bridge's URL — OIDCLoginPath with
// one query parameter id of base64url characters, nothing else — and
// false otherwise.
func OIDCLogin(raw string) (string, bool) {
	rest, ok := strings.CutPrefix(raw, OIDCLoginPath+"?id=")
	if !ok || rest == "" || len(raw) > 2048 {
		return "", false
	}
	for i := 0; i < len(rest); i++ {
		c := rest[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return "", false
		}
	}
	return raw, true
}

// OIDCConsentPath is the consent page of the OpenID Connect provider
// (served by web, ?id= the bridge's sealed request): a third-party client
// asks the signed-in person for the scopes of the request.
const OIDCConsentPath = "/oauth/v2/consent"

// OIDCReturnCookie keeps, under path /account, the bridge URL that
// /account/two-step was given as return_to (web), until the bridge
// finishes the request (internal/oidc clears it).
const OIDCReturnCookie = "ninsho_oidc_return"

// ClearOIDCReturn clears OIDCReturnCookie.
func (c Cookies) ClearOIDCReturn(w http.ResponseWriter, r *http.Request) {
	ck := c.cookie(r, OIDCReturnCookie, "", -1)
	ck.Path = "/account"
	http.SetCookie(w, ck)
}

// OIDCRequest is what the pages show of an authorization request of the
// OpenID Connect provider: the client asking and the scopes it asks for.
type OIDCRequest struct {
	ID         string // the sealed request (the bridge's ?id=)
	ClientID   string
	ClientName string
	Scopes     []string
}

// OIDCLoginID returns the sealed request id of the bridge's URL raw, or "".
func OIDCLoginID(raw string) string {
	u, ok := OIDCLogin(raw)
	if !ok {
		return ""
	}
	return strings.TrimPrefix(u, OIDCLoginPath+"?id=")
}
