package console_test

import (
	"context"
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/ninsho/ninsho/internal/config"
	"github.com/ninsho/ninsho/internal/console"
	"github.com/ninsho/ninsho/internal/flowtest"
	"github.com/ninsho/ninsho/internal/i18n"
	"github.com/ninsho/ninsho/internal/realmset"
	"github.com/ninsho/ninsho/internal/staff"
)

// withRealms gives e's console the realms page, as internal/cli wires it,
// on a configuration of e's realms (seeded), the service's events recorded.
func withRealms(t *testing.T, e *env) (*realmset.Service, *recorder, *int) {
	t.Helper()
	cfg := config.Default()
	cfg.Realms = nil
	for _, rl := range e.Realms.All() {
		cfg.Realms = append(cfg.Realms, config.Realm{ID: rl.ID, Name: rl.Name, Hosts: rl.Hosts, DefaultLocale: rl.DefaultLocale,
			PhoneRegion: rl.PhoneRegion, IdentifierDisclosure: string(rl.Disclosure)})
	}
	rec := &recorder{Store: e.DB}
	rs := &realmset.Service{Store: e.DB, Tx: e.DB, Events: rec, Clock: e.Clock, Random: e.Kit.Random, Config: cfg}
	if _, err := rs.Seed(context.Background()); err != nil {
		t.Fatal(err)
	}
	refreshed := new(int)
	c, err := console.New(console.Deps{Staff: e.Staff, Desk: e.Desk, Realms: e.Realms, RealmSettings: rs, Now: e.Clock.Now,
		RealmsChanged: func(context.Context) bool { *refreshed++; return true }})
	if err != nil {
		t.Fatal(err)
	}
	e.Console = c
	return rs, rec, refreshed
}

