package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/ninsho"
)

const flowColumns = `id, realm, kind, status, step, account_id, device_id, identifier, channel, destination, attempts, sends, last_sent_at, locale, created_at, updated_at, expires_at, version, state, client, binding_hash, device_hash, return_to`

func scanFlow(s scanner) (*flow.Flow, error) {
	var (
		f                               flow.Flow
		lastSentAt                      sql.NullInt64
		createdAt, updatedAt, expiresAt int64
		state                           string
		returnTo                        sql.NullString
	)
	if err := s.Scan(&f.ID, &f.Realm, &f.Kind, &f.Status, &f.Step, &f.AccountID, &f.DeviceID, &f.Identifier,
		&f.Channel, &f.Destination, &f.Attempts, &f.Sends, &lastSentAt, &f.Locale,
		&createdAt, &updatedAt, &expiresAt, &f.Version, &state, &f.Client, &f.BindingHash, &f.DeviceHash, &returnTo); err != nil {
		return nil, err
	}
	if state != "" && state != "{}" {
		if err := json.Unmarshal([]byte(state), &f.State); err != nil {
			return nil, err
		}
	}
	f.LastSentAt = fromNullUS(lastSentAt)
	f.ReturnTo = returnTo.String
	f.CreatedAt, f.UpdatedAt, f.ExpiresAt = fromUS(createdAt), fromUS(updatedAt), fromUS(expiresAt)
	return &f, nil
}

// CreateFlow inserts f with Version 1 (and sets f.Version to 1).
func (db *DB) CreateFlow(ctx context.Context, f *flow.Flow) error {
	_, err := db.writer(ctx).ExecContext(ctx, `INSERT INTO flow (`+flowColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, 1, $18, $19, $20, $21, $22)`,
		f.ID, f.Realm, string(f.Kind), string(f.Status), string(f.Step), f.AccountID, f.DeviceID, f.Identifier,
		f.Channel, f.Destination, f.Attempts, f.Sends, nullUS(f.LastSentAt), f.Locale,
		us(f.CreatedAt), us(f.UpdatedAt), us(f.ExpiresAt), flowState(f), string(f.Client), nullBytes(f.BindingHash), nullBytes(f.DeviceHash), nullString(f.ReturnTo))
	if err != nil {
		return internal("create flow", err)
	}
	f.Version = 1
	return nil
}

// Flow returns the flow with the id, or ninsho.CodeFlowNotFound.
func (db *DB) Flow(ctx context.Context, id string) (*flow.Flow, error) {
	f, err := scanFlow(db.reader(ctx).QueryRowContext(ctx, `SELECT `+flowColumns+` FROM flow WHERE id = $1`, id))
	if err != nil {
		return nil, notFound("flow", err, ninsho.CodeFlowNotFound)
	}
	return f, nil
}

// UpdateFlow writes every mutable field of f (all but id, realm, kind,
// created_at and what binds it: client, binding_hash, return_to) if the stored version still equals f.Version, then increments
// f.Version. A stale version is ninsho.CodeConflict; an unknown id is
// ninsho.CodeFlowNotFound.
func (db *DB) UpdateFlow(ctx context.Context, f *flow.Flow) error {
	q := db.writer(ctx)
	res, err := q.ExecContext(ctx, `UPDATE flow
		SET status = $3, step = $4, account_id = $5, device_id = $6, identifier = $7, channel = $8,
			destination = $9, attempts = $10, sends = $11, last_sent_at = $12, locale = $13,
			updated_at = $14, expires_at = $15, state = $16, device_hash = $17, version = version + 1
		WHERE id = $1 AND version = $2`,
		f.ID, f.Version, string(f.Status), string(f.Step), f.AccountID, f.DeviceID, f.Identifier, f.Channel,
		f.Destination, f.Attempts, f.Sends, nullUS(f.LastSentAt), f.Locale, us(f.UpdatedAt), us(f.ExpiresAt), flowState(f), nullBytes(f.DeviceHash))
	if err != nil {
		return internal("update flow", err)
	}
	n, err := rowsAffected("update flow", res)
	if err != nil {
		return err
	}
	if n == 0 {
		var one int
		err := q.QueryRowContext(ctx, `SELECT 1 FROM flow WHERE id = $1`, f.ID).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return ninsho.E(ninsho.CodeFlowNotFound)
		}
		if err != nil {
			return internal("update flow", err)
		}
		return ninsho.E(ninsho.CodeConflict)
	}
	f.Version++
	return nil
}

// DeleteExpiredFlows removes flows that expired before t and returns how
// many.
func (db *DB) DeleteExpiredFlows(ctx context.Context, before time.Time) (int, error) {
	res, err := db.writer(ctx).ExecContext(ctx, `DELETE FROM flow WHERE expires_at < $1`, us(before))
	if err != nil {
		return 0, internal("delete expired flows", err)
	}
	return rowsAffected("delete expired flows", res)
}

// nullBytes is b, or NULL when empty.
func nullBytes(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

// nullString is s, or NULL when empty.
func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// flowState encodes f.State as JSON text ("{}" when empty).
func flowState(f *flow.Flow) string {
	if len(f.State) == 0 {
		return "{}"
	}
	b, _ := json.Marshal(f.State) // a map of strings always encodes
	return string(b)
}
