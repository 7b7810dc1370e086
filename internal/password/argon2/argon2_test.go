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

// TestFreeListHandsOutTheBufferReturnedLast: the work buffer a hash gets is
// the one returned last, the likeliest still to be in the caches; the list
// keeps at most its capacity and the rest go to the pool.
func TestFreeListHandsOutTheBufferReturnedLast(t *testing.T) {
	const memory = 8 // KiB: a size no other test uses
	l := freeListOf(memory)
	for l.pop() != nil {
	}
	bufs := make([][]block, cap(l.bufs)+1)
	for i := range bufs {
		bufs[i] = make([]block, memory)
		putBlocks(bufs[i])
	}
	if n := len(l.bufs); n != cap(l.bufs) {
		t.Fatalf("free list holds %d buffers, want its capacity %d", n, cap(l.bufs))
	}
	for i := cap(l.bufs) - 1; i >= 0; i-- {
		if got := getBlocks(memory); &got[0] != &bufs[i][0] {
			t.Fatalf("getBlocks gave another buffer than number %d, the last one returned to the list", i)
		}
	}
	if cap(l.bufs) < 2 {
		return // one processor: the list holds one buffer
	}
	putBlocks(bufs[0])
	putBlocks(bufs[1])
	if got := getBlocks(memory); &got[0] != &bufs[1][0] {
		t.Error("after two returns, getBlocks did not give the one returned last")
	}
}
