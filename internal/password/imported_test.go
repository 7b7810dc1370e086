package password

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/pbkdf2"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
	"golang.org/x/crypto/scrypt"

	"github.com/ninsho/ninsho/internal/ninsho"
)

// Firebase's published test vector, from the README of
// https://github.com/firebase/scrypt ("Password Hashing": the sample hash
// config of the Firebase console and the user1@test.com row of the
// auth:export example): password "user1password".
const (
	fbSignerKey = "jxspr8Ki0RYycVU8zykbdLGjFQ3McFUH0uiiTvC8pVMXAn210wjLNmdZJzxUECKbm0QsEmYUSDzZvpjeJ9WmXA=="
	fbSaltSep   = "Bw=="
	fbRounds    = 8
	fbMemCost   = 14
	fbSalt      = "42xEC+ixf3L2lw=="
	fbHash      = "lSrfV15cpx95/sZS2W9c9Kp6i/LVgQNDNC/qzrCnh1SAyZvqmZqAjTdn3aoItz+VHjoZilo78198JAdRuid5lQ=="
)

// Django's own test vector (tests/auth_tests/test_hashers.py, test_pbkdf2,
// as of Django 1.5–1.8, when the default was 10,000 iterations):
// make_password("lètmein", "seasalt", "pbkdf2_sha256").
const djangoVector = "pbkdf2_sha256$10000$seasalt$CWWFdHOWwPnki7HvkcqN9iA2T3KLW1cf2uZ5kvArtVY="

