package console_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/ninsho/ninsho/internal/console"
	"github.com/ninsho/ninsho/internal/event"
	"github.com/ninsho/ninsho/internal/flowtest"
	"github.com/ninsho/ninsho/internal/i18n"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/oauthclient"
	"github.com/ninsho/ninsho/internal/secret"
	"github.com/ninsho/ninsho/internal/staff"
)

// withClients gives e's console the clients page, as internal/cli wires
// it, the service's events recorded.
func withClients(t *testing.T, e *env) (*oauthclient.Service, *recorder) {
	t.Helper()
	hasher, err := secret.NewHasher([]byte("console-test-client-hash-key-0123456789"))
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{Store: e.DB}
	cs := &oauthclient.Service{Store: e.DB, Tx: e.DB, Events: rec, Hasher: hasher, Clock: e.Clock, Random: e.Kit.Random,
		KnownRealm: func(id string) bool { return e.Realms.ByID(id) != nil }}
	c, err := console.New(console.Deps{Staff: e.Staff, Desk: e.Desk, Realms: e.Realms, Clients: cs, Now: e.Clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	e.Console = c
	return cs, rec
}

func webClientForm() url.Values {
	return url.Values{"realm": {"jp"}, "name": {"Shop web"}, "kind": {"confidential"}, "auth_method": {""},
		"redirect_uris": {"https://shop.example.jp/callback\r\n\r\n  https://shop.example.jp/cb2  \r\n"},
		"first_party":   {"1"}, "without_two_step": {"enrol"}}
}

// TestClientsPageRoles: only admins see the clients page; agents and
// reviewers get 403 for every address of it and change nothing, and the
// navigation links it for admins only.
func TestClientsPageRoles(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, fe *flowtest.Env) {
		e := newEnv(t, fe)
		cs, _ := withClients(t, e)
		admin, akey := mustStaff(t, e, "admin@example.jp", staff.RoleAdmin)
		_, gkey := mustStaff(t, e, "agent@example.jp", staff.RoleAgent)
		_, rkey := mustStaff(t, e, "reviewer@example.jp", staff.RoleReviewer)
		ctx := context.Background()
		cl, _, err := cs.CreateAs(ctx, &staff.Principal{Staff: admin}, ninsho.Request{}, oauthclient.New{Realm: "jp", Name: "Shop",
			Kind: oauthclient.Public, RedirectURIs: []string{"jp.example.shop:/cb"}})
		if err != nil {
			t.Fatal(err)
		}
		for _, who := range []struct{ email, key string }{{"agent@example.jp", gkey}, {"reviewer@example.jp", rkey}} {
			b := signIn(t, e, who.email, who.key)
			if w := b.do("GET", "/console", nil); strings.Contains(w.Body.String(), `href="/console/clients"`) {
				t.Errorf("%s: the navigation links the clients page", who.email)
			}
			for _, req := range []struct {
				method, path string
				form         url.Values
			}{
				{"GET", "/console/clients", nil},
				{"POST", "/console/clients", webClientForm()},
				{"GET", "/console/clients/jp/" + cl.ID, nil},
				{"POST", "/console/clients/jp/" + cl.ID + "/delete", url.Values{"reason": {"x"}, "confirm": {"1"}}},
			} {
				if w := b.do(req.method, req.path, req.form); w.Code != http.StatusForbidden {
					t.Errorf("%s %s %s: %d, want 403", who.email, req.method, req.path, w.Code)
				}
			}
		}
		if list, err := cs.List(ctx, "jp"); err != nil || len(list) != 1 {
			t.Errorf("after refused requests: %d clients (%v), want the one made", len(list), err)
		}
		if _, _, err := cs.CreateAs(ctx, &staff.Principal{Staff: &staff.Staff{ID: "x", Role: staff.RoleAgent}}, ninsho.Request{}, oauthclient.New{}); !ninsho.IsCode(err, ninsho.CodeForbidden) {
			t.Errorf("CreateAs by an agent: %v, want forbidden", err)
		}
		b := signIn(t, e, "admin@example.jp", akey)
		if w := b.do("GET", "/console", nil); !strings.Contains(w.Body.String(), `href="/console/clients"`) {
			t.Errorf("admin: the navigation does not link the clients page")
		}
		if w := b.do("GET", "/console/clients", nil); w.Code != 200 || !strings.Contains(w.Body.String(), cl.ID) {
			t.Errorf("admin GET /console/clients: %d, want 200 listing %s", w.Code, cl.ID)
		}
	})
}

