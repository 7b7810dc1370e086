package store_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/account"
	"github.com/ninsho/ninsho/internal/importer"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/realm"
	"github.com/ninsho/ninsho/internal/secret"
	"github.com/ninsho/ninsho/internal/store"
	"github.com/ninsho/ninsho/internal/store/storetest"
)

// importFile returns n JSON lines of accounts (every seventh with a phone
// number too, every fifth with a TOTP secret) and the refused lines it
// mixes in, keyed by line number with their codes.
func importFile(n int) (string, map[int]ninsho.Code) {
	hash := "$pbkdf2-sha256$i=1000$" + base64.RawStdEncoding.EncodeToString([]byte("saltsalt")) + "$" +
		base64.RawStdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))
	var sb strings.Builder
	refused := map[int]ninsho.Code{}
	line := 0
	add := func(s string, c ninsho.Code) {
		line++
		sb.WriteString(s + "\n")
		if c != "" {
			refused[line] = c
		}
	}
	for i := range n {
		extra := ""
		if i%7 == 0 {
			extra += fmt.Sprintf(`,"phone":"+81901%07d","phone_verified":true`, i)
		}
		if i%5 == 0 {
			extra += `,"totp_secret":"JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"`
		}
		add(fmt.Sprintf(`{"email":"User%05d@Example.JP","name":"User %d","email_verified":true,"password_hash":%q,"created_at":"2021-03-04T05:06:07Z"%s}`,
			i, i, hash, extra), "")
		switch i {
		case 100:
			add(`{"email":"broken@example.jp",`, ninsho.CodeImportLineInvalid)
		case 200:
			add(`{"email":"not-an-address@"}`, ninsho.CodeIdentifierInvalid)
		case 300:
			add(`{"email":"ＵＳＥＲ00001@example.jp"}`, ninsho.CodeImportIdentifierRepeated) // full-width: the same address
		case 400:
			add(`{"email":"md5@example.jp","password_hash":"$1$saltsalt$hash"}`, ninsho.CodeImportHashUnsupported)
		case 500:
			add(`{"email":"slow@example.jp","password_hash":"$2b$31$.vGA1O9wmRjrwAVXD98HNOgsNpDczlqm3Jq7KnEd1rVAGv3Fykk1a"}`, ninsho.CodeImportHashCost)
		case 600:
			add(`{"email":"typo@example.jp","passwrd_hash":"x"}`, ninsho.CodeImportLineInvalid)
		case 700:
			add(`{"name":"nobody"}`, ninsho.CodeImportIdentifierMissing)
		case 800:
			add(`{"email":"totp@example.jp","totp_secret":"not base32!"}`, ninsho.CodeImportTOTPInvalid)
		case 900:
			add(`{"phone":"03-1234-5678"}`, ninsho.CodePhoneNotMobile)
		case 1000:
			add(``, "") // a blank line is no line
		}
	}
	return sb.String(), refused
}

type importCounts struct{ accounts, passwords, totps, states, events int }

func countImported(t *testing.T, db *store.DB) importCounts {
	t.Helper()
	ctx := context.Background()
	var c importCounts
	for _, q := range []struct {
		n   *int
		sql string
	}{
		{&c.accounts, `SELECT COUNT(*) FROM account WHERE realm = 'jp'`},
		{&c.passwords, `SELECT COUNT(*) FROM credential WHERE realm = 'jp'`},
		{&c.totps, `SELECT COUNT(*) FROM two_step_credential WHERE realm = 'jp'`},
		{&c.states, `SELECT COUNT(*) FROM two_step_state WHERE realm = 'jp' AND enabled`},
		{&c.events, `SELECT COUNT(*) FROM event WHERE realm = 'jp'`},
	} {
		n, err := db.CountForTest(ctx, q.sql)
		if err != nil {
			t.Fatal(err)
		}
		*q.n = n
	}
	return c
}

