package realmset_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/config"
	"github.com/ninsho/ninsho/internal/event"
	"github.com/ninsho/ninsho/internal/invalidate"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/realmset"
	"github.com/ninsho/ninsho/internal/store"
	"github.com/ninsho/ninsho/internal/store/storetest"
)

// recorder keeps the events instead of storing them.
type recorder struct{ got []*event.Event }

func (r *recorder) AppendEvent(_ context.Context, e *event.Event) error {
	r.got = append(r.got, e)
	return nil
}

func (r *recorder) AccountEvents(context.Context, string, time.Time, int) ([]*event.Event, error) {
	return nil, nil
}

func testConfig() config.Config {
	cfg := config.Default()
	cfg.Realms = []config.Realm{
		{ID: "jp", Name: "ショップ", Hosts: []string{"id.example.jp"}, DefaultLocale: "ja", PhoneRegion: "JP",
			IdentifierDisclosure: "explicit", Providers: config.RealmProviders{Email: []string{"devinbox"}}},
		{ID: "us", Name: "Shop", Hosts: []string{"id.example.com"}, DefaultLocale: "en", PhoneRegion: "US",
			IdentifierDisclosure: "safe"},
	}
	cfg.Providers = []config.Provider{{Name: "devinbox", Type: "devinbox"}}
	return cfg
}

func newService(t *testing.T, db *store.DB, cfg config.Config) (*realmset.Service, *recorder, *ninsho.ManualClock) {
	t.Helper()
	clock := ninsho.NewManualClock(storetest.Epoch)
	rec := &recorder{}
	return &realmset.Service{Store: db, Tx: db, Events: rec, Clock: clock, Random: ninsho.SecureRandom, Config: cfg}, rec, clock
}

func ids(rs []config.Realm) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.ID)
	}
	return out
}

