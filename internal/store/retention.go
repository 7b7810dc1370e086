package store

import (
	"context"
	"strings"
	"time"

	"github.com/ninsho/ninsho/internal/message"
	"github.com/ninsho/ninsho/internal/retention"
)

var _ retention.Store = (*DB)(nil)

// The purges delete in batches that both databases run alike: a DELETE whose
// candidates are a LIMITed subquery (neither needs DELETE … LIMIT), or, where
// finding the candidates costs more than deleting them, ids read first and a
// DELETE of those ids that checks the conditions again. Every purge is one
// statement or one short transaction, so that on SQLite the writer is free
// again between batches. Migration 00005 adds the indexes they use.

// PurgeSessions deletes at most limit sessions that ended before cutoff
// (revoked, or past their absolute expiry) and returns how many.
func (db *DB) PurgeSessions(ctx context.Context, cutoff time.Time, limit int) (int, error) {
	return db.purgeBatch(ctx, "purge sessions", "session", "expires_at < $1 OR revoked_at < $1", cutoff, limit)
}

// PurgeCodes deletes at most limit codes, used or not, that expired before
// cutoff and returns how many.
func (db *DB) PurgeCodes(ctx context.Context, cutoff time.Time, limit int) (int, error) {
	return db.purgeBatch(ctx, "purge codes", "code", "expires_at < $1", cutoff, limit)
}

// PurgeEvents deletes at most limit events that occurred before cutoff and
// returns how many.
func (db *DB) PurgeEvents(ctx context.Context, cutoff time.Time, limit int) (int, error) {
	return db.purgeBatch(ctx, "purge events", "event", "occurred_at < $1", cutoff, limit)
}

// purgeBatch deletes at most limit rows of table (a constant) that match
// where (a constant condition on $1, the cutoff) in one statement, and
// returns how many.
func (db *DB) purgeBatch(ctx context.Context, op, table, where string, cutoff time.Time, limit int) (int, error) {
	if limit <= 0 {
		return 0, nil
	}
	res, err := db.writer(ctx).ExecContext(ctx, `DELETE FROM `+table+` WHERE id IN (
			SELECT id FROM `+table+` WHERE `+where+` LIMIT $2)`,
		us(cutoff), limit)
	if err != nil {
		return 0, internal(op, err)
	}
	return rowsAffected(op, res)
}

// finalMessageBefore is the condition of an outbox message m that reached a
// final status before $3: sent, failed or suppressed ($1, $2, $5), and neither its last due
// time, its sending time nor any delivery attempt at or after $3. A message
// keeps no time of its failure; the due time of its last round and its
// attempts stand for it.
const finalMessageBefore = `m.status IN ($1, $2, $5) AND m.next_attempt_at < $3 AND (m.sent_at IS NULL OR m.sent_at < $3)
	AND NOT EXISTS (SELECT 1 FROM delivery_attempt a WHERE a.message_id = m.id AND a.attempted_at >= $3)`