// TestClientsCreateAndDelete: an admin registers clients with the command
// line's rules, sees the secret once, lists them per site, and deletes one
// with a written reason and a confirmation, each an event with the staff
// member as actor.
func TestClientsCreateAndDelete(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, fe *flowtest.Env) {
		e := newEnv(t, fe)
		cs, rec := withClients(t, e)
		admin, key := mustStaff(t, e, "admin@example.jp", staff.RoleAdmin)
		b := signIn(t, e, "admin@example.jp", key)
		b.h = withRequestID(e.Console, "req-clients-1")
		ctx := context.Background()

		w := b.do("GET", "/console/clients", nil)
		if w.Code != 200 || !strings.Contains(w.Body.String(), html.EscapeString(i18n.Message("en", "console.clients.none", nil))) {
			t.Fatalf("empty list: %d\n%s", w.Code, w.Body.String())
		}

		// A confidential client with client_secret_basic: the secret once.
		w = b.do("POST", "/console/clients", webClientForm())
		body := w.Body.String()
		if w.Code != 200 {
			t.Fatalf("create: %d\n%s", w.Code, body)
		}
		id := regexp.MustCompile(`data-client-id>(c_[a-z2-7]{20})<`).FindStringSubmatch(body)
		sec := regexp.MustCompile(`data-secret>([A-Za-z0-9_-]{43})<`).FindStringSubmatch(body)
		if id == nil || sec == nil || !strings.Contains(body, html.EscapeString(i18n.Message("en", "console.clients.secret.warning", nil))) {
			t.Fatalf("create page: want the client id, the secret and the warning\n%s", body)
		}
		got, err := cs.Authenticate(ctx, "jp", id[1], sec[1])
		if err != nil || !got.FirstParty || got.AuthMethod != oauthclient.AuthSecretBasic || len(got.RedirectURIs) != 2 ||
			got.RedirectURIs[1] != "https://shop.example.jp/cb2" {
			t.Fatalf("the registered client: %+v %v, want the form's fields, the lines trimmed", got, err)
		}
		if w := b.do("GET", "/console/clients/jp/"+id[1], nil); w.Code != 200 || strings.Contains(w.Body.String(), sec[1]) {
			t.Errorf("client page: %d; it must never show the secret again", w.Code)
		}
		created := rec.of(event.TypeOAuthClientCreated)
		if len(created) != 1 || created[0].Actor != "staff:"+admin.ID || created[0].Data["staff"] != admin.ID ||
			created[0].IP != "192.0.2.44" || created[0].RequestID != "req-clients-1" || created[0].Realm != "jp" {
			t.Fatalf("created events: %+v, want one by staff:%s with the address and request id", created, admin.ID)
		}
		for k, v := range created[0].Data {
			if s, ok := v.(string); ok && strings.Contains(s, sec[1]) {
				t.Errorf("the event's %s holds the secret", k)
			}
		}

		// A public client in the other site: no secret.
		w = b.do("POST", "/console/clients", url.Values{"realm": {"safe"}, "name": {"Shop app"}, "kind": {"public"},
			"redirect_uris": {"jp.example.shop:/callback"}, "without_two_step": {"refuse"}})
		if w.Code != 200 || strings.Contains(w.Body.String(), "data-secret") {
			t.Fatalf("public client: %d, want 200 without a secret\n%s", w.Code, w.Body.String())
		}
		pub := regexp.MustCompile(`data-client-id>(c_[a-z2-7]{20})<`).FindStringSubmatch(w.Body.String())
		if pub == nil {
			t.Fatal("public client: no client id shown")
		}

		// The list: every site, or one.
		all := b.do("GET", "/console/clients", nil).Body.String()
		jp := b.do("GET", "/console/clients?realm=jp", nil).Body.String()
		if !strings.Contains(all, id[1]) || !strings.Contains(all, pub[1]) || !strings.Contains(all, "https://shop.example.jp/cb2") ||
			!strings.Contains(all, "client_secret_basic") {
			t.Errorf("every site: want both clients with their redirect URIs and methods")
		}
		if !strings.Contains(jp, id[1]) || strings.Contains(jp, pub[1]) {
			t.Errorf("site jp: want only its client")
		}

		// Deleting needs the reason and the confirmation, both told at once.
		w = b.do("POST", "/console/clients/jp/"+id[1]+"/delete", url.Values{"reason": {"  "}})
		body = w.Body.String()
		for _, key := range []string{"console.clients.required.reason", "console.clients.required.confirm"} {
			if !strings.Contains(body, html.EscapeString(i18n.Message("en", key, nil))) {
				t.Errorf("delete without reason and confirmation: the page lacks %s", key)
			}
		}
		if w.Code != 400 || !strings.Contains(body, `id="reason-error"`) || !strings.Contains(body, `id="confirm-error"`) {
			t.Errorf("delete without reason and confirmation: %d, want 400 with each field's message", w.Code)
		}
		w = b.do("POST", "/console/clients/jp/"+id[1]+"/delete", url.Values{"reason": {strings.Repeat("x", oauthclient.MaxReason+1)}, "confirm": {"1"}})
		if w.Code != 400 {
			t.Errorf("a reason too long: %d, want 400", w.Code)
		}
		if _, err := cs.Get(ctx, "jp", id[1]); err != nil {
			t.Fatalf("refused deletions deleted the client: %v", err)
		}
		w = b.do("POST", "/console/clients/jp/"+id[1]+"/delete", url.Values{"reason": {" The shop closed its old web app. "}, "confirm": {"1"}})
		if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/console/clients?done=deleted" {
			t.Fatalf("delete: %d %s\n%s", w.Code, w.Header().Get("Location"), w.Body.String())
		}
		if _, err := cs.Get(ctx, "jp", id[1]); !ninsho.IsCode(err, ninsho.CodeNotFound) {
			t.Errorf("after delete: %v, want not_found", err)
		}
		deleted := rec.of(event.TypeOAuthClientDeleted)
		if len(deleted) != 1 || deleted[0].Actor != "staff:"+admin.ID || deleted[0].Data["reason"] != "The shop closed its old web app." ||
			deleted[0].Data["staff"] != admin.ID || deleted[0].Data["client_id"] != id[1] || deleted[0].RequestID != "req-clients-1" {
			t.Errorf("deleted events: %+v, want one by staff:%s with the trimmed reason", deleted, admin.ID)
		}
		if w := b.do("GET", "/console/clients?done=deleted", nil); !strings.Contains(w.Body.String(), html.EscapeString(i18n.Message("en", "console.clients.deleted", nil))) {
			t.Errorf("after delete: no notice")
		}
		for _, path := range []string{"/console/clients/jp/" + id[1], "/console/clients/jp/" + pub[1]} {
			if w := b.do("GET", path, nil); w.Code != http.StatusNotFound {
				t.Errorf("GET %s: %d, want 404", path, w.Code)
			}
		}
		if w := b.do("POST", "/console/clients/jp/"+id[1]+"/delete", url.Values{"reason": {"again"}, "confirm": {"1"}}); w.Code != http.StatusNotFound {
			t.Errorf("delete of a deleted client: %d, want 404", w.Code)
		}
	})
}

