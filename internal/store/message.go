package store

import (
	"context"
	"database/sql"
	"slices"
	"strings"
	"time"

	"github.com/ninsho/ninsho/internal/message"
	"github.com/ninsho/ninsho/internal/ninsho"
)

const messageColumns = `id, realm, channel, to_addr, template, locale, sealed_vars, status, attempts, next_attempt_at, lease_owner, lease_until, provider, provider_message_id, last_error, created_at, sent_at, delivery_status, delivery_updated_at`

func scanMessage(s scanner) (*message.Message, error) {
	var (
		m                                  message.Message
		nextAttemptAt, leaseUntil, created int64
		sentAt                             sql.NullInt64
		deliveryAt                         int64
	)
	if err := s.Scan(&m.ID, &m.Realm, &m.Channel, &m.To, &m.Template, &m.Locale, &m.SealedVars, &m.Status,
		&m.Attempts, &nextAttemptAt, &m.LeaseOwner, &leaseUntil, &m.Provider, &m.ProviderMessageID,
		&m.LastError, &created, &sentAt, &m.Delivery, &deliveryAt); err != nil {
		return nil, err
	}
	m.NextAttemptAt, m.LeaseUntil, m.CreatedAt = fromUS(nextAttemptAt), fromUS(leaseUntil), fromUS(created)
	m.SentAt = fromNullUSPtr(sentAt)
	m.DeliveryUpdatedAt = fromUS(deliveryAt)
	return &m, nil
}

