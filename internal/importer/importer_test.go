package importer

import (
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/realm"
	"github.com/ninsho/ninsho/internal/secret"
)

func testService(tb testing.TB) *Service {
	tb.Helper()
	random := ninsho.NewSeededRandom(1)
	box, err := secret.NewBox(random, []byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		tb.Fatal(err)
	}
	return &Service{Clock: ninsho.NewManualClock(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)), Random: random, Box: box}
}

// TestRecordRefusals: what each refused line is refused with, and that a
// refused line does not take its identifier (a later line may use it).
func TestRecordRefusals(t *testing.T) {
	s := testService(t)
	rl := &realm.Realm{ID: "jp", DefaultLocale: "ja", PhoneRegion: "JP", EmailOnly: false}
	jaOnly := &realm.Realm{ID: "ja", DefaultLocale: "ja", PhoneRegion: "JP", Locales: []string{"ja"}}
	emailOnly := &realm.Realm{ID: "us", DefaultLocale: "en", PhoneRegion: "US", EmailOnly: true}
	tests := []struct {
		line  string
		realm *realm.Realm
		code  ninsho.Code
		field string
	}{
		{`{"email":"a@example.jp"} {"x":1}`, rl, ninsho.CodeImportLineInvalid, ""},
		{`[1,2]`, rl, ninsho.CodeImportLineInvalid, ""},
		{`{"email":42}`, rl, ninsho.CodeImportLineInvalid, ""},
		{`{"email":"09012345678"}`, rl, ninsho.CodeIdentifierInvalid, "email"},
		{`{"phone":"a@example.jp"}`, rl, ninsho.CodeIdentifierInvalid, "phone"},
		{`{"phone":"+819012345678"}`, emailOnly, ninsho.CodeIdentifierEmailOnly, "phone"},
		{`{"email":"a@example.jp","locale":"fr"}`, rl, ninsho.CodeLocaleInvalid, "locale"},
		{`{"email":"a@example.jp","locale":"en"}`, jaOnly, ninsho.CodeLocaleNotOffered, "locale"},
		{`{"email":"a@example.jp","name":"a\u0000b"}`, rl, ninsho.CodeNameInvalid, "name"},
		{`{"email":"a@example.jp","created_at":"2027-01-01T00:00:00Z"}`, rl, ninsho.CodeImportCreatedAtInvalid, "created_at"},
		{`{"email":"a@example.jp","created_at":"yesterday"}`, rl, ninsho.CodeImportCreatedAtInvalid, "created_at"},
		{`{"email":"a@example.jp","totp_secret":"ABCDEFGH"}`, rl, ninsho.CodeImportTOTPInvalid, "totp_secret"},
		{`{"email":"a@example.jp","password_hash":"$firebase-scrypt$c2FsdA$c2FsdA"}`, rl, ninsho.CodeImportFirebaseParams, "password_hash"},
		{`{"email":"a@example.jp","password_hash":"{SSHA}abc"}`, rl, ninsho.CodeImportHashUnsupported, "password_hash"},
		{`{"email":"a@example.jp","password_hash":"$2b$10$x"}`, rl, ninsho.CodeImportHashMalformed, "password_hash"},
	}
	seen := map[string]int{}
	for i, tt := range tests {
		_, err := s.record(tt.realm, i+1, []byte(tt.line), seen)
		if e := ninsho.ErrorOf(err); e == nil || e.Code != tt.code || e.Field != tt.field {
			t.Errorf("%s: %v; want %s on %q", tt.line, err, tt.code, tt.field)
		}
	}
	if len(seen) != 0 {
		t.Errorf("refused lines took identifiers: %v", seen)
	}
	if _, err := s.record(rl, 20, []byte(`{"email":"A@Example.jp","phone":"090-1234-5678"}`), seen); err != nil {
		t.Fatal(err)
	}
	_, err := s.record(rl, 21, []byte(`{"phone":"+81 90 1234 5678"}`), seen)
	if e := ninsho.ErrorOf(err); e == nil || e.Code != ninsho.CodeImportIdentifierRepeated || e.Params["line"] != 20 {
		t.Errorf("repeated phone: %v; want import_identifier_repeated of line 20", err)
	}
}

// FuzzRecord: any line is accepted or refused with a catalogue code, never
// a panic or an internal error.
func FuzzRecord(f *testing.F) {
	for _, s := range []string{
		`{"email":"a@example.jp","phone":"090-1234-5678","name":"山田","locale":"ja","email_verified":true,"password_hash":"$2b$04$abcdefghijklmnopqrstuu5Qmxk4sD5c6h2QnkFz4Lh1vJm7q2Jy6","totp_secret":"JBSWY3DPEHPK3PXP","created_at":"2020-01-01T00:00:00Z"}`,
		`{}`, `null`, `{"email":""}`, `{"phone":"+1"}`, `{"email":"a@b","password_hash":"pbkdf2_sha256$1$s$AAAA"}`,
	} {
		f.Add([]byte(s))
	}
	s := testService(f)
	rl := &realm.Realm{ID: "jp", DefaultLocale: "ja", PhoneRegion: "JP"}
	f.Fuzz(func(t *testing.T, line []byte) {
		rec, err := s.record(rl, 1, line, map[string]int{})
		if err != nil {
			if e := ninsho.ErrorOf(err); e.Code == ninsho.CodeInternal || e.Code == "" {
				t.Fatalf("record(%q) = %v", line, err)
			}
			return
		}
		if rec.Account.Email == "" && rec.Account.Phone == "" {
			t.Fatalf("record(%q) accepted an account without an identifier", line)
		}
	})
}
