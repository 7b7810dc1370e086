package oidc

import (
	"context"
	"html/template"
	"net/http"
	"net/url"
	"strings"

	"github.com/ninsho/ninsho/internal/realm"
)

// Front-channel logout (OpenID Connect Front-Channel Logout 1.0): when the
// browser signs out of Ninsho — the hosted pages' sign-out or end_session —
// the page it lands on first loads, in hidden iframes, the front-channel
// logout URI of every client that got tokens under the ended session (with
// iss and sid), then goes on by itself.

// SessionClients lists the clients that got tokens under a session
// (store.DB).
type SessionClients interface {
	SessionClients(ctx context.Context, sessionID string) ([]string, error)
}

// frontchannelURLs returns the front-channel logout URLs of the clients
// that got tokens under session sid, with iss and sid added.
func (h *Handler) frontchannelURLs(ctx context.Context, rl *realm.Realm, sid string) []string {
	if h.Sessions == nil || sid == "" {
		return nil
	}
	ids, err := h.Sessions.SessionClients(ctx, sid)
	if err != nil {
		return nil
	}
	var out []string
	for _, id := range ids {
		c, err := h.storage.clientsFor(ctx).Get(ctx, rl.ID, id)
		if err != nil || c.FrontchannelLogoutURI == "" {
			continue
		}
		u, err := url.Parse(c.FrontchannelLogoutURI)
		if err != nil {
			continue
		}
		q := u.Query()
		q.Set("iss", Issuer(rl))
		q.Set("sid", sid)
		u.RawQuery = q.Encode()
		out = append(out, u.String())
	}
	return out
}

// FrontchannelPage writes the signed-out page that loads the front-channel
// logout URIs of the clients of session sid, then continues to next, and
// reports whether it did (false: no client has one; the caller redirects as
// before). The session cookie must already be cleared.
func (h *Handler) FrontchannelPage(w http.ResponseWriter, r *http.Request, rl *realm.Realm, sid, next, locale string) bool {
	urls := h.frontchannelURLs(r.Context(), rl, sid)
	if len(urls) == 0 {
		return false
	}
	writeFrontchannel(w, urls, next, locale)
	return true
}

var frontchannelTmpl = template.Must(template.New("fc").Parse(`<!doctype html>
<html lang="{{.Lang}}"><head><meta charset="utf-8">
<meta http-equiv="refresh" content="2;url={{.Next}}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Text}}</title></head>
<body><p>{{.Text}}</p><p><a href="{{.Next}}">{{.Link}}</a></p>
{{range .URLs}}<iframe hidden src="{{.}}" title="logout"></iframe>
{{end}}</body></html>
`))

func writeFrontchannel(w http.ResponseWriter, urls []string, next, locale string) {
	v := struct {
		Lang, Text, Link, Next string
		URLs                   []string
	}{"ja", "サインアウトしました。", "続ける", next, urls}
	if locale == "en" {
		v.Lang, v.Text, v.Link = "en", "You are signed out.", "Continue"
	}
	var origins []string
	for _, raw := range urls {
		if u, err := url.Parse(raw); err == nil && u.Scheme != "" && u.Host != "" && !strings.ContainsAny(u.Host, " ;,'") {
			origins = append(origins, u.Scheme+"://"+u.Host)
		}
	}
	h := w.Header()
	h.Del("Location")
	h.Set("Content-Security-Policy", "default-src 'self'; frame-src "+strings.Join(origins, " ")+
		"; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'")
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Language", v.Lang)
	h.Set("Cache-Control", "no-store")
	// The address of an end_session may hold the ID token: it goes to no
	// one (the iframes and the next page get no Referer).
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	frontchannelTmpl.Execute(w, v)
}
