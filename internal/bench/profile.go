package bench

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// HashShare is where a server's CPU went over a window, as Linux perf
// sampled it in place: the share of its samples in the password hash
// (argon2's block functions and the BLAKE2b around them) against
// everything else it did (HTTP, SQL, the runtime, the kernel on its
// behalf). Unlike a ratio against a bare hash measured a few seconds away,
// both halves are taken in the same milliseconds, so the machine's drifting
// speed cannot move it.
type HashShare struct {
	Samples int
	Hash    int
}

// Share returns the hash's share of the samples (0 when there are none).
func (h HashShare) Share() float64 {
	if h.Samples == 0 {
		return 0
	}
	return float64(h.Hash) / float64(h.Samples)
}

// hashSymbols are the symbol prefixes that count as the hash. A sample is
// classified by the function it was taken in (no call graphs), so runtime
// code the hash calls counts as outside it: the share errs low.
var hashSymbols = []string{
	"github.com/ninsho/ninsho/internal/password/argon2.",
	"golang.org/x/crypto/blake2b.",
	"golang.org/x/crypto/argon2.",
}

// SampleHashShare records pid with `perf record` at 999 Hz for d after
// skipping the first delay (so that perf's own start, which takes a good
// part of a core for a moment, falls outside the samples) and classifies
// the samples (see HashShare). It fails when perf is not installed or may
// not record the process (perf_event_paranoid).
func SampleHashShare(ctx context.Context, pid int, delay, d time.Duration, dir string) (HashShare, error) {
	perf, err := exec.LookPath("perf")
	if err != nil {
		return HashShare{}, errors.New("perf is not installed (Debian: linux-perf)")
	}
	data := filepath.Join(dir, fmt.Sprintf("perf-%d.data", pid))
	defer os.Remove(data)
	secs := strconv.FormatFloat((delay + d).Seconds(), 'f', 3, 64)
	rec := exec.CommandContext(ctx, perf, "record", "-q", "-F", "999", "-D", strconv.FormatInt(delay.Milliseconds(), 10),
		"-p", strconv.Itoa(pid), "-o", data, "--", "sleep", secs)
	if out, err := rec.CombinedOutput(); err != nil {
		return HashShare{}, fmt.Errorf("perf record: %w: %s", err, bytes.TrimSpace(out))
	}
	script := exec.CommandContext(ctx, perf, "script", "-i", data, "-F", "ip,sym")
	out, err := script.Output()
	if err != nil {
		return HashShare{}, fmt.Errorf("perf script: %w", err)
	}
	return classifySamples(out), nil
}

// classifySamples counts the samples of `perf script -F ip,sym` output: one
// sample per line, the address and then the symbol ("[unknown]" where perf
// has none).
func classifySamples(out []byte) HashShare {
	var h HashShare
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		h.Samples++
		if len(f) < 2 {
			continue
		}
		sym := f[1]
		for _, p := range hashSymbols {
			if strings.HasPrefix(sym, p) {
				h.Hash++
				break
			}
		}
	}
	return h
}
