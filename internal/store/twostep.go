package store

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/twostep"
)

var (
	_ twostep.Store       = (*DB)(nil)
	_ twostep.BackupStore = (*DB)(nil)
)

const twoStepCredentialColumns = `id, realm, account_id, method, label, sealed, phone, passkey_id, sign_count, created_at, last_used_at, proved_at`

func scanTwoStepCredential(s scanner) (*twostep.Credential, error) {
	var (
		c                  twostep.Credential
		method             string
		phone              sql.NullString
		signCount, created int64
		lastUsed, proved   sql.NullInt64
	)
	if err := s.Scan(&c.ID, &c.Realm, &c.AccountID, &method, &c.Label, &c.Sealed, &phone, &c.PasskeyID, &signCount,
		&created, &lastUsed, &proved); err != nil {
		return nil, err
	}
	c.Method, c.Phone, c.SignCount = twostep.Method(method), phone.String, uint32(signCount)
	c.CreatedAt, c.LastUsedAt, c.ProvedAt = fromUS(created), fromNullUSPtr(lastUsed), fromNullUSPtr(proved)
	return &c, nil
}

// accountInRealm returns ninsho.CodeAccountNotFound unless the account
// exists in realm. An account never changes realm, so the check holds for
// the rest of the transaction.
func accountInRealm(ctx context.Context, q querier, realm, accountID string) error {
	var one int
	err := q.QueryRowContext(ctx, `SELECT 1 FROM account WHERE id = $1 AND realm = $2`, accountID, realm).Scan(&one)
	return notFoundOrNil("account in realm", err, ninsho.CodeAccountNotFound)
}

// notFoundOrNil is nil for nil, else notFound.
func notFoundOrNil(op string, err error, c ninsho.Code) error {
	if err == nil {
		return nil
	}
	return notFound(op, err, c)
}

