package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/realmset"
)

// RealmSetStores are the stores of realm settings.
type RealmSetStores interface {
	Stores
	realmset.Store
}

// RealmSettings checks the stored realm documents: an empty table lists
// nothing and stamps 0; an insert round trips every field at revision 1
// and a second insert of its id is conflict and changes nothing; realms
// list by created_at then id; an update needs the revision it read (a
// stale or unknown one is conflict); an unknown id is not_found; and the
// stamp grows with every insert and update.
func RealmSettings(t *testing.T, open func(tb testing.TB) RealmSetStores) {
	ctx := context.Background()
	s := open(t)
	if list, err := s.RealmSettings(ctx); err != nil || len(list) != 0 {
		t.Fatalf("RealmSettings on an empty table: %v, %v", list, err)
	}
	stamp := func() int64 {
		t.Helper()
		n, err := s.RealmSettingsStamp(ctx)
		mustNil(t, "RealmSettingsStamp", err)
		return n
	}
	if n := stamp(); n != 0 {
		t.Errorf("stamp of an empty table = %d, want 0", n)
	}
	jp := &realmset.Setting{ID: "jp", Doc: []byte(`{"id":"jp","name":"ショップ"}`), CreatedAt: at(time.Minute),
		UpdatedAt: at(time.Minute), UpdatedBy: "config"}
	en := &realmset.Setting{ID: "en", Doc: []byte(`{"id":"en"}`), CreatedAt: at(time.Minute), UpdatedAt: at(time.Minute), UpdatedBy: "config"}
	late := &realmset.Setting{ID: "aaa", Doc: []byte(`{"id":"aaa"}`), CreatedAt: at(time.Hour), UpdatedAt: at(time.Hour), UpdatedBy: "alice"}
	for _, x := range []*realmset.Setting{late, jp, en} {
		mustNil(t, "InsertRealmSetting "+x.ID, s.InsertRealmSetting(ctx, x))
		if x.Revision != 1 {
			t.Errorf("InsertRealmSetting %s: revision %d, want 1", x.ID, x.Revision)
		}
	}
	if n := stamp(); n != 3 {
		t.Errorf("stamp after three inserts = %d, want 3", n)
	}
	again := *jp
	again.Doc = []byte(`{"id":"jp","name":"changed"}`)
	if err := s.InsertRealmSetting(ctx, &again); !ninsho.IsCode(err, ninsho.CodeConflict) {
		t.Errorf("InsertRealmSetting of a stored id: %v, want conflict", err)
	}
	got, err := s.RealmSetting(ctx, "jp")
	mustNil(t, "RealmSetting jp", err)
	if string(got.Doc) != string(jp.Doc) || got.Revision != 1 || !got.CreatedAt.Equal(jp.CreatedAt) ||
		!got.UpdatedAt.Equal(jp.UpdatedAt) || got.UpdatedBy != "config" || got.ID != "jp" {
		t.Errorf("round trip: %+v (doc %s), want %+v", got, got.Doc, jp)
	}
	list, err := s.RealmSettings(ctx)
	mustNil(t, "RealmSettings", err)
	var ids []string
	for _, x := range list {
		ids = append(ids, x.ID)
	}
	if len(ids) != 3 || ids[0] != "en" || ids[1] != "jp" || ids[2] != "aaa" {
		t.Errorf("order = %v, want [en jp aaa] (created_at, then id)", ids)
	}

	up := *got
	up.Doc, up.Revision, up.UpdatedAt, up.UpdatedBy = []byte(`{"id":"jp","name":"新"}`), 2, at(2*time.Hour), "bob"
	mustNil(t, "UpdateRealmSetting", s.UpdateRealmSetting(ctx, &up))
	stale := up
	stale.Doc = []byte(`{"id":"jp","name":"lost"}`) // read at revision 1 too
	if err := s.UpdateRealmSetting(ctx, &stale); !ninsho.IsCode(err, ninsho.CodeConflict) {
		t.Errorf("UpdateRealmSetting from a stale revision: %v, want conflict", err)
	}
	unknown := realmset.Setting{ID: "nope", Doc: []byte(`{}`), Revision: 2, UpdatedAt: at(0), UpdatedBy: "x"}
	if err := s.UpdateRealmSetting(ctx, &unknown); !ninsho.IsCode(err, ninsho.CodeConflict) {
		t.Errorf("UpdateRealmSetting of an unknown id: %v, want conflict", err)
	}
	got, err = s.RealmSetting(ctx, "jp")
	mustNil(t, "RealmSetting jp after update", err)
	if string(got.Doc) != `{"id":"jp","name":"新"}` || got.Revision != 2 || got.UpdatedBy != "bob" ||
		!got.UpdatedAt.Equal(at(2*time.Hour)) || !got.CreatedAt.Equal(jp.CreatedAt) {
		t.Errorf("after update: %+v (doc %s)", got, got.Doc)
	}
	if n := stamp(); n != 4 {
		t.Errorf("stamp after an update = %d, want 4", n)
	}
	if _, err := s.RealmSetting(ctx, "nope"); !ninsho.IsCode(err, ninsho.CodeNotFound) {
		t.Errorf("RealmSetting of an unknown id: %v, want not_found", err)
	}
}
