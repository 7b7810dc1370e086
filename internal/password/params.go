package password

import (
	"crypto/pbkdf2"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"strconv"
	"strings"

	"github.com/ninsho/ninsho/internal/password/argon2"
)

// Params are the argon2id cost parameters. They are part of every encoded
// hash, so changing them never invalidates stored hashes: Verify reports
// needsRehash for hashes made with other parameters.
type Params struct {
	Memory  uint32 // KiB
	Time    uint32 // passes over memory
	Threads uint8  // lanes
	SaltLen uint32 // bytes
	KeyLen  uint32 // bytes
}

// DefaultParams returns the OWASP Password Storage Cheat Sheet's first
// argon2id configuration: 19 MiB, two passes, one lane, with a 16-byte salt
// and a 32-byte key.
func DefaultParams() Params {
	return Params{Memory: 19456, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}
}

// Bounds on parameters, both for configuration and for hashes read from the
// store. A hash outside them is treated as malformed: an imported or
// tampered hash must not make one verification take gigabytes or minutes.
const (
	maxMemory     = 1 << 20 // KiB: 1 GiB
	maxTime       = 64
	minSaltLen    = 8
	maxSaltLen    = 1024
	minKeyLen     = 16
	maxKeyLen     = 1024
	maxBcryptCost = 16
	maxPBKDF2Iter = 5_000_000
)

// Validate reports whether p can be used to hash passwords.
func (p Params) Validate() error {
	switch {
	case p.Time < 1 || p.Time > maxTime:
		return fmt.Errorf("password: argon2 time %d out of range 1..%d", p.Time, maxTime)
	case p.Threads < 1:
		return errors.New("password: argon2 threads must be at least 1")
	case p.Memory < 8*uint32(p.Threads) || p.Memory > maxMemory:
		return fmt.Errorf("password: argon2 memory %d KiB out of range %d..%d", p.Memory, 8*uint32(p.Threads), maxMemory)
	case p.SaltLen < minSaltLen || p.SaltLen > maxSaltLen:
		return fmt.Errorf("password: salt length %d out of range %d..%d", p.SaltLen, minSaltLen, maxSaltLen)
	case p.KeyLen < minKeyLen || p.KeyLen > maxKeyLen:
		return fmt.Errorf("password: key length %d out of range %d..%d", p.KeyLen, minKeyLen, maxKeyLen)
	}
	return nil
}

// argon2Hash is a decoded PHC string of the argon2 family.
type argon2Hash struct {
	variant string // "argon2id" or "argon2i"
	params  Params // SaltLen and KeyLen are those of salt and key
	salt    []byte
	key     []byte
}

