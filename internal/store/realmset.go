package store

import (
	"context"

	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/realmset"
)

var _ realmset.Store = (*DB)(nil)

const realmSettingColumns = `id, settings, revision, created_at, updated_at, updated_by`

// RealmSettings lists every stored realm by created_at, then id
// (realmset.Store).
func (db *DB) RealmSettings(ctx context.Context) ([]realmset.Setting, error) {
	rows, err := db.reader(ctx).QueryContext(ctx, `SELECT `+realmSettingColumns+` FROM realm_setting ORDER BY created_at, id`)
	if err != nil {
		return nil, internal("realm settings", err)
	}
	defer rows.Close()
	var out []realmset.Setting
	for rows.Next() {
		s, err := scanRealmSetting(rows)
		if err != nil {
			return nil, internal("realm settings", err)
		}
		out = append(out, *s)
	}
	if err := rows.Err(); err != nil {
		return nil, internal("realm settings", err)
	}
	return out, nil
}

// RealmSetting returns one realm's document, or ninsho.CodeNotFound
// (realmset.Store).
func (db *DB) RealmSetting(ctx context.Context, id string) (*realmset.Setting, error) {
	row := db.reader(ctx).QueryRowContext(ctx, `SELECT `+realmSettingColumns+` FROM realm_setting WHERE id = $1`, id)
	s, err := scanRealmSetting(row)
	if err != nil {
		return nil, notFound("realm setting", err, ninsho.CodeNotFound)
	}
	return s, nil
}

// InsertRealmSetting stores s at revision 1; a stored id is
// ninsho.CodeConflict (realmset.Store).
func (db *DB) InsertRealmSetting(ctx context.Context, s *realmset.Setting) error {
	res, err := db.writer(ctx).ExecContext(ctx, `INSERT INTO realm_setting (`+realmSettingColumns+`)
		VALUES ($1, $2, 1, $3, $4, $5) ON CONFLICT (id) DO NOTHING`,
		s.ID, string(s.Doc), us(s.CreatedAt), us(s.UpdatedAt), s.UpdatedBy)
	if err != nil {
		return internal("insert realm setting", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return internal("insert realm setting", err)
	} else if n == 0 {
		return ninsho.E(ninsho.CodeConflict)
	}
	s.Revision = 1
	return nil
}

// UpdateRealmSetting writes revision s.Revision over s.Revision-1; anything
// else is ninsho.CodeConflict (realmset.Store).
func (db *DB) UpdateRealmSetting(ctx context.Context, s *realmset.Setting) error {
	res, err := db.writer(ctx).ExecContext(ctx, `UPDATE realm_setting SET settings = $1, revision = $2, updated_at = $3, updated_by = $4
		WHERE id = $5 AND revision = $6`, string(s.Doc), s.Revision, us(s.UpdatedAt), s.UpdatedBy, s.ID, s.Revision-1)
	if err != nil {
		return internal("update realm setting", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return internal("update realm setting", err)
	} else if n == 0 {
		return ninsho.E(ninsho.CodeConflict)
	}
	return nil
}

// RealmSettingsStamp is the sum of the revisions (realmset.Store): one
// small aggregate over a handful of rows, read every realm_refresh.
func (db *DB) RealmSettingsStamp(ctx context.Context) (int64, error) {
	var n int64
	if err := db.reader(ctx).QueryRowContext(ctx, `SELECT CAST(COALESCE(SUM(revision), 0) AS BIGINT) FROM realm_setting`).Scan(&n); err != nil {
		return 0, internal("realm settings stamp", err)
	}
	return n, nil
}

func scanRealmSetting(row interface{ Scan(...any) error }) (*realmset.Setting, error) {
	var (
		s                doc
		created, updated int64
	)
	if err := row.Scan(&s.ID, &s.doc, &s.Revision, &created, &updated, &s.UpdatedBy); err != nil {
		return nil, err
	}
	s.Doc, s.CreatedAt, s.UpdatedAt = []byte(s.doc), fromUS(created), fromUS(updated)
	return &s.Setting, nil
}

// doc scans the settings column as text on both databases.
type doc struct {
	realmset.Setting
	doc string
}