// TestImportAccounts (issue 16): 2,000 accounts in batches of 500 on SQLite
// and PostgreSQL; the refused lines are reported with their numbers and
// codes and do not stop the run; an account already in the realm is
// skipped; a second run of the same file creates and changes nothing (rows
// and events counted).
func TestImportAccounts(t *testing.T) {
	const n = 2000
	file, refused := importFile(n)
	storetest.EachDatabase(t, func(t *testing.T, open func(testing.TB) *store.DB) {
		db := open(t)
		ctx := context.Background()
		clock := ninsho.NewManualClock(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))
		random := ninsho.NewSeededRandom(16)
		box, err := secret.NewBox(random, []byte("0123456789abcdef0123456789abcdef"))
		if err != nil {
			t.Fatal(err)
		}
		// An account the realm holds already (a sign-up before the import).
		taken := &account.Account{ID: ninsho.NewID(clock, random), Realm: "jp", Type: account.TypeCustomer, Status: account.StatusActive,
			Name: "Earlier", Email: "user00042@example.jp", Locale: "ja", CreatedAt: clock.Now(), UpdatedAt: clock.Now()}
		if err := db.CreateAccount(ctx, taken); err != nil {
			t.Fatal(err)
		}
		rl := &realm.Realm{ID: "jp", Name: "JP", DefaultLocale: "ja", PhoneRegion: "JP"}
		var progress []importer.Progress
		svc := &importer.Service{Store: db, Tx: db, Clock: clock, Random: random, Box: box, BatchSize: 500,
			Progress: func(p importer.Progress) { progress = append(progress, p) }}
		sum, err := svc.Run(ctx, rl, strings.NewReader(file))
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%d lines in %s: %.0f accounts/s", sum.Lines, sum.Elapsed, sum.PerSecond())
		for _, r := range sum.Refusals {
			if want, ok := refused[r.Line]; !ok || r.Err.Code != want {
				t.Errorf("line %d refused with %s (%v); want %q", r.Line, r.Err.Code, r.Err, want)
			}
		}
		if sum.Created != n-1 || sum.Skipped != 1 || sum.Refused != len(refused) || sum.Lines != n+len(refused) {
			t.Fatalf("summary %+v; want %d created, 1 skipped, %d refused", sum.Progress, n-1, len(refused))
		}
		if len(progress) < 4 || progress[len(progress)-1] != sum.Progress {
			t.Errorf("progress %+v; want one per batch ending at the summary", progress)
		}
		got := countImported(t, db)
		want := importCounts{accounts: n, passwords: n - 1, totps: n / 5, states: n / 5, events: n - 1}
		if got != want {
			t.Fatalf("rows after the import %+v, want %+v", got, want)
		}
		a, err := db.AccountByPhone(ctx, "jp", "+819010000007")
		if err != nil || a.Email != "user00007@example.jp" || a.Status != account.StatusActive || a.PhoneVerifiedAt == nil ||
			a.CreatedAt.Format(time.RFC3339) != "2021-03-04T05:06:07Z" {
			t.Errorf("account of line 8: %+v, %v", a, err)
		}
		if e, err := db.AccountByEmail(ctx, "jp", "user00042@example.jp"); err != nil || e.ID != taken.ID || e.Name != "Earlier" {
			t.Errorf("the account held before the import: %+v, %v; want it unchanged", e, err)
		}

		// The same file again: nothing is created or changed.
		clock.Advance(time.Hour)
		again, err := svc.Run(ctx, rl, strings.NewReader(file))
		if err != nil {
			t.Fatal(err)
		}
		if again.Created != 0 || again.Skipped != n || again.Refused != len(refused) {
			t.Errorf("second run %+v; want 0 created, %d skipped, %d refused", again.Progress, n, len(refused))
		}
		if after := countImported(t, db); after != want {
			t.Errorf("rows after the second run %+v, want %+v", after, want)
		}
		if b, err := db.AccountByPhone(ctx, "jp", "+819010000007"); err != nil || !b.UpdatedAt.Equal(a.UpdatedAt) {
			t.Errorf("the second run touched an account: %+v, %v", b, err)
		}
	})
}

// TestImportTiming times a large import on each database: on demand only
// (NINSHO_IMPORT_TIMING=100000 for the figures of docs/performance.md,
// "Importing accounts").
func TestImportTiming(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("NINSHO_IMPORT_TIMING"))
	if n <= 0 {
		t.Skip("NINSHO_IMPORT_TIMING is not set")
	}
	file, refused := importFile(n)
	storetest.EachDatabase(t, func(t *testing.T, open func(testing.TB) *store.DB) {
		db := open(t)
		clock := ninsho.NewManualClock(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))
		random := ninsho.NewSeededRandom(16)
		box, err := secret.NewBox(random, []byte("0123456789abcdef0123456789abcdef"))
		if err != nil {
			t.Fatal(err)
		}
		rl := &realm.Realm{ID: "jp", Name: "JP", DefaultLocale: "ja", PhoneRegion: "JP"}
		svc := &importer.Service{Store: db, Tx: db, Clock: clock, Random: random, Box: box}
		for _, run := range []string{"first", "again"} {
			sum, err := svc.Run(context.Background(), rl, strings.NewReader(file))
			if err != nil || sum.Refused != len(refused) {
				t.Fatalf("%+v, %v", sum.Progress, err)
			}
			t.Logf("%s run: %d lines (created %d, skipped %d, refused %d) in %s: %.0f accounts/s",
				run, sum.Lines, sum.Created, sum.Skipped, sum.Refused, sum.Elapsed.Round(time.Millisecond), sum.PerSecond())
		}
	})
}
