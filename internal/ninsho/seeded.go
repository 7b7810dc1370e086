package ninsho

import (
	"encoding/binary"
	"math/rand/v2"
	"sync"
)

// NewSeededRandom returns a deterministic Random for tests: the ChaCha8
// stream keyed by seed, so that codes, tokens and ids come out the same on
// every run and a test never depends on luck. Reads are serialised, so it is
// safe for concurrent use; concurrent readers share one stream, so only a
// sequential test sees the same bytes every time. It is not a source of
// secrets: production uses SecureRandom.
func NewSeededRandom(seed uint64) Random {
	var key [32]byte
	binary.LittleEndian.PutUint64(key[:8], seed)
	return &seededRandom{r: rand.NewChaCha8(key)}
}

type seededRandom struct {
	mu sync.Mutex
	r  *rand.ChaCha8
}

func (s *seededRandom) Read(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.r.Read(p)
}
