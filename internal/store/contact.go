package store

import (
	"context"
	"database/sql"
	"time"

	"github.com/ninsho/ninsho/internal/contact"
	"github.com/ninsho/ninsho/internal/ninsho"
)

var _ contact.Store = (*DB)(nil)

const contactChangeColumns = `id, realm, account_id, kind, old_value, new_value, moved_two_step, created_at, expires_at, undone_at`

// AddContactChange inserts c. An account that is not in c's realm is
// ninsho.CodeAccountNotFound.
func (db *DB) AddContactChange(ctx context.Context, c *contact.Change) error {
	moved := 0
	if c.MovedTwoStep {
		moved = 1
	}
	res, err := db.writer(ctx).ExecContext(ctx, `INSERT INTO contact_change (`+contactChangeColumns+`)
		SELECT CAST($1 AS TEXT), realm, id, CAST($3 AS TEXT), CAST($4 AS TEXT), CAST($5 AS TEXT),
			CAST($6 AS INTEGER), CAST($7 AS BIGINT), CAST($8 AS BIGINT), NULL
		FROM account WHERE id = $2 AND realm = $9`,
		c.ID, c.AccountID, string(c.Kind), nullStr(c.OldValue), c.NewValue, moved, us(c.CreatedAt), us(c.ExpiresAt), c.Realm)
	if err != nil {
		return internal("add contact change", err)
	}
	n, err := rowsAffected("add contact change", res)
	if err != nil {
		return err
	}
	if n == 0 {
		return ninsho.E(ninsho.CodeAccountNotFound)
	}
	return nil
}

// ContactChange returns the realm's change id, or ninsho.CodeNotFound.
func (db *DB) ContactChange(ctx context.Context, realm, id string) (*contact.Change, error) {
	c, err := scanContactChange(db.reader(ctx).QueryRowContext(ctx, `SELECT `+contactChangeColumns+` FROM contact_change
		WHERE id = $1 AND realm = $2`, id, realm))
	if err != nil {
		return nil, notFound("contact change", err, ninsho.CodeNotFound)
	}
	return c, nil
}

// ContactChain returns the changes of from's account (from's realm) not
// undone yet that are from itself or later (created_at, then id), oldest
// first. Inside the undo's transaction (which holds the account) it reads
// there; the undo page's read outside one takes a reader, not the writer.
func (db *DB) ContactChain(ctx context.Context, from *contact.Change) ([]*contact.Change, error) {
	rows, err := db.reader(ctx).QueryContext(ctx, `SELECT `+contactChangeColumns+` FROM contact_change
		WHERE realm = $1 AND account_id = $2 AND undone_at IS NULL
			AND (created_at > $3 OR (created_at = $3 AND id >= $4))
		ORDER BY created_at, id`, from.Realm, from.AccountID, us(from.CreatedAt), from.ID)
	if err != nil {
		return nil, internal("contact chain", err)
	}
	defer rows.Close()
	var out []*contact.Change
	for rows.Next() {
		c, err := scanContactChange(rows)
		if err != nil {
			return nil, internal("contact chain", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, internal("contact chain", err)
	}
	return out, nil
}

func scanContactChange(r interface{ Scan(...any) error }) (*contact.Change, error) {
	var (
		c                contact.Change
		kind             string
		old              sql.NullString
		moved            int
		created, expires int64
		undone           sql.NullInt64
	)
	if err := r.Scan(&c.ID, &c.Realm, &c.AccountID, &kind, &old, &c.NewValue, &moved, &created, &expires, &undone); err != nil {
		return nil, err
	}
	c.Kind, c.OldValue, c.MovedTwoStep = contact.Kind(kind), old.String, moved == 1
	c.CreatedAt, c.ExpiresAt, c.UndoneAt = fromUS(created), fromUS(expires), fromNullUSPtr(undone)
	return &c, nil
}

// UndoContactChange marks the change undone at t, once: one conditional
// UPDATE, so of two concurrent calls exactly one gets true.
func (db *DB) UndoContactChange(ctx context.Context, id string, t time.Time) (bool, error) {
	res, err := db.writer(ctx).ExecContext(ctx, `UPDATE contact_change SET undone_at = $2
		WHERE id = $1 AND undone_at IS NULL`, id, us(t))
	if err != nil {
		return false, internal("undo contact change", err)
	}
	n, err := rowsAffected("undo contact change", res)
	return n == 1, err
}

// PurgeContactChanges deletes at most limit changes whose undo link expired
// before cutoff, in one statement.
func (db *DB) PurgeContactChanges(ctx context.Context, cutoff time.Time, limit int) (int, error) {
	return db.purgeBatch(ctx, "purge contact changes", "contact_change", "expires_at < $1", cutoff, limit)
}
