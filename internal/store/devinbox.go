package store

import (
	"context"

	"github.com/ninsho/ninsho/internal/message/providers/devinbox"
)

const devMessageColumns = `id, realm, channel, to_addr, locale, template, subject, text_body, html_body, code, created_at`

// SaveDevMessage stores m; saving the same id again keeps the first row.
func (db *DB) SaveDevMessage(ctx context.Context, m *devinbox.Message) error {
	_, err := db.writer(ctx).ExecContext(ctx, `INSERT INTO dev_message (`+devMessageColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
		ON CONFLICT (id) DO NOTHING`,
		m.ID, m.Realm, m.Channel, m.To, m.Locale, m.Template, m.Subject, m.Text, m.HTML, m.Code, us(m.CreatedAt))
	if err != nil {
		return internal("save dev message", err)
	}
	return nil
}

// DevMessages lists messages to the recipient (all when to is ""), newest
// first, at most limit (none when limit <= 0).
func (db *DB) DevMessages(ctx context.Context, to string, limit int) ([]*devinbox.Message, error) {
	if limit <= 0 {
		return nil, nil
	}
	query := `SELECT ` + devMessageColumns + ` FROM dev_message ORDER BY created_at DESC, id DESC LIMIT $1`
	args := []any{limit}
	if to != "" {
		query = `SELECT ` + devMessageColumns + ` FROM dev_message WHERE to_addr = $2 ORDER BY created_at DESC, id DESC LIMIT $1`
		args = append(args, to)
	}
	rows, err := db.reader(ctx).QueryContext(ctx, query, args...)
	if err != nil {
		return nil, internal("dev messages", err)
	}
	defer rows.Close()
	var out []*devinbox.Message
	for rows.Next() {
		var (
			m       devinbox.Message
			created int64
		)
		if err := rows.Scan(&m.ID, &m.Realm, &m.Channel, &m.To, &m.Locale, &m.Template, &m.Subject, &m.Text,
			&m.HTML, &m.Code, &created); err != nil {
			return nil, internal("dev messages", err)
		}
		m.CreatedAt = fromUS(created)
		out = append(out, &m)
	}
	if err := rows.Err(); err != nil {
		return nil, internal("dev messages", err)
	}
	return out, nil
}
