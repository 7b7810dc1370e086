package cli_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// muxRoutes reads the patterns the JSON API (internal/api) and the hosted
// pages (internal/web) register on their ServeMux — every h.mux.Handle and
// h.mux.HandleFunc call of their non-test files — with the string constants
// of internal/api, internal/web, internal/web/webreq and internal/contact
// resolved, and a range over a map literal expanded to each key.
func muxRoutes(tb testing.TB) []string {
	tb.Helper()
	fset := token.NewFileSet()
	consts := map[string]ast.Expr{} // "pkg.Name"
	files := map[string][]*ast.File{}
	for _, dir := range []string{"../api", "../web", "../web/webreq", "../contact"} {
		names, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			tb.Fatal(err)
		}
		for _, name := range names {
			if strings.HasSuffix(name, "_test.go") {
				continue
			}
			src, err := os.ReadFile(name)
			if err != nil {
				tb.Fatal(err)
			}
			f, err := parser.ParseFile(fset, name, src, 0)
			if err != nil {
				tb.Fatal(err)
			}
			pkg := f.Name.Name
			files[pkg] = append(files[pkg], f)
			for _, d := range f.Decls {
				gd, ok := d.(*ast.GenDecl)
				if !ok || gd.Tok != token.CONST {
					continue
				}
				for _, s := range gd.Specs {
					vs := s.(*ast.ValueSpec)
					for i, n := range vs.Names {
						if i < len(vs.Values) {
							consts[pkg+"."+n.Name] = vs.Values[i]
						}
					}
				}
			}
		}
	}
	var eval func(pkg string, e ast.Expr, bound map[string][]ast.Expr) []string
	eval = func(pkg string, e ast.Expr, bound map[string][]ast.Expr) []string {
		switch e := e.(type) {
		case *ast.BasicLit:
			if s, err := strconv.Unquote(e.Value); err == nil {
				return []string{s}
			}
		case *ast.ParenExpr:
			return eval(pkg, e.X, bound)
		case *ast.BinaryExpr:
			if e.Op == token.ADD {
				var out []string
				for _, l := range eval(pkg, e.X, bound) {
					for _, r := range eval(pkg, e.Y, bound) {
						out = append(out, l+r)
					}
				}
				return out
			}
		case *ast.Ident:
			if vs, ok := bound[e.Name]; ok {
				var out []string
				for _, v := range vs {
					out = append(out, eval(pkg, v, nil)...)
				}
				return out
			}
			if v, ok := consts[pkg+"."+e.Name]; ok {
				return eval(pkg, v, nil)
			}
		case *ast.SelectorExpr:
			if x, ok := e.X.(*ast.Ident); ok {
				if v, ok := consts[x.Name+"."+e.Sel.Name]; ok {
					return eval(x.Name, v, nil)
				}
			}
		}
		tb.Fatalf("muxRoutes: cannot resolve the pattern %s", fset.Position(e.Pos()))
		return nil
	}
	var routes []string
	for _, pkg := range []string{"api", "web"} {
		for _, f := range files[pkg] {
			bound := map[string][]ast.Expr{}
			ast.Inspect(f, func(n ast.Node) bool {
				if rs, ok := n.(*ast.RangeStmt); ok {
					if key, ok := rs.Key.(*ast.Ident); ok {
						if cl, ok := rs.X.(*ast.CompositeLit); ok {
							for _, el := range cl.Elts {
								if kv, ok := el.(*ast.KeyValueExpr); ok {
									bound[key.Name] = append(bound[key.Name], kv.Key)
								}
							}
						}
					}
				}
				call, ok := n.(*ast.CallExpr)
				if !ok || len(call.Args) == 0 {
					return true
				}
				sel, ok := call.Fun.(*ast.SelectorExpr)
				if !ok || (sel.Sel.Name != "Handle" && sel.Sel.Name != "HandleFunc") {
					return true
				}
				if mux, ok := sel.X.(*ast.SelectorExpr); !ok || mux.Sel.Name != "mux" {
					return true
				}
				routes = append(routes, eval(pkg, call.Args[0], bound)...)
				return true
			})
		}
	}
	slices.Sort(routes)
	return slices.Compact(routes)
}

// What a route takes that one realm hands out, and so how the isolation
// tests show that another realm refuses it.
type isoKind int

