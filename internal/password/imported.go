package password

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/bcrypt"
	"golang.org/x/crypto/scrypt"
)

// Formats of hashes imported from other systems, as Imported names them.
const (
	FormatArgon2id       = "argon2id"
	FormatArgon2i        = "argon2i"
	FormatBcrypt         = "bcrypt"
	FormatPBKDF2         = "pbkdf2-sha256"        // $pbkdf2-sha256$… (PHC, passlib)
	FormatPBKDF2SHA512   = "pbkdf2-sha512"        // $pbkdf2-sha512$… (PHC, passlib; Keycloak's pbkdf2-sha512)
	FormatPBKDF2SHA1     = "pbkdf2-sha1"          // $pbkdf2$… (passlib's PBKDF2 with HMAC-SHA1; Keycloak's pbkdf2)
	FormatDjangoPBKDF2   = "django-pbkdf2-sha256" // pbkdf2_sha256$iter$salt$hash
	FormatScrypt         = "scrypt"               // $scrypt$ln=…,r=…,p=…$salt$hash
	FormatFirebaseScrypt = "firebase-scrypt"      // Firebase Authentication's modified scrypt
)

// Errors of Imported, wrapped with the detail.
var (
	// ErrUnsupported: the hash is of no format listed above.
	ErrUnsupported = errors.New("password: unsupported hash format")
	// ErrMalformed: the hash names a format but does not parse.
	ErrMalformed = errors.New("password: malformed hash")
	// ErrCost: the hash's cost parameters are beyond the import bounds.
	ErrCost = errors.New("password: hash cost out of bounds")
	// ErrFirebaseParams: a Firebase hash without the project's parameters.
	ErrFirebaseParams = errors.New("password: firebase hash without the project's hash parameters")
)

// Import bounds: a hash beyond them is refused at import (ErrCost), so that
// a crafted import file cannot make one sign-in take more than about a
// second of one core or more than 256 MiB. They are tighter than what
// Verify accepts for hashes already stored.
const (
	ImportMaxArgon2MemoryKiB = 256 * 1024 // 256 MiB
	ImportMaxArgon2Time      = 10
	ImportMaxArgon2Threads   = 16
	ImportMaxBcryptCost      = 14
	ImportMaxPBKDF2Iter      = 2_000_000
	ImportMaxPBKDF2KeyLen    = 64 // bytes: two SHA-256 blocks at most
	// ImportMaxPBKDF2Work bounds iterations × the digest blocks the key
	// spans × the digest's weight (pbkdf2Digests): the most a SHA-256 hash
	// within the two bounds above costs, about a second. A 64-byte key
	// allows 1,000,000 iterations over HMAC-SHA1 (four blocks) and over
	// HMAC-SHA512 (one block, weight four).
	ImportMaxPBKDF2Work = 2 * ImportMaxPBKDF2Iter
	// scrypt (PHC and Firebase): memory 128·N·r ≤ 64 MiB (N = 2^ln ≤ 2^16,
	// r ≤ 32, p ≤ 16) and work N·r·p ≤ 2^21 (ln=16, r=8, p=4).
	ImportMaxScryptMemory = 64 << 20
	ImportMaxScryptWork   = 1 << 21
)

// scrypt parameter ranges, both at import and when verifying.
const (
	maxScryptLN = 16
	maxScryptR  = 32
	maxScryptP  = 16
)

// Firebase is a Firebase project's password hash parameters, from the
// Firebase console ("Password hash parameters"): base64_signer_key,
// base64_salt_separator, rounds and mem_cost.
type Firebase struct {
	SignerKey     []byte
	SaltSeparator []byte
	Rounds        int // scrypt r
	MemCost       int // log2 of scrypt N
}

// Check reports whether the parameters are within the import bounds.
func (fb *Firebase) Check() error {
	switch {
	case len(fb.SignerKey) < 16 || len(fb.SignerKey) > 256:
		return fmt.Errorf("%w: firebase signer key of %d bytes (16..256)", ErrMalformed, len(fb.SignerKey))
	case len(fb.SaltSeparator) > 64:
		return fmt.Errorf("%w: firebase salt separator of %d bytes (0..64)", ErrMalformed, len(fb.SaltSeparator))
	}
	return checkScrypt(fb.MemCost, fb.Rounds, 1)
}

