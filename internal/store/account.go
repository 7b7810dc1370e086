package store

import (
	"context"
	"database/sql"
	"slices"
	"time"

	"github.com/ninsho/ninsho/internal/account"
	"github.com/ninsho/ninsho/internal/ninsho"
)

// accountInsertColumns are written by CreateAccount; reads add the lock
// state, which only LockStore writes.
const accountInsertColumns = `id, realm, type, status, name, email, email_verified_at, phone, phone_verified_at, locale, created_at, updated_at`

const accountColumns = accountInsertColumns + `, lock_kind, locked_until, lock_level, locked_at, failed_unfamiliar`

func scanAccount(s scanner) (*account.Account, error) {
	var (
		a                    account.Account
		email, phone         sql.NullString
		emailAt, phoneAt     sql.NullInt64
		createdAt, updatedAt int64
		lockKind             string
		lockedUntil, lockAt  sql.NullInt64
	)
	if err := s.Scan(&a.ID, &a.Realm, &a.Type, &a.Status, &a.Name, &email, &emailAt, &phone, &phoneAt, &a.Locale, &createdAt, &updatedAt,
		&lockKind, &lockedUntil, &a.Lock.Level, &lockAt, &a.FailedUnfamiliar); err != nil {
		return nil, err
	}
	a.Email, a.EmailVerifiedAt = email.String, fromNullUSPtr(emailAt)
	a.Phone, a.PhoneVerifiedAt = phone.String, fromNullUSPtr(phoneAt)
	a.CreatedAt, a.UpdatedAt = fromUS(createdAt), fromUS(updatedAt)
	a.Lock.Kind, a.Lock.Until, a.Lock.LockedAt = account.LockKind(lockKind), fromNullUSPtr(lockedUntil), fromNullUSPtr(lockAt)
	return &a, nil
}

// AddUnfamiliarFailure adds one failed password from an unfamiliar source
// and returns the new count; an unknown id is ninsho.CodeAccountNotFound.
func (db *DB) AddUnfamiliarFailure(ctx context.Context, accountID string) (int, error) {
	var n int
	err := db.writer(ctx).QueryRowContext(ctx,
		`UPDATE account SET failed_unfamiliar = failed_unfamiliar + 1 WHERE id = $1 RETURNING failed_unfamiliar`,
		accountID).Scan(&n)
	if err != nil {
		return 0, notFound("add unfamiliar failure", err, ninsho.CodeAccountNotFound)
	}
	return n, nil
}

// SetLock writes the lock state and resets the failure count; an unknown id
// is ninsho.CodeAccountNotFound.
func (db *DB) SetLock(ctx context.Context, accountID string, l account.Lock) error {
	res, err := db.writer(ctx).ExecContext(ctx,
		`UPDATE account SET lock_kind = $2, locked_until = $3, lock_level = $4, locked_at = $5, failed_unfamiliar = 0 WHERE id = $1`,
		accountID, string(l.Kind), nullUSPtr(l.Until), l.Level, nullUSPtr(l.LockedAt))
	if err != nil {
		return internal("set lock", err)
	}
	n, err := rowsAffected("set lock", res)
	if err != nil {
		return err
	}
	if n == 0 {
		return ninsho.E(ninsho.CodeAccountNotFound)
	}
	return nil
}

// CreateAccount inserts a. A used e-mail address or phone number in the
// realm is ninsho.CodeIdentifierTaken; the transaction in ctx stays usable.
func (db *DB) CreateAccount(ctx context.Context, a *account.Account) error {
	return db.guarded(ctx, func(q querier) error {
		_, err := q.ExecContext(ctx, `INSERT INTO account (`+accountInsertColumns+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
			a.ID, a.Realm, string(a.Type), string(a.Status), a.Name,
			nullStr(a.Email), nullUSPtr(a.EmailVerifiedAt), nullStr(a.Phone), nullUSPtr(a.PhoneVerifiedAt),
			a.Locale, us(a.CreatedAt), us(a.UpdatedAt))
		if isUniqueViolation(err) {
			return ninsho.E(ninsho.CodeIdentifierTaken).Wrap(err)
		}
		if err != nil {
			return internal("create account", err)
		}
		return nil
	})
}

// Account returns the account with the id, or ninsho.CodeAccountNotFound.
func (db *DB) Account(ctx context.Context, id string) (*account.Account, error) {
	a, err := scanAccount(db.reader(ctx).QueryRowContext(ctx,
		`SELECT `+accountColumns+` FROM account WHERE id = $1`, id))
	if err != nil {
		return nil, notFound("account", err, ninsho.CodeAccountNotFound)
	}
	return a, nil
}

