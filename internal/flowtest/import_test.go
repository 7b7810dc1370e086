package flowtest_test

import (
	"context"
	"crypto/pbkdf2"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
	"golang.org/x/crypto/scrypt"

	"github.com/ninsho/ninsho/internal/event"
	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/flowtest"
	"github.com/ninsho/ninsho/internal/importer"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/password"
	"github.com/ninsho/ninsho/internal/signin"
	"github.com/ninsho/ninsho/internal/twostep"
)

// importService is the importer on e's database and clock.
func importService(e *flowtest.Env, fb *password.Firebase) *importer.Service {
	return &importer.Service{Store: e.DB, Tx: e.DB, Clock: e.Clock, Random: e.Kit.Random, Box: e.Box, Firebase: fb, BatchSize: 3}
}

func importLine(t *testing.T, fields map[string]any) string {
	t.Helper()
	b, err := json.Marshal(fields)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// signInImported signs ident in with pw from a new device and returns the
// answer, after the device code when one is asked.
func signInImported(t *testing.T, e *flowtest.Env, ident, pw, to string) (*flow.Answer, error) {
	t.Helper()
	ctx := context.Background()
	ans, err := e.Signin.Start(ctx, e.JP, flowtest.Req("192.0.2.44", ""), signin.Input{Identifier: ident, Password: pw})
	if err != nil || ans.Next == nil || ans.Next.Step != flow.StepVerificationCode {
		return ans, err
	}
	return e.Engine.Act(ctx, "jp", ans.Flow.ID, flowtest.Req("192.0.2.44", ans.DeviceToken),
		flow.Action{Name: flow.ActionSubmitCode, Code: e.LastCode(t, to)})
}

// TestImportedHashesSignInAndUpgrade (issue 16): an account imported with a
// hash of each accepted format — made in the test by the reference library,
// or published (Django's and Firebase's vectors) — signs in with its
// password, and that sign-in replaces the hash with the current argon2id
// (password.rehashed); the next sign-in uses the new hash. A wrong password
// is refused and upgrades nothing.
func TestImportedHashesSignInAndUpgrade(t *testing.T) {
	const pw = "imported-horse-7"
	b64 := base64.RawStdEncoding.EncodeToString
	salt := []byte("an import salt!!")
	bc, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	dk, err := pbkdf2.Key(sha256.New, pw, []byte("djangosalt"), 1000, 32)
	if err != nil {
		t.Fatal(err)
	}
	sk, err := scrypt.Key([]byte(pw), salt, 1<<10, 8, 1, 32)
	if err != nil {
		t.Fatal(err)
	}
	// Keycloak's pbkdf2-sha512 and pbkdf2 (HMAC-SHA1): 512-bit keys,
	// standard base64 as its export writes them.
	std := base64.StdEncoding.EncodeToString
	dk512, err := pbkdf2.Key(sha512.New, pw, salt, 1000, 64)
	if err != nil {
		t.Fatal(err)
	}
	dk1, err := pbkdf2.Key(sha1.New, pw, salt, 1000, 64)
	if err != nil {
		t.Fatal(err)
	}
	// Firebase's published vector (README of github.com/firebase/scrypt):
	// "user1password" with the sample project parameters.
	mustStd := func(s string) []byte {
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	fb := &password.Firebase{
		SignerKey:     mustStd("jxspr8Ki0RYycVU8zykbdLGjFQ3McFUH0uiiTvC8pVMXAn210wjLNmdZJzxUECKbm0QsEmYUSDzZvpjeJ9WmXA=="),
		SaltSeparator: mustStd("Bw=="), Rounds: 8, MemCost: 14,
	}
	tests := []struct {
		email, pw, hash, format string
	}{
		{"bcrypt@example.jp", pw, string(bc), password.FormatBcrypt},
		{"argon2id@example.jp", pw, "$argon2id$v=19$m=64,t=2,p=1$" + b64(salt) + "$" + b64(argon2.IDKey([]byte(pw), salt, 2, 64, 1, 32)), password.FormatArgon2id},
		{"argon2i@example.jp", pw, "$argon2i$v=19$m=64,t=2,p=1$" + b64(salt) + "$" + b64(argon2.Key([]byte(pw), salt, 2, 64, 1, 32)), password.FormatArgon2i},
		{"pbkdf2@example.jp", pw, "$pbkdf2-sha256$i=1000$" + b64([]byte("djangosalt")) + "$" + b64(dk), password.FormatPBKDF2},
		{"keycloak-sha512@example.jp", pw, "$pbkdf2-sha512$i=1000$" + std(salt) + "$" + std(dk512), password.FormatPBKDF2SHA512},
		{"keycloak-sha1@example.jp", pw, "$pbkdf2$i=1000$" + std(salt) + "$" + std(dk1), password.FormatPBKDF2SHA1},
		{"django@example.jp", pw, "pbkdf2_sha256$1000$djangosalt$" + base64.StdEncoding.EncodeToString(dk), password.FormatDjangoPBKDF2},
		{"django-vector@example.jp", "lètmein", "pbkdf2_sha256$10000$seasalt$CWWFdHOWwPnki7HvkcqN9iA2T3KLW1cf2uZ5kvArtVY=", password.FormatDjangoPBKDF2},
		{"scrypt@example.jp", pw, "$scrypt$ln=10,r=8,p=1$" + b64(salt) + "$" + b64(sk), password.FormatScrypt},
		{"firebase@example.jp", "user1password", "$firebase-scrypt$42xEC+ixf3L2lw==$lSrfV15cpx95/sZS2W9c9Kp6i/LVgQNDNC/qzrCnh1SAyZvqmZqAjTdn3aoItz+VHjoZilo78198JAdRuid5lQ==", password.FormatFirebaseScrypt},
	}
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		var file strings.Builder
		for _, tt := range tests {
			file.WriteString(importLine(t, map[string]any{"email": tt.email, "name": "Imported", "email_verified": true, "password_hash": tt.hash}) + "\n")
		}
		sum, err := importService(e, fb).Run(ctx, e.JP, strings.NewReader(file.String()))
		if err != nil || sum.Created != len(tests) || sum.Refused != 0 {
			t.Fatalf("import: %+v, %v; want %d created", sum, err, len(tests))
		}
		for _, tt := range tests {
			t.Run(tt.format+" "+tt.email, func(t *testing.T) {
				// One address signs every account in: a day apart, so that
				// its counts never ask for a CAPTCHA.
				e.Clock.Advance(24 * time.Hour)
				a, err := e.DB.AccountByEmail(ctx, "jp", tt.email)
				if err != nil {
					t.Fatal(err)
				}
				before, _ := e.DB.PasswordHash(ctx, a.ID)
				ans, err := signInImported(t, e, tt.email, tt.pw+"x", tt.email)
				flowtest.WantCode(t, err, ninsho.CodePasswordIncorrect)
				if after, _ := e.DB.PasswordHash(ctx, a.ID); after != before {
					t.Fatalf("a wrong password changed the hash to %q", after)
				}
				ans, err = signInImported(t, e, tt.email, tt.pw, tt.email)
				if err != nil || ans.Session == nil {
					t.Fatalf("sign-in with the imported %s hash: %+v, %v", tt.format, ans, err)
				}
				upgraded, _ := e.DB.PasswordHash(ctx, a.ID)
				if !strings.HasPrefix(upgraded, "$argon2id$v=19$m=8,t=1,p=1$") {
					t.Fatalf("after the sign-in the hash is %q, want the current argon2id", upgraded)
				}
				if n := countImportEvents(t, e, a.ID, event.TypePasswordRehashed); n != 1 {
					t.Errorf("%d password.rehashed events, want 1", n)
				}
				if ans, err := signInImported(t, e, tt.email, tt.pw, tt.email); err != nil || ans.Session == nil {
					t.Fatalf("second sign-in (upgraded hash): %+v, %v", ans, err)
				}
				if again, _ := e.DB.PasswordHash(ctx, a.ID); again != upgraded {
					t.Errorf("the second sign-in rehashed again")
				}
			})
		}
	})
}

