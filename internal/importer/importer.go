// Package importer brings an existing user base into a realm: `ninsho
// import` reads JSON lines, one account each (Line), checks every line like
// sign-up checks what people type — identifiers normalised for the realm,
// names, languages — and accepts the password hashes of other systems
// (password.Imported) and authenticator-app secrets. Accepted lines become
// active accounts, created in batches of one transaction each, idempotent
// by identifier: an account whose e-mail address or phone number the realm
// already holds is skipped, so a second run of the same file changes
// nothing. A refused line is reported with its number and reason and does
// not stop the run.
//
// The package holds the rules only; the Store writes (internal/store).
package importer

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base32"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"time"

	"github.com/ninsho/ninsho/internal/account"
	"github.com/ninsho/ninsho/internal/authflow"
	"github.com/ninsho/ninsho/internal/event"
	"github.com/ninsho/ninsho/internal/i18n"
	"github.com/ninsho/ninsho/internal/identifier"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/password"
	"github.com/ninsho/ninsho/internal/realm"
	"github.com/ninsho/ninsho/internal/secret"
	"github.com/ninsho/ninsho/internal/signup"
	"github.com/ninsho/ninsho/internal/twostep"
)

// Limits.
const (
	// MaxLineBytes is the longest line read; a longer one is refused.
	MaxLineBytes = 64 << 10
	// DefaultBatchSize is how many accounts one transaction creates.
	DefaultBatchSize = 500
	// DefaultMaxRefusals is how many refusals the Summary keeps (the
	// count goes on).
	DefaultMaxRefusals = 100
	// TOTP secrets: base32 of this many bytes (RFC 4226 asks for 16 and
	// recommends 20; some systems wrote 10).
	minTOTPBytes, maxTOTPBytes = 10, 64
)

// Line is one account of an import file: one JSON object per line. Unknown
// fields are refused, so a misspelt field cannot be lost silently.
type Line struct {
	Email         string `json:"email"`
	Phone         string `json:"phone"`
	Name          string `json:"name"`
	Locale        string `json:"locale"`
	EmailVerified bool   `json:"email_verified"`
	PhoneVerified bool   `json:"phone_verified"`
	// PasswordHash is another system's hash (password.Imported); "" or
	// absent: the account has no password and signs in through the
	// password assistant.
	PasswordHash string `json:"password_hash"`
	// CreatedAt is RFC 3339; absent: the time of the import.
	CreatedAt string `json:"created_at"`
	// TOTPSecret is an authenticator app's base32 secret; it turns
	// two-step verification on with that app.
	TOTPSecret string `json:"totp_secret"`
}

// Record is one account to create: what the Store writes when neither of
// its identifiers is held in the realm.
type Record struct {
	Line    int
	Account account.Account
	// PasswordHash is the hash to store ("" for none).
	PasswordHash string
	// TOTP is the proved authenticator-app credential, sealed (nil for
	// none); with one, the 2SV state is written on with it preferred.
	TOTP *twostep.Credential
	// Event is the account.imported event, written with the account.
	Event *event.Event
}

// Store creates imported accounts.
type Store interface {
	// ImportAccounts creates, in the transaction of ctx, every account of
	// batch whose e-mail address and phone number no account of its realm
	// holds, with its password hash, TOTP credential and 2SV state and
	// event, and reports which it created (created[i] for batch[i]). An
	// account holding either identifier — whatever its state — leaves the
	// record out, and nothing of it is written.
	ImportAccounts(ctx context.Context, batch []*Record) (created []bool, err error)
}

// Refusal is a refused line: its number (from 1) and why.
type Refusal struct {
	Line int
	Err  *ninsho.Error
}

// Progress is how far a run got, after each batch.
type Progress struct {
	Lines, Created, Skipped, Refused int
	Bytes                            int64 // read so far
}

// Summary is what a run did.
type Summary struct {
	Progress
	// Refusals are the first MaxRefusals refused lines, in order.
	Refusals []Refusal
	Elapsed  time.Duration
}

// PerSecond is the accounts read per second (created, skipped and
// refused).
func (s *Summary) PerSecond() float64 {
	if s.Elapsed <= 0 {
		return 0
	}
	return float64(s.Lines) / s.Elapsed.Seconds()
}

// Service runs imports. Set every field but the optional ones before use.
type Service struct {
	Store  Store
	Tx     ninsho.TxRunner
	Clock  ninsho.Clock
	Random ninsho.Random
	// Box seals TOTP secrets as enrolment does (twostep.SealTOTPSecret).
	Box *secret.Box
	// Firebase is the project's hash parameters for Firebase hashes (nil:
	// such lines are refused with ninsho.CodeImportFirebaseParams).
	Firebase *password.Firebase
	// BatchSize (default DefaultBatchSize) and MaxRefusals (default
	// DefaultMaxRefusals) are optional.
	BatchSize   int
	MaxRefusals int
	// Progress, when set, is called after every batch.
	Progress func(Progress)
}