func mustB64(tb testing.TB, s string) []byte {
	tb.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func publishedFirebase(tb testing.TB) *Firebase {
	tb.Helper()
	return &Firebase{SignerKey: mustB64(tb, fbSignerKey), SaltSeparator: mustB64(tb, fbSaltSep), Rounds: fbRounds, MemCost: fbMemCost}
}

// refFirebase computes Firebase's hash the way its README describes it,
// straight from x/crypto and the standard library (not through derive).
func refFirebase(tb testing.TB, plain string, salt []byte, fb *Firebase) []byte {
	tb.Helper()
	key, err := scrypt.Key([]byte(plain), append(append([]byte{}, salt...), fb.SaltSeparator...), 1<<fb.MemCost, fb.Rounds, 1, 32)
	if err != nil {
		tb.Fatal(err)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		tb.Fatal(err)
	}
	out := make([]byte, len(fb.SignerKey))
	cipher.NewCTR(block, make([]byte, 16)).XORKeyStream(out, fb.SignerKey)
	return out
}

func mustImported(tb testing.TB, enc string, fb *Firebase) string {
	tb.Helper()
	stored, _, err := Imported(enc, fb)
	if err != nil {
		tb.Fatalf("Imported(%q) = %v", enc, err)
	}
	return stored
}

// TestVerifyImportedFormats verifies a hash of each importable format,
// made in the test by the reference library (or published by the system
// that writes it), and checks that a match asks for a rehash.
func TestVerifyImportedFormats(t *testing.T) {
	const pw = "correct horse"
	b64 := base64.RawStdEncoding.EncodeToString
	salt := []byte("0123456789abcdef")

	bc, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	a2id := "$argon2id$v=19$m=128,t=1,p=1$" + b64(salt) + "$" + b64(argon2.IDKey([]byte(pw), salt, 1, 128, 1, 32))
	a2i := "$argon2i$v=19$m=64,t=2,p=2$" + b64(salt) + "$" + b64(argon2.Key([]byte(pw), salt, 2, 64, 2, 32))
	sk, err := scrypt.Key([]byte(pw), salt, 1<<10, 8, 1, 32)
	if err != nil {
		t.Fatal(err)
	}
	scryptPHC := "$scrypt$ln=10,r=8,p=1$" + b64(salt) + "$" + b64(sk)
	// passlib writes adapted base64 ('.' for '+') without padding.
	scryptPasslib := "$scrypt$ln=10,r=8,p=1$" + strings.ReplaceAll(b64(salt), "+", ".") + "$" + strings.ReplaceAll(b64(sk), "+", ".")
	dk, err := pbkdf2.Key(sha256.New, pw, []byte("seasalt"), 1000, 32)
	if err != nil {
		t.Fatal(err)
	}
	django := "pbkdf2_sha256$1000$seasalt$" + base64.StdEncoding.EncodeToString(dk)
	pbkdf2PHC := "$pbkdf2-sha256$i=1000$" + b64([]byte("seasalt")) + "$" + b64(dk)
	// Keycloak's pbkdf2-sha512 and pbkdf2 (HMAC-SHA1) with its 512-bit
	// keys, in standard base64 with padding as its export writes them.
	std := base64.StdEncoding.EncodeToString
	dk512, err := pbkdf2.Key(sha512.New, pw, salt, 1000, 64)
	if err != nil {
		t.Fatal(err)
	}
	pbkdf2SHA512 := "$pbkdf2-sha512$i=1000$" + std(salt) + "$" + std(dk512)
	dk1, err := pbkdf2.Key(sha1.New, pw, salt, 1000, 64)
	if err != nil {
		t.Fatal(err)
	}
	pbkdf2SHA1 := "$pbkdf2$1000$" + std(salt) + "$" + std(dk1)
	// Published vectors: PBKDF2-HMAC-SHA512("password", "salt", 1, 64), as
	// quoted with RFC 6070's inputs, and RFC 6070's own PBKDF2-HMAC-SHA1 with
	// 4096 iterations.
	sha512Vector := "$pbkdf2-sha512$i=1$" + b64([]byte("salt")) + "$" + b64(mustHex(t,
		"867f70cf1ade02cff3752599a3a53dc4af34c7a669815ae5d513554e1c8cf252c02d470a285a0501bad999bfe943c08f050235d7d68b1da55e63f73b60a57fce"))
	rfc6070 := "$pbkdf2$4096$" + b64([]byte("salt")) + "$" + b64(mustHex(t, "4b007901b765489abead49d926f721d065a429c1"))

	fb := publishedFirebase(t)
	fbOwnSalt := []byte("another salt")
	fbOwn := "$firebase-scrypt$" + base64.StdEncoding.EncodeToString(fbOwnSalt) + "$" +
		base64.StdEncoding.EncodeToString(refFirebase(t, pw, fbOwnSalt, fb))
	small := &Firebase{SignerKey: []byte("a signer key of 32 bytes........"), SaltSeparator: nil, Rounds: 2, MemCost: 8}
	fbSmall := "$firebase-scrypt$" + b64([]byte("s")) + "$" + b64(refFirebase(t, pw, []byte("s"), small))

	tests := []struct {
		name, format, typed, encoded string
		fb                           *Firebase
		ok                           bool
	}{
		{"bcrypt", FormatBcrypt, pw, string(bc), nil, true},
		{"bcrypt wrong", FormatBcrypt, pw + "!", string(bc), nil, false},
		{"argon2id", FormatArgon2id, pw, a2id, nil, true},
		{"argon2id wrong", FormatArgon2id, "Correct horse", a2id, nil, false},
		{"argon2i", FormatArgon2i, pw, a2i, nil, true},
		{"argon2i wrong", FormatArgon2i, "correct horsE", a2i, nil, false},
		{"pbkdf2 phc", FormatPBKDF2, pw, pbkdf2PHC, nil, true},
		{"pbkdf2-sha512 computed", FormatPBKDF2SHA512, pw, pbkdf2SHA512, nil, true},
		{"pbkdf2-sha512 computed wrong", FormatPBKDF2SHA512, "correct horse.", pbkdf2SHA512, nil, false},
		{"pbkdf2-sha512 published vector", FormatPBKDF2SHA512, "password", sha512Vector, nil, true},
		{"pbkdf2-sha512 published vector wrong", FormatPBKDF2SHA512, "Password", sha512Vector, nil, false},
		{"pbkdf2 sha1 computed", FormatPBKDF2SHA1, pw, pbkdf2SHA1, nil, true},
		{"pbkdf2 sha1 computed wrong", FormatPBKDF2SHA1, "correct", pbkdf2SHA1, nil, false},
		{"pbkdf2 sha1 rfc 6070 vector", FormatPBKDF2SHA1, "password", rfc6070, nil, true},
		{"pbkdf2 sha1 rfc 6070 vector wrong", FormatPBKDF2SHA1, "passwordPASSWORD", rfc6070, nil, false},
		{"django computed", FormatDjangoPBKDF2, pw, django, nil, true},
		{"django computed wrong", FormatDjangoPBKDF2, "correct  horse", django, nil, false},
		{"django's own vector", FormatDjangoPBKDF2, "lètmein", djangoVector, nil, true},
		{"django's own vector wrong", FormatDjangoPBKDF2, "letmein", djangoVector, nil, false},
		{"scrypt phc", FormatScrypt, pw, scryptPHC, nil, true},
		{"scrypt passlib", FormatScrypt, pw, scryptPasslib, nil, true},
		{"scrypt wrong", FormatScrypt, "correct horse ", scryptPHC, nil, false},
		{"firebase published vector", FormatFirebaseScrypt, "user1password", "$firebase-scrypt$" + fbSalt + "$" + fbHash, fb, true},
		{"firebase published vector wrong", FormatFirebaseScrypt, "user1Password", "$firebase-scrypt$" + fbSalt + "$" + fbHash, fb, false},
		{"firebase computed", FormatFirebaseScrypt, pw, fbOwn, fb, true},
		{"firebase small, no separator", FormatFirebaseScrypt, pw, fbSmall, small, true},
	}
	h := &Hasher{Params: testParams, Limiter: NewLimiter(2, 4, 0)}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stored, format, err := Imported(tt.encoded, tt.fb)
			if err != nil || format != tt.format {
				t.Fatalf("Imported(%q) = %q, %q, %v; want format %q", tt.encoded, stored, format, err, tt.format)
			}
			if again, _, err := Imported(stored, nil); err != nil || again != stored {
				t.Errorf("Imported(stored %q) = %q, %v; want it unchanged", stored, again, err)
			}
			ok, rehash, err := h.Verify(context.Background(), tt.typed, stored)
			if err != nil || ok != tt.ok || rehash != tt.ok {
				t.Errorf("Verify(%q, %q) = %v, %v, %v; want %v, %v, nil", tt.typed, stored, ok, rehash, err, tt.ok, tt.ok)
			}
		})
	}
}

