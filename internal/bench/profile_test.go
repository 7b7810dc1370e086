package bench

import "testing"

func TestClassifySamples(t *testing.T) {
	out := []byte(`     4a1b20 github.com/ninsho/ninsho/internal/password/argon2.blamkaSSE4.abi0
     4a1c00 github.com/ninsho/ninsho/internal/password/argon2.mixBlocksSSE2.abi0
     4b0000 golang.org/x/crypto/blake2b.hashBlocksAVX2.abi0
     5c0000 modernc.org/sqlite/lib._sqlite3VdbeExec
 ffffffff8170e6da fdget_pos
     7ff73d694350 [unknown]

     4a1b20 github.com/ninsho/ninsho/internal/password/argon2.processBlocks.func1
     600000 runtime.mallocgc
`)
	h := classifySamples(out)
	if h.Samples != 8 || h.Hash != 4 {
		t.Fatalf("classifySamples = %d of %d in the hash, want 4 of 8", h.Hash, h.Samples)
	}
	if got := h.Share(); got != 0.5 {
		t.Errorf("Share = %v, want 0.5", got)
	}
	if got := (HashShare{}).Share(); got != 0 {
		t.Errorf("Share of no samples = %v, want 0", got)
	}
}
