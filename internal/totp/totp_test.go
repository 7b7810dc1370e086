package totp

import (
	"bytes"
	"image/png"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp"

	"github.com/ninsho/ninsho/internal/i18n"
	"github.com/ninsho/ninsho/internal/ninsho"
)

// rfcSecret is the SHA-1 key of RFC 4226 appendix D and RFC 6238 appendix B,
// "12345678901234567890", in base32.
var rfcSecret = b32.EncodeToString([]byte("12345678901234567890"))

func TestRFC4226AppendixD(t *testing.T) {
	want := []string{"755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489"}
	for counter, w := range want {
		got, err := generate(rfcSecret, int64(counter), otp.DigitsSix)
		if err != nil {
			t.Fatal(err)
		}
		if got != w {
			t.Errorf("HOTP(counter %d) = %s, want %s", counter, got, w)
		}
	}
}

var rfc6238 = []struct {
	unix int64
	code string // SHA-1, 8 digits
}{
	{59, "94287082"},
	{1111111109, "07081804"},
	{1111111111, "14050471"},
	{1234567890, "89005924"},
	{2000000000, "69279037"},
	{20000000000, "65353130"},
}

func TestRFC6238AppendixB(t *testing.T) {
	for _, v := range rfc6238 {
		at := time.Unix(v.unix, 0)
		got, err := generate(rfcSecret, Step(at), otp.DigitsEight)
		if err != nil {
			t.Fatal(err)
		}
		if got != v.code {
			t.Errorf("TOTP at %d = %s, want %s", v.unix, got, v.code)
		}
		// The 6-digit code is the last six digits of the 8-digit one
		// (both are the same value modulo a power of ten), and Verify
		// accepts it at that time.
		six, err := CodeAt(rfcSecret, at)
		if err != nil || six != v.code[2:] {
			t.Errorf("CodeAt(%d) = %q, %v; want %s", v.unix, six, err, v.code[2:])
		}
		step, err := Verify(rfcSecret, v.code[2:], at, 0)
		if err != nil || step != v.unix/30 {
			t.Errorf("Verify at %d = %d, %v; want step %d", v.unix, step, err, v.unix/30)
		}
	}
}

