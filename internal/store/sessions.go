package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"time"

	"github.com/ninsho/ninsho/internal/event"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/session"
	"github.com/ninsho/ninsho/internal/sessions"
)

var _ sessions.Store = (*DB)(nil)

// liveSession is the condition of a session that is neither revoked nor
// ended at $N (absolute expiry) nor idle since $M; the caller substitutes
// the placeholders.
const liveSession = `revoked_at IS NULL AND expires_at > $3 AND last_seen_at > $4`

// LiveSessions returns the account's live sessions, newest first, at most
// limit.
func (db *DB) LiveSessions(ctx context.Context, realm, accountID string, now, idleSince time.Time, limit int) ([]session.Session, error) {
	rows, err := db.reader(ctx).QueryContext(ctx, `SELECT `+sessionColumns+` FROM session
		WHERE realm = $1 AND account_id = $2 AND `+liveSession+`
		ORDER BY created_at DESC, id DESC LIMIT $5`, realm, accountID, us(now), us(idleSince), limit)
	if err != nil {
		return nil, internal("live sessions", err)
	}
	defer rows.Close()
	out := []session.Session{}
	for rows.Next() {
		s, err := scanSession(rows)
		if err != nil {
			return nil, internal("live sessions", err)
		}
		out = append(out, *s)
	}
	if err := rows.Err(); err != nil {
		return nil, internal("live sessions", err)
	}
	return out, nil
}

// RevokeLiveSession revokes the account's live session id at now and
// returns it, or ninsho.CodeNotFound.
func (db *DB) RevokeLiveSession(ctx context.Context, realm, accountID, id string, now, idleSince time.Time) (*session.Session, error) {
	var s *session.Session
	err := db.InTx(ctx, func(ctx context.Context) error {
		row := db.writer(ctx).QueryRowContext(ctx, `SELECT `+sessionColumns+` FROM session
			WHERE realm = $1 AND account_id = $2 AND `+liveSession+` AND id = $5`,
			realm, accountID, us(now), us(idleSince), id)
		var err error
		if s, err = scanSession(row); err != nil {
			return notFound("revoke live session", err, ninsho.CodeNotFound)
		}
		if _, err := db.writer(ctx).ExecContext(ctx,
			`UPDATE session SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL`, id, us(now)); err != nil {
			return internal("revoke live session", err)
		}
		s.RevokedAt = &now
		return nil
	})
	return s, err
}

// RevokeDeviceSessions revokes every live session of the account on
// deviceID at t and returns how many.
func (db *DB) RevokeDeviceSessions(ctx context.Context, accountID, deviceID string, t time.Time) (int, error) {
	res, err := db.writer(ctx).ExecContext(ctx, `UPDATE session SET revoked_at = $3
		WHERE account_id = $1 AND device_id = $2 AND revoked_at IS NULL AND expires_at > $3`,
		accountID, deviceID, us(t))
	if err != nil {
		return 0, internal("revoke device sessions", err)
	}
	return rowsAffected("revoke device sessions", res)
}

// FamiliarDevices returns the account's familiar devices, the most
// recently signed-in first, at most limit, each with the address of its
// newest kept session of the account and its trust at now.
func (db *DB) FamiliarDevices(ctx context.Context, realm, accountID string, now time.Time, limit int) ([]sessions.Device, error) {
	rows, err := db.reader(ctx).QueryContext(ctx, `SELECT ad.device_id, d.user_agent, ad.first_at, ad.last_at,
		(SELECT s.ip FROM session s WHERE s.account_id = ad.account_id AND s.device_id = ad.device_id
			ORDER BY s.created_at DESC, s.id DESC LIMIT 1),
		(SELECT MAX(t.expires_at) FROM trusted_device t WHERE t.account_id = ad.account_id AND t.device_id = ad.device_id
			AND t.expires_at > $3)
		FROM account_device ad JOIN device d ON d.id = ad.device_id
		WHERE ad.realm = $1 AND ad.account_id = $2
		ORDER BY ad.last_at DESC, ad.device_id DESC LIMIT $4`, realm, accountID, us(now), limit)
	if err != nil {
		return nil, internal("familiar devices", err)
	}
	defer rows.Close()
	out := []sessions.Device{}
	for rows.Next() {
		var (
			d            sessions.Device
			first, last  int64
			ip           sql.NullString
			trustedUntil sql.NullInt64
		)
		if err := rows.Scan(&d.ID, &d.UserAgent, &first, &last, &ip, &trustedUntil); err != nil {
			return nil, internal("familiar devices", err)
		}
		d.FirstAt, d.LastAt, d.LastIP = fromUS(first), fromUS(last), ip.String
		d.TrustedUntil = fromNullUSPtr(trustedUntil)
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, internal("familiar devices", err)
	}
	return out, nil
}