// TestClientsCreateRefusals: a refused registration shows the form again
// with what was typed and every refused field's message in the staff
// member's language, at the field and linked from the summary.
func TestClientsCreateRefusals(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, fe *flowtest.Env) {
		e := newEnv(t, fe)
		cs, rec := withClients(t, e)
		_, key := mustStaff(t, e, "admin@example.jp", staff.RoleAdmin)
		for _, lang := range []string{"en", "ja"} {
			b := signIn(t, e, "admin@example.jp", key)
			b.lang = lang
			form := url.Values{"realm": {"nowhere"}, "name": {""}, "kind": {"confidential"}, "auth_method": {"none"},
				"redirect_uris": {"http://shop.example.jp/cb\nhttps://shop.example.jp/a#b"}, "jwks": {`{"keys":[]}`},
				"frontchannel_logout_uri": {"https://elsewhere.example.jp/fc"}}
			w := b.do("POST", "/console/clients", form)
			body := w.Body.String()
			if w.Code != 400 {
				t.Fatalf("%s: %d, want 400\n%s", lang, w.Code, body)
			}
			want := []string{
				i18n.Message(lang, "console.clients.reason.unknown", nil),
				i18n.Message(lang, "console.clients.required.name", nil),
				i18n.Message(lang, "console.clients.reason.auth_method_for_kind", nil),
				i18n.Message(lang, "console.clients.reason.jwks_not_used", nil),
				i18n.Message(lang, "console.clients.reason.https_required", map[string]any{"value": "http://shop.example.jp/cb"}),
				i18n.Message(lang, "console.clients.reason.fragment", map[string]any{"value": "https://shop.example.jp/a#b"}),
				i18n.Message(lang, "console.clients.reason.not_redirect_origin", map[string]any{"value": "https://elsewhere.example.jp/fc"}),
			}
			for _, m := range want {
				if !strings.Contains(body, html.EscapeString(m)) {
					t.Errorf("%s: the page lacks %q", lang, m)
				}
			}
			for _, f := range []string{"realm", "name", "auth_method", "jwks", "redirect_uris", "frontchannel_logout_uri"} {
				if !strings.Contains(body, `href="#`+f+`"`) || !strings.Contains(body, `id="`+f+`-error"`) || !strings.Contains(body, `id="`+f+`"`) {
					t.Errorf("%s: field %s: want a summary link, the field and its message", lang, f)
				}
			}
			if !strings.Contains(body, "https://elsewhere.example.jp/fc") {
				t.Errorf("%s: the form lost what was typed", lang)
			}
		}
		if list, _ := cs.List(context.Background(), "jp"); len(list) != 0 || len(rec.of(event.TypeOAuthClientCreated)) != 0 {
			t.Errorf("refused registrations made %d clients", len(list))
		}
	})
}
