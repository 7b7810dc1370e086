package store

import (
	"context"
	"database/sql"
	"time"

	"github.com/ninsho/ninsho/internal/account"
	"github.com/ninsho/ninsho/internal/closure"
	"github.com/ninsho/ninsho/internal/message"
	"github.com/ninsho/ninsho/internal/ninsho"
)

var _ closure.Store = (*DB)(nil)

// CloseAccount marks an active account closed at t (closure.Store).
func (db *DB) CloseAccount(ctx context.Context, id string, t time.Time) (bool, error) {
	res, err := db.writer(ctx).ExecContext(ctx,
		`UPDATE account SET status = $2, closed_at = $3, updated_at = $3 WHERE id = $1 AND status = $4`,
		id, string(account.StatusClosed), us(t), string(account.StatusActive))
	if err != nil {
		return false, internal("close account", err)
	}
	n, err := rowsAffected("close account", res)
	return n == 1, err
}

// ReopenAccount makes a closed account active again (closure.Store).
func (db *DB) ReopenAccount(ctx context.Context, id string, t time.Time) (bool, error) {
	res, err := db.writer(ctx).ExecContext(ctx,
		`UPDATE account SET status = $2, closed_at = NULL, updated_at = $3 WHERE id = $1 AND status = $4`,
		id, string(account.StatusActive), us(t), string(account.StatusClosed))
	if err != nil {
		return false, internal("reopen account", err)
	}
	n, err := rowsAffected("reopen account", res)
	return n == 1, err
}

// ClosedAt returns when the account was closed, nil when it is not closed
// (closure.Store).
func (db *DB) ClosedAt(ctx context.Context, id string) (*time.Time, error) {
	var at sql.NullInt64
	err := db.reader(ctx).QueryRowContext(ctx, `SELECT closed_at FROM account WHERE id = $1`, id).Scan(&at)
	if err != nil {
		return nil, notFound("account closed_at", err, ninsho.CodeAccountNotFound)
	}
	return fromNullUSPtr(at), nil
}

// ClosureLoss counts what closing the account would erase at its purge
// (closure.Store).
func (db *DB) ClosureLoss(ctx context.Context, accountID string, now time.Time) (closure.Counts, error) {
	var c closure.Counts
	q := db.reader(ctx)
	for _, s := range []struct {
		dst  *int
		stmt string
		args []any
	}{
		{&c.TwoStepMethods, `SELECT COUNT(*) FROM two_step_credential WHERE account_id = $1 AND proved_at IS NOT NULL AND method <> $2`, []any{accountID, "passkey"}},
		{&c.Passkeys, `SELECT COUNT(*) FROM two_step_credential WHERE account_id = $1 AND proved_at IS NOT NULL AND method = $2`, []any{accountID, "passkey"}},
		{&c.BackupCodes, `SELECT COUNT(*) FROM backup_code WHERE account_id = $1 AND used_at IS NULL`, []any{accountID}},
		{&c.TrustedDevices, `SELECT COUNT(*) FROM trusted_device WHERE account_id = $1 AND expires_at > $2`, []any{accountID, us(now)}},
		{&c.Sessions, `SELECT COUNT(*) FROM session WHERE account_id = $1 AND revoked_at IS NULL AND expires_at > $2`, []any{accountID, us(now)}},
		{&c.HistoryEvents, `SELECT COUNT(*) FROM event WHERE account_id = $1`, []any{accountID}},
	} {
		if err := q.QueryRowContext(ctx, s.stmt, s.args...).Scan(s.dst); err != nil {
			return c, internal("closure loss", err)
		}
	}
	return c, nil
}