// Imported checks encoded, a password hash exported from another system,
// and returns the string to store for it and its format. Accepted (each
// verified by Hasher.Verify and rehashed to argon2id on the next sign-in):
//
//   - argon2id and argon2i PHC strings ($argon2id$v=19$m=…,t=…,p=…$salt$key);
//   - bcrypt ($2a$, $2b$, $2y$);
//   - $pbkdf2-sha256$i=…$salt$key (PHC) or $pbkdf2-sha256$iter$salt$key
//     (passlib, adapted base64), and the same with $pbkdf2-sha512$ and
//     $pbkdf2$ (HMAC-SHA1);
//   - Django's pbkdf2_sha256$iter$salt$key: the salt is used as the text it
//     is, the key is standard base64;
//   - scrypt PHC: $scrypt$ln=…,r=…,p=…$salt$key, with salt and key in base64
//     (standard, URL-safe or passlib's adapted alphabet, padding optional;
//     the salt is the decoded bytes), as passlib and @phc/scrypt write it;
//   - Firebase's modified scrypt: $firebase-scrypt$<salt>$<hash> (the
//     base64 passwordHash and salt of a Firebase export) with fb, the
//     project's parameters, stored as
//     $firebase-scrypt$ln=<mem_cost>,r=<rounds>$<salt>$<salt separator>$<signer key>$<hash>
//     (unpadded standard base64); that stored form is accepted as it is.
//
// Errors (wrapped, with the detail): ErrUnsupported, ErrMalformed, ErrCost
// beyond the import bounds, ErrFirebaseParams. Imported never derives a key:
// it is cheap whatever the input.
func Imported(encoded string, fb *Firebase) (stored, format string, err error) {
	format = formatOf(encoded)
	switch format {
	case "":
		return "", "", ErrUnsupported
	case FormatArgon2id, FormatArgon2i:
		a, err := decodeArgon2(encoded)
		if err != nil {
			return "", "", classify(err)
		}
		p := a.params
		if p.Memory > ImportMaxArgon2MemoryKiB || p.Time > ImportMaxArgon2Time || p.Threads > ImportMaxArgon2Threads {
			return "", "", fmt.Errorf("%w: argon2 m=%d t=%d p=%d (at most m=%d t=%d p=%d)", ErrCost,
				p.Memory, p.Time, p.Threads, ImportMaxArgon2MemoryKiB, ImportMaxArgon2Time, ImportMaxArgon2Threads)
		}
	case FormatBcrypt:
		cost, err := bcrypt.Cost([]byte(encoded))
		if err != nil || len(encoded) != 60 {
			return "", "", fmt.Errorf("%w: bcrypt", ErrMalformed)
		}
		if cost > ImportMaxBcryptCost {
			return "", "", fmt.Errorf("%w: bcrypt cost %d (at most %d)", ErrCost, cost, ImportMaxBcryptCost)
		}
	case FormatPBKDF2, FormatPBKDF2SHA512, FormatPBKDF2SHA1, FormatDjangoPBKDF2:
		var p *pbkdf2Hash
		if format == FormatDjangoPBKDF2 {
			p, err = decodeDjango(encoded)
		} else {
			p, err = decodePBKDF2(encoded)
		}
		if err != nil {
			return "", "", classify(err)
		}
		if p.iter > ImportMaxPBKDF2Iter || p.work() > ImportMaxPBKDF2Work || len(p.key) > ImportMaxPBKDF2KeyLen {
			return "", "", fmt.Errorf("%w: pbkdf2 %d iterations, %d-byte key (at most %d iterations, a cost of %d SHA-256 iterations, %d bytes)", ErrCost,
				p.iter, len(p.key), ImportMaxPBKDF2Iter, ImportMaxPBKDF2Work, ImportMaxPBKDF2KeyLen)
		}
	case FormatScrypt:
		if _, err := decodeScrypt(encoded); err != nil {
			return "", "", classify(err)
		}
	case FormatFirebaseScrypt:
		if strings.Count(encoded, "$") == 3 {
			if fb == nil {
				return "", "", ErrFirebaseParams
			}
			if err := fb.Check(); err != nil {
				return "", "", classify(err)
			}
			parts := strings.Split(encoded, "$")
			salt, err := decodeBase64(parts[2])
			if err != nil {
				return "", "", fmt.Errorf("%w: firebase salt", ErrMalformed)
			}
			hash, err := decodeBase64(parts[3])
			if err != nil {
				return "", "", fmt.Errorf("%w: firebase hash", ErrMalformed)
			}
			encoded = encodeFirebase(&firebaseHash{params: *fb, salt: salt, hash: hash})
		}
		if _, err := decodeFirebase(encoded); err != nil {
			return "", "", classify(err)
		}
	}
	return encoded, format, nil
}