// Run imports the lines of r into rl. Blank lines are skipped and not
// counted. It returns the Summary; an error only for what stops the run
// (reading r, the database), with the Summary so far.
func (s *Service) Run(ctx context.Context, rl *realm.Realm, r io.Reader) (*Summary, error) {
	start := time.Now() // the wall clock measures the run, not the records
	batchSize := s.BatchSize
	if batchSize <= 0 {
		batchSize = DefaultBatchSize
	}
	maxRefusals := s.MaxRefusals
	if maxRefusals <= 0 {
		maxRefusals = DefaultMaxRefusals
	}
	sum := &Summary{}
	seen := map[string]int{} // normalised identifier → first line
	br := bufio.NewReaderSize(r, 64<<10)
	batch := make([]*Record, 0, batchSize)
	refuse := func(line int, err error) {
		sum.Refused++
		if len(sum.Refusals) < maxRefusals {
			sum.Refusals = append(sum.Refusals, Refusal{Line: line, Err: ninsho.ErrorOf(err)})
		}
	}
	flush := func() error {
		if len(batch) > 0 {
			var created []bool
			err := s.Tx.InTx(ctx, func(ctx context.Context) error {
				var err error
				created, err = s.Store.ImportAccounts(ctx, batch)
				return err
			})
			if err != nil {
				return err
			}
			for _, c := range created {
				if c {
					sum.Created++
				} else {
					sum.Skipped++
				}
			}
			batch = batch[:0]
		}
		if s.Progress != nil {
			s.Progress(sum.Progress)
		}
		return nil
	}
	n := 0
	for {
		if err := ctx.Err(); err != nil {
			sum.Elapsed = time.Since(start)
			return sum, err
		}
		raw, tooLong, err := readLine(br, &sum.Bytes)
		if err == io.EOF && raw == nil {
			break
		}
		if err != nil && err != io.EOF {
			sum.Elapsed = time.Since(start)
			return sum, ninsho.Internal("importer: read: %w", err)
		}
		n++
		if len(bytes.TrimSpace(raw)) == 0 && !tooLong {
			continue
		}
		sum.Lines++
		if tooLong {
			refuse(n, ninsho.E(ninsho.CodeImportLineInvalid).WithParam("max_bytes", MaxLineBytes))
		} else if rec, err := s.record(rl, n, raw, seen); err != nil {
			refuse(n, err)
		} else {
			batch = append(batch, rec)
		}
		if len(batch) >= batchSize {
			if err := flush(); err != nil {
				sum.Elapsed = time.Since(start)
				return sum, err
			}
		}
	}
	err := flush()
	sum.Elapsed = time.Since(start)
	return sum, err
}

// readLine returns the next line of br without its end of line, counting
// the bytes read into *read; a line longer than MaxLineBytes is read to
// its end and returned as nil with tooLong.
func readLine(br *bufio.Reader, read *int64) (line []byte, tooLong bool, err error) {
	var buf []byte
	for {
		chunk, isPrefix, err := br.ReadLine()
		*read += int64(len(chunk))
		if err != nil {
			if len(buf) > 0 || tooLong {
				return buf, tooLong, nil
			}
			return nil, false, err
		}
		if !tooLong {
			if len(buf)+len(chunk) > MaxLineBytes {
				tooLong, buf = true, nil
			} else {
				buf = append(buf, chunk...)
			}
		}
		if !isPrefix {
			*read++ // the end of line
			if buf == nil && !tooLong {
				buf = []byte{}
			}
			return buf, tooLong, nil
		}
	}
}

