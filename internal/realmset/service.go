package realmset

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/ninsho/ninsho/internal/config"
	"github.com/ninsho/ninsho/internal/event"
	"github.com/ninsho/ninsho/internal/invalidate"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/staff"
)

// Event types of realm settings: data id, keys (the dotted settings that
// changed, never their values), by (who on the command line or "config").
const (
	TypeRealmCreated = "realm.created"
	TypeRealmChanged = "realm.changed"
)

// SeedBy is the UpdatedBy of a row the configuration seeded.
const SeedBy = "config"

// Fixed are the settings read only at start (message providers carry
// credentials and are wired once; a theme's templates and a logo file are
// read and checked once): Set refuses to change them
// (ninsho.CodeRealmSettingFixed) and, for a realm of the configuration, the
// configuration file's values apply at every start. A realm created at run
// time has none (the default providers, the built-in theme).
var Fixed = []string{"id", "providers", "theme", "branding.logo"}

// idPattern is a realm id created at run time: a slug.
var idPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)

// Service reads, seeds, creates and changes the stored realm settings.
type Service struct {
	Store  Store
	Tx     ninsho.TxRunner
	Events event.Store
	Clock  ninsho.Clock
	Random ninsho.Random
	// Config is the configuration the instance started with: it seeds the
	// table, orders its realms first (its first realm stays the fallback)
	// and owns their Fixed settings; a change is validated with it, the
	// realms replaced (config.Config.Validate).
	Config config.Config
	// Changed tells every instance, in the transaction of the change (so
	// at its commit), that a realm's settings changed: they reload at once
	// instead of at their next realm_refresh. Nil tells nobody.
	Changed invalidate.Publisher
}

// published sends the notice of realm id's change in ctx's transaction.
func (s *Service) published(ctx context.Context, id string) error {
	if s.Changed == nil {
		return nil
	}
	return s.Changed.Publish(ctx, invalidate.Realms, id)
}

// Who is who changes a realm: an operator on the command line (Name, e.g.
// the OS user or --by) or a staff member in the console (Staff, with the
// request's address and browser).
type Who struct {
	Name  string
	Staff *staff.Staff
	Req   ninsho.Request
}

func (w Who) by() string {
	if w.Staff != nil {
		return w.Staff.Actor()
	}
	if w.Name == "" {
		return "operator"
	}
	return w.Name
}

// Seed stores every realm of the configuration that has no row yet (the
// first start, or a realm added to the file) and returns the ids of the
// configuration's realms whose stored settings differ from the file's
// (the stored ones win; Fixed settings are not compared: the file's apply).
// Instances that start together may both try: the second insert is a
// conflict and is skipped.
func (s *Service) Seed(ctx context.Context) (differ []string, err error) {
	stored, err := s.Store.RealmSettings(ctx)
	if err != nil {
		return nil, err
	}
	byID := map[string]Setting{}
	for _, st := range stored {
		byID[st.ID] = st
	}
	now := s.Clock.Now()
	for _, rc := range s.Config.Realms {
		st, ok := byID[rc.ID]
		if ok {
			var got config.Realm
			if err := decode(st.Doc, &got, false); err != nil || !sameSettings(got, rc) {
				differ = append(differ, rc.ID)
			}
			continue
		}
		doc, err := json.Marshal(rc)
		if err != nil {
			return nil, ninsho.Internal("realmset: seed %s: %w", rc.ID, err)
		}
		row := &Setting{ID: rc.ID, Doc: doc, CreatedAt: now, UpdatedAt: now, UpdatedBy: SeedBy}
		err = s.Tx.InTx(ctx, func(ctx context.Context) error {
			if err := s.Store.InsertRealmSetting(ctx, row); err != nil {
				return err
			}
			if err := s.published(ctx, rc.ID); err != nil {
				return err
			}
			return s.event(ctx, Who{Name: SeedBy}, TypeRealmCreated, rc.ID, topKeys(doc))
		})
		if err != nil && !ninsho.IsCode(err, ninsho.CodeConflict) {
			return nil, err
		}
	}
	return differ, nil
}