// HeldAccount returns the account with the id and, in a transaction,
// holds its row until the transaction ends (account.Holder): PostgreSQL
// locks it (FOR UPDATE); SQLite's write transaction already excludes every
// other writer.
func (db *DB) HeldAccount(ctx context.Context, id string) (*account.Account, error) {
	lock := ""
	if db.tx(ctx) != nil {
		lock = db.d.rowLock
	}
	a, err := scanAccount(db.reader(ctx).QueryRowContext(ctx,
		`SELECT `+accountColumns+` FROM account WHERE id = $1`+lock, id))
	if err != nil {
		return nil, notFound("held account", err, ninsho.CodeAccountNotFound)
	}
	return a, nil
}

// AccountByEmail returns the realm's account with the normalised e-mail
// address, or ninsho.CodeAccountNotFound.
func (db *DB) AccountByEmail(ctx context.Context, realm, email string) (*account.Account, error) {
	if email == "" {
		return nil, ninsho.E(ninsho.CodeAccountNotFound)
	}
	a, err := scanAccount(db.reader(ctx).QueryRowContext(ctx,
		`SELECT `+accountColumns+` FROM account WHERE realm = $1 AND email = $2`, realm, email))
	if err != nil {
		return nil, notFound("account by email", err, ninsho.CodeAccountNotFound)
	}
	return a, nil
}

// AccountByPhone returns the realm's account with the E.164 phone number,
// or ninsho.CodeAccountNotFound.
func (db *DB) AccountByPhone(ctx context.Context, realm, phone string) (*account.Account, error) {
	if phone == "" {
		return nil, ninsho.E(ninsho.CodeAccountNotFound)
	}
	a, err := scanAccount(db.reader(ctx).QueryRowContext(ctx,
		`SELECT `+accountColumns+` FROM account WHERE realm = $1 AND phone = $2`, realm, phone))
	if err != nil {
		return nil, notFound("account by phone", err, ninsho.CodeAccountNotFound)
	}
	return a, nil
}

// UpdateAccount writes every mutable field of a. An identifier used by
// another account of the realm is ninsho.CodeIdentifierTaken (the
// transaction in ctx stays usable); an unknown id is
// ninsho.CodeAccountNotFound.
func (db *DB) UpdateAccount(ctx context.Context, a *account.Account) error {
	return db.guarded(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx, `UPDATE account
			SET type = $2, status = $3, name = $4, email = $5, email_verified_at = $6,
				phone = $7, phone_verified_at = $8, locale = $9, updated_at = $10
			WHERE id = $1`,
			a.ID, string(a.Type), string(a.Status), a.Name,
			nullStr(a.Email), nullUSPtr(a.EmailVerifiedAt), nullStr(a.Phone), nullUSPtr(a.PhoneVerifiedAt),
			a.Locale, us(a.UpdatedAt))
		if isUniqueViolation(err) {
			return ninsho.E(ninsho.CodeIdentifierTaken).Wrap(err)
		}
		if err != nil {
			return internal("update account", err)
		}
		n, err := rowsAffected("update account", res)
		if err != nil {
			return err
		}
		if n == 0 {
			return ninsho.E(ninsho.CodeAccountNotFound)
		}
		return nil
	})
}

// pendingLinks are the statements that remove what belongs to the accounts
// a subquery selects, children first. Events stay: they are the audit trail.
// Devices stay: they are browsers, not the account's.
var pendingLinks = []string{
	`DELETE FROM suspension WHERE account_id IN (%s)`,
	`DELETE FROM password_reset_required WHERE account_id IN (%s)`,
	`DELETE FROM recovery_document WHERE account_id IN (%s)`,
	`DELETE FROM recovery_case WHERE account_id IN (%s)`,
	`DELETE FROM contact_change WHERE account_id IN (%s)`,
	`DELETE FROM trusted_device WHERE account_id IN (%s)`,
	`DELETE FROM backup_code WHERE account_id IN (%s)`,
	`DELETE FROM two_step_state WHERE account_id IN (%s)`,
	`DELETE FROM two_step_credential WHERE account_id IN (%s)`,
	`DELETE FROM credential WHERE account_id IN (%s)`,
	`DELETE FROM account_network WHERE account_id IN (%s)`,
	`DELETE FROM account_device WHERE account_id IN (%s)`,
	`DELETE FROM session WHERE account_id IN (%s)`,
}