// TestRealmsPage: only admins see the realms page (403 for agents and
// reviewers, no link); an admin lists the realms, edits one's document
// (saved with an event naming the keys and the staff member, this
// instance told at once), sees a refused document again with its problems
// in the page's language, is refused a change made meanwhile, and creates
// a realm.
func TestRealmsPage(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, fe *flowtest.Env) {
		e := newEnv(t, fe)
		rs, rec, refreshed := withRealms(t, e)
		admin, akey := mustStaff(t, e, "admin@example.jp", staff.RoleAdmin)
		_, gkey := mustStaff(t, e, "agent@example.jp", staff.RoleAgent)
		_, rkey := mustStaff(t, e, "reviewer@example.jp", staff.RoleReviewer)
		ctx := context.Background()
		first := e.Realms.All()[0].ID
		for _, who := range []struct{ email, key string }{{"agent@example.jp", gkey}, {"reviewer@example.jp", rkey}} {
			b := signIn(t, e, who.email, who.key)
			if w := b.do("GET", "/console", nil); strings.Contains(w.Body.String(), `href="/console/realms"`) {
				t.Errorf("%s: the navigation links the realms page", who.email)
			}
			for _, req := range []struct {
				method, path string
				form         url.Values
			}{
				{"GET", "/console/realms", nil},
				{"POST", "/console/realms", url.Values{"id": {"kr"}, "settings": {`{}`}}},
				{"GET", "/console/realms/" + first, nil},
				{"POST", "/console/realms/" + first, url.Values{"settings": {`{"name":"x"}`}, "revision": {"1"}}},
			} {
				if w := b.do(req.method, req.path, req.form); w.Code != http.StatusForbidden {
					t.Errorf("%s %s %s: %d, want 403", who.email, req.method, req.path, w.Code)
				}
			}
		}
		b := signIn(t, e, "admin@example.jp", akey)
		if w := b.do("GET", "/console", nil); !strings.Contains(w.Body.String(), `href="/console/realms"`) {
			t.Errorf("admin: the navigation does not link the realms page")
		}
		w := b.do("GET", "/console/realms", nil)
		if w.Code != 200 || !strings.Contains(w.Body.String(), `data-realm="`+first+`"`) {
			t.Fatalf("list: %d\n%s", w.Code, w.Body.String())
		}
		w = b.do("GET", "/console/realms/"+first, nil)
		if w.Code != 200 || !strings.Contains(w.Body.String(), `&#34;identifier_disclosure&#34;`) {
			t.Fatalf("show: %d\n%s", w.Code, w.Body.String())
		}
		rc, row, err := rs.Show(ctx, first)
		if err != nil {
			t.Fatal(err)
		}
		rc.Name = "Renamed in the console"
		rc.TwoStep.RequiredFor = []string{"business"}
		doc := mustJSON(t, rc)
		w = b.do("POST", "/console/realms/"+first, url.Values{"settings": {doc}, "revision": {"1"}})
		if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/console/realms/"+first+"?done=saved" {
			t.Fatalf("save: %d %s\n%s", w.Code, w.Header().Get("Location"), w.Body.String())
		}
		if got, _, _ := rs.Show(ctx, first); got.Name != "Renamed in the console" || *refreshed != 1 {
			t.Errorf("after save: %q, refreshed %d", got.Name, *refreshed)
		}
		changed := rec.of(realmset.TypeRealmChanged)
		if len(changed) != 1 || changed[0].Actor != "staff:"+admin.ID || changed[0].IP != "192.0.2.44" ||
			strings.Join(changed[0].Data["keys"].([]string), ",") != "name,two_step.required_for" {
			t.Errorf("events %+v", changed)
		}
		// The same form again: its revision is stale now.
		w = b.do("POST", "/console/realms/"+first, url.Values{"settings": {doc}, "revision": {"1"}})
		if w.Code != http.StatusConflict || !strings.Contains(w.Body.String(), html.EscapeString(i18n.Message("en", "console.realms.conflict", nil))) {
			t.Errorf("stale revision: %d", w.Code)
		}
		// A refused document: the catalogue's message in Japanese, the problems, what was typed.
		bad := strings.Replace(mustJSON(t, rc), `"phone_region":"`+rc.PhoneRegion+`"`, `"phone_region":"JPN"`, 1)
		b.lang = "ja"
		w = b.do("POST", "/console/realms/"+first, url.Values{"settings": {bad}, "revision": {"2"}})
		body := w.Body.String()
		if w.Code != 400 || !strings.Contains(body, html.EscapeString(i18n.Message("ja", "error.realm_settings_invalid", nil))) ||
			!strings.Contains(body, "phone_region") || !strings.Contains(body, "JPN") {
			t.Errorf("refused document: %d\n%s", w.Code, body)
		}
		w = b.do("POST", "/console/realms/"+first, url.Values{"settings": {strings.Replace(mustJSON(t, rc), `"theme":""`, `"theme":"/tmp"`, 1)}, "revision": {"2"}})
		if w.Code != http.StatusConflict || !strings.Contains(w.Body.String(), "theme") {
			t.Errorf("a fixed setting: %d", w.Code)
		}
		b.lang = "en"
		if _, row2, _ := rs.Show(ctx, first); row2.Revision != row.Revision+1 {
			t.Errorf("refused saves wrote: revision %d", row2.Revision)
		}
		// Create.
		w = b.do("POST", "/console/realms", url.Values{"id": {"kr"}, "settings": {
			`{"name":"Korea","hosts":["id.example.kr"],"default_locale":"en","phone_region":"KR","identifier_disclosure":"safe"}`}})
		if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/console/realms/kr?done=created" {
			t.Fatalf("create: %d %s\n%s", w.Code, w.Header().Get("Location"), w.Body.String())
		}
		if created := rec.of(realmset.TypeRealmCreated); len(created) == 0 || created[len(created)-1].Realm != "kr" ||
			created[len(created)-1].Actor != "staff:"+admin.ID {
			t.Errorf("created events %+v", created)
		}
		w = b.do("POST", "/console/realms", url.Values{"id": {"kr"}, "settings": {`{}`}})
		if w.Code != http.StatusConflict || !strings.Contains(w.Body.String(), html.EscapeString(i18n.Message("en", "error.realm_exists", nil))) {
			t.Errorf("create again: %d", w.Code)
		}
	})
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
