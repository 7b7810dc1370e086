package password

import (
	"bytes"
	"context"
	"errors"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"

	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/workthread"
)

// testParams are small enough to keep tests fast.
var testParams = Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

func MustHash(tb testing.TB, h *Hasher, plain string) string {
	tb.Helper()
	enc, err := h.Hash(context.Background(), plain)
	if err != nil {
		tb.Fatalf("Hash(%q) error = %v", plain, err)
	}
	return enc
}

func TestHashFormat(t *testing.T) {
	h := &Hasher{Params: testParams, Random: bytes.NewReader(bytes.Repeat([]byte{1}, 16))}
	got := MustHash(t, h, "correct horse")
	want := "$argon2id$v=19$m=64,t=1,p=1$AQEBAQEBAQEBAQEBAQEBAQ$"
	if !strings.HasPrefix(got, want) {
		t.Errorf("Hash = %q, want prefix %q", got, want)
	}
	if a, err := decodeArgon2(got); err != nil || a.params != testParams {
		t.Errorf("decodeArgon2(Hash) = %+v, %v; want params %+v", a, err, testParams)
	}
}

func TestHashUsesFreshSalt(t *testing.T) {
	h := &Hasher{Params: testParams}
	if a, b := MustHash(t, h, "same password"), MustHash(t, h, "same password"); a == b {
		t.Errorf("two hashes of one password are equal (%q): salt not random", a)
	}
}

func TestVerifyOwnHashes(t *testing.T) {
	h := &Hasher{Params: testParams}
	tests := []struct {
		name, stored, typed string
		ok                  bool
	}{
		{"same", "correct horse", "correct horse", true},
		{"wrong", "correct horse", "correct horsf", false},
		{"case differs", "correct horse", "Correct horse", false},
		{"trailing space differs", "correct horse", "correct horse ", false},
		{"full-width typed", "password123", "ｐａｓｓｗｏｒｄ１２３", true},
		{"full-width stored", "ｐａｓｓｗｏｒｄ１２３", "password123", true},
		{"ideographic space", "correct horse", "correct\u3000horse", true},
		{"half-width katakana", "ﾊﾟｽﾜｰﾄﾞ", "パスワード", true},
		{"empty", "", "", true},
		{"long", strings.Repeat("長", 128), strings.Repeat("長", 128), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			enc := MustHash(t, h, tt.stored)
			ok, rehash, err := h.Verify(context.Background(), tt.typed, enc)
			if err != nil || ok != tt.ok || rehash {
				t.Errorf("Verify(%q, hash of %q) = %v, %v, %v; want %v, false, nil", tt.typed, tt.stored, ok, rehash, err, tt.ok)
			}
		})
	}
}

func TestVerifyNeedsRehashWhenParamsChange(t *testing.T) {
	old := &Hasher{Params: testParams}
	enc := MustHash(t, old, "correct horse")
	changes := map[string]func(*Params){
		"memory":  func(p *Params) { p.Memory = 128 },
		"time":    func(p *Params) { p.Time = 2 },
		"threads": func(p *Params) { p.Threads = 2 },
		"salt":    func(p *Params) { p.SaltLen = 32 },
		"key":     func(p *Params) { p.KeyLen = 64 },
	}
	for name, change := range changes {
		p := testParams
		change(&p)
		h := &Hasher{Params: p}
		ok, rehash, err := h.Verify(context.Background(), "correct horse", enc)
		if !ok || !rehash || err != nil {
			t.Errorf("%s changed: Verify = %v, %v, %v; want true, true, nil", name, ok, rehash, err)
		}
		ok, rehash, err = h.Verify(context.Background(), "wrong", enc)
		if ok || rehash || err != nil {
			t.Errorf("%s changed, wrong password: Verify = %v, %v, %v; want false, false, nil", name, ok, rehash, err)
		}
	}
}