// formatOf names encoded's format from its prefix, "" for none known.
func formatOf(encoded string) string {
	switch {
	case strings.HasPrefix(encoded, "$argon2id$"):
		return FormatArgon2id
	case strings.HasPrefix(encoded, "$argon2i$"):
		return FormatArgon2i
	case strings.HasPrefix(encoded, "$2a$"), strings.HasPrefix(encoded, "$2b$"), strings.HasPrefix(encoded, "$2y$"):
		return FormatBcrypt
	case strings.HasPrefix(encoded, "$pbkdf2-sha256$"):
		return FormatPBKDF2
	case strings.HasPrefix(encoded, "$pbkdf2-sha512$"):
		return FormatPBKDF2SHA512
	case strings.HasPrefix(encoded, "$pbkdf2$"):
		return FormatPBKDF2SHA1
	case strings.HasPrefix(encoded, "pbkdf2_sha256$"):
		return FormatDjangoPBKDF2
	case strings.HasPrefix(encoded, "$scrypt$"):
		return FormatScrypt
	case strings.HasPrefix(encoded, "$firebase-scrypt$"):
		return FormatFirebaseScrypt
	}
	return ""
}

// errRange marks a decoder's refusal of parameters beyond its bounds.
var errRange = errors.New("out of range")

// classify turns a decoder's error into ErrCost or ErrMalformed.
func classify(err error) error {
	if errors.Is(err, errRange) || errors.Is(err, ErrCost) {
		return fmt.Errorf("%w: %v", ErrCost, err)
	}
	if errors.Is(err, ErrMalformed) {
		return err
	}
	return fmt.Errorf("%w: %v", ErrMalformed, err)
}

// decodeDjango parses Django's pbkdf2_sha256$<iterations>$<salt>$<key>: the
// salt is the text between the dollars, used as its UTF-8 bytes; the key is
// standard base64 with padding (Django's base64.b64encode).
func decodeDjango(s string) (*pbkdf2Hash, error) {
	parts := strings.Split(s, "$")
	if len(parts) != 4 || parts[0] != "pbkdf2_sha256" {
		return nil, errors.New("password: malformed django hash")
	}
	n, err := parseUint(parts[1], 32)
	if err != nil {
		return nil, errors.New("password: malformed django iterations")
	}
	if n < 1 || n > maxPBKDF2Iter {
		return nil, fmt.Errorf("password: django iterations %w", errRange)
	}
	if parts[2] == "" || len(parts[2]) > maxSaltLen {
		return nil, errors.New("password: malformed django salt")
	}
	key, err := base64.StdEncoding.DecodeString(parts[3])
	if err != nil || len(key) < minKeyLen || len(key) > maxKeyLen {
		return nil, errors.New("password: malformed django key")
	}
	return &pbkdf2Hash{digest: pbkdf2Digests["pbkdf2-sha256"], iter: int(n), salt: []byte(parts[2]), key: key}, nil
}

// scryptHash is a decoded $scrypt$ string.
type scryptHash struct {
	ln, r, p  int
	salt, key []byte
}

// checkScrypt reports whether scrypt with N = 2^ln, r and p is within the
// bounds.
func checkScrypt(ln, r, p int) error {
	if ln < 1 || ln > maxScryptLN || r < 1 || r > maxScryptR || p < 1 || p > maxScryptP {
		return fmt.Errorf("password: scrypt ln=%d r=%d p=%d %w (ln 1..%d, r 1..%d, p 1..%d)", ln, r, p, errRange, maxScryptLN, maxScryptR, maxScryptP)
	}
	n := 1 << ln
	if 128*n*r > ImportMaxScryptMemory || n*r*p > ImportMaxScryptWork {
		return fmt.Errorf("password: scrypt ln=%d r=%d p=%d %w (128·N·r ≤ %d bytes, N·r·p ≤ %d)", ln, r, p, errRange, ImportMaxScryptMemory, ImportMaxScryptWork)
	}
	return nil
}

// decodeScrypt parses $scrypt$ln=…,r=…,p=…$salt$key (every parameter once,
// in any order).
func decodeScrypt(s string) (*scryptHash, error) {
	parts := strings.Split(s, "$")
	if len(parts) != 5 || parts[0] != "" || parts[1] != "scrypt" {
		return nil, errors.New("password: malformed scrypt hash")
	}
	vals, err := phcParams(parts[2], "ln", "r", "p")
	if err != nil {
		return nil, err
	}
	h := &scryptHash{ln: vals[0], r: vals[1], p: vals[2]}
	if err := checkScrypt(h.ln, h.r, h.p); err != nil {
		return nil, err
	}
	if h.salt, err = decodeBase64(parts[3]); err != nil || len(h.salt) > maxSaltLen {
		return nil, errors.New("password: malformed scrypt salt")
	}
	if h.key, err = decodeBase64(parts[4]); err != nil || len(h.key) < minKeyLen || len(h.key) > 128 {
		return nil, errors.New("password: malformed scrypt key")
	}
	return h, nil
}