// sameSettings reports whether two realm documents agree but for Fixed.
func sameSettings(a, b config.Realm) bool {
	x, y := unfixed(a), unfixed(b)
	return bytes.Equal(x, y)
}

func unfixed(r config.Realm) []byte {
	r.Providers, r.Theme, r.Branding.Logo = config.RealmProviders{}, "", ""
	b, _ := json.Marshal(r)
	return b
}

// Realms returns the effective realms — the configuration's first, in its
// order, with its Fixed settings; then the realms created at run time, by
// creation — and the stamp they were read at (Store.RealmSettingsStamp,
// read first, so that a change during the read is seen again by the next
// poll).
func (s *Service) Realms(ctx context.Context) ([]config.Realm, int64, error) {
	stamp, err := s.Store.RealmSettingsStamp(ctx)
	if err != nil {
		return nil, 0, err
	}
	stored, err := s.Store.RealmSettings(ctx)
	if err != nil {
		return nil, 0, err
	}
	docs := map[string]config.Realm{}
	for _, st := range stored {
		var rc config.Realm
		if err := decode(st.Doc, &rc, false); err != nil {
			return nil, 0, ninsho.E(ninsho.CodeRealmSettingsInvalid).WithParam("problems",
				fmt.Sprintf("realm %q: the stored settings are not a realm document: %v", st.ID, err)).Wrap(err)
		}
		rc.ID = st.ID
		docs[st.ID] = rc
	}
	var out []config.Realm
	inConfig := map[string]bool{}
	for _, rc := range s.Config.Realms {
		inConfig[rc.ID] = true
		if d, ok := docs[rc.ID]; ok {
			out = append(out, withFixed(d, rc))
		} else {
			out = append(out, rc) // not seeded yet (another instance's newer file)
		}
	}
	for _, st := range stored {
		if !inConfig[st.ID] {
			out = append(out, docs[st.ID])
		}
	}
	return out, stamp, nil
}

// withFixed is d with the Fixed settings of the configuration's rc.
func withFixed(d, rc config.Realm) config.Realm {
	d.ID, d.Providers, d.Theme, d.Branding.Logo = rc.ID, rc.Providers, rc.Theme, rc.Branding.Logo
	return d
}

// Effective returns the configuration with the effective realms in place of
// the file's, validated (config.Config.Validate; its problems as
// ninsho.CodeRealmSettingsInvalid), and the stamp it was read at.
func (s *Service) Effective(ctx context.Context) (config.Config, int64, error) {
	realms, stamp, err := s.Realms(ctx)
	if err != nil {
		return config.Config{}, 0, err
	}
	cfg := s.with(realms)
	if ps := problems(cfg); len(ps) > 0 {
		return cfg, stamp, invalid(ps)
	}
	return cfg, stamp, nil
}

// with is the configuration with realms in place of the file's.
func (s *Service) with(realms []config.Realm) config.Config {
	cfg := s.Config
	cfg.Realms = realms
	return cfg
}

// problems are cfg's validation problems, each "realms[i]" followed by the
// realm's id so that people see which realm is meant.
func problems(cfg config.Config) []string {
	err := cfg.Validate()
	if err == nil {
		return nil
	}
	var out []string
	for _, line := range strings.Split(err.Error(), "\n") {
		if line = strings.TrimSpace(line); line == "" {
			continue
		}
		out = append(out, realmIndex.ReplaceAllStringFunc(line, func(m string) string {
			i, _ := strconv.Atoi(realmIndex.FindStringSubmatch(m)[1])
			if i < len(cfg.Realms) {
				return fmt.Sprintf("%s (realm %q)", m, cfg.Realms[i].ID)
			}
			return m
		}))
	}
	return out
}

var realmIndex = regexp.MustCompile(`realms\[(\d+)\]`)

func invalid(ps []string) error {
	return ninsho.E(ninsho.CodeRealmSettingsInvalid).WithParam("problems", strings.Join(ps, "\n"))
}