// TestFirebaseStoredForm: the parameters given on the command line are
// kept in the stored string, which alone verifies.
func TestFirebaseStoredForm(t *testing.T) {
	stored := mustImported(t, "$firebase-scrypt$"+fbSalt+"$"+fbHash, publishedFirebase(t))
	raw := base64.RawStdEncoding.EncodeToString
	want := "$firebase-scrypt$ln=14,r=8$" + raw(mustB64(t, fbSalt)) + "$" + raw(mustB64(t, fbSaltSep)) + "$" +
		raw(mustB64(t, fbSignerKey)) + "$" + raw(mustB64(t, fbHash))
	if stored != want {
		t.Fatalf("stored form\n got %s\nwant %s", stored, want)
	}
	// Another project's signer key: the same password no longer matches.
	other := publishedFirebase(t)
	other.SignerKey[0] ^= 1
	h := &Hasher{Params: testParams}
	if ok, _, err := h.Verify(context.Background(), "user1password", mustImported(t, "$firebase-scrypt$"+fbSalt+"$"+fbHash, other)); ok || err != nil {
		t.Errorf("Verify with another signer key = %v, %v; want false, nil", ok, err)
	}
}

// TestImportedRefusals: each refusal says which kind it is, and nothing
// beyond the import bounds is accepted.
func TestImportedRefusals(t *testing.T) {
	salt16 := base64.RawStdEncoding.EncodeToString([]byte("0123456789abcdef"))
	key32 := base64.RawStdEncoding.EncodeToString(make([]byte, 32))
	key64 := base64.RawStdEncoding.EncodeToString(make([]byte, 64))
	fb := publishedFirebase(t)
	tests := []struct {
		name, encoded string
		fb            *Firebase
		want          error
	}{
		{"empty", "", nil, ErrUnsupported},
		{"md5 crypt", "$1$saltsalt$hash", nil, ErrUnsupported},
		{"sha1 django", "sha1$salt$abcdef", nil, ErrUnsupported},
		{"plain text", "hunter2", nil, ErrUnsupported},
		{"bcrypt short", "$2b$10$short", nil, ErrMalformed},
		{"bcrypt cost 15", "$2y$15$.vGA1O9wmRjrwAVXD98HNOgsNpDczlqm3Jq7KnEd1rVAGv3Fykk1a", nil, ErrCost},
		{"argon2 memory 512 MiB", "$argon2id$v=19$m=524288,t=1,p=1$" + salt16 + "$" + key32, nil, ErrCost},
		{"argon2 time 11", "$argon2id$v=19$m=64,t=11,p=1$" + salt16 + "$" + key32, nil, ErrCost},
		{"argon2 memory 4 GiB", "$argon2id$v=19$m=4294967295,t=1,p=1$" + salt16 + "$" + key32, nil, ErrCost},
		{"argon2 garbled", "$argon2id$v=19$m=64,t=1$" + salt16 + "$" + key32, nil, ErrMalformed},
		{"pbkdf2 3M iterations", "$pbkdf2-sha256$i=3000000$" + salt16 + "$" + key32, nil, ErrCost},
		{"pbkdf2 128-byte key", "$pbkdf2-sha256$i=1000$" + salt16 + "$" + base64.RawStdEncoding.EncodeToString(make([]byte, 128)), nil, ErrCost},
		{"pbkdf2-sha512 3M iterations", "$pbkdf2-sha512$i=3000000$" + salt16 + "$" + key64, nil, ErrCost},
		// Four SHA-1 blocks of a 64-byte key: 1.5M iterations cost 6M.
		{"pbkdf2 sha1 64-byte key, 1.5M iterations", "$pbkdf2$1500000$" + salt16 + "$" + key64, nil, ErrCost},
		{"pbkdf2 sha3", "$pbkdf2-sha3$i=1000$" + salt16 + "$" + key32, nil, ErrUnsupported},
		{"pbkdf2 digest garbled", "$pbkdf2-sha512x$i=1000$" + salt16 + "$" + key32, nil, ErrUnsupported},
		{"django 3M iterations", "pbkdf2_sha256$3000000$salt$" + base64.StdEncoding.EncodeToString(make([]byte, 32)), nil, ErrCost},
		{"django 0 iterations", "pbkdf2_sha256$0$salt$" + base64.StdEncoding.EncodeToString(make([]byte, 32)), nil, ErrCost},
		{"django no salt", "pbkdf2_sha256$1000$$" + base64.StdEncoding.EncodeToString(make([]byte, 32)), nil, ErrMalformed},
		{"django bad key", "pbkdf2_sha256$1000$salt$!!!!", nil, ErrMalformed},
		{"django extra part", "pbkdf2_sha256$1000$salt$x$" + base64.StdEncoding.EncodeToString(make([]byte, 32)), nil, ErrMalformed},
		{"scrypt ln 17", "$scrypt$ln=17,r=8,p=1$" + salt16 + "$" + key32, nil, ErrCost},
		{"scrypt 128 MiB", "$scrypt$ln=16,r=16,p=1$" + salt16 + "$" + key32, nil, ErrCost},
		{"scrypt work", "$scrypt$ln=16,r=8,p=8$" + salt16 + "$" + key32, nil, ErrCost},
		{"scrypt p missing", "$scrypt$ln=10,r=8$" + salt16 + "$" + key32, nil, ErrMalformed},
		{"scrypt twice", "$scrypt$ln=10,ln=10,r=8$" + salt16 + "$" + key32, nil, ErrMalformed},
		{"scrypt short key", "$scrypt$ln=10,r=8,p=1$" + salt16 + "$AAAA", nil, ErrMalformed},
		{"firebase without parameters", "$firebase-scrypt$" + fbSalt + "$" + fbHash, nil, ErrFirebaseParams},
		{"firebase mem cost 17", "$firebase-scrypt$" + fbSalt + "$" + fbHash, &Firebase{SignerKey: fb.SignerKey, SaltSeparator: fb.SaltSeparator, Rounds: 8, MemCost: 17}, ErrCost},
		{"firebase rounds 64", "$firebase-scrypt$" + fbSalt + "$" + fbHash, &Firebase{SignerKey: fb.SignerKey, SaltSeparator: fb.SaltSeparator, Rounds: 64, MemCost: 14}, ErrCost},
		{"firebase short signer key", "$firebase-scrypt$" + fbSalt + "$" + fbHash, &Firebase{SignerKey: []byte("short"), Rounds: 8, MemCost: 14}, ErrMalformed},
		{"firebase hash of another length", "$firebase-scrypt$" + fbSalt + "$" + key32, fb, ErrMalformed},
		{"firebase bad base64", "$firebase-scrypt$!!$" + fbHash, fb, ErrMalformed},
		{"firebase stored, crafted cost", "$firebase-scrypt$ln=20,r=8$c2FsdA$Bw$" + key32 + "$" + key32, nil, ErrCost},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stored, _, err := Imported(tt.encoded, tt.fb)
			if !errors.Is(err, tt.want) {
				t.Errorf("Imported(%q) = %q, %v; want %v", tt.encoded, stored, err, tt.want)
			}
		})
	}
}