// ForgetFamiliarDevice deletes the account's link to deviceID and its
// trusted-device rows for it; the device row stays.
func (db *DB) ForgetFamiliarDevice(ctx context.Context, realm, accountID, deviceID string) (bool, error) {
	var trusted bool
	err := db.InTx(ctx, func(ctx context.Context) error {
		res, err := db.writer(ctx).ExecContext(ctx,
			`DELETE FROM account_device WHERE realm = $1 AND account_id = $2 AND device_id = $3`, realm, accountID, deviceID)
		if err != nil {
			return internal("forget familiar device", err)
		}
		n, err := rowsAffected("forget familiar device", res)
		if err != nil {
			return err
		}
		if n == 0 {
			return ninsho.E(ninsho.CodeNotFound)
		}
		res, err = db.writer(ctx).ExecContext(ctx,
			`DELETE FROM trusted_device WHERE realm = $1 AND account_id = $2 AND device_id = $3`, realm, accountID, deviceID)
		if err != nil {
			return internal("forget familiar device trust", err)
		}
		n, err = rowsAffected("forget familiar device trust", res)
		trusted = n > 0
		return err
	})
	return trusted, err
}

// AccountEvent returns the account's event id in realm, or
// ninsho.CodeNotFound.
func (db *DB) AccountEvent(ctx context.Context, realm, accountID, id string) (*event.Event, error) {
	var (
		e          event.Event
		account    sql.NullString
		data       string
		occurredAt int64
	)
	err := db.reader(ctx).QueryRowContext(ctx, `SELECT
		id, realm, account_id, type, actor, ip, user_agent, device_id, request_id, data, occurred_at
		FROM event WHERE id = $1 AND account_id = $2 AND realm = $3`, id, accountID, realm).
		Scan(&e.ID, &e.Realm, &account, &e.Type, &e.Actor, &e.IP, &e.UserAgent, &e.DeviceID, &e.RequestID, &data, &occurredAt)
	if err != nil {
		return nil, notFound("account event", err, ninsho.CodeNotFound)
	}
	if err := json.Unmarshal([]byte(data), &e.Data); err != nil {
		return nil, internal("account event data", err)
	}
	e.AccountID, e.At = account.String, fromUS(occurredAt)
	return &e, nil
}

// rowScanner is a *sql.Row or *sql.Rows.
type rowScanner interface{ Scan(dest ...any) error }

// scanSession reads one row of sessionColumns.
func scanSession(r rowScanner) (*session.Session, error) {
	var (
		s                                session.Session
		deviceID                         sql.NullString
		methods                          string
		createdAt, lastSeenAt, expiresAt int64
		authenticatedAt                  int64
		revokedAt                        sql.NullInt64
	)
	if err := r.Scan(&s.ID, &s.Realm, &s.AccountID, &deviceID, &s.TokenHash, &s.AAL, &methods, &s.IP, &s.UserAgent,
		&createdAt, &lastSeenAt, &expiresAt, &revokedAt, &authenticatedAt); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(methods), &s.Methods); err != nil {
		return nil, err
	}
	s.Methods = session.ReadMethods(s.Methods)
	s.DeviceID = deviceID.String
	s.CreatedAt, s.LastSeenAt, s.ExpiresAt = fromUS(createdAt), fromUS(lastSeenAt), fromUS(expiresAt)
	s.RevokedAt = fromNullUSPtr(revokedAt)
	s.AuthenticatedAt = fromUS(authenticatedAt)
	return &s, nil
}