func countImportEvents(t *testing.T, e *flowtest.Env, accountID, typ string) int {
	t.Helper()
	evs, err := e.DB.AccountEvents(context.Background(), accountID, flowtest.Epoch.AddDate(-1, 0, 0), 1000)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, ev := range evs {
		if ev.Type == typ {
			n++
		}
	}
	return n
}

// TestImportedTOTPAndNoPassword: an imported authenticator-app secret turns
// 2SV on with that app (sign-in asks for its code and ends at AAL 2); an
// account imported without a password hash cannot sign in with any
// password (the password assistant gives it one).
func TestImportedTOTPAndNoPassword(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		bc, err := bcrypt.GenerateFromPassword([]byte("totp-owner-pass"), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		const secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
		file := importLine(t, map[string]any{"email": "App@Example.JP", "locale": "en", "email_verified": true,
			"password_hash": string(bc), "totp_secret": "jbsw y3dp ehpk 3pxp jbsw y3dp ehpk 3pxp", "created_at": "2020-01-02T03:04:05Z"}) + "\n" +
			importLine(t, map[string]any{"phone": "090-1234-5678", "phone_verified": true, "name": "山田 花子"}) + "\n"
		sum, err := importService(e, nil).Run(ctx, e.JP, strings.NewReader(file))
		if err != nil || sum.Created != 2 {
			t.Fatalf("import: %+v, %v", sum, err)
		}
		a, err := e.DB.AccountByEmail(ctx, "jp", "app@example.jp")
		if err != nil {
			t.Fatal(err)
		}
		if a.Locale != "en" || a.Status != "active" || a.EmailVerifiedAt == nil || a.CreatedAt.Format("2006-01-02T15:04:05Z") != "2020-01-02T03:04:05Z" {
			t.Errorf("imported account %+v", a)
		}
		st, err := e.DB.State(ctx, "jp", a.ID)
		creds, _ := e.DB.Credentials(ctx, "jp", a.ID)
		if err != nil || !st.Enabled || len(creds) != 1 || creds[0].Method != twostep.MethodTOTP || !creds[0].Proved() || st.Preferred != creds[0].ID {
			t.Fatalf("2SV state %+v, credentials %+v, %v; want on with one proved TOTP preferred", st, creds, err)
		}
		if sec, err := twostep.OpenTOTPSecret(e.Box, "jp", a.ID, creds[0].ID, creds[0].Sealed); err != nil || sec != secret {
			t.Errorf("sealed secret opens to %q, %v; want %q", sec, err, secret)
		}
		ans, err := e.Signin.Start(ctx, e.JP, flowtest.Req("192.0.2.45", ""), signin.Input{Identifier: "app@example.jp", Password: "totp-owner-pass"})
		wantSecondFactor(t, ans, err, "totp")
		done, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, flowtest.Req("192.0.2.45", ans.DeviceToken),
			flow.Action{Name: flow.ActionSubmitSecondFactor, Code: totpAt(t, secret, e.Clock.Now())})
		wantAAL2(t, e, done, err, "pwd", "otp")

		p, err := e.DB.AccountByPhone(ctx, "jp", "+819012345678")
		if err != nil || p.Name != "山田 花子" || p.PhoneVerifiedAt == nil || p.Locale != "ja" {
			t.Fatalf("phone account %+v, %v", p, err)
		}
		if _, err := e.DB.PasswordHash(ctx, p.ID); !ninsho.IsCode(err, ninsho.CodeNotFound) {
			t.Errorf("password hash of an account imported without one: %v, want not found", err)
		}
		_, err = e.Signin.Start(ctx, e.JP, flowtest.Req("192.0.2.46", ""), signin.Input{Identifier: "09012345678", Password: "anything-at-all"})
		flowtest.WantCode(t, err, ninsho.CodePasswordIncorrect)
	})
}