const (
	// isoSession: the session token (Authorization: Bearer) of /api/v1;
	// another realm's answers 401 unauthenticated.
	isoSession isoKind = iota + 1
	// isoPage: a hosted page that needs the ninsho_session cookie; another
	// realm's cookie is answered exactly as no cookie.
	isoPage
	// isoFlow: a flow id (and, for pages, the flow's binding cookie);
	// another realm's flow is answered as an unknown one.
	isoFlow
	// isoLink: a link token of a message; another realm's is answered as
	// an unknown one.
	isoLink
	// isoCaptcha: a CAPTCHA challenge's media; another realm's is 404.
	isoCaptcha
	// isoStart: takes nothing a realm handed out but an identifier and a
	// device token (TestRealmIsolation: the same address is two accounts,
	// the device token is new in the other realm).
	isoStart
	// isoPublic: serves what no realm hands out (static files, the realm's
	// own brand, the help page).
	isoPublic
)

// isoRoute is one route of the API or the pages with what it takes. For
// isoSession and isoPage routes, path and body are the request an attacker
// at the other realm sends — {session}, {device}, {trusted}, {method},
// {history} stand for the attacked account's real ids — and homePath and
// homeBody, when set, the harmless request at the realm that issued the
// session (the pairing only shows that the session is good there).
type isoRoute struct {
	pattern  string
	kind     isoKind
	path     string
	body     any
	homePath string
	homeBody any
	skipHome bool // the home request would end the session; paired apart
}