// derive computes the argon2 key of plain with h's variant, parameters and
// salt.
func (h *argon2Hash) derive(plain string) []byte {
	p := h.params
	if h.variant == "argon2i" {
		return argon2.Key([]byte(plain), h.salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	}
	return argon2.IDKey([]byte(plain), h.salt, p.Time, p.Memory, p.Threads, p.KeyLen)
}

// encodeArgon2id returns the PHC string
// $argon2id$v=19$m=19456,t=2,p=1$<salt>$<key> with unpadded standard base64,
// the format of the reference implementation and of most libraries.
func encodeArgon2id(p Params, salt, key []byte) string {
	var b strings.Builder
	b.Grow(64 + base64.RawStdEncoding.EncodedLen(len(salt)+len(key)))
	b.WriteString("$argon2id$v=19$m=")
	b.WriteString(strconv.FormatUint(uint64(p.Memory), 10))
	b.WriteString(",t=")
	b.WriteString(strconv.FormatUint(uint64(p.Time), 10))
	b.WriteString(",p=")
	b.WriteString(strconv.FormatUint(uint64(p.Threads), 10))
	b.WriteByte('$')
	b.WriteString(base64.RawStdEncoding.EncodeToString(salt))
	b.WriteByte('$')
	b.WriteString(base64.RawStdEncoding.EncodeToString(key))
	return b.String()
}

// decodeArgon2 parses $argon2id$v=19$m=…,t=…,p=…$salt$key (or $argon2i$…).
// Only version 19 (0x13), the version every current implementation writes, is
// accepted.
func decodeArgon2(s string) (*argon2Hash, error) {
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" {
		return nil, errors.New("password: malformed argon2 hash")
	}
	h := &argon2Hash{variant: parts[1]}
	if h.variant != "argon2id" && h.variant != "argon2i" {
		return nil, fmt.Errorf("password: unsupported argon2 variant %q", h.variant)
	}
	if parts[2] != "v=19" {
		return nil, errors.New("password: unsupported argon2 version")
	}
	var seen [3]bool
	for _, kv := range strings.Split(parts[3], ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return nil, errors.New("password: malformed argon2 parameters")
		}
		var i int
		var bits int
		switch k {
		case "m":
			i, bits = 0, 32
		case "t":
			i, bits = 1, 32
		case "p":
			i, bits = 2, 8
		default:
			return nil, fmt.Errorf("password: unknown argon2 parameter %q", k)
		}
		n, err := parseUint(v, bits)
		if err != nil || seen[i] {
			return nil, errors.New("password: malformed argon2 parameters")
		}
		seen[i] = true
		switch i {
		case 0:
			h.params.Memory = uint32(n)
		case 1:
			h.params.Time = uint32(n)
		case 2:
			h.params.Threads = uint8(n)
		}
	}
	if !seen[0] || !seen[1] || !seen[2] {
		return nil, errors.New("password: missing argon2 parameter")
	}
	var err error
	if h.salt, err = decodeBase64(parts[4]); err != nil {
		return nil, errors.New("password: malformed argon2 salt")
	}
	if h.key, err = decodeBase64(parts[5]); err != nil {
		return nil, errors.New("password: malformed argon2 key")
	}
	h.params.SaltLen, h.params.KeyLen = uint32(len(h.salt)), uint32(len(h.key))
	// Hashes from other systems may use shorter salts or keys than we would
	// write; accept them down to the limits of the algorithm.
	p := h.params
	switch {
	case p.Time < 1 || p.Time > maxTime,
		p.Threads < 1,
		p.Memory < 8*uint32(p.Threads) || p.Memory > maxMemory,
		len(h.salt) < 1 || len(h.salt) > maxSaltLen,
		len(h.key) < 4 || len(h.key) > maxKeyLen:
		return nil, fmt.Errorf("password: argon2 parameters %w", errRange)
	}
	return h, nil
}

// pbkdf2Hash is a decoded PBKDF2 hash: $pbkdf2-sha256$, $pbkdf2-sha512$,
// $pbkdf2$ (HMAC-SHA1) or Django's pbkdf2_sha256$.
type pbkdf2Hash struct {
	digest pbkdf2Digest
	iter   int
	salt   []byte
	key    []byte
}

// pbkdf2Digest is the hash of a PBKDF2's HMAC: its constructor, its output
// size in bytes (one block of the key) and what one iteration costs next to
// HMAC-SHA256.
type pbkdf2Digest struct {
	new          func() hash.Hash
	size, weight int
}

// pbkdf2Digests are the PHC identifiers of PBKDF2 by their HMAC's hash, as
// passlib (and Keycloak's algorithms of the same names) write them, with
// what one iteration costs next to HMAC-SHA256: where the CPU computes
// SHA-1 and SHA-256 in hardware, as x86-64 and ARMv8 servers do and Go uses,
// an HMAC-SHA512 iteration takes about four times as long (measured on the
// 2-core AMD EPYC machine of docs/performance.md: a 64-byte key, 2,000,000
// iterations, 1.94 s against 1.04 s for SHA-256's two blocks).
var pbkdf2Digests = map[string]pbkdf2Digest{
	"pbkdf2-sha256": {sha256.New, sha256.Size, 1},
	"pbkdf2-sha512": {sha512.New, sha512.Size, 4},
	"pbkdf2":        {sha1.New, sha1.Size, 1},
}