func TestSeedAndStoredWin(t *testing.T) {
	ctx := context.Background()
	db := storetest.MustOpenSQLite(t)
	cfg := testConfig()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	svc, rec, _ := newService(t, db, cfg)
	differ, err := svc.Seed(ctx)
	if err != nil || len(differ) != 0 {
		t.Fatalf("first Seed: %v, %v", differ, err)
	}
	if len(rec.got) != 2 || rec.got[0].Type != realmset.TypeRealmCreated || rec.got[0].Actor != "system" {
		t.Errorf("seed events: %+v", rec.got)
	}
	if _, err := svc.Set(ctx, realmset.Who{Name: "alice"}, "jp", realmset.Change{
		Assign: []realmset.Assignment{{Key: "name", Value: json.RawMessage(`"新しい名前"`)}}}); err != nil {
		t.Fatal(err)
	}
	// The file changes the name and the providers, and adds a realm.
	cfg2 := testConfig()
	cfg2.Realms[0].Name = "ファイルの名前"
	cfg2.Realms[0].Providers = config.RealmProviders{}
	cfg2.Realms = append(cfg2.Realms, config.Realm{ID: "kr", Name: "KR", DefaultLocale: "en", PhoneRegion: "KR", IdentifierDisclosure: "safe"})
	svc2, _, _ := newService(t, db, cfg2)
	differ, err = svc2.Seed(ctx)
	if err != nil || !slices.Equal(differ, []string{"jp"}) {
		t.Fatalf("second Seed: %v, %v; want [jp] (providers are not compared)", differ, err)
	}
	eff, _, err := svc2.Effective(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(eff.Realms); !slices.Equal(got, []string{"jp", "us", "kr"}) {
		t.Errorf("realms %v", got)
	}
	if eff.Realms[0].Name != "新しい名前" {
		t.Errorf("name %q: the stored one wins", eff.Realms[0].Name)
	}
	if len(eff.Realms[0].Providers.Email) != 0 {
		t.Errorf("providers %v: the file's (fixed) apply", eff.Realms[0].Providers)
	}
}

func TestSetAndCreate(t *testing.T) {
	ctx := context.Background()
	db := storetest.MustOpenSQLite(t)
	svc, rec, _ := newService(t, db, testConfig())
	if _, err := svc.Seed(ctx); err != nil {
		t.Fatal(err)
	}
	rec.got = nil
	set := func(id string, kv ...string) ([]string, error) {
		var ch realmset.Change
		for i := 0; i+1 < len(kv); i += 2 {
			ch.Assign = append(ch.Assign, realmset.Assignment{Key: kv[i], Value: json.RawMessage(kv[i+1])})
		}
		return svc.Set(ctx, realmset.Who{Name: "alice"}, id, ch)
	}
	keys, err := set("jp", "name", `"New"`, "two_step.required_for", `["seller"]`, "risk.lock_after_failures", `7`, "branding.primary_color", `"#112233"`)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"branding.primary_color", "name", "risk.lock_after_failures", "two_step.required_for"}
	if !slices.Equal(keys, want) {
		t.Errorf("changed %v, want %v", keys, want)
	}
	if len(rec.got) != 1 || rec.got[0].Type != realmset.TypeRealmChanged || rec.got[0].Realm != "jp" ||
		rec.got[0].Data["by"] != "alice" || !slices.Equal(rec.got[0].Data["keys"].([]string), want) {
		t.Errorf("event %+v", rec.got)
	}
	if b, _ := json.Marshal(rec.got[0].Data); strings.Contains(string(b), "#112233") || strings.Contains(string(b), "New") {
		t.Errorf("the event carries values: %s", b)
	}
	_, row, err := svc.Show(ctx, "jp")
	if err != nil || row.Revision != 2 || row.UpdatedBy != "alice" {
		t.Fatalf("row %+v, %v", row, err)
	}
	if keys, err := set("jp", "name", `"New"`); err != nil || len(keys) != 0 || len(rec.got) != 1 {
		t.Errorf("the same value again: %v, %v, %d events; want nothing written", keys, err, len(rec.got))
	}
	// null puts a setting back to its default (the key removed), durations too.
	if _, err := set("jp", "closure_grace", `"48h"`); err != nil {
		t.Fatal(err)
	}
	if keys, err := set("jp", "closure_grace", `null`, "risk.lock_after_failures", `null`); err != nil || !slices.Equal(keys, []string{"closure_grace", "risk.lock_after_failures"}) {
		t.Errorf("back to the defaults with null: %v, %v", keys, err)
	}
	if doc, _, _ := svc.Show(ctx, "jp"); doc.ClosureGrace != 0 || doc.Risk.LockAfterFailures != 0 {
		t.Errorf("after null: closure_grace %v, lock_after_failures %d; want the defaults (0)", doc.ClosureGrace, doc.Risk.LockAfterFailures)
	}
	rec.got = rec.got[:1]
	for _, tt := range []struct {
		name string
		kv   []string
		code ninsho.Code
		say  string
	}{
		{"fixed providers", []string{"providers.sms", `["x"]`}, ninsho.CodeRealmSettingFixed, ""},
		{"fixed theme", []string{"theme", `"/tmp"`}, ninsho.CodeRealmSettingFixed, ""},
		{"fixed id", []string{"id", `"zz"`}, ninsho.CodeRealmSettingFixed, ""},
		{"unknown key", []string{"nme", `"x"`}, ninsho.CodeRealmSettingsInvalid, `unknown field "nme"`},
		{"wrong type", []string{"name", `12`}, ninsho.CodeRealmSettingsInvalid, "cannot unmarshal"},
		{"region", []string{"phone_region", `"JPN"`}, ninsho.CodeRealmSettingsInvalid, `realms[0] (realm "jp").phone_region`},
		{"host of another realm", []string{"hosts", `["id.example.com"]`}, ninsho.CodeRealmSettingsInvalid, `realms "jp" and "us" both name the host "id.example.com"`},
		{"region unknown", []string{"phone_region", `"XX"`}, ninsho.CodeRealmSettingsInvalid, `"XX" is no region phone numbers are known for`},
		{"region in lower case", []string{"phone_region", `"jp"`}, ninsho.CodeRealmSettingsInvalid, `phone_region`},
		{"empty name", []string{"name", `""`}, ninsho.CodeRealmSettingsInvalid, `.name: the name people see`},
		{"name with a bidi override", []string{"name", `"Sakura\u202eSU"`}, ninsho.CodeRealmSettingsInvalid, `.name: the name people see`},
		{"name with a zero-width space", []string{"name", `"Sakura\u200bUS"`}, ninsho.CodeRealmSettingsInvalid, `.name: the name people see`},
		{"name with a control character", []string{"name", `"Sakura\u0007Shop"`}, ninsho.CodeRealmSettingsInvalid, `.name: the name people see`},
		{"hint at a safe realm", []string{"cross_realm_hint", `["us"]`}, ninsho.CodeRealmSettingsInvalid, "safe realm"},
		{"lock ladder", []string{"risk.lock_after_failures", `1000`}, ninsho.CodeRealmSettingsInvalid, "lock_after_failures"},
		{"not an object", []string{"risk.lock_after_failures.x", `1`}, ninsho.CodeRealmSettingsInvalid, "not an object"},
	} {
		_, err := set("jp", tt.kv...)
		e := ninsho.ErrorOf(err)
		if e == nil || e.Code != tt.code || !strings.Contains(str(e.Params["problems"]), tt.say) {
			t.Errorf("%s: %v (%v), want %s saying %q", tt.name, err, str(e.Params["problems"]), tt.code, tt.say)
		}
	}
	if len(rec.got) != 1 {
		t.Errorf("refused changes wrote events: %d", len(rec.got))
	}
	if _, err := set("nope", "name", `"x"`); !ninsho.IsCode(err, ninsho.CodeNotFound) {
		t.Errorf("unknown realm: %v", err)
	}
	// A merge patch: null removes a setting.
	if _, err := svc.Set(ctx, realmset.Who{Name: "bob"}, "jp", realmset.Change{Merge: []byte(`{"two_step":{"required_for":null},"heightened_protection":true}`)}); err != nil {
		t.Fatal(err)
	}
	rc, _, _ := svc.Show(ctx, "jp")
	if len(rc.TwoStep.RequiredFor) != 0 || !rc.HeightenedProtection || rc.Name != "New" {
		t.Errorf("after the merge patch: %+v", rc)
	}

	// Create: after the configuration's realms, validated, no fixed settings.
	create := func(id, doc string) error {
		_, err := svc.Create(ctx, realmset.Who{Name: "carol"}, id, realmset.Change{Merge: []byte(doc)})
		return err
	}
	good := `{"name":"Korea","hosts":["id.example.kr"],"default_locale":"en","phone_region":"KR","identifier_disclosure":"safe"}`
	if err := create("kr", good); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		id, doc string
		code    ninsho.Code
	}{
		{"kr", good, ninsho.CodeRealmExists},
		{"jp", good, ninsho.CodeRealmExists},
		{"Bad", good, ninsho.CodeRealmSettingsInvalid},
		{"tw", `{"id":"xx"}`, ninsho.CodeRealmSettingsInvalid},
		{"tw", `{"name":"TW","default_locale":"en","phone_region":"TW","identifier_disclosure":"safe","theme":"/tmp"}`, ninsho.CodeRealmSettingFixed},
		{"tw", `{"name":"TW","default_locale":"en","phone_region":"TW","identifier_disclosure":"safe","providers":{"sms":["devinbox"]}}`, ninsho.CodeRealmSettingFixed},
		{"tw", `{"name":"TW","default_locale":"xx","phone_region":"TW","identifier_disclosure":"safe"}`, ninsho.CodeRealmSettingsInvalid},
		{"tw", `{"name":"TW","hosts":["ID.EXAMPLE.KR"],"default_locale":"en","phone_region":"TW","identifier_disclosure":"safe"}`, ninsho.CodeRealmSettingsInvalid},
	} {
		if err := create(tt.id, tt.doc); !ninsho.IsCode(err, tt.code) {
			t.Errorf("create %s %s: %v, want %s", tt.id, tt.doc, err, tt.code)
		}
	}
	realms, _, err := svc.Realms(ctx)
	if err != nil || !slices.Equal(ids(realms), []string{"jp", "us", "kr"}) {
		t.Errorf("realms %v, %v", ids(realms), err)
	}
	// Another realm's hint may now name kr? No: kr is safe. Make it explicit, then hint.
	if _, err := set("kr", "identifier_disclosure", `"explicit"`); err != nil {
		t.Fatal(err)
	}
	if _, err := set("jp", "cross_realm_hint", `["kr"]`); err != nil {
		t.Errorf("hint at an explicit realm created at run time: %v", err)
	}
}