// phcParams parses "k=v,k=v" with exactly the names given, each once, as
// small decimals.
func phcParams(s string, names ...string) ([]int, error) {
	vals := make([]int, len(names))
	seen := make([]bool, len(names))
	kvs := strings.Split(s, ",")
	if len(kvs) != len(names) {
		return nil, errors.New("password: malformed parameters")
	}
	for _, kv := range kvs {
		k, v, _ := strings.Cut(kv, "=")
		i := -1
		for j, n := range names {
			if n == k {
				i = j
			}
		}
		if i < 0 || seen[i] {
			return nil, errors.New("password: malformed parameters")
		}
		n, err := parseUint(v, 16)
		if err != nil {
			return nil, errors.New("password: malformed parameters")
		}
		vals[i], seen[i] = int(n), true
	}
	return vals, nil
}

// firebaseHash is a decoded $firebase-scrypt$ string.
type firebaseHash struct {
	params     Firebase
	salt, hash []byte
}

// encodeFirebase writes the stored form of a Firebase hash.
func encodeFirebase(h *firebaseHash) string {
	enc := base64.RawStdEncoding
	return "$firebase-scrypt$ln=" + strconv.Itoa(h.params.MemCost) + ",r=" + strconv.Itoa(h.params.Rounds) +
		"$" + enc.EncodeToString(h.salt) + "$" + enc.EncodeToString(h.params.SaltSeparator) +
		"$" + enc.EncodeToString(h.params.SignerKey) + "$" + enc.EncodeToString(h.hash)
}

// decodeFirebase parses the stored form
// $firebase-scrypt$ln=…,r=…$salt$separator$signer key$hash (the separator
// may be empty; the hash is as long as the signer key).
func decodeFirebase(s string) (*firebaseHash, error) {
	parts := strings.Split(s, "$")
	if len(parts) != 7 || parts[0] != "" || parts[1] != "firebase-scrypt" {
		return nil, errors.New("password: malformed firebase hash")
	}
	vals, err := phcParams(parts[2], "ln", "r")
	if err != nil {
		return nil, err
	}
	h := &firebaseHash{params: Firebase{MemCost: vals[0], Rounds: vals[1]}}
	if h.salt, err = decodeBase64(parts[3]); err != nil || len(h.salt) > maxSaltLen {
		return nil, errors.New("password: malformed firebase salt")
	}
	if parts[4] != "" {
		if h.params.SaltSeparator, err = decodeBase64(parts[4]); err != nil {
			return nil, errors.New("password: malformed firebase salt separator")
		}
	}
	if h.params.SignerKey, err = decodeBase64(parts[5]); err != nil {
		return nil, errors.New("password: malformed firebase signer key")
	}
	if h.hash, err = decodeBase64(parts[6]); err != nil || len(h.hash) != len(h.params.SignerKey) {
		return nil, errors.New("password: malformed firebase hash value")
	}
	if err := h.params.Check(); err != nil {
		return nil, err
	}
	return h, nil
}

// derive computes Firebase's hash of plain: the scrypt key of plain with
// salt‖separator (N = 2^mem_cost, r = rounds, p = 1, 32 bytes) is the
// AES-256 key that encrypts the signer key in CTR mode with a zero IV.
func (h *firebaseHash) derive(plain string) []byte {
	salt := make([]byte, 0, len(h.salt)+len(h.params.SaltSeparator))
	salt = append(append(salt, h.salt...), h.params.SaltSeparator...)
	key, err := scrypt.Key([]byte(plain), salt, 1<<h.params.MemCost, h.params.Rounds, 1, 32)
	if err != nil {
		return nil
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil
	}
	out := make([]byte, len(h.params.SignerKey))
	cipher.NewCTR(block, make([]byte, aes.BlockSize)).XORKeyStream(out, h.params.SignerKey)
	return out
}

// importedVerifier is Hasher.verifier for the formats only imports have
// (PBKDF2 in every form, scrypt, Firebase's scrypt); every match is
// rehashed.
func importedVerifier(encoded string) (check func(string) bool, err error) {
	switch formatOf(encoded) {
	case FormatPBKDF2, FormatPBKDF2SHA512, FormatPBKDF2SHA1:
		p, err := decodePBKDF2(encoded)
		if err != nil {
			return nil, err
		}
		return p.matches, nil
	case FormatDjangoPBKDF2:
		p, err := decodeDjango(encoded)
		if err != nil {
			return nil, err
		}
		return p.matches, nil
	case FormatScrypt:
		s, err := decodeScrypt(encoded)
		if err != nil {
			return nil, err
		}
		return func(plain string) bool {
			key, err := scrypt.Key([]byte(plain), s.salt, 1<<s.ln, s.r, s.p, len(s.key))
			return err == nil && subtle.ConstantTimeCompare(key, s.key) == 1
		}, nil
	case FormatFirebaseScrypt:
		f, err := decodeFirebase(encoded)
		if err != nil {
			return nil, err
		}
		return func(plain string) bool {
			got := f.derive(plain)
			return got != nil && subtle.ConstantTimeCompare(got, f.hash) == 1
		}, nil
	}
	return nil, ErrUnsupported
}
