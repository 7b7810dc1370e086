package argon2

import (
	"bytes"
	"crypto/rand"
	"testing"

	xargon2 "golang.org/x/crypto/argon2"
)

// TestSameKeysAsXCrypto derives keys for random inputs with reused buffers
// and compares each with x/crypto's, which allocates fresh memory.
func TestSameKeysAsXCrypto(t *testing.T) {
	for i := 0; i < 40; i++ {
		pw, salt := make([]byte, i%17), make([]byte, 16)
		rand.Read(pw)
		rand.Read(salt)
		memory := uint32(64 + (i%3)*64)
		threads := uint8(1 + i%2)
		got := IDKey(pw, salt, 1+uint32(i%2), memory, threads, 32)
		want := xargon2.IDKey(pw, salt, 1+uint32(i%2), memory, threads, 32)
		if !bytes.Equal(got, want) {
			t.Fatalf("case %d: IDKey = %x, x/crypto = %x", i, got, want)
		}
		if k, xk := Key(pw, salt, 1, memory, threads, 16), xargon2.Key(pw, salt, 1, memory, threads, 16); !bytes.Equal(k, xk) {
			t.Fatalf("case %d: Key = %x, x/crypto = %x", i, k, xk)
		}
	}
}

// TestDefaultParametersMatch derives with Ninsho's default parameters twice
// (a fresh buffer, then a pooled one) and compares with x/crypto.
func TestDefaultParametersMatch(t *testing.T) {
	pw, salt := []byte("kumo-no-ue-42"), []byte("0123456789abcdef")
	a := IDKey(pw, salt, 2, 19456, 1, 32)
	b := IDKey(pw, salt, 2, 19456, 1, 32) // from the pool this time
	want := xargon2.IDKey(pw, salt, 2, 19456, 1, 32)
	if !bytes.Equal(a, want) || !bytes.Equal(b, want) {
		t.Fatalf("IDKey with the default parameters differs from x/crypto (fresh %x, pooled %x, want %x)", a, b, want)
	}
}

func BenchmarkIDKeyDefault(b *testing.B) {
	pw, salt := []byte("kumo-no-ue-42"), []byte("0123456789abcdef")
	for i := 0; i < b.N; i++ {
		IDKey(pw, salt, 2, 19456, 1, 32)
	}
}

func BenchmarkXCryptoIDKeyDefault(b *testing.B) {
	pw, salt := []byte("kumo-no-ue-42"), []byte("0123456789abcdef")
	for i := 0; i < b.N; i++ {
		xargon2.IDKey(pw, salt, 2, 19456, 1, 32)
	}
}
