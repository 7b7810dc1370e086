package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"strings"

	"github.com/ninsho/ninsho/internal/desk"
	"github.com/ninsho/ninsho/internal/event"
	"github.com/ninsho/ninsho/internal/message"
)

var _ desk.Lookup = (*DB)(nil)

// EventsByRequest returns the events the request with the id recorded
// (desk.Lookup), oldest first, at most limit.
func (db *DB) EventsByRequest(ctx context.Context, requestID string, limit int) ([]*event.Event, error) {
	if requestID == "" || limit <= 0 {
		return nil, nil
	}
	rows, err := db.reader(ctx).QueryContext(ctx, `SELECT
		id, realm, account_id, type, actor, ip, user_agent, device_id, request_id, data, occurred_at
		FROM event WHERE request_id = $1 ORDER BY occurred_at, id LIMIT $2`, requestID, limit)
	if err != nil {
		return nil, internal("events by request", err)
	}
	return scanEvents(rows, "events by request")
}

// MessagesTo returns the realm's messages to any of the addresses, newest
// first, at most limit, without their sealed variables (desk.Lookup).
func (db *DB) MessagesTo(ctx context.Context, realm string, to []string, limit int) ([]*message.Message, error) {
	if len(to) == 0 || limit <= 0 {
		return nil, nil
	}
	cols := strings.Replace(messageColumns, "sealed_vars", "CAST(NULL AS BYTEA) AS sealed_vars", 1)
	if db.Dialect() == "sqlite" {
		cols = strings.Replace(messageColumns, "sealed_vars", "NULL AS sealed_vars", 1)
	}
	args := []any{realm, limit}
	var in []string
	for _, t := range to {
		args = append(args, t)
		in = append(in, sprintf("$%d", len(args)))
	}
	rows, err := db.reader(ctx).QueryContext(ctx, `SELECT `+cols+` FROM message
		WHERE realm = $1 AND to_addr IN (`+strings.Join(in, ", ")+`)
		ORDER BY created_at DESC, id DESC LIMIT $2`, args...)
	if err != nil {
		return nil, internal("messages to", err)
	}
	defer rows.Close()
	var out []*message.Message
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			return nil, internal("messages to", err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, internal("messages to", err)
	}
	return out, nil
}

// StaffEvents returns the events of staff accounts (realm "", type
// staff.*), newest first, at most limit.
func (db *DB) StaffEvents(ctx context.Context, limit int) ([]*event.Event, error) {
	if limit <= 0 {
		return nil, nil
	}
	rows, err := db.reader(ctx).QueryContext(ctx, `SELECT
		id, realm, account_id, type, actor, ip, user_agent, device_id, request_id, data, occurred_at
		FROM event WHERE realm = '' AND type LIKE 'staff.%' ORDER BY occurred_at DESC, id DESC LIMIT $1`, limit)
	if err != nil {
		return nil, internal("staff events", err)
	}
	return scanEvents(rows, "staff events")
}

func scanEvents(rows *sql.Rows, op string) ([]*event.Event, error) {
	defer rows.Close()
	var out []*event.Event
	for rows.Next() {
		var (
			e          event.Event
			account    sql.NullString
			data       string
			occurredAt int64
		)
		if err := rows.Scan(&e.ID, &e.Realm, &account, &e.Type, &e.Actor, &e.IP, &e.UserAgent, &e.DeviceID,
			&e.RequestID, &data, &occurredAt); err != nil {
			return nil, internal(op, err)
		}
		if err := json.Unmarshal([]byte(data), &e.Data); err != nil {
			return nil, internal(op+" data", err)
		}
		e.AccountID, e.At = account.String, fromUS(occurredAt)
		out = append(out, &e)
	}
	if err := rows.Err(); err != nil {
		return nil, internal(op, err)
	}
	return out, nil
}