// EnqueueMessage inserts m with status pending (and sets m.Status). A zero
// NextAttemptAt makes it due at once.
func (db *DB) EnqueueMessage(ctx context.Context, m *message.Message) error {
	if m.Status != message.StatusSuppressed {
		m.Status = message.StatusPending
	}
	if m.Delivery == "" {
		m.Delivery, m.DeliveryUpdatedAt = message.DeliveryQueued, m.CreatedAt
	}
	_, err := db.writer(ctx).ExecContext(ctx, `INSERT INTO message (`+messageColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)`,
		m.ID, m.Realm, string(m.Channel), m.To, m.Template, m.Locale, m.SealedVars, string(m.Status),
		m.Attempts, us(m.NextAttemptAt), m.LeaseOwner, us(m.LeaseUntil), m.Provider, m.ProviderMessageID,
		m.LastError, us(m.CreatedAt), nullUSPtr(m.SentAt), string(m.Delivery), us(m.DeliveryUpdatedAt))
	if err != nil {
		return internal("enqueue message", err)
	}
	return nil
}

// ClaimMessages leases up to limit pending messages that are due at now and
// not leased (or whose lease ended by now) to owner until until, oldest due
// first. It is one conditional UPDATE: on SQLite the single writer runs
// claims one at a time; on PostgreSQL the candidates are locked with SKIP
// LOCKED and the UPDATE re-checks the lease on the locked rows, so
// concurrent callers never receive the same message.
func (db *DB) ClaimMessages(ctx context.Context, owner string, now, until time.Time, limit int) ([]*message.Message, error) {
	if limit <= 0 {
		return nil, nil
	}
	if owner == "" {
		return nil, ninsho.Internal("store: claim messages: empty lease owner")
	}
	// The candidates are a CTE, not an IN subquery: PostgreSQL may run an IN
	// subquery again for every outer row (a nested-loop semi-join), and each
	// run with SKIP LOCKED returns further rows, so the LIMIT would not hold.
	// A CTE with a locking clause is evaluated once.
	rows, err := db.writer(ctx).QueryContext(ctx, `WITH due AS (
			SELECT id FROM message
			WHERE status = $3 AND next_attempt_at <= $4 AND lease_until <= $4
			ORDER BY next_attempt_at, id LIMIT $5`+db.d.skipLocked+`
		)
		UPDATE message SET lease_owner = $1, lease_until = $2
		WHERE id IN (SELECT id FROM due) AND status = $3 AND lease_until <= $4
		RETURNING `+messageColumns,
		owner, us(until), string(message.StatusPending), us(now), limit)
	if err != nil {
		return nil, internal("claim messages", err)
	}
	defer rows.Close()
	var out []*message.Message
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			return nil, internal("claim messages", err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, internal("claim messages", err)
	}
	slices.SortFunc(out, func(a, b *message.Message) int {
		if c := a.NextAttemptAt.Compare(b.NextAttemptAt); c != 0 {
			return c
		}
		return compareStrings(a.ID, b.ID)
	})
	return out, nil
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// FinishAttempt writes the outcome of a delivery attempt (status, attempts,
// next_attempt_at, provider, provider_message_id, last_error, sent_at,
// sealed_vars) and clears the lease, only while m.LeaseOwner still holds it.
// It returns false, and writes nothing, when the lease was lost. On success
// m's lease fields are cleared too. Status sent or failed moves the delivery
// status to the same (at m.DeliveryUpdatedAt, default now by the message's
// (at m.DeliveryUpdatedAt) unless a provider's report already moved it
// further: a report may arrive before the dispatcher finishes.
func (db *DB) FinishAttempt(ctx context.Context, m *message.Message) (bool, error) {
	if m.LeaseOwner == "" {
		return false, nil
	}
	delivery := message.DeliveryQueued
	switch m.Status {
	case message.StatusSent:
		delivery = message.DeliverySent
	case message.StatusFailed:
		delivery = message.DeliveryFailed
	}
	at := m.DeliveryUpdatedAt
	res, err := db.writer(ctx).ExecContext(ctx, `UPDATE message
		SET status = $3, attempts = $4, next_attempt_at = $5, provider = $6, provider_message_id = $7,
			last_error = $8, sent_at = $9, sealed_vars = $10, lease_owner = '', lease_until = 0,
			delivery_updated_at = CASE WHEN `+deliveryRank("delivery_status")+` < `+deliveryRank("$11")+` THEN $12 ELSE delivery_updated_at END,
			delivery_status = CASE WHEN `+deliveryRank("delivery_status")+` < `+deliveryRank("$11")+` THEN $11 ELSE delivery_status END
		WHERE id = $1 AND lease_owner = $2`,
		m.ID, m.LeaseOwner, string(m.Status), m.Attempts, us(m.NextAttemptAt), m.Provider, m.ProviderMessageID,
		m.LastError, nullUSPtr(m.SentAt), m.SealedVars, string(delivery), us(at))
	if err != nil {
		return false, internal("finish attempt", err)
	}
	n, err := rowsAffected("finish attempt", res)
	if err != nil || n == 0 {
		return false, err
	}
	m.LeaseOwner, m.LeaseUntil = "", time.Time{}
	if m.Delivery.Rank() < delivery.Rank() {
		m.Delivery = delivery
	}
	return true, nil
}

// deliveryRank is message.DeliveryStatus.Rank in SQL, for a column or a
// parameter.
func deliveryRank(x string) string {
	return `(CASE CAST(` + x + ` AS TEXT) WHEN 'queued' THEN 0 WHEN 'sent' THEN 1 ELSE 2 END)`
}

// ApplyDeliveryReport moves a message's delivery status forward (see
// message.ReportStore): one conditional UPDATE, so that of two reports
// racing, the higher rank wins and a replay changes nothing.
func (db *DB) ApplyDeliveryReport(ctx context.Context, r *message.DeliveryReport) (message.Delivery, bool, error) {
	var d message.Delivery
	if !r.Status.Valid() {
		return d, false, ninsho.Internal("store: delivery report with status %q", r.Status)
	}
	match, key := `id = $3`, r.MessageID
	if key == "" {
		match, key = `provider_message_id = $3 AND provider_message_id <> ''`, r.ProviderMessageID
	}
	rows, err := db.writer(ctx).QueryContext(ctx, `UPDATE message
		SET delivery_status = $1, delivery_updated_at = $2
		WHERE `+match+` AND (provider = $4 OR status = $5)
			AND `+deliveryRank("delivery_status")+` < `+deliveryRank("$1")+`
		RETURNING id, channel, created_at`,
		string(r.Status), us(r.At), key, r.Provider, string(message.StatusPending))
	if err != nil {
		return d, false, internal("apply delivery report", err)
	}
	defer rows.Close()
	changed := false
	for rows.Next() {
		var created int64
		if err := rows.Scan(&d.MessageID, &d.Channel, &created); err != nil {
			return message.Delivery{}, false, internal("apply delivery report", err)
		}
		d.Status, d.UpdatedAt, d.CreatedAt = r.Status, r.At, fromUS(created)
		r.MessageID = d.MessageID
		changed = true
	}
	if err := rows.Err(); err != nil {
		return message.Delivery{}, false, internal("apply delivery report", err)
	}
	return d, changed, nil
}

// Delivery returns a message's delivery status (message.ReportStore).
func (db *DB) Delivery(ctx context.Context, id string) (message.Delivery, error) {
	d := message.Delivery{MessageID: id}
	var updated, created int64
	err := db.reader(ctx).QueryRowContext(ctx, `SELECT channel, delivery_status, delivery_updated_at, created_at
		FROM message WHERE id = $1`, id).Scan(&d.Channel, &d.Status, &updated, &created)
	if err != nil {
		return message.Delivery{}, notFound("message", err, ninsho.CodeNotFound)
	}
	d.UpdatedAt, d.CreatedAt = fromUS(updated), fromUS(created)
	return d, nil
}

// RecordAttempt stores a. Its message must exist (ninsho.CodeNotFound
// otherwise).
func (db *DB) RecordAttempt(ctx context.Context, a *message.Attempt) error {
	res, err := db.writer(ctx).ExecContext(ctx, `INSERT INTO delivery_attempt
		(id, realm, message_id, provider, ok, error_message, attempted_at, duration_us, error_class)
		SELECT $1, realm, id, $3, CAST($4 AS BOOLEAN), $5, CAST($6 AS BIGINT), CAST($7 AS BIGINT), $8
		FROM message WHERE id = $2`,
		a.ID, a.MessageID, a.Provider, a.OK, a.Error, us(a.At), a.Duration.Microseconds(), a.Class)
	if err != nil {
		return internal("record attempt", err)
	}
	n, err := rowsAffected("record attempt", res)
	if err != nil {
		return err
	}
	if n == 0 {
		return ninsho.E(ninsho.CodeNotFound)
	}
	return nil
}

// Message returns the message with the id, or ninsho.CodeNotFound.
func (db *DB) Message(ctx context.Context, id string) (*message.Message, error) {
	m, err := scanMessage(db.reader(ctx).QueryRowContext(ctx, `SELECT `+messageColumns+` FROM message WHERE id = $1`, id))
	if err != nil {
		return nil, notFound("message", err, ninsho.CodeNotFound)
	}
	return m, nil
}

// Attempts lists the message's delivery attempts, oldest first. It is not
// part of message.Store; the console and tests use it.
func (db *DB) Attempts(ctx context.Context, messageID string) ([]*message.Attempt, error) {
	rows, err := db.reader(ctx).QueryContext(ctx, `SELECT id, message_id, provider, ok, error_message, attempted_at, duration_us, error_class
		FROM delivery_attempt WHERE message_id = $1 ORDER BY attempted_at, id`, messageID)
	if err != nil {
		return nil, internal("attempts", err)
	}
	defer rows.Close()
	var out []*message.Attempt
	for rows.Next() {
		var (
			a       message.Attempt
			at, dur int64
		)
		if err := rows.Scan(&a.ID, &a.MessageID, &a.Provider, &a.OK, &a.Error, &at, &dur, &a.Class); err != nil {
			return nil, internal("attempts", err)
		}
		a.At, a.Duration = fromUS(at), time.Duration(dur)*time.Microsecond
		out = append(out, &a)
	}
	if err := rows.Err(); err != nil {
		return nil, internal("attempts", err)
	}
	return out, nil
}

// RecentMessages returns the messages f selects, newest first, without
// their sealed variables (message.ListStore). It reads the whole message
// table in the worst case (no index on created_at): it is for an operator's
// listing, and retention keeps the table bounded.
func (db *DB) RecentMessages(ctx context.Context, f message.MessageFilter) ([]*message.Message, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = message.DefaultListLimit
	}
	cols := strings.Replace(messageColumns, "sealed_vars", "CAST(NULL AS BYTEA) AS sealed_vars", 1)
	if db.Dialect() == "sqlite" {
		cols = strings.Replace(messageColumns, "sealed_vars", "NULL AS sealed_vars", 1)
	}
	rows, err := db.reader(ctx).QueryContext(ctx, `SELECT `+cols+` FROM message
		WHERE (CAST($1 AS TEXT) = '' OR realm = $1) AND (CAST($2 AS TEXT) = '' OR status = $2) AND (CAST($3 AS TEXT) = '' OR delivery_status = $3)
		ORDER BY created_at DESC, id DESC LIMIT $4`,
		f.Realm, string(f.Status), string(f.Delivery), limit)
	if err != nil {
		return nil, internal("recent messages", err)
	}
	defer rows.Close()
	var out []*message.Message
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			return nil, internal("recent messages", err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, internal("recent messages", err)
	}
	return out, nil
}

// OutboxBacklog counts the pending messages and finds the oldest one's
// enqueue time. It reads only pending rows (through the message_due index
// on status), so a scrape costs little while the dispatcher keeps up.
func (db *DB) OutboxBacklog(ctx context.Context) (message.Backlog, error) {
	var (
		b      message.Backlog
		oldest sql.NullInt64
	)
	err := db.reader(ctx).QueryRowContext(ctx, `SELECT COUNT(*), MIN(created_at) FROM message WHERE status = $1`,
		string(message.StatusPending)).Scan(&b.Pending, &oldest)
	if err != nil {
		return b, internal("outbox backlog", err)
	}
	if oldest.Valid {
		b.Oldest = fromUS(oldest.Int64)
	}
	return b, nil
}
