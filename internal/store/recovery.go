package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/recovery"
)

var (
	_ recovery.Store         = (*DB)(nil)
	_ recovery.DocumentStore = (*DB)(nil)
)

const recoveryCaseColumns = `id, realm, account_id, reference, flow_id, status, document_type, created_at,
	submitted_at, due_at, decided_at, decided_by, reason, instead`

func scanRecoveryCase(s scanner) (*recovery.Case, error) {
	var (
		c                       recovery.Case
		status, docType         string
		created                 int64
		submitted, due, decided sql.NullInt64
	)
	if err := s.Scan(&c.ID, &c.Realm, &c.AccountID, &c.Reference, &c.FlowID, &status, &docType, &created,
		&submitted, &due, &decided, &c.DecidedBy, &c.Reason, &c.Instead); err != nil {
		return nil, err
	}
	c.Status, c.DocumentType, c.CreatedAt = recovery.Status(status), recovery.DocumentType(docType), fromUS(created)
	c.SubmittedAt, c.DueAt, c.DecidedAt = fromNullUSPtr(submitted), fromNullUSPtr(due), fromNullUSPtr(decided)
	return &c, nil
}

// CreateCase inserts c.
func (db *DB) CreateCase(ctx context.Context, c *recovery.Case) error {
	_, err := db.writer(ctx).ExecContext(ctx, `INSERT INTO recovery_case (`+recoveryCaseColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
		c.ID, c.Realm, c.AccountID, c.Reference, c.FlowID, string(c.Status), string(c.DocumentType), us(c.CreatedAt),
		nullUSPtr(c.SubmittedAt), nullUSPtr(c.DueAt), nullUSPtr(c.DecidedAt), c.DecidedBy, c.Reason, c.Instead)
	if isUniqueViolation(err) {
		return ninsho.E(ninsho.CodeConflict).Wrap(err)
	}
	if err != nil {
		return internal("create recovery case", err)
	}
	return nil
}

// Case returns the realm's case with the reference ("" realm: any realm).
func (db *DB) Case(ctx context.Context, realm, reference string) (*recovery.Case, error) {
	c, err := scanRecoveryCase(db.reader(ctx).QueryRowContext(ctx, `SELECT `+recoveryCaseColumns+` FROM recovery_case
		WHERE reference = $1 AND (realm = $2 OR $2 = '')`, reference, realm))
	if err != nil {
		return nil, notFound("recovery case", err, ninsho.CodeNotFound)
	}
	return c, nil
}