// matches reports whether plain derives h's key, compared in constant time.
func (h *pbkdf2Hash) matches(plain string) bool {
	key, err := pbkdf2.Key(h.digest.new, plain, h.salt, h.iter, len(h.key))
	return err == nil && subtle.ConstantTimeCompare(key, h.key) == 1
}

// work is what a verification costs in HMAC-SHA256 iterations: the
// iterations times the digest blocks the key spans (PBKDF2 derives each on
// its own) times the digest's weight.
func (h *pbkdf2Hash) work() int {
	return h.iter * ((len(h.key) + h.digest.size - 1) / h.digest.size) * h.digest.weight
}

// decodePBKDF2 parses $pbkdf2-sha256$i=N$salt$key, the PHC form, and
// $pbkdf2-sha256$N$salt$key, the form Python's passlib writes with its
// "adapted" base64 ('.' for '+'); likewise $pbkdf2-sha512$ and $pbkdf2$
// (HMAC-SHA1). An optional l=<key length> parameter is accepted and must
// match the key.
func decodePBKDF2(s string) (*pbkdf2Hash, error) {
	parts := strings.Split(s, "$")
	if len(parts) != 5 || parts[0] != "" {
		return nil, errors.New("password: malformed pbkdf2 hash")
	}
	d, ok := pbkdf2Digests[parts[1]]
	if !ok {
		return nil, errors.New("password: malformed pbkdf2 hash")
	}
	h := &pbkdf2Hash{digest: d}
	var err error
	if h.salt, err = decodeBase64(parts[3]); err != nil || len(h.salt) > maxSaltLen {
		return nil, errors.New("password: malformed pbkdf2 salt")
	}
	if h.key, err = decodeBase64(parts[4]); err != nil || len(h.key) < minKeyLen || len(h.key) > maxKeyLen {
		return nil, errors.New("password: malformed pbkdf2 key")
	}
	iter, keyLen := "", ""
	if !strings.Contains(parts[2], "=") {
		iter = parts[2]
	} else {
		for _, kv := range strings.Split(parts[2], ",") {
			k, v, _ := strings.Cut(kv, "=")
			switch {
			case k == "i" && iter == "":
				iter = v
			case k == "l" && keyLen == "":
				keyLen = v
			default:
				return nil, errors.New("password: malformed pbkdf2 parameters")
			}
		}
	}
	n, err := parseUint(iter, 32)
	if err != nil {
		return nil, errors.New("password: malformed pbkdf2 iterations")
	}
	if n < 1 || n > maxPBKDF2Iter {
		return nil, fmt.Errorf("password: pbkdf2 iterations %w", errRange)
	}
	h.iter = int(n)
	if keyLen != "" {
		if l, err := parseUint(keyLen, 32); err != nil || l != uint64(len(h.key)) {
			return nil, errors.New("password: pbkdf2 key length does not match")
		}
	}
	return h, nil
}

// parseUint parses a decimal without sign or leading zeros, as PHC requires.
func parseUint(s string, bits int) (uint64, error) {
	if s == "" || len(s) > 1 && s[0] == '0' {
		return 0, errors.New("password: malformed number")
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, errors.New("password: malformed number")
		}
	}
	return strconv.ParseUint(s, 10, bits)
}

// decodeBase64 decodes standard, URL-safe or passlib's adapted base64, with or
// without padding. An encoding uses only one of the alphabets' distinct
// characters, so mapping them all to the standard alphabet is unambiguous.
func decodeBase64(s string) ([]byte, error) {
	if s == "" {
		return nil, errors.New("password: empty base64")
	}
	return base64.RawStdEncoding.DecodeString(base64Replacer.Replace(strings.TrimRight(s, "=")))
}

var base64Replacer = strings.NewReplacer(".", "+", "-", "+", "_", "/")