// PurgeMessages deletes at most limit outbox messages that reached a final
// status (sent, failed or suppressed) before cutoff, with their delivery attempts, and
// returns how many messages it deleted. Pending messages stay.
//
// delivery_attempt refers to message, so one transaction first deletes the
// attempts of up to limit such messages, then up to limit such messages that
// have no attempts left. Should the two candidate sets differ (the database
// promises no order without ORDER BY, and sorting the whole backlog per
// batch would cost more than it saves), the messages left without attempts
// go in a later batch; a message with attempts is never deleted, so the
// foreign key is never violated.
func (db *DB) PurgeMessages(ctx context.Context, cutoff time.Time, limit int) (int, error) {
	if limit <= 0 {
		return 0, nil
	}
	args := []any{string(message.StatusSent), string(message.StatusFailed), us(cutoff), limit, string(message.StatusSuppressed)}
	var n int
	err := db.InTx(ctx, func(ctx context.Context) error {
		q := db.writer(ctx)
		if _, err := q.ExecContext(ctx, `DELETE FROM delivery_attempt WHERE message_id IN (
				SELECT m.id FROM message m WHERE `+finalMessageBefore+` LIMIT $4)`, args...); err != nil {
			return internal("purge message attempts", err)
		}
		res, err := q.ExecContext(ctx, `DELETE FROM message WHERE id IN (
				SELECT m.id FROM message m WHERE `+finalMessageBefore+`
				AND NOT EXISTS (SELECT 1 FROM delivery_attempt a WHERE a.message_id = m.id) LIMIT $4)`, args...)
		if err != nil {
			return internal("purge messages", err)
		}
		n, err = rowsAffected("purge messages", res)
		return err
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// unattachedDeviceBefore is the condition of a device last seen before $1
// that no account is familiar with and no session or flow refers to. It
// names the table itself, not an alias, so that a DELETE can use it too.
const unattachedDeviceBefore = `device.last_seen_at < $1
	AND NOT EXISTS (SELECT 1 FROM account_device ad WHERE ad.device_id = device.id)
	AND NOT EXISTS (SELECT 1 FROM session s WHERE s.device_id = device.id)
	AND NOT EXISTS (SELECT 1 FROM flow f WHERE f.device_id = device.id)`

// PurgeDevices deletes at most limit devices last seen before cutoff that
// are unattached (no account_device link, no session, no flow) and returns
// how many.
//
// The candidates are read outside the write: devices that are old but
// attached (most old ones) are passed over on every run, and on SQLite that
// scan must not hold the writer. The DELETE lists the candidates' ids and
// checks the conditions again, so a device that became attached meanwhile
// stays. The list is padded to limit placeholders with an id no device has,
// so that the statement text is the same every time (SQLite connections
// cache their statements by text).
func (db *DB) PurgeDevices(ctx context.Context, cutoff time.Time, limit int) (int, error) {
	if limit <= 0 {
		return 0, nil
	}
	ids, err := db.ids(ctx, db.reader(ctx), `SELECT id FROM device WHERE `+unattachedDeviceBefore+` LIMIT $2`,
		us(cutoff), limit)
	if err != nil || len(ids) == 0 {
		return 0, err
	}
	args := make([]any, 1, 1+limit)
	args[0] = us(cutoff)
	var in strings.Builder
	for i := range limit {
		if i > 0 {
			in.WriteString(", ")
		}
		in.WriteString(sprintf("$%d", i+2))
		id := "" // no device has the empty id
		if i < len(ids) {
			id = ids[i]
		}
		args = append(args, id)
	}
	res, err := db.writer(ctx).ExecContext(ctx, `DELETE FROM device WHERE id IN (`+in.String()+`) AND `+unattachedDeviceBefore, args...)
	if err != nil {
		return 0, internal("purge devices", err)
	}
	return rowsAffected("purge devices", res)
}

// ids runs query, which selects one text column, and returns the values.
func (db *DB) ids(ctx context.Context, q querier, query string, args ...any) ([]string, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, internal("purge candidates", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, internal("purge candidates", err)
		}
		out = append(out, id)
	}
	if err := rows.Err(); err != nil {
		return nil, internal("purge candidates", err)
	}
	return out, nil
}

// retainedTables are the tables whose size retention bounds.
var retainedTables = []string{"session", "code", "message", "delivery_attempt", "event", "device", "flow"}

// RowCounts returns the number of rows of each table whose size retention
// bounds (session, code, message, delivery_attempt, event, device, flow),
// keyed by table name. It counts every row, so it is for tests and the
// console, not for a request path.
func (db *DB) RowCounts(ctx context.Context) (map[string]int, error) {
	out := make(map[string]int, len(retainedTables))
	for _, t := range retainedTables {
		var n int
		if err := db.reader(ctx).QueryRowContext(ctx, `SELECT COUNT(*) FROM `+t).Scan(&n); err != nil {
			return nil, internal("count "+t, err)
		}
		out[t] = n
	}
	return out, nil
}