// isoRoutes classifies every route of internal/api and internal/web
// (TestIsolationRoutesComplete keeps it whole).
var isoRoutes = []isoRoute{
	// JSON API: the session token.
	{pattern: "GET /api/v1/me", kind: isoSession},
	{pattern: "PATCH /api/v1/me", kind: isoSession, body: map[string]any{"name": "Mallory"}, homeBody: map[string]any{"name": "Hanako"}},
	{pattern: "POST /api/v1/signout", kind: isoSession, skipHome: true},
	{pattern: "GET /api/v1/me/apps", kind: isoSession},
	{pattern: "DELETE /api/v1/me/apps/{client_id}", kind: isoSession, path: "/api/v1/me/apps/shop"},
	{pattern: "GET /api/v1/me/close", kind: isoSession},
	{pattern: "POST /api/v1/me/close", kind: isoSession, body: map[string]any{"confirm": true}, homeBody: map[string]any{"confirm": false}},
	{pattern: "POST /api/v1/me/email", kind: isoSession, body: map[string]any{"email": "mallory@example.com"}, homeBody: map[string]any{"email": "not an address"}},
	{pattern: "POST /api/v1/me/phone", kind: isoSession, body: map[string]any{"phone": "+819012345678"}, homeBody: map[string]any{"phone": "not a number"}},
	{pattern: "DELETE /api/v1/me/email", kind: isoSession}, // at home: identifier_last
	{pattern: "DELETE /api/v1/me/phone", kind: isoSession}, // at home: none to remove
	{pattern: "POST /api/v1/me/password", kind: isoSession,
		body:     map[string]any{"current_password": "kumo-no-ue-42", "password": "mallory-was-here-9", "password_confirmation": "mallory-was-here-9"},
		homeBody: map[string]any{"current_password": "kumo-no-ue-42", "password": "mallory-was-here-9", "password_confirmation": "another-one-entirely"}},
	{pattern: "GET /api/v1/me/sessions", kind: isoSession},
	{pattern: "DELETE /api/v1/me/sessions", kind: isoSession},
	{pattern: "DELETE /api/v1/me/sessions/{id}", kind: isoSession, path: "/api/v1/me/sessions/{session}", homePath: "/api/v1/me/sessions/{bogus}"},
	{pattern: "GET /api/v1/me/devices", kind: isoSession},
	{pattern: "DELETE /api/v1/me/devices/{id}", kind: isoSession, path: "/api/v1/me/devices/{device}", homePath: "/api/v1/me/devices/{bogus}"},
	{pattern: "GET /api/v1/me/history", kind: isoSession},
	{pattern: "POST /api/v1/me/history/{id}/not-me", kind: isoSession, path: "/api/v1/me/history/{history}/not-me", homePath: "/api/v1/me/history/{bogus}/not-me"},
	{pattern: "GET /api/v1/me/trusted-devices", kind: isoSession},
	{pattern: "DELETE /api/v1/me/trusted-devices", kind: isoSession},
	{pattern: "DELETE /api/v1/me/trusted-devices/{id}", kind: isoSession, path: "/api/v1/me/trusted-devices/{trusted}", homePath: "/api/v1/me/trusted-devices/{bogus}"},
	{pattern: "GET /api/v1/me/two-step", kind: isoSession},
	{pattern: "DELETE /api/v1/me/two-step", kind: isoSession, homePath: "/api/v1/me/two-step/methods/{bogus}"},
	{pattern: "POST /api/v1/me/two-step/totp", kind: isoSession, body: map[string]any{"label": "mallory"}},
	{pattern: "POST /api/v1/me/two-step/totp/{id}/verify", kind: isoSession, path: "/api/v1/me/two-step/totp/{method}/verify", body: map[string]any{"code": "123456"}, homePath: "/api/v1/me/two-step/totp/{bogus}/verify"},
	{pattern: "POST /api/v1/me/two-step/backup-codes", kind: isoSession},
	{pattern: "PUT /api/v1/me/two-step/preferred", kind: isoSession, body: map[string]any{"credential_id": "{method}"}},
	{pattern: "DELETE /api/v1/me/two-step/methods/{id}", kind: isoSession, path: "/api/v1/me/two-step/methods/{method}", homePath: "/api/v1/me/two-step/methods/{bogus}"},
	{pattern: "POST /api/v1/me/two-step/phone", kind: isoSession, body: map[string]any{"phone": "+819012345678", "method": "sms"}, homeBody: map[string]any{"phone": "not a number", "method": "sms"}},
	{pattern: "POST /api/v1/me/two-step/phone/{id}/verify", kind: isoSession, path: "/api/v1/me/two-step/phone/{method}/verify", body: map[string]any{"code": "123456"}, homePath: "/api/v1/me/two-step/phone/{bogus}/verify"},
	{pattern: "POST /api/v1/me/two-step/phone/{id}/resend", kind: isoSession, path: "/api/v1/me/two-step/phone/{method}/resend", homePath: "/api/v1/me/two-step/phone/{bogus}/resend"},
	{pattern: "GET /api/v1/me/two-step/passkeys", kind: isoSession},
	// At home 409 passkey_unavailable: jp's host, 127.0.0.1, can be no
	// WebAuthn relying party.
	{pattern: "POST /api/v1/me/two-step/passkeys", kind: isoSession, body: map[string]any{"label": "mallory"}},
	{pattern: "POST /api/v1/me/two-step/passkeys/{id}", kind: isoSession, path: "/api/v1/me/two-step/passkeys/{method}", body: map[string]any{"credential": map[string]any{}, "label": "mallory"}, homePath: "/api/v1/me/two-step/passkeys/{bogus}"},
	{pattern: "POST /api/v1/reauth", kind: isoSession, body: map[string]any{"password": "kumo-no-ue-42"}},
	// Organisations (isolation_orgs_test.go): at home harmless — an
	// invalid body, the last owner refused, another realm's id unknown.
	{pattern: "GET /api/v1/orgs", kind: isoSession},
	{pattern: "POST /api/v1/orgs", kind: isoSession, body: map[string]any{"name": "Mallory Shop", "kind": "seller"}, homeBody: map[string]any{"name": "Hanako Shop", "kind": "nope"}},
	{pattern: "GET /api/v1/orgs/{id}", kind: isoSession, path: "/api/v1/orgs/{org}"},
	{pattern: "POST /api/v1/orgs/{id}/invitations", kind: isoSession, path: "/api/v1/orgs/{org}/invitations", body: map[string]any{"email": "mallory@example.com"}, homeBody: map[string]any{"email": "not an address"}},
	{pattern: "DELETE /api/v1/orgs/{id}/invitations/{invitation}", kind: isoSession, path: "/api/v1/orgs/{org}/invitations/{invitation}", homePath: "/api/v1/orgs/{org}/invitations/{bogus}"},
	{pattern: "POST /api/v1/orgs/invitations/accept", kind: isoSession, body: map[string]any{"token": "not-a-token"}},
	{pattern: "PATCH /api/v1/orgs/{id}/members/{account}", kind: isoSession, path: "/api/v1/orgs/{org}/members/{account}", body: map[string]any{"role": "member"}, homePath: "/api/v1/orgs/{org}/members/{bogus}"},
	{pattern: "DELETE /api/v1/orgs/{id}/members/{account}", kind: isoSession, path: "/api/v1/orgs/{org}/members/{account}", homePath: "/api/v1/orgs/{org}/members/{bogus}"},
	{pattern: "POST /api/v1/orgs/{id}/leave", kind: isoSession, path: "/api/v1/orgs/{org}/leave"},
	{pattern: "POST /api/v1/orgs/{id}/transfer", kind: isoSession, path: "/api/v1/orgs/{org}/transfer", body: map[string]any{"account_id": "{account}"}},
	{pattern: "PUT /api/v1/orgs/{id}/policy", kind: isoSession, path: "/api/v1/orgs/{org}/policy", body: map[string]any{"require_two_step": true}, homeBody: map[string]any{"methods": []string{"nope"}}},
	{pattern: "POST /api/v1/orgs/approval/lookup", kind: isoLink},
	{pattern: "POST /api/v1/orgs/approval", kind: isoLink},

	// JSON API: flows, links, CAPTCHA, starts.
	{pattern: "GET /api/v1/flows/{id}", kind: isoFlow},
	{pattern: "POST /api/v1/flows/{id}", kind: isoFlow},
	{pattern: "PUT /api/v1/recovery/{id}/documents/{slot}", kind: isoFlow},
	{pattern: "POST /api/v1/not-me", kind: isoLink},
	{pattern: "POST /api/v1/contact-undo", kind: isoLink},
	{pattern: "POST /api/v1/recovery/cancel", kind: isoLink},
	{pattern: "GET /api/v1/captcha/{file}", kind: isoCaptcha},
	{pattern: "POST /api/v1/signup", kind: isoStart},
	{pattern: "POST /api/v1/signin", kind: isoStart},
	{pattern: "POST /api/v1/signin/passkey", kind: isoStart},
	{pattern: "POST /api/v1/unlock", kind: isoStart},
	{pattern: "POST /api/v1/password-assistant", kind: isoStart},
	{pattern: "POST /api/v1/recovery", kind: isoStart},
	{pattern: "POST /api/v1/support-requests", kind: isoStart},

	// Hosted pages with the session cookie.
	{pattern: "GET /account", kind: isoPage},
	{pattern: "GET /account/orgs", kind: isoPage},
	{pattern: "POST /account/orgs", kind: isoPage},
	{pattern: "GET /account/orgs/{id}", kind: isoPage, path: "/account/orgs/{org}"},
	{pattern: "POST /account/orgs/{id}", kind: isoPage, path: "/account/orgs/{org}"},
	{pattern: "POST /signout", kind: isoPage, skipHome: true},
	{pattern: "GET /account/profile", kind: isoPage},
	{pattern: "POST /account/profile", kind: isoPage},
	{pattern: "GET /account/password", kind: isoPage},
	{pattern: "POST /account/password", kind: isoPage},
	{pattern: "GET /account/email", kind: isoPage},
	{pattern: "POST /account/email", kind: isoPage},
	{pattern: "GET /account/phone", kind: isoPage},
	{pattern: "POST /account/phone", kind: isoPage},
	{pattern: "GET /account/email/remove", kind: isoPage},
	{pattern: "POST /account/email/remove", kind: isoPage, homePath: "/account/phone/remove"},
	{pattern: "GET /account/phone/remove", kind: isoPage},
	{pattern: "POST /account/phone/remove", kind: isoPage},
	{pattern: "GET /account/contact/code", kind: isoPage},
	{pattern: "POST /account/contact/code", kind: isoPage},
	{pattern: "GET /account/two-step", kind: isoPage},
	{pattern: "POST /account/two-step/preferred", kind: isoPage},
	{pattern: "POST /account/two-step/remove", kind: isoPage},
	{pattern: "POST /account/two-step/off", kind: isoPage, homePath: "/account/two-step/remove"},
	{pattern: "POST /account/two-step/backup-codes", kind: isoPage},
	{pattern: "GET /account/two-step/totp", kind: isoPage},
	{pattern: "POST /account/two-step/totp", kind: isoPage},
	{pattern: "POST /account/two-step/totp/verify", kind: isoPage},
	{pattern: "GET /account/two-step/phone", kind: isoPage},
	{pattern: "POST /account/two-step/phone", kind: isoPage},
	{pattern: "GET /account/two-step/phone/{id}", kind: isoPage, path: "/account/two-step/phone/{method}", homePath: "/account/two-step/phone/{bogus}"},
	{pattern: "POST /account/two-step/phone/{id}", kind: isoPage, path: "/account/two-step/phone/{method}", homePath: "/account/two-step/phone/{bogus}"},
	{pattern: "GET /account/two-step/passkeys", kind: isoPage},
	{pattern: "GET /account/passkey-offer", kind: isoPage},
	{pattern: "POST /account/passkey-offer", kind: isoPage},
	{pattern: "GET /account/trusted-devices", kind: isoPage},
	{pattern: "POST /account/trusted-devices", kind: isoPage},
	{pattern: "GET /account/sessions", kind: isoPage},
	{pattern: "POST /account/sessions", kind: isoPage},
	{pattern: "GET /account/history/{id}/not-me", kind: isoPage, path: "/account/history/{history}/not-me", homePath: "/account/history/{bogus}/not-me"},
	{pattern: "POST /account/history/{id}/not-me", kind: isoPage, path: "/account/history/{history}/not-me", homePath: "/account/history/{bogus}/not-me"},
	{pattern: "GET /account/apps", kind: isoPage},
	{pattern: "POST /account/apps", kind: isoPage},
	{pattern: "GET /account/close", kind: isoPage},
	{pattern: "POST /account/close", kind: isoPage},
	{pattern: "GET /reauth", kind: isoPage},
	{pattern: "POST /reauth", kind: isoPage},
	{pattern: "GET /oauth/v2/consent", kind: isoPage},
	{pattern: "POST /oauth/v2/consent", kind: isoPage},

	// Hosted pages of a flow (?flow= and its ninsho_flow_<id> cookie).
	{pattern: "GET /signin", kind: isoFlow},
	{pattern: "POST /signin", kind: isoFlow},
	{pattern: "GET /verify", kind: isoFlow},
	{pattern: "POST /verify", kind: isoFlow},
	{pattern: "GET /two-step", kind: isoFlow},
	{pattern: "POST /two-step", kind: isoFlow},
	{pattern: "GET /two-step/enrol", kind: isoFlow},
	{pattern: "POST /two-step/enrol", kind: isoFlow},
	{pattern: "GET /signup", kind: isoFlow},
	{pattern: "POST /signup", kind: isoFlow},
	{pattern: "GET /unlock", kind: isoFlow},
	{pattern: "POST /unlock", kind: isoFlow},
	{pattern: "GET /unlock/password", kind: isoFlow},
	{pattern: "POST /unlock/password", kind: isoFlow},
	{pattern: "GET /password-assistant", kind: isoFlow},
	{pattern: "POST /password-assistant", kind: isoFlow},
	{pattern: "GET /password-assistant/choose", kind: isoFlow},
	{pattern: "POST /password-assistant/choose", kind: isoFlow},
	{pattern: "GET /signin/reopen", kind: isoFlow},
	{pattern: "POST /signin/reopen", kind: isoFlow},
	{pattern: "GET /recovery", kind: isoFlow},
	{pattern: "POST /recovery", kind: isoFlow},
	{pattern: "POST /recovery/documents", kind: isoFlow},
	{pattern: "GET /help/request", kind: isoFlow},
	{pattern: "POST /help/request", kind: isoFlow},

	// Hosted pages of a link.
	{pattern: "GET /signin/not-me", kind: isoLink},
	{pattern: "GET /orgs/invitation", kind: isoLink},
	{pattern: "POST /orgs/invitation", kind: isoLink},
	{pattern: "GET /orgs/approval", kind: isoLink},
	{pattern: "POST /orgs/approval", kind: isoLink},
	{pattern: "GET /n/{token}", kind: isoLink},
	{pattern: "POST /signin/not-me", kind: isoLink},
	{pattern: "GET /account/contact-undo", kind: isoLink},
	{pattern: "GET /c/{token}", kind: isoLink},
	{pattern: "POST /account/contact-undo", kind: isoLink},
	{pattern: "GET /recovery/cancel", kind: isoLink},
	{pattern: "POST /recovery/cancel", kind: isoLink},

	// Nothing a realm hands out.
	{pattern: "GET /{$}", kind: isoPublic},
	{pattern: "GET /static/", kind: isoPublic},
	{pattern: "GET /favicon.ico", kind: isoPublic},
	{pattern: "GET /brand/theme.css", kind: isoPublic},
	{pattern: "GET /brand/custom.css", kind: isoPublic},
	{pattern: "GET /brand/logo", kind: isoPublic},
	{pattern: "GET /help", kind: isoPublic},
	{pattern: "GET /help/request/done", kind: isoPublic},
}

// TestIsolationRoutesComplete: isoRoutes names every route the JSON API and
// the hosted pages register, and no other, so a new route fails here until
// it is classified (and, for a session route, attacked across realms by
// TestRealmIsolation).
func TestIsolationRoutesComplete(t *testing.T) {
	inTable := map[string]bool{}
	for _, r := range isoRoutes {
		if inTable[r.pattern] {
			t.Errorf("isoRoutes lists %q twice", r.pattern)
		}
		inTable[r.pattern] = true
	}
	mux := muxRoutes(t)
	for _, p := range mux {
		if !inTable[p] {
			t.Errorf("the route %q is not in isoRoutes: classify it (what of a realm does it take?) and show another realm refuses it", p)
		}
		delete(inTable, p)
	}
	for p := range inTable {
		t.Errorf("isoRoutes lists %q, which no mux registers", p)
	}
	if len(mux) < 100 {
		t.Errorf("found only %d routes: the scan of internal/api and internal/web missed some", len(mux))
	}
}
