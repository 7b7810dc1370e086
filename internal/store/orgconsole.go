package store

import (
	"context"
	"encoding/json"

	"github.com/ninsho/ninsho/internal/event"
	"github.com/ninsho/ninsho/internal/org"
)

// The console's reading of organisations (console.OrgReader): a realm's
// organisations, and the events of one.

// ListOrgs lists the realm's organisations with the status (every status
// for ""), the newest first, at most limit.
func (db *DB) ListOrgs(ctx context.Context, realm string, status org.Status, limit int) ([]*org.Organisation, error) {
	if limit <= 0 {
		return nil, nil
	}
	rows, err := db.reader(ctx).QueryContext(ctx, `SELECT `+orgColumns+` FROM organisation
		WHERE realm = $1 AND ($2 = '' OR status = $2) ORDER BY created_at DESC, id DESC LIMIT $3`, realm, string(status), limit)
	if err != nil {
		return nil, internal("list organisations", err)
	}
	defer rows.Close()
	var out []*org.Organisation
	for rows.Next() {
		o, err := scanOrg(rows)
		if err != nil {
			return nil, internal("list organisations", err)
		}
		out = append(out, o)
	}
	if err := rows.Err(); err != nil {
		return nil, internal("list organisations", err)
	}
	return out, nil
}

// OrgEvents lists the realm's org.* events about the organisation (data
// org = its id), newest first, at most limit.
func (db *DB) OrgEvents(ctx context.Context, realm, orgID string, limit int) ([]*event.Event, error) {
	if limit <= 0 || orgID == "" {
		return nil, nil
	}
	// Data is JSON text written by encoding/json (no spaces); an id is a
	// UUID, which holds no LIKE wildcard.
	key, err := json.Marshal(map[string]string{"org": orgID})
	if err != nil {
		return nil, internal("organisation events", err)
	}
	pattern := "%" + string(key[1:len(key)-1]) + "%"
	rows, err := db.reader(ctx).QueryContext(ctx, `SELECT
		id, realm, account_id, type, actor, ip, user_agent, device_id, request_id, data, occurred_at
		FROM event WHERE realm = $1 AND type LIKE 'org.%' AND data LIKE $2
		ORDER BY occurred_at DESC, id DESC LIMIT $3`, realm, pattern, limit)
	if err != nil {
		return nil, internal("organisation events", err)
	}
	return scanEvents(rows, "organisation events")
}