// pendingCodes removes the codes of the accounts a subquery selects. Only a
// purge runs it: see DeletePendingAccount.
const pendingCodes = `DELETE FROM code WHERE account_id IN (%s)`

// DeletePendingAccount removes a pending account with its credentials,
// device links and sessions. It returns false when the account is not
// pending or does not exist.
//
// Its codes stay, unlike the account.Store doc says: they expire by
// themselves, and the hourly cap per destination must still count them, or
// replacing an unconfirmed sign-up would be a way round the cap (the sign-up
// flow relies on this). PurgePendingAccounts removes them with the account.
func (db *DB) DeletePendingAccount(ctx context.Context, id string) (bool, error) {
	var deleted bool
	err := db.InTx(ctx, func(ctx context.Context) error {
		q := db.writer(ctx)
		// A no-op update takes the row lock first, so that no concurrent
		// activation can slip in between the deletes below.
		res, err := q.ExecContext(ctx, `UPDATE account SET status = status WHERE id = $1 AND status = $2`,
			id, string(account.StatusPending))
		if err != nil {
			return internal("delete pending account", err)
		}
		if n, err := rowsAffected("delete pending account", res); err != nil || n == 0 {
			return err
		}
		for _, stmt := range pendingLinks {
			if _, err := q.ExecContext(ctx, sprintf(stmt, `$1`), id); err != nil {
				return internal("delete pending account", err)
			}
		}
		if _, err := q.ExecContext(ctx, `DELETE FROM account WHERE id = $1`, id); err != nil {
			return internal("delete pending account", err)
		}
		deleted = true
		return nil
	})
	return deleted, err
}

// PurgePendingAccounts removes pending accounts created before t, with their
// credentials, device links, sessions and codes, and returns how many.
func (db *DB) PurgePendingAccounts(ctx context.Context, createdBefore time.Time) (int, error) {
	var n int
	err := db.InTx(ctx, func(ctx context.Context) error {
		q := db.writer(ctx)
		pending := string(account.StatusPending)
		cutoff := us(createdBefore)
		if _, err := q.ExecContext(ctx, `UPDATE account SET status = status WHERE status = $1 AND created_at < $2`,
			pending, cutoff); err != nil {
			return internal("purge pending accounts", err)
		}
		sel := `SELECT id FROM account WHERE status = $1 AND created_at < $2`
		for _, stmt := range append(slices.Clip(pendingLinks), pendingCodes) {
			if _, err := q.ExecContext(ctx, sprintf(stmt, sel), pending, cutoff); err != nil {
				return internal("purge pending accounts", err)
			}
		}
		res, err := q.ExecContext(ctx, `DELETE FROM account WHERE status = $1 AND created_at < $2`, pending, cutoff)
		if err != nil {
			return internal("purge pending accounts", err)
		}
		n, err = rowsAffected("purge pending accounts", res)
		return err
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// credentialPassword is the credential type of the password hash.
const credentialPassword = "password"

// PasswordHash returns the account's encoded password hash, or
// ninsho.CodeNotFound when it has none.
func (db *DB) PasswordHash(ctx context.Context, accountID string) (string, error) {
	var hash string
	err := db.reader(ctx).QueryRowContext(ctx,
		`SELECT secret FROM credential WHERE account_id = $1 AND type = $2`,
		accountID, credentialPassword).Scan(&hash)
	if err != nil {
		return "", notFound("password hash", err, ninsho.CodeNotFound)
	}
	return hash, nil
}

// SetPasswordHash inserts or replaces the account's password hash. An
// unknown account is ninsho.CodeAccountNotFound.
func (db *DB) SetPasswordHash(ctx context.Context, accountID, hash string, at time.Time) error {
	res, err := db.writer(ctx).ExecContext(ctx, `INSERT INTO credential (realm, account_id, type, secret, created_at, updated_at)
		SELECT realm, id, $2, $3, CAST($4 AS BIGINT), CAST($4 AS BIGINT) FROM account WHERE id = $1
		ON CONFLICT (account_id, type) DO UPDATE SET secret = excluded.secret, updated_at = excluded.updated_at`,
		accountID, credentialPassword, hash, us(at))
	if err != nil {
		return internal("set password hash", err)
	}
	n, err := rowsAffected("set password hash", res)
	if err != nil {
		return err
	}
	if n == 0 {
		return ninsho.E(ninsho.CodeAccountNotFound)
	}
	return nil
}