// TestImportedVerifyThroughLimiter: verifying an imported hash waits for
// the Limiter like any other.
func TestImportedVerifyThroughLimiter(t *testing.T) {
	l := NewLimiter(1, 0, 0)
	h := &Hasher{Params: testParams, Limiter: l}
	stored := mustImported(t, "$firebase-scrypt$"+fbSalt+"$"+fbHash, publishedFirebase(t))
	held := MustHold(t, l)
	if ok, _, err := h.Verify(context.Background(), "user1password", stored); ok || !ninsho.IsCode(err, ninsho.CodeOverloaded) {
		t.Errorf("Verify of a Firebase hash with a full limiter = %v, %v; want false, overloaded", ok, err)
	}
	held.Release()
	if ok, rehash, err := h.Verify(context.Background(), "user1password", stored); !ok || !rehash || err != nil {
		t.Errorf("Verify of a Firebase hash = %v, %v, %v; want true, true, nil", ok, rehash, err)
	}
}

// FuzzImported feeds arbitrary strings to Imported and the verifier: no
// panic, and whatever is accepted is within the import bounds and decodes
// again. It never derives a key.
func FuzzImported(f *testing.F) {
	for _, s := range []string{
		djangoVector,
		"$scrypt$ln=16,r=8,p=1$cmFuZG9tc2FsdGlzaGFyZA$Rh+NnJNo1I6nRwaNqbDm6kmADswD1+7FTKZ7Ln9D8nQ",
		"$firebase-scrypt$" + fbSalt + "$" + fbHash,
		"$firebase-scrypt$ln=14,r=8$42xEC+ixf3L2lw$Bw$" + strings.TrimRight(fbSignerKey, "=") + "$" + strings.TrimRight(fbHash, "="),
		"$2y$10$.vGA1O9wmRjrwAVXD98HNOgsNpDczlqm3Jq7KnEd1rVAGv3Fykk1a",
		"$argon2i$v=19$m=65536,t=2,p=4$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG",
		"$pbkdf2-sha512$i=1$c2FsdA$hn9wzxreAs/zdSWZo6U9xK80x6ZpgVrl1RNVThyM8lLALUcKKFoFAbrZmb/pQ8CPBQI119aLHaVeY/c7YKV/zg",
		"$pbkdf2$4096$c2FsdA$SwB5AbdlSJq+rUnZJvch0GWkKcE", "$pbkdf2$$$", "$pbkdf2-sha512$l=64$$",
		"pbkdf2_sha256$$$", "$scrypt$$$", "$firebase-scrypt$$$$$$", "$firebase-scrypt$$",
	} {
		f.Add(s)
	}
	fb := &Firebase{SignerKey: make([]byte, 32), Rounds: 8, MemCost: 14}
	h := &Hasher{Params: testParams}
	f.Fuzz(func(t *testing.T, enc string) {
		_, _, _ = h.verifier(enc)
		stored, format, err := Imported(enc, fb)
		if err != nil {
			return
		}
		if _, _, err := h.verifier(stored); err != nil {
			t.Fatalf("Imported(%q) accepted %q (%s), which the verifier refuses: %v", enc, stored, format, err)
		}
		switch format {
		case FormatArgon2id, FormatArgon2i:
			a, _ := decodeArgon2(stored)
			if a.params.Memory > ImportMaxArgon2MemoryKiB || a.params.Time > ImportMaxArgon2Time {
				t.Fatalf("Imported(%q) accepted %+v", enc, a.params)
			}
		case FormatScrypt:
			s, _ := decodeScrypt(stored)
			if 128<<s.ln*s.r > ImportMaxScryptMemory || (1<<s.ln)*s.r*s.p > ImportMaxScryptWork {
				t.Fatalf("Imported(%q) accepted ln=%d r=%d p=%d", enc, s.ln, s.r, s.p)
			}
		case FormatFirebaseScrypt:
			x, _ := decodeFirebase(stored)
			if 128<<x.params.MemCost*x.params.Rounds > ImportMaxScryptMemory {
				t.Fatalf("Imported(%q) accepted %+v", enc, x.params)
			}
		case FormatDjangoPBKDF2, FormatPBKDF2:
			p, err := decodeDjango(stored)
			if err != nil {
				p, _ = decodePBKDF2(stored)
			}
			if p.iter > ImportMaxPBKDF2Iter {
				t.Fatalf("Imported(%q) accepted %d iterations", enc, p.iter)
			}
		}
	})
}

