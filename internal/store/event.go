package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"time"

	"github.com/ninsho/ninsho/internal/event"
)

// AppendEvent stores e. Data is kept as JSON text: numbers read back as
// float64.
func (db *DB) AppendEvent(ctx context.Context, e *event.Event) error {
	data, err := json.Marshal(e.Data)
	if err != nil {
		return internal("append event", err)
	}
	_, err = db.writer(ctx).ExecContext(ctx, `INSERT INTO event
		(id, realm, account_id, type, actor, ip, user_agent, device_id, request_id, data, occurred_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		e.ID, e.Realm, nullStr(e.AccountID), e.Type, e.Actor, e.IP, e.UserAgent, e.DeviceID, e.RequestID,
		string(data), us(e.At))
	if err != nil {
		return internal("append event", err)
	}
	return nil
}

// AccountEvents lists the account's events at or after since, newest first,
// at most limit (none when limit <= 0).
func (db *DB) AccountEvents(ctx context.Context, accountID string, since time.Time, limit int) ([]*event.Event, error) {
	if limit <= 0 || accountID == "" {
		return nil, nil
	}
	rows, err := db.reader(ctx).QueryContext(ctx, `SELECT
		id, realm, account_id, type, actor, ip, user_agent, device_id, request_id, data, occurred_at
		FROM event WHERE account_id = $1 AND occurred_at >= $2
		ORDER BY occurred_at DESC, id DESC LIMIT $3`, accountID, us(since), limit)
	if err != nil {
		return nil, internal("account events", err)
	}
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
			return nil, internal("account events", err)
		}
		if err := json.Unmarshal([]byte(data), &e.Data); err != nil {
			return nil, internal("account events data", err)
		}
		e.AccountID, e.At = account.String, fromUS(occurredAt)
		out = append(out, &e)
	}
	if err := rows.Err(); err != nil {
		return nil, internal("account events", err)
	}
	return out, nil
}
