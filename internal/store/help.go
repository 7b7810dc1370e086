package store

import (
	"context"
	"database/sql"
	"strconv"
	"time"

	"github.com/ninsho/ninsho/internal/help"
	"github.com/ninsho/ninsho/internal/ninsho"
)

var _ help.Store = (*DB)(nil)

const helpRequestColumns = `ref, realm, account_id, identifier, step, quoted_ref, description, locale, channel, contact,
	status, created_at, due_at, closed_at, closed_by, close_reason`

func scanHelpRequest(s scanner) (*help.Request, error) {
	var (
		r            help.Request
		account      sql.NullString
		created, due int64
		closed       sql.NullInt64
		step, status string
	)
	if err := s.Scan(&r.Ref, &r.Realm, &account, &r.Identifier, &step, &r.QuotedRef, &r.Description, &r.Locale,
		&r.Channel, &r.Contact, &status, &created, &due, &closed, &r.ClosedBy, &r.CloseReason); err != nil {
		return nil, err
	}
	r.AccountID, r.Step, r.Status = account.String, help.Step(step), help.Status(status)
	r.CreatedAt, r.DueAt, r.ClosedAt = fromUS(created), fromUS(due), fromNullUSPtr(closed)
	return &r, nil
}

// CreateHelpRequest inserts r; a reference number taken is CodeConflict.
func (db *DB) CreateHelpRequest(ctx context.Context, r *help.Request) error {
	res, err := db.writer(ctx).ExecContext(ctx, `INSERT INTO help_request (`+helpRequestColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
		ON CONFLICT (ref) DO NOTHING`,
		r.Ref, r.Realm, nullStr(r.AccountID), r.Identifier, string(r.Step), r.QuotedRef, r.Description, r.Locale,
		r.Channel, r.Contact, string(r.Status), us(r.CreatedAt), us(r.DueAt), nullUSPtr(r.ClosedAt), r.ClosedBy, r.CloseReason)
	if err != nil {
		return internal("create help request", err)
	}
	n, err := rowsAffected("create help request", res)
	if err != nil {
		return err
	}
	if n == 0 {
		return ninsho.E(ninsho.CodeConflict)
	}
	return nil
}

// HelpRequest returns the request ref with its answers, oldest first.
func (db *DB) HelpRequest(ctx context.Context, ref string) (*help.Request, error) {
	q := db.reader(ctx)
	r, err := scanHelpRequest(q.QueryRowContext(ctx, `SELECT `+helpRequestColumns+` FROM help_request WHERE ref = $1`, ref))
	if err != nil {
		return nil, notFound("help request", err, ninsho.CodeNotFound)
	}
	rows, err := q.QueryContext(ctx, `SELECT id, ref, actor, text, channel, message_id, created_at FROM help_answer
		WHERE ref = $1 ORDER BY created_at, id`, ref)
	if err != nil {
		return nil, internal("help answers", err)
	}
	defer rows.Close()
	for rows.Next() {
		var a help.Answer
		var at int64
		if err := rows.Scan(&a.ID, &a.Ref, &a.Actor, &a.Text, &a.Channel, &a.MessageID, &at); err != nil {
			return nil, internal("help answers", err)
		}
		a.CreatedAt = fromUS(at)
		r.Answers = append(r.Answers, a)
	}
	if err := rows.Err(); err != nil {
		return nil, internal("help answers", err)
	}
	return r, nil
}

// helpRequests runs a query of help_request rows.
func (db *DB) helpRequests(ctx context.Context, op, where string, args ...any) ([]help.Request, error) {
	rows, err := db.reader(ctx).QueryContext(ctx, `SELECT `+helpRequestColumns+` FROM help_request WHERE `+where, args...)
	if err != nil {
		return nil, internal(op, err)
	}
	defer rows.Close()
	var out []help.Request
	for rows.Next() {
		r, err := scanHelpRequest(rows)
		if err != nil {
			return nil, internal(op, err)
		}
		out = append(out, *r)
	}
	if err := rows.Err(); err != nil {
		return nil, internal(op, err)
	}
	return out, nil
}

// HelpQueue returns a page of the open requests matching f, earliest due
// first, and how many match in all.
func (db *DB) HelpQueue(ctx context.Context, f help.QueueFilter) ([]help.Request, int, error) {
	where := `status = $1`
	args := []any{string(help.StatusOpen)}
	if f.Linked {
		where += ` AND account_id IS NOT NULL`
	}
	if len(f.Values) > 0 {
		in := ""
		for i, v := range f.Values {
			if i > 0 {
				in += ", "
			}
			args = append(args, v)
			in += "$" + strconv.Itoa(len(args))
		}
		where += ` AND (ref IN (` + in + `) OR contact IN (` + in + `) OR identifier IN (` + in + `))`
	}
	var total int
	if err := db.reader(ctx).QueryRowContext(ctx, `SELECT COUNT(*) FROM help_request WHERE `+where, args...).Scan(&total); err != nil {
		return nil, 0, internal("count help queue", err)
	}
	limit := max(f.Limit, 1)
	n := len(args)
	args = append(args, limit, max(f.Offset, 0))
	rows, err := db.helpRequests(ctx, "help queue", where+` ORDER BY due_at, created_at, ref LIMIT $`+strconv.Itoa(n+1)+` OFFSET $`+strconv.Itoa(n+2), args...)
	if err != nil {
		return nil, 0, err
	}
	return rows, total, nil
}

// CountOverdueHelpRequests counts the open requests due before now.
func (db *DB) CountOverdueHelpRequests(ctx context.Context, now time.Time) (int, error) {
	var n int
	err := db.reader(ctx).QueryRowContext(ctx, `SELECT COUNT(*) FROM help_request WHERE status = $1 AND due_at < $2`,
		string(help.StatusOpen), us(now)).Scan(&n)
	if err != nil {
		return 0, internal("count overdue help requests", err)
	}
	return n, nil
}

// CountOpenHelpRequestsTo counts the realm's open requests to contact.
func (db *DB) CountOpenHelpRequestsTo(ctx context.Context, realm, contact string) (int, error) {
	var n int
	err := db.reader(ctx).QueryRowContext(ctx, `SELECT COUNT(*) FROM help_request
		WHERE realm = $1 AND contact = $2 AND status = $3`, realm, contact, string(help.StatusOpen)).Scan(&n)
	if err != nil {
		return 0, internal("count open help requests", err)
	}
	return n, nil
}

// AccountHelpRequests returns the realm's requests linked to the account,
// newest first.
func (db *DB) AccountHelpRequests(ctx context.Context, realm, accountID string) ([]help.Request, error) {
	return db.helpRequests(ctx, "account help requests", `realm = $1 AND account_id = $2 ORDER BY created_at DESC, ref`,
		realm, accountID)
}

// AddHelpAnswer stores a; an unknown request is CodeNotFound.
func (db *DB) AddHelpAnswer(ctx context.Context, a *help.Answer) error {
	res, err := db.writer(ctx).ExecContext(ctx, `INSERT INTO help_answer (id, ref, actor, text, channel, message_id, created_at)
		SELECT CAST($1 AS TEXT), ref, CAST($3 AS TEXT), CAST($4 AS TEXT), CAST($5 AS TEXT), CAST($6 AS TEXT), CAST($7 AS BIGINT)
		FROM help_request WHERE ref = $2`, a.ID, a.Ref, a.Actor, a.Text, a.Channel, a.MessageID, us(a.CreatedAt))
	if err != nil {
		return internal("add help answer", err)
	}
	n, err := rowsAffected("add help answer", res)
	if err != nil {
		return err
	}
	if n == 0 {
		return ninsho.E(ninsho.CodeNotFound)
	}
	return nil
}

// CloseHelpRequest closes the open request ref: CodeConflict when it is
// closed already, CodeNotFound when there is none.
func (db *DB) CloseHelpRequest(ctx context.Context, ref string, at time.Time, by, reason string) error {
	return db.InTx(ctx, func(ctx context.Context) error {
		q := db.writer(ctx)
		res, err := q.ExecContext(ctx, `UPDATE help_request SET status = $1, closed_at = $2, closed_by = $3, close_reason = $4
			WHERE ref = $5 AND status = $6`, string(help.StatusClosed), us(at), by, reason, ref, string(help.StatusOpen))
		if err != nil {
			return internal("close help request", err)
		}
		n, err := rowsAffected("close help request", res)
		if err != nil || n == 1 {
			return err
		}
		var one int
		if err := q.QueryRowContext(ctx, `SELECT 1 FROM help_request WHERE ref = $1`, ref).Scan(&one); err != nil {
			return notFound("close help request", err, ninsho.CodeNotFound)
		}
		return ninsho.E(ninsho.CodeConflict)
	})
}

// PurgeHelpRequests deletes at most limit requests closed before before,
// with their answers, in one transaction.
func (db *DB) PurgeHelpRequests(ctx context.Context, before time.Time, limit int) (int, error) {
	if limit <= 0 {
		return 0, nil
	}
	var n int
	err := db.InTx(ctx, func(ctx context.Context) error {
		q := db.writer(ctx)
		pick := `SELECT ref FROM help_request WHERE status = $1 AND closed_at < $2 ORDER BY closed_at, ref LIMIT $3`
		if _, err := q.ExecContext(ctx, `DELETE FROM help_answer WHERE ref IN (`+pick+`)`,
			string(help.StatusClosed), us(before), limit); err != nil {
			return internal("purge help requests", err)
		}
		res, err := q.ExecContext(ctx, `DELETE FROM help_request WHERE ref IN (`+pick+`)`,
			string(help.StatusClosed), us(before), limit)
		if err != nil {
			return internal("purge help requests", err)
		}
		n, err = rowsAffected("purge help requests", res)
		return err
	})
	return n, err
}
