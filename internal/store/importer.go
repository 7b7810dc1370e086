package store

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/ninsho/ninsho/internal/importer"
)

var _ importer.Store = (*DB)(nil)

// importChunk is how many rows one INSERT of ImportAccounts writes: 100
// accounts are 1,200 parameters, far below SQLite's and PostgreSQL's limits.
const importChunk = 100

// ImportAccounts creates the accounts of batch whose identifiers are free in
// their realm (importer.Store), in the transaction of ctx. Accounts are
// inserted with ON CONFLICT DO NOTHING, so an e-mail address or phone
// number already held — by an account written before or by a concurrent
// sign-up, which the insert waits for — leaves the record out; the ids
// returned say which rows were written, and only those get a password,
// a TOTP credential, a 2SV state and their event.
func (db *DB) ImportAccounts(ctx context.Context, batch []*importer.Record) ([]bool, error) {
	created := make([]bool, len(batch))
	at := make(map[string]int, len(batch))
	q := db.writer(ctx)
	for start := 0; start < len(batch); start += importChunk {
		part := batch[start:min(start+importChunk, len(batch))]
		rows := make([][]any, len(part))
		for i, r := range part {
			a := &r.Account
			at[a.ID] = start + i
			rows[i] = []any{a.ID, a.Realm, string(a.Type), string(a.Status), a.Name,
				nullStr(a.Email), nullUSPtr(a.EmailVerifiedAt), nullStr(a.Phone), nullUSPtr(a.PhoneVerifiedAt),
				a.Locale, us(a.CreatedAt), us(a.UpdatedAt)}
		}
		query, args := multiInsert(`INSERT INTO account (`+accountInsertColumns+`) VALUES `, rows)
		res, err := q.QueryContext(ctx, query+` ON CONFLICT DO NOTHING RETURNING id`, args...)
		if err != nil {
			return nil, internal("import accounts", err)
		}
		for res.Next() {
			var id string
			if err := res.Scan(&id); err != nil {
				res.Close()
				return nil, internal("import accounts", err)
			}
			if i, ok := at[id]; ok {
				created[i] = true
			}
		}
		if err := res.Close(); err != nil {
			return nil, internal("import accounts", err)
		}
		if err := res.Err(); err != nil {
			return nil, internal("import accounts", err)
		}
	}

	var passwords, totps, states, events [][]any
	for i, r := range batch {
		if !created[i] {
			continue
		}
		a := &r.Account
		if r.PasswordHash != "" {
			passwords = append(passwords, []any{a.Realm, a.ID, credentialPassword, r.PasswordHash, us(a.UpdatedAt), us(a.UpdatedAt)})
		}
		if c := r.TOTP; c != nil {
			totps = append(totps, []any{c.ID, c.Realm, c.AccountID, string(c.Method), c.Label, nullBytes(c.Sealed), nullStr(c.Phone),
				nullBytes(c.PasskeyID), int64(c.SignCount), us(c.CreatedAt), nullUSPtr(c.LastUsedAt), nullUSPtr(c.ProvedAt)})
			states = append(states, []any{a.ID, a.Realm, true, c.ID, int64(0), us(c.CreatedAt)})
		}
		if e := r.Event; e != nil {
			data, err := json.Marshal(e.Data)
			if err != nil {
				return nil, internal("import accounts: event", err)
			}
			events = append(events, []any{e.ID, e.Realm, nullStr(e.AccountID), e.Type, e.Actor, e.IP, e.UserAgent, e.DeviceID,
				e.RequestID, string(data), us(e.At)})
		}
	}
	for _, w := range []struct {
		head string
		rows [][]any
	}{
		{`INSERT INTO credential (realm, account_id, type, secret, created_at, updated_at) VALUES `, passwords},
		{`INSERT INTO two_step_credential (` + twoStepCredentialColumns + `) VALUES `, totps},
		{`INSERT INTO two_step_state (account_id, realm, enabled, preferred, totp_last_step, updated_at) VALUES `, states},
		{`INSERT INTO event (id, realm, account_id, type, actor, ip, user_agent, device_id, request_id, data, occurred_at) VALUES `, events},
	} {
		for start := 0; start < len(w.rows); start += importChunk {
			query, args := multiInsert(w.head, w.rows[start:min(start+importChunk, len(w.rows))])
			if _, err := q.ExecContext(ctx, query, args...); err != nil {
				return nil, internal("import accounts", err)
			}
		}
	}
	return created, nil
}

// multiInsert appends "($1, …), (…)" for rows (all of one width) to head
// and returns the query with its arguments.
func multiInsert(head string, rows [][]any) (string, []any) {
	var sb strings.Builder
	sb.WriteString(head)
	args := make([]any, 0, len(rows)*len(rows[0]))
	for i, row := range rows {
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteByte('(')
		for j, v := range row {
			if j > 0 {
				sb.WriteString(", ")
			}
			args = append(args, v)
			sb.WriteByte('$')
			sb.WriteString(strconv.Itoa(len(args)))
		}
		sb.WriteByte(')')
	}
	return sb.String(), args
}
