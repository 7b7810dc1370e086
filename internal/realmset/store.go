// Package realmset keeps the realms' settings at run time: one stored JSON
// document per realm, in the shape of a realms[] entry of the configuration
// file (config.Realm). The configuration seeds the realms it names; after
// that the stored documents are authoritative, changed with `ninsho realms
// set` or the console's realms page, validated exactly as the configuration
// file is, recorded as events, and picked up by every instance within
// realm_refresh (Watcher).
package realmset

import (
	"context"
	"time"
)

// Setting is one stored realm document.
type Setting struct {
	ID string
	// Doc is the realm's settings: a config.Realm as JSON.
	Doc []byte
	// Revision is 1 when inserted and one more at every update.
	Revision  int64
	CreatedAt time.Time
	UpdatedAt time.Time
	// UpdatedBy is who wrote this revision: "config" for the seed, the
	// operator's name on the command line, "staff:<id>" from the console.
	UpdatedBy string
}

// Store keeps the settings documents. Methods take part in the transaction
// carried by ctx.
type Store interface {
	// RealmSettings lists every stored realm by created_at, then id.
	RealmSettings(ctx context.Context) ([]Setting, error)
	// RealmSetting returns one, or ninsho.CodeNotFound.
	RealmSetting(ctx context.Context, id string) (*Setting, error)
	// InsertRealmSetting stores s (its Revision is 1); an id already
	// stored is ninsho.CodeConflict and changes nothing.
	InsertRealmSetting(ctx context.Context, s *Setting) error
	// UpdateRealmSetting writes s.Doc, s.UpdatedAt and s.UpdatedBy with
	// revision s.Revision where the stored revision is s.Revision-1;
	// otherwise (changed meanwhile, or unknown) ninsho.CodeConflict.
	UpdateRealmSetting(ctx context.Context, s *Setting) error
	// RealmSettingsStamp is the sum of every row's revision (0 without
	// rows): it grows with every insert and update, so a poller compares
	// it with the one it read last.
	RealmSettingsStamp(ctx context.Context) (int64, error)
}