// A change that leaves an old problem alone (a stored realm another
// instance cannot serve) is accepted; one that fixes it too.
func TestCheckOnlyNewProblems(t *testing.T) {
	ctx := context.Background()
	db := storetest.MustOpenSQLite(t)
	svc, _, clock := newService(t, db, testConfig())
	if _, err := svc.Seed(ctx); err != nil {
		t.Fatal(err)
	}
	// Break "us" behind the service's back.
	row, _ := db.RealmSetting(ctx, "us")
	row.Doc = []byte(strings.Replace(string(row.Doc), `"phone_region":"US"`, `"phone_region":"USA"`, 1))
	row.Revision++
	row.UpdatedAt = clock.Now()
	if err := db.UpdateRealmSetting(ctx, row); err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.Effective(ctx); !ninsho.IsCode(err, ninsho.CodeRealmSettingsInvalid) {
		t.Errorf("Effective with a broken realm: %v", err)
	}
	if _, err := svc.Set(ctx, realmset.Who{}, "jp", realmset.Change{Assign: []realmset.Assignment{{Key: "name", Value: json.RawMessage(`"x"`)}}}); err != nil {
		t.Errorf("a change of another realm: %v", err)
	}
	if _, err := svc.Set(ctx, realmset.Who{}, "us", realmset.Change{Assign: []realmset.Assignment{{Key: "phone_region", Value: json.RawMessage(`"US"`)}}}); err != nil {
		t.Errorf("the fix: %v", err)
	}
	if _, _, err := svc.Effective(ctx); err != nil {
		t.Errorf("Effective after the fix: %v", err)
	}
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

// noticeRecorder records the realms notices a Service publishes.
type noticeRecorder struct{ got []string }

func (n *noticeRecorder) Publish(_ context.Context, kind invalidate.Kind, key string) error {
	n.got = append(n.got, invalidate.Payload(kind, key))
	return nil
}

// TestChangesTellEveryInstance: seeding, creating and changing a realm
// publish its realms notice; a refused change and one that changes
// nothing publish none.
func TestChangesTellEveryInstance(t *testing.T) {
	ctx := context.Background()
	db := storetest.MustOpenSQLite(t)
	svc, _, _ := newService(t, db, testConfig())
	n := &noticeRecorder{}
	svc.Changed = n
	if _, err := svc.Seed(ctx); err != nil {
		t.Fatal(err)
	}
	if want := []string{"realms:jp", "realms:us"}; !slices.Equal(n.got, want) {
		t.Errorf("seed published %v, want %v", n.got, want)
	}
	n.got = nil
	set := func(kv ...string) error {
		_, err := svc.Set(ctx, realmset.Who{Name: "alice"}, "jp", realmset.Change{Assign: []realmset.Assignment{{Key: kv[0], Value: json.RawMessage(kv[1])}}})
		return err
	}
	if err := set("name", `"New"`); err != nil {
		t.Fatal(err)
	}
	if err := set("name", `"New"`); err != nil {
		t.Fatal(err)
	}
	if err := set("default_locale", `"fr"`); err == nil {
		t.Fatal("an invalid locale was accepted")
	}
	if _, err := svc.Create(ctx, realmset.Who{Name: "alice"}, "kr", realmset.Change{
		Merge: []byte(`{"name":"Korea","hosts":["id.example.kr"],"default_locale":"en","phone_region":"KR","identifier_disclosure":"safe"}`)}); err != nil {
		t.Fatal(err)
	}
	if want := []string{"realms:jp", "realms:kr"}; !slices.Equal(n.got, want) {
		t.Errorf("published %v, want %v (one change, nothing for the same value or a refusal, one creation)", n.got, want)
	}
}