func TestVerifyImportedHashes(t *testing.T) {
	bcryptA, err := bcrypt.GenerateFromPassword([]byte("correct horse"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	bcryptB := "$2b$" + string(bcryptA[4:])
	bcryptFull, err := bcrypt.GenerateFromPassword([]byte("ｐａｓｓｗｏｒｄ１２３"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	// The reference hashes below were made by other implementations: the
	// argon2 reference implementation (its test suite and README), PHP's
	// password_hash documentation, and Python's hashlib.pbkdf2_hmac.
	tests := []struct {
		name, typed, encoded string
		ok, rehash           bool
	}{
		{"argon2id reference", "password", "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc", true, true},
		{"argon2id reference wrong", "Password", "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc", false, false},
		{"argon2i reference", "password", "$argon2i$v=19$m=65536,t=2,p=4$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG", true, true},
		{"bcrypt 2y php", "rasmuslerdorf", "$2y$10$.vGA1O9wmRjrwAVXD98HNOgsNpDczlqm3Jq7KnEd1rVAGv3Fykk1a", true, true},
		{"bcrypt 2y php wrong", "rasmuslerdorf ", "$2y$10$.vGA1O9wmRjrwAVXD98HNOgsNpDczlqm3Jq7KnEd1rVAGv3Fykk1a", false, false},
		{"bcrypt 2a", "correct horse", string(bcryptA), true, true},
		{"bcrypt 2b", "correct horse", bcryptB, true, true},
		{"bcrypt 2a wrong", "correct horsf", string(bcryptA), false, false},
		{"bcrypt full-width stored as typed", "ｐａｓｓｗｏｒｄ１２３", string(bcryptFull), true, true},
		{"bcrypt full-width stored, half-width typed", "password123", string(bcryptFull), false, false},
		{"pbkdf2 phc", "correct horse", "$pbkdf2-sha256$i=1000$c2FsdHNhbHRzYWx0c2FsdA$BBs+1+PaslLtBPULUr8/lQicvVuHiEPMz0i8MjLCbzM", true, true},
		{"pbkdf2 phc with l", "correct horse", "$pbkdf2-sha256$i=1000,l=32$c2FsdHNhbHRzYWx0c2FsdA$BBs+1+PaslLtBPULUr8/lQicvVuHiEPMz0i8MjLCbzM", true, true},
		{"pbkdf2 passlib", "correct horse", "$pbkdf2-sha256$1000$c2FsdHNhbHRzYWx0c2FsdA$BBs.1.PaslLtBPULUr8/lQicvVuHiEPMz0i8MjLCbzM", true, true},
		{"pbkdf2 padded", "correct horse", "$pbkdf2-sha256$i=1000$c2FsdHNhbHRzYWx0c2FsdA==$BBs+1+PaslLtBPULUr8/lQicvVuHiEPMz0i8MjLCbzM=", true, true},
		{"pbkdf2 wrong", "correct horsf", "$pbkdf2-sha256$i=1000$c2FsdHNhbHRzYWx0c2FsdA$BBs+1+PaslLtBPULUr8/lQicvVuHiEPMz0i8MjLCbzM", false, false},
		{"pbkdf2 full-width stored as typed", "ｐａｓｓｗｏｒｄ１２３", "$pbkdf2-sha256$i=1000$c2FsdHNhbHRzYWx0c2FsdA$FHWlaECKTKjosCezNxAxe5j1DcxFbZmnO+qr1CpuTIk", true, true},
	}
	h := &Hasher{Params: testParams}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, rehash, err := h.Verify(context.Background(), tt.typed, tt.encoded)
			if err != nil || ok != tt.ok || rehash != tt.rehash {
				t.Errorf("Verify(%q, %q) = %v, %v, %v; want %v, %v, nil", tt.typed, tt.encoded, ok, rehash, err, tt.ok, tt.rehash)
			}
		})
	}
}

func TestVerifyMalformedHashes(t *testing.T) {
	tests := []string{
		"",
		"plaintext",
		"$",
		"$argon2id$",
		"$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ",
		"$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$",
		"$argon2id$v=19$m=64,t=1,p=1$$AAAAAAAAAAAAAAAAAAAAAA",
		"$argon2id$v=16$m=64,t=1,p=1$c2FsdHNhbHQ$AAAAAAAAAAAAAAAAAAAAAA",
		"$argon2id$m=64,t=1,p=1$c2FsdHNhbHQ$AAAAAAAAAAAAAAAAAAAAAA",
		"$argon2d$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$AAAAAAAAAAAAAAAAAAAAAA",
		"$argon2id$v=19$m=64,t=1$c2FsdHNhbHQ$AAAAAAAAAAAAAAAAAAAAAA",
		"$argon2id$v=19$m=64,t=1,p=1,p=1$c2FsdHNhbHQ$AAAAAAAAAAAAAAAAAAAAAA",
		"$argon2id$v=19$m=64,t=1,p=1,x=1$c2FsdHNhbHQ$AAAAAAAAAAAAAAAAAAAAAA",
		"$argon2id$v=19$m=64,t=0,p=1$c2FsdHNhbHQ$AAAAAAAAAAAAAAAAAAAAAA",
		"$argon2id$v=19$m=64,t=1,p=0$c2FsdHNhbHQ$AAAAAAAAAAAAAAAAAAAAAA",
		"$argon2id$v=19$m=4,t=1,p=1$c2FsdHNhbHQ$AAAAAAAAAAAAAAAAAAAAAA",
		"$argon2id$v=19$m=4294967295,t=1,p=1$c2FsdHNhbHQ$AAAAAAAAAAAAAAAAAAAAAA",
		"$argon2id$v=19$m=4294967296,t=1,p=1$c2FsdHNhbHQ$AAAAAAAAAAAAAAAAAAAAAA",
		"$argon2id$v=19$m=64,t=1000000,p=1$c2FsdHNhbHQ$AAAAAAAAAAAAAAAAAAAAAA",
		"$argon2id$v=19$m=64,t=1,p=256$c2FsdHNhbHQ$AAAAAAAAAAAAAAAAAAAAAA",
		"$argon2id$v=19$m=64,t=-1,p=1$c2FsdHNhbHQ$AAAAAAAAAAAAAAAAAAAAAA",
		"$argon2id$v=19$m=064,t=1,p=1$c2FsdHNhbHQ$AAAAAAAAAAAAAAAAAAAAAA",
		"$argon2id$v=19$m=64,t=1,p=1$c2Fs!HNhbHQ$AAAAAAAAAAAAAAAAAAAAAA",
		"$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$AAA",
		"x$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$AAAAAAAAAAAAAAAAAAAAAA",
		"$2a$",
		"$2a$10$short",
		"$2a$99$.vGA1O9wmRjrwAVXD98HNOgsNpDczlqm3Jq7KnEd1rVAGv3Fykk1a",
		"$2y$31$.vGA1O9wmRjrwAVXD98HNOgsNpDczlqm3Jq7KnEd1rVAGv3Fykk1a",
		"$2x$10$.vGA1O9wmRjrwAVXD98HNOgsNpDczlqm3Jq7KnEd1rVAGv3Fykk1a",
		"$pbkdf2-sha256$",
		"$pbkdf2-sha256$i=1000$c2FsdA",
		"$pbkdf2-sha256$i=0$c2FsdA$BBs+1+PaslLtBPULUr8/lQicvVuHiEPMz0i8MjLCbzM",
		"$pbkdf2-sha256$i=99999999$c2FsdA$BBs+1+PaslLtBPULUr8/lQicvVuHiEPMz0i8MjLCbzM",
		"$pbkdf2-sha256$i=x$c2FsdA$BBs+1+PaslLtBPULUr8/lQicvVuHiEPMz0i8MjLCbzM",
		"$pbkdf2-sha256$i=1000,l=16$c2FsdA$BBs+1+PaslLtBPULUr8/lQicvVuHiEPMz0i8MjLCbzM",
		"$pbkdf2-sha256$i=1000,q=1$c2FsdA$BBs+1+PaslLtBPULUr8/lQicvVuHiEPMz0i8MjLCbzM",
		"$pbkdf2-sha256$i=1000$c2FsdA$AAAA",
		"$pbkdf2-sha1$i=1000$c2FsdA$BBs+1+PaslLtBPULUr8/lQicvVuHiEPMz0i8MjLCbzM",
		"$1$saltsalt$hash",
	}
	h := &Hasher{Params: testParams}
	for _, enc := range tests {
		ok, rehash, err := h.Verify(context.Background(), "password", enc)
		if ok || rehash || ninsho.CodeOf(err) != ninsho.CodeInternal {
			t.Errorf("Verify(%q) = %v, %v, %v; want false, false, internal error", enc, ok, rehash, err)
		}
	}
}

func TestHashInvalidParams(t *testing.T) {
	for _, p := range []Params{
		{},
		{Memory: 64, Time: 1, Threads: 1, SaltLen: 4, KeyLen: 32},
		{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 8},
		{Memory: 64, Time: 1, Threads: 16, SaltLen: 16, KeyLen: 32},
		{Memory: maxMemory + 1, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32},
	} {
		h := &Hasher{Params: p}
		if enc, err := h.Hash(context.Background(), "password"); ninsho.CodeOf(err) != ninsho.CodeInternal {
			t.Errorf("Hash with %+v = %q, %v; want internal error", p, enc, err)
		}
	}
	if err := DefaultParams().Validate(); err != nil {
		t.Errorf("DefaultParams().Validate() = %v, want nil", err)
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("no entropy") }

func TestHashRandomFails(t *testing.T) {
	h := &Hasher{Params: testParams, Random: failingReader{}}
	if _, err := h.Hash(context.Background(), "password"); ninsho.CodeOf(err) != ninsho.CodeInternal {
		t.Errorf("Hash with failing random = %v, want internal error", err)
	}
}

func TestVerifyDummy(t *testing.T) {
	h := &Hasher{Params: testParams}
	if err := h.VerifyDummy(context.Background(), "password"); err != nil {
		t.Errorf("VerifyDummy = %v, want nil", err)
	}
	// The dummy hash has the current parameters, so it costs what a
	// verification of an up-to-date hash costs.
	first := h.dummyHash()
	a, err := decodeArgon2(first)
	if err != nil || a.params != testParams || a.variant != "argon2id" {
		t.Errorf("dummy hash %q decodes to %+v, %v; want argon2id with %+v", first, a, err, testParams)
	}
	if again := h.dummyHash(); again != first {
		t.Errorf("dummy hash changed without a change of Params: %q then %q", first, again)
	}
	h.Params.Time = 2
	if a, _ := decodeArgon2(h.dummyHash()); a == nil || a.params.Time != 2 {
		t.Errorf("dummy hash after Params change = %+v, want Time 2", a)
	}
}

func TestHashingGoesThroughLimiter(t *testing.T) {
	l := NewLimiter(1, 0, 0)
	h := &Hasher{Params: testParams, Limiter: l}
	enc := MustHash(t, h, "password")

	held := MustHold(t, l)
	defer held.Release()
	if _, err := h.Hash(context.Background(), "password"); !ninsho.IsCode(err, ninsho.CodeOverloaded) {
		t.Errorf("Hash with a full limiter = %v, want overloaded", err)
	}
	if ok, _, err := h.Verify(context.Background(), "password", enc); ok || !ninsho.IsCode(err, ninsho.CodeOverloaded) {
		t.Errorf("Verify with a full limiter = %v, %v; want false, overloaded", ok, err)
	}
	if err := h.VerifyDummy(context.Background(), "password"); !ninsho.IsCode(err, ninsho.CodeOverloaded) {
		t.Errorf("VerifyDummy with a full limiter = %v, want overloaded", err)
	}
}

func TestHashContextCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, l := range []*Limiter{nil, NewLimiter(1, 1, 0)} {
		h := &Hasher{Params: testParams, Limiter: l}
		if _, err := h.Hash(ctx, "password"); !errors.Is(err, context.Canceled) || ninsho.CodeOf(err) != ninsho.CodeInternal {
			t.Errorf("Hash with cancelled ctx (limiter %v) = %v, want internal wrapping context.Canceled", l != nil, err)
		}
	}
}

// FuzzDecode feeds arbitrary strings to the hash decoders: they must refuse
// or accept without panicking, and anything accepted must be within the cost
// bounds. It never derives a key, so it stays fast whatever the input.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		"$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
		"$argon2i$v=19$m=65536,t=2,p=4$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG",
		"$2y$10$.vGA1O9wmRjrwAVXD98HNOgsNpDczlqm3Jq7KnEd1rVAGv3Fykk1a",
		"$pbkdf2-sha256$i=1000,l=32$c2FsdHNhbHRzYWx0c2FsdA$BBs+1+PaslLtBPULUr8/lQicvVuHiEPMz0i8MjLCbzM",
		"$pbkdf2-sha256$29000$c2FsdHNhbHRzYWx0c2FsdA$BBs.1.PaslLtBPULUr8/lQicvVuHiEPMz0i8MjLCbzM",
		"", "$", "$$$$$", "$argon2id$v=19$m=,t=,p=$$",
	} {
		f.Add(s)
	}
	h := &Hasher{Params: testParams}
	f.Fuzz(func(t *testing.T, enc string) {
		_, _, _ = h.verifier(enc)
		if a, err := decodeArgon2(enc); err == nil {
			if a.params.Memory > maxMemory || a.params.Time > maxTime || a.params.Threads == 0 {
				t.Fatalf("decodeArgon2(%q) accepted params %+v", enc, a.params)
			}
		}
		if p, err := decodePBKDF2(enc); err == nil && (p.iter < 1 || p.iter > maxPBKDF2Iter) {
			t.Fatalf("decodePBKDF2(%q) accepted %d iterations", enc, p.iter)
		}
	})
}