// record checks one line and returns the account to create. Every field is
// judged like sign-up judges what people type.
func (s *Service) record(rl *realm.Realm, n int, raw []byte, seen map[string]int) (*Record, error) {
	var l Line
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&l); err != nil {
		return nil, ninsho.E(ninsho.CodeImportLineInvalid).Wrap(err)
	}
	if dec.More() {
		return nil, ninsho.E(ninsho.CodeImportLineInvalid)
	}
	now := s.Clock.Now()
	var ids []identifier.Identifier
	if strings.TrimSpace(l.Email) != "" {
		id, err := authflow.ParseIdentifier(l.Email, rl)
		if err == nil && id.Kind != identifier.KindEmail {
			err = ninsho.FieldError(ninsho.CodeIdentifierInvalid, "email")
		}
		if err != nil {
			return nil, onField(err, "email")
		}
		ids = append(ids, id)
	}
	if strings.TrimSpace(l.Phone) != "" {
		id, err := authflow.ParseIdentifier(l.Phone, rl)
		if err == nil && id.Kind != identifier.KindPhone {
			err = ninsho.FieldError(ninsho.CodeIdentifierInvalid, "phone")
		}
		if err == nil {
			// Codes and alerts go by SMS: a landline cannot receive them.
			err = identifier.RequireMobile(id)
		}
		if err != nil {
			return nil, onField(err, "phone")
		}
		ids = append(ids, id)
	}
	if len(ids) == 0 {
		return nil, ninsho.E(ninsho.CodeImportIdentifierMissing)
	}
	name := ""
	if strings.TrimSpace(l.Name) != "" {
		var err error
		if name, err = signup.CleanName(l.Name); err != nil {
			return nil, err
		}
	}
	locale := rl.DefaultLocale
	if l.Locale != "" {
		if err := authflow.CheckLocale(rl, l.Locale); err != nil {
			return nil, err
		}
		locale = i18n.Canonical(l.Locale)
	}
	created := now
	if l.CreatedAt != "" {
		t, err := time.Parse(time.RFC3339Nano, l.CreatedAt)
		if err != nil || t.After(now) {
			return nil, ninsho.FieldError(ninsho.CodeImportCreatedAtInvalid, "created_at")
		}
		created = t.UTC()
	}
	hash, format := "", "none"
	if l.PasswordHash != "" {
		var err error
		if hash, format, err = password.Imported(l.PasswordHash, s.Firebase); err != nil {
			return nil, hashError(err)
		}
	}
	var totpSecret string
	if l.TOTPSecret != "" {
		var ok bool
		if totpSecret, ok = cleanTOTP(l.TOTPSecret); !ok {
			return nil, ninsho.FieldError(ninsho.CodeImportTOTPInvalid, "totp_secret")
		}
	}
	// Only now, with the line accepted, are its identifiers taken: a
	// refused line does not make a later one a repeat.
	for _, id := range ids {
		if first, ok := seen[id.Value]; ok {
			return nil, ninsho.FieldError(ninsho.CodeImportIdentifierRepeated, string(id.Kind)).WithParam("line", first)
		}
	}
	for _, id := range ids {
		seen[id.Value] = n
	}

	a := account.Account{
		ID: ninsho.NewID(s.Clock, s.Random), Realm: rl.ID, Type: account.TypeCustomer, Status: account.StatusActive,
		Name: name, Locale: locale, CreatedAt: created, UpdatedAt: now,
	}
	for _, id := range ids {
		if id.Kind == identifier.KindEmail {
			a.Email = id.Value
			if l.EmailVerified {
				a.EmailVerifiedAt = &created
			}
		} else {
			a.Phone = id.Value
			if l.PhoneVerified {
				a.PhoneVerifiedAt = &created
			}
		}
	}
	rec := &Record{Line: n, Account: a, PasswordHash: hash}
	if totpSecret != "" {
		c := &twostep.Credential{
			ID: ninsho.NewID(s.Clock, s.Random), Realm: rl.ID, AccountID: a.ID, Method: twostep.MethodTOTP,
			CreatedAt: now, ProvedAt: &now,
		}
		var err error
		if c.Sealed, err = twostep.SealTOTPSecret(s.Box, rl.ID, a.ID, c.ID, totpSecret); err != nil {
			return nil, ninsho.Internal("importer: seal").Wrap(err)
		}
		rec.TOTP = c
	}
	rec.Event = &event.Event{
		ID: ninsho.NewID(s.Clock, s.Random), Realm: rl.ID, AccountID: a.ID, Type: event.TypeAccountImported,
		Actor: "cli", IP: "cli", UserAgent: "ninsho import",
		Data: map[string]any{"line": n, "password": format, "totp": totpSecret != ""}, At: now,
	}
	return rec, nil
}

// onField puts an identifier error on the line's field.
func onField(err error, field string) error {
	e := ninsho.ErrorOf(err)
	if e.Code == ninsho.CodeInternal {
		return err
	}
	out := ninsho.FieldError(e.Code, field)
	for k, v := range e.Params {
		out.WithParam(k, v)
	}
	return out
}

// hashError is the catalogue refusal of a password.Imported error; the
// detail is kept as the cause (it names parameters, never the hash).
func hashError(err error) error {
	code := ninsho.CodeImportHashMalformed
	switch {
	case errors.Is(err, password.ErrUnsupported):
		code = ninsho.CodeImportHashUnsupported
	case errors.Is(err, password.ErrCost):
		code = ninsho.CodeImportHashCost
	case errors.Is(err, password.ErrFirebaseParams):
		code = ninsho.CodeImportFirebaseParams
	}
	return ninsho.FieldError(code, "password_hash").Wrap(err)
}

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// cleanTOTP returns the secret in the form enrolment stores (upper-case
// base32 without padding), accepting spaces, hyphens, lower case and
// padding; ok is false unless it decodes to minTOTPBytes..maxTOTPBytes.
func cleanTOTP(s string) (string, bool) {
	s = strings.ToUpper(strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' || r == '=' {
			return -1
		}
		return r
	}, s))
	raw, err := b32.DecodeString(s)
	if err != nil || len(raw) < minTOTPBytes || len(raw) > maxTOTPBytes {
		return "", false
	}
	return b32.EncodeToString(raw), true
}