func TestVerifySkew(t *testing.T) {
	secret := NewSecret(ninsho.NewSeededRandom(1))
	now := time.Date(2026, 3, 1, 12, 0, 10, 0, time.UTC)
	cur := Step(now)
	for _, d := range []int64{-2, -1, 0, 1, 2} {
		c, err := CodeAt(secret, now.Add(time.Duration(d*Period)*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		step, err := Verify(secret, c, now, 0)
		if d == -2 || d == 2 {
			if !ninsho.IsCode(err, ninsho.CodeTOTPIncorrect) {
				t.Errorf("code %+d steps away: err %v, want totp_incorrect", d, err)
			}
			continue
		}
		if err != nil || step != cur+d {
			t.Errorf("code %+d steps away: step %d, err %v; want step %d", d, step, err, cur+d)
		}
	}
}

func TestVerifyReplay(t *testing.T) {
	secret := NewSecret(ninsho.NewSeededRandom(2))
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	c, _ := CodeAt(secret, now)
	last, err := Verify(secret, c, now, 0)
	if err != nil {
		t.Fatal(err)
	}
	// The same code again, in the same step and in the next one (still
	// within the skew): refused.
	for _, at := range []time.Time{now.Add(5 * time.Second), now.Add(Period * time.Second)} {
		if _, err := Verify(secret, c, at, last); !ninsho.IsCode(err, ninsho.CodeTOTPReused) {
			t.Errorf("replayed code at %s: err %v, want totp_reused", at, err)
		}
	}
	// An earlier step's code (within the skew, never used): refused too,
	// since a later one was accepted.
	prev, _ := CodeAt(secret, now.Add(-Period*time.Second))
	if _, err := Verify(secret, prev, now, last); !ninsho.IsCode(err, ninsho.CodeTOTPReused) {
		t.Errorf("earlier step's code: err %v, want totp_reused", err)
	}
	// The next step's code: accepted, and its step returned.
	later := now.Add(Period * time.Second)
	next, _ := CodeAt(secret, later)
	step, err := Verify(secret, next, later, last)
	if err != nil || step != last+1 {
		t.Errorf("next step's code: step %d, err %v; want %d", step, err, last+1)
	}
}

func TestVerifyInput(t *testing.T) {
	secret := NewSecret(ninsho.NewSeededRandom(3))
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	c, _ := CodeAt(secret, now)
	full := strings.Map(func(r rune) rune { return r - '0' + '０' }, c)
	for _, in := range []string{c, " " + c[:3] + " " + c[3:] + " ", c[:3] + "-" + c[3:], full, full[:9] + "　" + full[9:]} {
		if _, err := Verify(secret, in, now, 0); err != nil {
			t.Errorf("Verify(%q) = %v, want accepted", in, err)
		}
	}
	wrong := []byte(c)
	wrong[5] = '0' + (wrong[5]-'0'+1)%10
	for _, in := range []string{string(wrong), c[:5], c + "0", "abcdef", c[:5] + "x"} {
		err := Verify2(secret, in, now)
		e := ninsho.ErrorOf(err)
		if e == nil || e.Code != ninsho.CodeTOTPIncorrect || e.Field != "code" {
			t.Errorf("Verify(%q) = %v, want totp_incorrect on code", in, err)
		}
	}
	if err := Verify2(secret, "  ", now); !ninsho.IsCode(err, ninsho.CodeFieldRequired) {
		t.Errorf("blank code: %v, want field_required", err)
	}
	if _, err := Verify("not base32!", c, now, 0); ninsho.CodeOf(err) != ninsho.CodeInternal {
		t.Errorf("broken secret: %v, want internal", err)
	}
}

// Verify2 is Verify without the step.
func Verify2(secret, in string, now time.Time) error {
	_, err := Verify(secret, in, now, 0)
	return err
}

func TestNewSecretAndGrouped(t *testing.T) {
	a := NewSecret(ninsho.NewSeededRandom(4))
	b := NewSecret(ninsho.NewSeededRandom(5))
	if len(a) != 32 || a == b {
		t.Fatalf("secrets %q, %q: want 32 characters, different", a, b)
	}
	raw, err := b32.DecodeString(a)
	if err != nil || len(raw) != SecretSize {
		t.Fatalf("secret %q decodes to %d bytes, %v", a, len(raw), err)
	}
	if a != NewSecret(ninsho.NewSeededRandom(4)) {
		t.Error("the secret does not come from the injected randomness")
	}
	g := Grouped(a)
	parts := strings.Split(g, " ")
	if len(parts) != 8 || strings.Join(parts, "") != a {
		t.Errorf("Grouped(%q) = %q", a, g)
	}
	for _, p := range parts {
		if len(p) != 4 {
			t.Errorf("group %q is not four characters", p)
		}
	}
	if got := Grouped("ABCDEF"); got != "ABCD EF" {
		t.Errorf("Grouped(ABCDEF) = %q", got)
	}
}

func TestURL(t *testing.T) {
	secret := NewSecret(ninsho.NewSeededRandom(6))
	s := URL("ショップ 本店", "taro@example.jp", secret)
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	if u.Scheme != "otpauth" || u.Host != "totp" || u.Path != "/ショップ 本店:taro@example.jp" {
		t.Errorf("URL %s: scheme %q host %q path %q", s, u.Scheme, u.Host, u.Path)
	}
	if strings.Contains(s, "+") {
		t.Errorf("URL %s writes a space as +", s)
	}
	q := u.Query()
	for k, v := range map[string]string{"secret": secret, "issuer": "ショップ 本店", "algorithm": "SHA1", "digits": "6", "period": "30"} {
		if q.Get(k) != v {
			t.Errorf("parameter %s = %q, want %q", k, q.Get(k), v)
		}
	}
	key, err := otp.NewKeyFromURL(s)
	if err != nil {
		t.Fatal(err)
	}
	if key.Issuer() != "ショップ 本店" || key.AccountName() != "taro@example.jp" || key.Secret() != secret ||
		key.Period() != 30 || key.Digits() != otp.DigitsSix || key.Algorithm() != otp.AlgorithmSHA1 || key.Type() != "totp" {
		t.Errorf("otp reads %s as issuer %q account %q", s, key.Issuer(), key.AccountName())
	}
	// A colon would move the label's split.
	key, _ = otp.NewKeyFromURL(URL("A:B", "x:y", secret))
	if key.AccountName() != "x y" {
		t.Errorf("colon in the label: account %q", key.AccountName())
	}
}

func TestPNG(t *testing.T) {
	u := URL("Shop", "taro@example.jp", NewSecret(ninsho.NewSeededRandom(7)))
	b, err := PNG(u, 256)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if r := img.Bounds(); r.Dx() != 256 || r.Dy() != 256 {
		t.Errorf("image is %dx%d, want 256x256", r.Dx(), r.Dy())
	}
	if _, err := PNG(u, 10); err == nil {
		t.Error("a size too small for the code was accepted")
	}
	if _, err := PNG("::not a url", 256); err == nil {
		t.Error("a broken URL was drawn")
	}
}

func FuzzVerifyCode(f *testing.F) {
	secret := rfcSecret
	now := time.Unix(1111111111, 0)
	good, _ := CodeAt(secret, now)
	accepted := map[string]int64{}
	for d := int64(-Skew); d <= Skew; d++ {
		c, _ := CodeAt(secret, now.Add(time.Duration(d*Period)*time.Second))
		accepted[c] = Step(now) + d
	}
	for _, s := range []string{good, "", " ", "１２３４５６", "12-34 56", "ｘ", "\u00a0123456", "１２３\u30fc４５６"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		n, ok := parseCode(in)
		if ok && (len(n) != Digits || strings.Trim(n, "0123456789") != "") {
			t.Fatalf("parseCode(%q) = %q accepted", in, n)
		}
		step, err := Verify(secret, in, now, 0)
		if err == nil {
			if want, found := accepted[n]; !ok || !found || step != want {
				t.Fatalf("Verify(%q) accepted %q at step %d", in, n, step)
			}
			return
		}
		switch ninsho.CodeOf(err) {
		case ninsho.CodeTOTPIncorrect, ninsho.CodeFieldRequired:
		default:
			t.Fatalf("Verify(%q): %v", in, err)
		}
	})
}

// The refusal of a wrong code tells, in both languages, the most common
// cause: the phone's clock has drifted; set it to automatic.
func TestIncorrectMessageHintsAtTheClock(t *testing.T) {
	_, err := Verify(rfcSecret, "000000", time.Unix(59, 0), 0)
	e := ninsho.ErrorOf(err)
	if e == nil || e.Code != ninsho.CodeTOTPIncorrect {
		t.Fatalf("err %v", err)
	}
	for locale, hint := range map[string]string{"ja": "自動設定", "en": "automatically"} {
		if m := i18n.FieldErrorMessage(locale, e); !strings.Contains(m, hint) {
			t.Errorf("%s message %q does not hint at the clock (%q)", locale, m, hint)
		}
	}
}