// TestWrongPasswordOnCheapImportedHashCostsTheCurrentDerivation: a wrong
// password against an imported hash far cheaper than the current argon2id
// (PBKDF2 with one iteration) takes at least about as long as one for an
// unknown identifier (VerifyDummy), so answer times do not tell which
// identifiers were imported, nor much later (padding too far tells them
// apart as well). The ratio without the padding is about 1:10,000; the test
// asks for between 1:2 and 3:2.
func TestWrongPasswordOnCheapImportedHashCostsTheCurrentDerivation(t *testing.T) {
	h := &Hasher{Params: Params{Memory: 32 * 1024, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}}
	ctx := context.Background()
	salt := []byte("0123456789abcdef")
	key, err := pbkdf2.Key(sha256.New, "right horse battery", salt, 1, 32)
	if err != nil {
		t.Fatal(err)
	}
	cheap := "pbkdf2_sha256$1$" + string(salt) + "$" + base64.StdEncoding.EncodeToString(key)
	if ok, _, err := h.Verify(ctx, "right horse battery", cheap); err != nil || !ok {
		t.Fatalf("the right password: ok=%v err=%v", ok, err)
	}
	timed := func(fn func()) time.Duration {
		start := time.Now()
		fn()
		return time.Since(start)
	}
	for range 3 { // the server has hashed before: warm memory, a measured derivation
		if err := h.VerifyDummy(ctx, "warm-up"); err != nil {
			t.Fatal(err)
		}
	}
	// Alternately, as a server sees them among its other sign-ins (each
	// current derivation refreshes the estimate the padding waits for),
	// and the medians compared: the padding waits for a typical
	// derivation, so the fastest of either would compare a typical time
	// with a lucky one whenever the machine is busy (CI runs packages side
	// by side).
	var wrongs, unknowns []time.Duration
	for range 7 {
		unknowns = append(unknowns, timed(func() {
			if err := h.VerifyDummy(ctx, "wrong horse battery"); err != nil {
				t.Fatal(err)
			}
		}))
		wrongs = append(wrongs, timed(func() {
			if ok, _, err := h.Verify(ctx, "wrong horse battery", cheap); err != nil || ok {
				t.Fatalf("a wrong password: ok=%v err=%v", ok, err)
			}
		}))
	}
	slices.Sort(wrongs)
	slices.Sort(unknowns)
	wrong, unknown := wrongs[len(wrongs)/2], unknowns[len(unknowns)/2]
	if wrong < unknown/2 || wrong > unknown*3/2 {
		t.Errorf("a wrong password against a cheap imported hash took %v, an unknown identifier %v: the difference tells which identifiers exist", wrong, unknown)
	}
	t.Logf("wrong password on a 1-iteration PBKDF2 hash %v, unknown identifier %v", wrong, unknown)
}