// ClosedBefore lists up to limit accounts of the realm closed before t,
// the oldest first (closure.Store).
func (db *DB) ClosedBefore(ctx context.Context, realm string, t time.Time, limit int) ([]string, error) {
	rows, err := db.reader(ctx).QueryContext(ctx,
		`SELECT id FROM account WHERE status = $1 AND realm = $2 AND closed_at < $3 ORDER BY closed_at LIMIT $4`,
		string(account.StatusClosed), realm, us(t), limit)
	if err != nil {
		return nil, internal("closed accounts", err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, internal("closed accounts", err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, internal("closed accounts", err)
	}
	return ids, nil
}

// closurePurge are the statements that erase a purged account's personal
// data, in order, children first, each with its arguments from the
// account id, its realm, and its e-mail address and phone number ("" for
// none, which matches nothing: an absent address is stored NULL). Events
// stay as anonymous counts: type, realm and time, without the account,
// address, browser, device, request or details.
func closurePurge(id, realm, email, phone string) []struct {
	stmt string
	args []any
} {
	return []struct {
		stmt string
		args []any
	}{
		{`DELETE FROM code WHERE account_id = $1 OR (realm = $2 AND destination IN ($3, $4))`, []any{id, realm, email, phone}},
		{`DELETE FROM flow WHERE account_id = $1 OR (realm = $2 AND (identifier IN ($3, $4) OR destination IN ($3, $4)))`, []any{id, realm, email, phone}},
		{`DELETE FROM code_guard WHERE realm = $1 AND guard_key IN ($2, $3, $4, $5, $6)`,
			[]any{realm, "account:" + id, "account-familiar:" + id, "reauth:" + id, "identifier:" + email, "identifier:" + phone}},
		{`DELETE FROM oidc_consent WHERE account_id = $1`, []any{id}},
		{`UPDATE event SET account_id = NULL, actor = 'anonymous', ip = '', user_agent = '', device_id = '', request_id = '', data = '{}' WHERE account_id = $1`, []any{id}},
	}
}

// PurgeAccount erases a closed account's personal data and deletes it
// (closure.Store): its codes, flows, wrong-code counts, credentials,
// two-step methods, backup codes, device links, trusted devices and
// sessions; its events lose everything that tells whose they were; the
// outbox messages to its addresses but keep lose their sealed variables and
// address (a pending one is suppressed). It returns false when the
// account is no longer closed. Run it in a transaction.
func (db *DB) PurgeAccount(ctx context.Context, id string, keep []string) (bool, error) {
	q := db.writer(ctx)
	var realm string
	var email, phone sql.NullString
	err := q.QueryRowContext(ctx, `SELECT realm, email, phone FROM account WHERE id = $1 AND status = $2`,
		id, string(account.StatusClosed)).Scan(&realm, &email, &phone)
	if err == sql.ErrNoRows {
		return false, nil
	}
	if err != nil {
		return false, internal("purge account", err)
	}
	for _, s := range closurePurge(id, realm, email.String, phone.String) {
		if _, err := q.ExecContext(ctx, s.stmt, s.args...); err != nil {
			return false, internal("purge account", err)
		}
	}
	for _, addr := range []string{email.String, phone.String} {
		if addr == "" {
			continue
		}
		stmt := `UPDATE message SET sealed_vars = NULL, to_addr = '',
			status = CASE WHEN status = $3 THEN $4 ELSE status END
			WHERE realm = $1 AND to_addr = $2`
		margs := []any{realm, addr, string(message.StatusPending), string(message.StatusSuppressed)}
		for i, k := range keep {
			stmt += sprintf(` AND id <> $%d`, i+5)
			margs = append(margs, k)
		}
		if _, err := q.ExecContext(ctx, stmt, margs...); err != nil {
			return false, internal("purge account messages", err)
		}
	}
	for _, stmt := range pendingLinks {
		if _, err := q.ExecContext(ctx, sprintf(stmt, `$1`), id); err != nil {
			return false, internal("purge account", err)
		}
	}
	res, err := q.ExecContext(ctx, `DELETE FROM account WHERE id = $1 AND status = $2`, id, string(account.StatusClosed))
	if err != nil {
		return false, internal("purge account", err)
	}
	n, err := rowsAffected("purge account", res)
	return n == 1, err
}