// AddCredential inserts c, then removes the account's other unproved
// credentials of the same method (so a refused insert removes nothing). A
// used passkey id is ninsho.CodeConflict, an account not in c.Realm
// ninsho.CodeAccountNotFound.
func (db *DB) AddCredential(ctx context.Context, c *twostep.Credential) error {
	return db.InTx(ctx, func(ctx context.Context) error {
		if err := accountInRealm(ctx, db.writer(ctx), c.Realm, c.AccountID); err != nil {
			return err
		}
		err := db.guarded(ctx, func(q querier) error {
			_, err := q.ExecContext(ctx, `INSERT INTO two_step_credential (`+twoStepCredentialColumns+`)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
				c.ID, c.Realm, c.AccountID, string(c.Method), c.Label, nullBytes(c.Sealed), nullStr(c.Phone),
				nullBytes(c.PasskeyID), int64(c.SignCount), us(c.CreatedAt), nullUSPtr(c.LastUsedAt), nullUSPtr(c.ProvedAt))
			if isUniqueViolation(err) {
				return ninsho.E(ninsho.CodeConflict).Wrap(err)
			}
			if err != nil {
				return internal("add credential", err)
			}
			return nil
		})
		if err != nil {
			return err
		}
		if _, err := db.writer(ctx).ExecContext(ctx, `DELETE FROM two_step_credential
			WHERE account_id = $1 AND realm = $2 AND method = $3 AND proved_at IS NULL AND id <> $4`,
			c.AccountID, c.Realm, string(c.Method), c.ID); err != nil {
			return internal("add credential", err)
		}
		return nil
	})
}

// ProveCredential marks the credential proved at t, keeping an earlier time.
func (db *DB) ProveCredential(ctx context.Context, realm, accountID, id string, t time.Time) error {
	res, err := db.writer(ctx).ExecContext(ctx,
		`UPDATE two_step_credential SET proved_at = COALESCE(proved_at, $4) WHERE id = $1 AND realm = $2 AND account_id = $3`,
		id, realm, accountID, us(t))
	return oneRow("prove credential", res, err)
}

// Credentials returns the account's credentials, oldest first.
func (db *DB) Credentials(ctx context.Context, realm, accountID string) ([]twostep.Credential, error) {
	rows, err := db.reader(ctx).QueryContext(ctx, `SELECT `+twoStepCredentialColumns+` FROM two_step_credential
		WHERE account_id = $1 AND realm = $2 ORDER BY created_at, id`, accountID, realm)
	if err != nil {
		return nil, internal("credentials", err)
	}
	defer rows.Close()
	var out []twostep.Credential
	for rows.Next() {
		c, err := scanTwoStepCredential(rows)
		if err != nil {
			return nil, internal("credentials", err)
		}
		out = append(out, *c)
	}
	if err := rows.Err(); err != nil {
		return nil, internal("credentials", err)
	}
	return out, nil
}

// CredentialByPasskeyID returns the realm's proved passkey with the WebAuthn
// credential id, or ninsho.CodeNotFound.
func (db *DB) CredentialByPasskeyID(ctx context.Context, realm string, passkeyID []byte) (*twostep.Credential, error) {
	if len(passkeyID) == 0 {
		return nil, ninsho.E(ninsho.CodeNotFound)
	}
	c, err := scanTwoStepCredential(db.reader(ctx).QueryRowContext(ctx, `SELECT `+twoStepCredentialColumns+`
		FROM two_step_credential WHERE realm = $1 AND passkey_id = $2 AND method = $3 AND proved_at IS NOT NULL`,
		realm, passkeyID, string(twostep.MethodPasskey)))
	if err != nil {
		return nil, notFound("credential by passkey id", err, ninsho.CodeNotFound)
	}
	return c, nil
}

// UseCredential records a use of a proved credential.
func (db *DB) UseCredential(ctx context.Context, realm, accountID, id string, signCount uint32, t time.Time) error {
	res, err := db.writer(ctx).ExecContext(ctx, `UPDATE two_step_credential SET last_used_at = $4, sign_count = $5
		WHERE id = $1 AND realm = $2 AND account_id = $3 AND proved_at IS NOT NULL`,
		id, realm, accountID, us(t), int64(signCount))
	return oneRow("use credential", res, err)
}

// RemoveCredential deletes the credential and clears the preferred method
// when it was this one.
func (db *DB) RemoveCredential(ctx context.Context, realm, accountID, id string) error {
	return db.InTx(ctx, func(ctx context.Context) error {
		q := db.writer(ctx)
		res, err := q.ExecContext(ctx, `DELETE FROM two_step_credential WHERE id = $1 AND realm = $2 AND account_id = $3`,
			id, realm, accountID)
		if err := oneRow("remove credential", res, err); err != nil {
			return err
		}
		if _, err := q.ExecContext(ctx, `UPDATE two_step_state SET preferred = '' WHERE account_id = $1 AND realm = $2 AND preferred = $3`,
			accountID, realm, id); err != nil {
			return internal("remove credential", err)
		}
		return nil
	})
}

// oneRow turns the result of an UPDATE or DELETE of one row by id into nil,
// ninsho.CodeNotFound when no row matched, or an internal error.
func oneRow(op string, res sql.Result, err error) error {
	if err != nil {
		return internal(op, err)
	}
	n, err := rowsAffected(op, res)
	if err != nil {
		return err
	}
	if n == 0 {
		return ninsho.E(ninsho.CodeNotFound)
	}
	return nil
}

// State returns the account's 2SV state, the zero state when none is stored.
func (db *DB) State(ctx context.Context, realm, accountID string) (twostep.State, error) {
	st := twostep.State{Realm: realm, AccountID: accountID}
	var updated int64
	err := db.reader(ctx).QueryRowContext(ctx, `SELECT enabled, preferred, totp_last_step, updated_at
		FROM two_step_state WHERE account_id = $1 AND realm = $2`, accountID, realm).
		Scan(&st.Enabled, &st.Preferred, &st.TOTPLastStep, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return st, nil
	}
	if err != nil {
		return twostep.State{}, internal("two-step state", err)
	}
	st.UpdatedAt = fromUS(updated)
	return st, nil
}

// SetState writes the enabled flag, the preferred method and the time, and
// keeps the TOTP step. One statement: the row is inserted only for an
// account of st.Realm, and updated only when it belongs to st.Realm.
func (db *DB) SetState(ctx context.Context, st twostep.State) error {
	res, err := db.writer(ctx).ExecContext(ctx, `INSERT INTO two_step_state (account_id, realm, enabled, preferred, totp_last_step, updated_at)
		SELECT id, realm, CAST($3 AS BOOLEAN), CAST($4 AS TEXT), 0, CAST($5 AS BIGINT) FROM account WHERE id = $1 AND realm = $2
		ON CONFLICT (account_id) DO UPDATE SET enabled = excluded.enabled, preferred = excluded.preferred,
			updated_at = excluded.updated_at
		WHERE two_step_state.realm = excluded.realm`,
		st.AccountID, st.Realm, st.Enabled, st.Preferred, us(st.UpdatedAt))
	if err != nil {
		return internal("set two-step state", err)
	}
	n, err := rowsAffected("set two-step state", res)
	if err != nil {
		return err
	}
	if n == 0 {
		return ninsho.E(ninsho.CodeAccountNotFound)
	}
	return nil
}

// AdvanceTOTPStep sets the last accepted TOTP step to step when it is later
// than the stored one, in one statement (compare and set), and reports
// whether it did. An account not in realm has no step accepted.
func (db *DB) AdvanceTOTPStep(ctx context.Context, realm, accountID string, step int64, t time.Time) (bool, error) {
	if step <= 0 {
		return false, nil
	}
	res, err := db.writer(ctx).ExecContext(ctx, `INSERT INTO two_step_state (account_id, realm, enabled, preferred, totp_last_step, updated_at)
		SELECT id, realm, FALSE, '', CAST($3 AS BIGINT), CAST($4 AS BIGINT) FROM account WHERE id = $1 AND realm = $2
		ON CONFLICT (account_id) DO UPDATE SET totp_last_step = excluded.totp_last_step
		WHERE two_step_state.totp_last_step < excluded.totp_last_step AND two_step_state.realm = excluded.realm`,
		accountID, realm, step, us(t))
	if err != nil {
		return false, internal("advance totp step", err)
	}
	n, err := rowsAffected("advance totp step", res)
	return n == 1, err
}

// ReplaceBackupCodes replaces the account's backup codes with hashes in one
// transaction.
func (db *DB) ReplaceBackupCodes(ctx context.Context, realm, accountID string, hashes [][]byte, t time.Time) error {
	if len(hashes) > twostep.BackupCodeCount {
		return ninsho.Internal("store: replace backup codes: %d codes, at most %d", len(hashes), twostep.BackupCodeCount)
	}
	for i, h := range hashes {
		if len(h) == 0 {
			return ninsho.Internal("store: replace backup codes: code %d has an empty hash", i)
		}
		for _, g := range hashes[:i] {
			if bytes.Equal(g, h) {
				return ninsho.Internal("store: replace backup codes: code %d repeats an earlier one", i)
			}
		}
	}
	return db.InTx(ctx, func(ctx context.Context) error {
		q := db.writer(ctx)
		if err := accountInRealm(ctx, q, realm, accountID); err != nil {
			return err
		}
		if _, err := q.ExecContext(ctx, `DELETE FROM backup_code WHERE account_id = $1 AND realm = $2`, accountID, realm); err != nil {
			return internal("replace backup codes", err)
		}
		for _, h := range hashes {
			_, err := q.ExecContext(ctx, `INSERT INTO backup_code (realm, account_id, hash, created_at, used_at)
				VALUES ($1, $2, $3, $4, NULL)`, realm, accountID, h, us(t))
			if err != nil {
				return internal("replace backup codes", err)
			}
		}
		return nil
	})
}

// UseBackupCode marks the unused code with the hash used, once.
func (db *DB) UseBackupCode(ctx context.Context, realm, accountID string, hash []byte, t time.Time) (bool, error) {
	if len(hash) == 0 {
		return false, nil
	}
	res, err := db.writer(ctx).ExecContext(ctx, `UPDATE backup_code SET used_at = $4
		WHERE account_id = $1 AND realm = $2 AND hash = $3 AND used_at IS NULL`, accountID, realm, hash, us(t))
	if err != nil {
		return false, internal("use backup code", err)
	}
	n, err := rowsAffected("use backup code", res)
	return n == 1, err
}

// BackupCodesLeft counts the account's unused backup codes.
func (db *DB) BackupCodesLeft(ctx context.Context, realm, accountID string) (int, error) {
	var n int
	if err := db.reader(ctx).QueryRowContext(ctx, `SELECT COUNT(*) FROM backup_code
		WHERE account_id = $1 AND realm = $2 AND used_at IS NULL`, accountID, realm).Scan(&n); err != nil {
		return 0, internal("backup codes left", err)
	}
	return n, nil
}

// BackupCodesSince reports whether the account has backup codes created at
// or after since.
func (db *DB) BackupCodesSince(ctx context.Context, realm, accountID string, since time.Time) (bool, error) {
	var n int
	if err := db.reader(ctx).QueryRowContext(ctx, `SELECT COUNT(*) FROM backup_code
		WHERE account_id = $1 AND realm = $2 AND created_at >= $3`, accountID, realm, us(since)).Scan(&n); err != nil {
		return false, internal("backup codes since", err)
	}
	return n > 0, nil
}