// check refuses realms when they have a validation problem that the
// current realms do not have: a change may leave (or fix) a problem it did
// not make, never add one.
func (s *Service) check(before, after []config.Realm) error {
	old := map[string]bool{}
	for _, p := range problems(s.with(before)) {
		old[p] = true
	}
	var added []string
	for _, p := range problems(s.with(after)) {
		if !old[p] {
			added = append(added, p)
		}
	}
	if len(added) > 0 {
		return invalid(added)
	}
	return nil
}

// Show returns one realm's effective settings as stored (with the
// configuration's Fixed settings) and its row, or ninsho.CodeNotFound.
func (s *Service) Show(ctx context.Context, id string) (config.Realm, *Setting, error) {
	realms, _, err := s.Realms(ctx)
	if err != nil {
		return config.Realm{}, nil, err
	}
	row, err := s.Store.RealmSetting(ctx, id)
	if err != nil {
		return config.Realm{}, nil, err
	}
	for _, rc := range realms {
		if rc.ID == id {
			return rc, row, nil
		}
	}
	return config.Realm{}, nil, ninsho.E(ninsho.CodeNotFound)
}

// List returns every stored realm's row, in the effective order.
func (s *Service) List(ctx context.Context) ([]Setting, error) {
	realms, _, err := s.Realms(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := s.Store.RealmSettings(ctx)
	if err != nil {
		return nil, err
	}
	var out []Setting
	for _, rc := range realms {
		for _, r := range rows {
			if r.ID == rc.ID {
				out = append(out, r)
			}
		}
	}
	return out, nil
}

// Create stores a new realm id whose document is ch applied to {"id": id}
// (a realms[] entry): its id a slug of lower-case letters, digits, "-" and
// "_" (at most 32), none of the other Fixed settings, and valid with every
// stored realm (an id already stored is ninsho.CodeRealmExists). It is
// served after the configuration's realms.
func (s *Service) Create(ctx context.Context, who Who, id string, ch Change) (config.Realm, error) {
	var rc config.Realm
	doc, err := apply(map[string]any{"id": id}, ch)
	if err != nil {
		return rc, err
	}
	if err := decode(doc, &rc, true); err != nil {
		return rc, invalid([]string{err.Error()})
	}
	if rc.ID != id {
		return rc, invalid([]string{fmt.Sprintf("id: the document's id %q is not %q", rc.ID, id)})
	}
	if !idPattern.MatchString(rc.ID) {
		return rc, invalid([]string{fmt.Sprintf("id: %q must be 1 to 32 lower-case letters, digits, \"-\" or \"_\", starting with a letter or digit", rc.ID)})
	}
	for _, k := range Fixed[1:] {
		if v := lookup(mustMap(rc), k); v != nil && !isEmpty(v) {
			return rc, ninsho.E(ninsho.CodeRealmSettingFixed).WithParam("key", k)
		}
	}
	before, _, err := s.Realms(ctx)
	if err != nil {
		return rc, err
	}
	if slices.ContainsFunc(before, func(o config.Realm) bool { return o.ID == rc.ID }) {
		return rc, ninsho.E(ninsho.CodeRealmExists)
	}
	if err := s.check(before, append(slices.Clone(before), rc)); err != nil {
		return rc, err
	}
	stored, err := json.Marshal(rc)
	if err != nil {
		return rc, ninsho.Internal("realmset: create: %w", err)
	}
	now := s.Clock.Now()
	row := &Setting{ID: rc.ID, Doc: stored, CreatedAt: now, UpdatedAt: now, UpdatedBy: who.by()}
	err = s.Tx.InTx(ctx, func(ctx context.Context) error {
		if err := s.Store.InsertRealmSetting(ctx, row); err != nil {
			if ninsho.IsCode(err, ninsho.CodeConflict) {
				return ninsho.E(ninsho.CodeRealmExists)
			}
			return err
		}
		if err := s.published(ctx, rc.ID); err != nil {
			return err
		}
		return s.event(ctx, who, TypeRealmCreated, rc.ID, topKeys(doc))
	})
	return rc, err
}

// Change is what Set does to a realm's document: Replace, if set, is the
// whole new document (keys left out take their zero value); Merge, if set,
// is a JSON merge patch (RFC 7396) of the document, applied next; Assign
// sets dotted keys ("name", "two_step.required_for",
// "branding.primary_color") to JSON values, in order, last. Revision, if
// not 0, is the revision the change was made from: another one stored is
// ninsho.CodeConflict.
type Change struct {
	Replace  []byte
	Merge    []byte
	Assign   []Assignment
	Revision int64
}

// Assignment sets one dotted key to a JSON value.
type Assignment struct {
	Key   string
	Value json.RawMessage
}

// Set changes a realm's settings and returns the dotted keys that changed
// (none: nothing is written). The result must be a realm document (unknown
// keys and wrong types are ninsho.CodeRealmSettingsInvalid), change no
// Fixed setting (ninsho.CodeRealmSettingFixed) and add no validation
// problem; it is stored over the revision read (a change made meanwhile
// is ninsho.CodeConflict: read and try again) with a realm.changed event.
func (s *Service) Set(ctx context.Context, who Who, id string, ch Change) ([]string, error) {
	before, _, err := s.Realms(ctx)
	if err != nil {
		return nil, err
	}
	i := slices.IndexFunc(before, func(o config.Realm) bool { return o.ID == id })
	row, err := s.Store.RealmSetting(ctx, id)
	if err != nil {
		return nil, err
	}
	if i < 0 {
		return nil, ninsho.E(ninsho.CodeNotFound)
	}
	if ch.Revision != 0 && ch.Revision != row.Revision {
		return nil, ninsho.E(ninsho.CodeConflict)
	}
	cur := mustMap(before[i])
	b, err := apply(mustMap(before[i]), ch)
	if err != nil {
		return nil, err
	}
	var rc config.Realm
	if err := decode(b, &rc, true); err != nil {
		return nil, invalid([]string{err.Error()})
	}
	changed := diff("", cur, mustMap(rc))
	if len(changed) == 0 {
		return nil, nil
	}
	for _, k := range changed {
		for _, f := range Fixed {
			if k == f || strings.HasPrefix(k, f+".") {
				return nil, ninsho.E(ninsho.CodeRealmSettingFixed).WithParam("key", k)
			}
		}
	}
	after := slices.Clone(before)
	after[i] = rc
	if err := s.check(before, after); err != nil {
		return nil, err
	}
	stored, err := json.Marshal(rc)
	if err != nil {
		return nil, ninsho.Internal("realmset: set: %w", err)
	}
	row.Doc, row.Revision, row.UpdatedAt, row.UpdatedBy = stored, row.Revision+1, s.Clock.Now(), who.by()
	err = s.Tx.InTx(ctx, func(ctx context.Context) error {
		if err := s.Store.UpdateRealmSetting(ctx, row); err != nil {
			return err
		}
		if err := s.published(ctx, id); err != nil {
			return err
		}
		return s.event(ctx, who, TypeRealmChanged, id, changed)
	})
	if err != nil {
		return nil, err
	}
	return changed, nil
}

// apply applies ch to the document m and returns it as JSON.
func apply(m map[string]any, ch Change) ([]byte, error) {
	if len(ch.Replace) > 0 {
		var doc any
		if err := json.Unmarshal(ch.Replace, &doc); err != nil {
			return nil, invalid([]string{"the document is not JSON: " + err.Error()})
		}
		d, ok := doc.(map[string]any)
		if !ok {
			return nil, invalid([]string{"the document must be a JSON object"})
		}
		if _, ok := d["id"]; !ok {
			d["id"] = m["id"]
		}
		m = d
	}
	if len(ch.Merge) > 0 {
		var patch any
		if err := json.Unmarshal(ch.Merge, &patch); err != nil {
			return nil, invalid([]string{"the document is not JSON: " + err.Error()})
		}
		if _, ok := patch.(map[string]any); !ok {
			return nil, invalid([]string{"the document must be a JSON object"})
		}
		m = mergePatch(m, patch).(map[string]any)
	}
	for _, a := range ch.Assign {
		if err := assign(m, a); err != nil {
			return nil, invalid([]string{err.Error()})
		}
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, ninsho.Internal("realmset: %w", err)
	}
	return b, nil
}

// event records typ about realm id with the keys concerned.
func (s *Service) event(ctx context.Context, who Who, typ, id string, keys []string) error {
	if s.Events == nil {
		return nil
	}
	data := map[string]any{"id": id, "keys": keys}
	e := &event.Event{ID: ninsho.NewID(s.Clock, s.Random), Realm: id, Type: typ, Actor: "operator", Data: data, At: s.Clock.Now()}
	switch {
	case who.Staff != nil:
		e.Actor, data["staff"] = who.Staff.Actor(), who.Staff.ID
		e.IP, e.UserAgent, e.RequestID = who.Req.IP, truncate(who.Req.UserAgent, 512), who.Req.RequestID
	case who.Name == SeedBy:
		e.Actor, data["by"] = "system", SeedBy
	default:
		data["by"] = who.by()
	}
	return s.Events.AppendEvent(ctx, e)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// decode reads a realm document; strict refuses unknown keys.
func decode(b []byte, rc *config.Realm, strict bool) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	if strict {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(rc); err != nil {
		return fmt.Errorf("not a realm document: %v", err)
	}
	if dec.More() {
		return fmt.Errorf("not a realm document: more than one JSON value")
	}
	return nil
}

// mustMap is rc as a generic JSON object.
func mustMap(rc config.Realm) map[string]any {
	b, _ := json.Marshal(rc)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return m
}

// topKeys are the top-level keys of a JSON object, sorted.
func topKeys(doc []byte) []string {
	var m map[string]json.RawMessage
	_ = json.Unmarshal(doc, &m)
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// lookup returns the value at a dotted key, or nil.
func lookup(m map[string]any, key string) any {
	var v any = m
	for _, p := range strings.Split(key, ".") {
		o, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = o[p]
	}
	return v
}

func isEmpty(v any) bool {
	switch v := v.(type) {
	case string:
		return v == ""
	case map[string]any:
		for _, x := range v {
			if !isEmpty(x) {
				return false
			}
		}
		return true
	case []any:
		return len(v) == 0
	case nil:
		return true
	}
	return false
}

// assign sets a dotted key in m, making the objects on the way; the value
// null removes the key (the setting's default).
func assign(m map[string]any, a Assignment) error {
	parts := strings.Split(a.Key, ".")
	for _, p := range parts {
		if p == "" {
			return fmt.Errorf("%q is not a setting: write dotted keys such as two_step.required_for", a.Key)
		}
	}
	var v any
	if err := json.Unmarshal(a.Value, &v); err != nil {
		return fmt.Errorf("%s: the value is not JSON: %v", a.Key, err)
	}
	o := m
	for _, p := range parts[:len(parts)-1] {
		next, ok := o[p].(map[string]any)
		if !ok {
			if o[p] != nil {
				return fmt.Errorf("%s: %s is not an object", a.Key, p)
			}
			next = map[string]any{}
			o[p] = next
		}
		o = next
	}
	if v == nil { // key=null: back to the default, as in a merge patch
		delete(o, parts[len(parts)-1])
		return nil
	}
	o[parts[len(parts)-1]] = v
	return nil
}

// mergePatch applies an RFC 7396 merge patch.
func mergePatch(target, patch any) any {
	p, ok := patch.(map[string]any)
	if !ok {
		return patch
	}
	t, ok := target.(map[string]any)
	if !ok {
		t = map[string]any{}
	}
	for k, v := range p {
		if v == nil {
			delete(t, k)
			continue
		}
		t[k] = mergePatch(t[k], v)
	}
	return t
}

// diff lists the dotted leaf keys whose values differ between a and b
// (lists compare whole), sorted.
func diff(prefix string, a, b map[string]any) []string {
	var out []string
	keys := map[string]bool{}
	for k := range a {
		keys[k] = true
	}
	for k := range b {
		keys[k] = true
	}
	for k := range keys {
		name := k
		if prefix != "" {
			name = prefix + "." + k
		}
		x, xo := a[k].(map[string]any)
		y, yo := b[k].(map[string]any)
		if xo && yo {
			out = append(out, diff(name, x, y)...)
			continue
		}
		if !jsonEqual(a[k], b[k]) {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}