// OpenCase returns the account's open case, or nil.
func (db *DB) OpenCase(ctx context.Context, realm, accountID string) (*recovery.Case, error) {
	c, err := scanRecoveryCase(db.reader(ctx).QueryRowContext(ctx, `SELECT `+recoveryCaseColumns+` FROM recovery_case
		WHERE realm = $1 AND account_id = $2 AND status = $3`, realm, accountID, string(recovery.StatusOpen)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, internal("open recovery case", err)
	}
	return c, nil
}

// Drafts returns the account's draft cases, the oldest first.
func (db *DB) Drafts(ctx context.Context, realm, accountID string) ([]*recovery.Case, error) {
	rows, err := db.reader(ctx).QueryContext(ctx, `SELECT `+recoveryCaseColumns+` FROM recovery_case
		WHERE realm = $1 AND account_id = $2 AND status = $3 ORDER BY created_at, id`, realm, accountID, string(recovery.StatusDraft))
	if err != nil {
		return nil, internal("recovery drafts", err)
	}
	defer rows.Close()
	var out []*recovery.Case
	for rows.Next() {
		c, err := scanRecoveryCase(rows)
		if err != nil {
			return nil, internal("recovery drafts", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, internal("recovery drafts", err)
	}
	return out, nil
}

// UpdateCase writes c's mutable fields if its stored status is from.
func (db *DB) UpdateCase(ctx context.Context, c *recovery.Case, from recovery.Status) error {
	res, err := db.writer(ctx).ExecContext(ctx, `UPDATE recovery_case SET status = $1, document_type = $2,
		submitted_at = $3, due_at = $4, decided_at = $5, decided_by = $6, reason = $7, instead = $8
		WHERE id = $9 AND status = $10`,
		string(c.Status), string(c.DocumentType), nullUSPtr(c.SubmittedAt), nullUSPtr(c.DueAt), nullUSPtr(c.DecidedAt),
		c.DecidedBy, c.Reason, c.Instead, c.ID, string(from))
	if isUniqueViolation(err) {
		return ninsho.E(ninsho.CodeRecoveryCaseOpen).Wrap(err)
	}
	if err != nil {
		return internal("update recovery case", err)
	}
	n, err := rowsAffected("update recovery case", res)
	if err != nil {
		return err
	}
	if n == 0 {
		return ninsho.E(ninsho.CodeRecoveryCaseDecided)
	}
	return nil
}

// OpenCases returns up to limit open cases, the earliest due first.
func (db *DB) OpenCases(ctx context.Context, limit int) ([]*recovery.Case, error) {
	rows, err := db.reader(ctx).QueryContext(ctx, `SELECT `+recoveryCaseColumns+` FROM recovery_case
		WHERE status = $1 ORDER BY due_at, id LIMIT $2`, string(recovery.StatusOpen), limit)
	if err != nil {
		return nil, internal("open recovery cases", err)
	}
	defer rows.Close()
	var out []*recovery.Case
	for rows.Next() {
		c, err := scanRecoveryCase(rows)
		if err != nil {
			return nil, internal("open recovery cases", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, internal("open recovery cases", err)
	}
	return out, nil
}

// AccountCases returns up to limit submitted cases of the account, newest
// first.
func (db *DB) AccountCases(ctx context.Context, accountID string, limit int) ([]*recovery.Case, error) {
	rows, err := db.reader(ctx).QueryContext(ctx, `SELECT `+recoveryCaseColumns+` FROM recovery_case
		WHERE account_id = $1 AND status <> $2 AND status <> $3 ORDER BY created_at DESC, id DESC LIMIT $4`,
		accountID, string(recovery.StatusDraft), string(recovery.StatusDropped), limit)
	if err != nil {
		return nil, internal("account recovery cases", err)
	}
	defer rows.Close()
	var out []*recovery.Case
	for rows.Next() {
		c, err := scanRecoveryCase(rows)
		if err != nil {
			return nil, internal("account recovery cases", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, internal("account recovery cases", err)
	}
	return out, nil
}

// CountDueBefore counts the open cases due at or before t.
func (db *DB) CountDueBefore(ctx context.Context, t time.Time) (int, error) {
	var n int
	if err := db.reader(ctx).QueryRowContext(ctx, `SELECT COUNT(*) FROM recovery_case WHERE status = $1 AND due_at <= $2`,
		string(recovery.StatusOpen), us(t)).Scan(&n); err != nil {
		return 0, internal("count overdue recovery cases", err)
	}
	return n, nil
}

const recoveryDocumentColumns = `id, case_id, realm, account_id, slot, mime, size, sha256, created_at`

func scanRecoveryDocument(s scanner, sealed *[]byte) (*recovery.Document, error) {
	var (
		d       recovery.Document
		slot    string
		created int64
	)
	dest := []any{&d.ID, &d.CaseID, &d.Realm, &d.AccountID, &slot, &d.Mime, &d.Size, &d.SHA256, &created}
	if sealed != nil {
		dest = append(dest, sealed)
	}
	if err := s.Scan(dest...); err != nil {
		return nil, err
	}
	d.Slot, d.CreatedAt = recovery.Slot(slot), fromUS(created)
	return &d, nil
}

// PutDocument stores d, replacing the case's document in its slot.
func (db *DB) PutDocument(ctx context.Context, d *recovery.Document) error {
	return db.InTx(ctx, func(ctx context.Context) error {
		q := db.writer(ctx)
		if _, err := q.ExecContext(ctx, `DELETE FROM recovery_document WHERE case_id = $1 AND slot = $2`, d.CaseID, string(d.Slot)); err != nil {
			return internal("put recovery document", err)
		}
		if _, err := q.ExecContext(ctx, `INSERT INTO recovery_document (`+recoveryDocumentColumns+`, sealed)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
			d.ID, d.CaseID, d.Realm, d.AccountID, string(d.Slot), d.Mime, d.Size, d.SHA256, us(d.CreatedAt), d.Sealed); err != nil {
			return internal("put recovery document", err)
		}
		return nil
	})
}

// Documents lists the case's documents without their content, by slot.
func (db *DB) Documents(ctx context.Context, caseID string) ([]*recovery.Document, error) {
	rows, err := db.reader(ctx).QueryContext(ctx, `SELECT `+recoveryDocumentColumns+` FROM recovery_document
		WHERE case_id = $1 ORDER BY slot`, caseID)
	if err != nil {
		return nil, internal("recovery documents", err)
	}
	defer rows.Close()
	var out []*recovery.Document
	for rows.Next() {
		d, err := scanRecoveryDocument(rows, nil)
		if err != nil {
			return nil, internal("recovery documents", err)
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, internal("recovery documents", err)
	}
	return out, nil
}

// Document returns one document of the case with its sealed content.
func (db *DB) Document(ctx context.Context, caseID, docID string) (*recovery.Document, error) {
	var sealed []byte
	d, err := scanRecoveryDocument(db.reader(ctx).QueryRowContext(ctx, `SELECT `+recoveryDocumentColumns+`, sealed
		FROM recovery_document WHERE case_id = $1 AND id = $2`, caseID, docID), &sealed)
	if err != nil {
		return nil, notFound("recovery document", err, ninsho.CodeNotFound)
	}
	d.Sealed = sealed
	return d, nil
}

// DeleteDocuments deletes every document of the case.
func (db *DB) DeleteDocuments(ctx context.Context, caseID string) (int, error) {
	res, err := db.writer(ctx).ExecContext(ctx, `DELETE FROM recovery_document WHERE case_id = $1`, caseID)
	if err != nil {
		return 0, internal("delete recovery documents", err)
	}
	return rowsAffected("delete recovery documents", res)
}

// PurgeDocuments deletes up to limit documents of cases decided before t.
func (db *DB) PurgeDocuments(ctx context.Context, decidedBefore time.Time, limit int) (int, error) {
	res, err := db.writer(ctx).ExecContext(ctx, `DELETE FROM recovery_document WHERE id IN (
		SELECT d.id FROM recovery_document d JOIN recovery_case c ON c.id = d.case_id
		WHERE c.decided_at < $1 LIMIT $2)`, us(decidedBefore), limit)
	if err != nil {
		return 0, internal("purge recovery documents", err)
	}
	return rowsAffected("purge recovery documents", res)
}

// PurgeDrafts deletes up to limit draft cases created before t with their
// documents.
func (db *DB) PurgeDrafts(ctx context.Context, createdBefore time.Time, limit int) (int, error) {
	var n int
	err := db.InTx(ctx, func(ctx context.Context) error {
		q := db.writer(ctx)
		rows, err := q.QueryContext(ctx, `SELECT id FROM recovery_case WHERE (status = $1 OR status = $2) AND created_at < $3 ORDER BY created_at LIMIT $4`,
			string(recovery.StatusDraft), string(recovery.StatusDropped), us(createdBefore), limit)
		if err != nil {
			return internal("purge recovery drafts", err)
		}
		var ids []string
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return internal("purge recovery drafts", err)
			}
			ids = append(ids, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return internal("purge recovery drafts", err)
		}
		for _, id := range ids {
			if _, err := q.ExecContext(ctx, `DELETE FROM recovery_document WHERE case_id = $1`, id); err != nil {
				return internal("purge recovery drafts", err)
			}
			if _, err := q.ExecContext(ctx, `DELETE FROM recovery_case WHERE id = $1 AND (status = $2 OR status = $3)`, id, string(recovery.StatusDraft), string(recovery.StatusDropped)); err != nil {
				return internal("purge recovery drafts", err)
			}
		}
		n = len(ids)
		return nil
	})
	return n, err
}