func BenchmarkHash(b *testing.B) {
	h := &Hasher{Params: DefaultParams(), Limiter: NewLimiter(runtime.GOMAXPROCS(0), 0, 0)}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := h.Hash(ctx, "correct horse battery staple"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	h := &Hasher{Params: DefaultParams()}
	ctx := context.Background()
	enc, err := h.Hash(ctx, "correct horse battery staple")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if ok, _, err := h.Verify(ctx, "correct horse battery staple", enc); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}

func TestVerifyUnnormalisedArgon2(t *testing.T) {
	// Hashes of full-width text as another system would have written them,
	// without NFKC.
	salt := bytes.Repeat([]byte{7}, 16)
	typed := "ｐａｓｓｗｏｒｄ１２３"
	old := Params{Memory: 32, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
	oldEnc := encodeArgon2id(old, salt, argon2.IDKey([]byte(typed), salt, old.Time, old.Memory, old.Threads, old.KeyLen))
	curEnc := encodeArgon2id(testParams, salt, argon2.IDKey([]byte(typed), salt, testParams.Time, testParams.Memory, testParams.Threads, testParams.KeyLen))

	h := &Hasher{Params: testParams}
	tests := []struct {
		name, typed, enc string
		ok, rehash       bool
	}{
		{"other params, typed as stored", typed, oldEnc, true, true},
		{"other params, half-width", "password123", oldEnc, false, false},
		// With the current Params the hash must be one written here, of
		// NFKC text: the raw form is not tried, and one derivation is spent.
		{"current params", typed, curEnc, false, false},
	}
	for _, tt := range tests {
		ok, rehash, err := h.Verify(context.Background(), tt.typed, tt.enc)
		if err != nil || ok != tt.ok || rehash != tt.rehash {
			t.Errorf("%s: Verify = %v, %v, %v; want %v, %v, nil", tt.name, ok, rehash, err, tt.ok, tt.rehash)
		}
	}
}

// TestSameNormalises: a password confirmation typed in full-width characters
// matches the password typed half-width, as sign-in would accept it; a
// different password does not.
func TestSameNormalises(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"Lemon-Tree-8080", "Lemon-Tree-8080", true},
		{"Lemon-Tree-8080", "Ｌｅｍｏｎ－Ｔｒｅｅ－８０８０", true},
		{"Lemon-Tree-8080", "lemon-Tree-8080", false},
		{"Lemon-Tree-8080", "Lemon-Tree-8080 ", false},
	} {
		if got := Same(tc.a, tc.b); got != tc.want {
			t.Errorf("Same(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}

// TestHasherOnDedicatedThreads hashes and verifies through a Limiter whose
// calls run on a workthread.Pool, as `serve` wires it.
func TestHasherOnDedicatedThreads(t *testing.T) {
	l := NewLimiter(2, 8, 0)
	pool := workthread.New(l.MaxRunning(), workthread.Nice)
	defer pool.Close()
	l.UseThreads(pool.Run)
	h := &Hasher{Params: Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, Limiter: l}
	ctx := context.Background()
	encoded, err := h.Hash(ctx, "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if ok, _, err := h.Verify(ctx, "correct horse", encoded); !ok || err != nil {
		t.Fatalf("Verify(right password) = %v, %v", ok, err)
	}
	if ok, _, err := h.Verify(ctx, "wrong horse", encoded); ok || err != nil {
		t.Fatalf("Verify(wrong password) = %v, %v", ok, err)
	}
	if got := l.Runs(); got != 3 {
		t.Errorf("the limiter ran %d calls, want 3", got)
	}
}