// TestImportedPBKDF2WorkBound: what a PBKDF2 hash may cost is bounded by
// iterations times the digest blocks its key spans times the digest's
// weight, so that every digest is held to what the largest SHA-256 hash
// costs.
func TestImportedPBKDF2WorkBound(t *testing.T) {
	salt16 := base64.RawStdEncoding.EncodeToString([]byte("0123456789abcdef"))
	key := func(n int) string { return base64.RawStdEncoding.EncodeToString(make([]byte, n)) }
	for _, tt := range []struct {
		encoded string
		ok      bool
	}{
		{"$pbkdf2-sha256$i=2000000$" + salt16 + "$" + key(64), true}, // two blocks: the bound itself
		{"$pbkdf2-sha512$i=1000000$" + salt16 + "$" + key(64), true}, // one block, weight four
		{"$pbkdf2-sha512$i=1000001$" + salt16 + "$" + key(64), false},
		{"$pbkdf2-sha512$i=210000$" + salt16 + "$" + key(64), true}, // Keycloak's default
		{"$pbkdf2$1000000$" + salt16 + "$" + key(64), true},         // four blocks
		{"$pbkdf2$1000001$" + salt16 + "$" + key(64), false},
		{"$pbkdf2$1300000$" + salt16 + "$" + key(64), false}, // Keycloak's recommendation for it: 1.5 s here
		{"$pbkdf2$2000000$" + salt16 + "$" + key(40), true},  // two blocks
	} {
		_, _, err := Imported(tt.encoded, nil)
		if (err == nil) != tt.ok || (err != nil && !errors.Is(err, ErrCost)) {
			t.Errorf("Imported(%q) = %v, want accepted %v", tt.encoded, err, tt.ok)
		}
	}
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
