package bench

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ninsho/ninsho/internal/loadgen"
	"github.com/ninsho/ninsho/internal/password"
)

// Cores of BenchmarkSigninOwnCore: the server and its bare hash on one, the
// benchmark process (the load generator) on the other.
const (
	serverCPU    = 0
	generatorCPU = 1
)

// hashHelperEnv, set to a duration, makes TestBareHashHelper measure the
// bare hash with one worker for that long and print the result.
const hashHelperEnv = "BENCH_BARE_HASH_FOR"

// hashHelperMark starts the line TestBareHashHelper prints its result on.
const hashHelperMark = "BARE-HASH "

// BenchmarkSigninOwnCore is goal (a) with the load generator off the
// server's core: the server runs on CPU 0 alone (taskset; it then hashes
// in one slot), the benchmark process on CPU 1, and the bare hash is
// measured by a process of its own on CPU 0 while the server is idle. The
// hash-bound limit is that one core ÷ the time of one hash. It answers
// what BenchmarkSignin cannot on a 2-core machine: what the server makes
// of the hash when nothing else shares its core. It needs Linux, two CPUs
// and taskset (util-linux), and is skipped otherwise.
func BenchmarkSigninOwnCore(b *testing.B) {
	taskset, err := exec.LookPath("taskset")
	if err != nil || machineCPUs() < 2 {
		b.Skip("needs taskset and at least two CPUs")
	}
	fx := mustFixture(b)
	ctx := b.Context()
	if err := pinProcess(generatorCPU); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = pinProcess(allCPUs()...) })
	srv := mustStart(b, func() (*Process, error) {
		serve, err := fx.serveArgs()
		if err != nil {
			return nil, err
		}
		args := append([]string{"-c", strconv.Itoa(serverCPU), fx.ninsho}, serve...)
		return Start(ctx, taskset, args, fx.env, filepath.Join(fx.dir, "signin-own-core.log"), "running at", "/readyz")
	})
	fx.signinGoal(b, "signin own core", srv, 1, func(d time.Duration) loadgen.HashRate {
		h, err := bareHashOn(taskset, serverCPU, d)
		if err != nil {
			b.Fatal(err)
		}
		return h
	})
}

// TestBareHashHelper is BenchmarkSigninOwnCore's bare hash, run in a
// process of its own (bareHashOn); without hashHelperEnv it does nothing.
func TestBareHashHelper(t *testing.T) {
	v := os.Getenv(hashHelperEnv)
	if v == "" {
		t.Skip("a helper process of BenchmarkSigninOwnCore")
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		t.Fatal(err)
	}
	h, err := loadgen.MeasureHash(t.Context(), password.DefaultParams(), 1, d)
	if err != nil {
		t.Fatal(err)
	}
	out, _ := json.Marshal(h)
	fmt.Printf("%s%s\n", hashHelperMark, out)
}

// bareHashOn measures the bare hash for d with one worker in a new process
// of this test binary confined to cpu.
func bareHashOn(taskset string, cpu int, d time.Duration) (loadgen.HashRate, error) {
	cmd := exec.Command(taskset, "-c", strconv.Itoa(cpu), os.Args[0], "-test.run", "^TestBareHashHelper$", "-test.count", "1", "-test.v")
	cmd.Env = append(os.Environ(), hashHelperEnv+"="+d.String())
	out, err := cmd.Output()
	if err != nil {
		return loadgen.HashRate{}, fmt.Errorf("bench: bare hash on CPU %d: %w\n%s", cpu, err, out)
	}
	_, line, ok := bytes.Cut(out, []byte(hashHelperMark))
	if !ok {
		return loadgen.HashRate{}, fmt.Errorf("bench: bare hash on CPU %d printed no result:\n%s", cpu, out)
	}
	line, _, _ = bytes.Cut(line, []byte("\n"))
	var h loadgen.HashRate
	if err := json.Unmarshal(line, &h); err != nil {
		return h, fmt.Errorf("bench: bare hash result %q: %w", line, err)
	}
	return h, nil
}

// pinProcess confines every thread of this process to cpus; threads
// created later inherit the set from the thread that creates them.
func pinProcess(cpus ...int) error {
	var set unix.CPUSet
	for _, c := range cpus {
		set.Set(c)
	}
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	for _, t := range tasks {
		tid, err := strconv.Atoi(t.Name())
		if err != nil {
			continue
		}
		if err := unix.SchedSetaffinity(tid, &set); err != nil && err != unix.ESRCH {
			return fmt.Errorf("bench: pin thread %d: %w", tid, err)
		}
	}
	return nil
}

// allCPUs lists the CPUs this process may use again after pinProcess.
func allCPUs() []int {
	cpus := make([]int, machineCPUs())
	for i := range cpus {
		cpus[i] = i
	}
	return cpus
}

// machineCPUs is the number of CPUs the process could use when it
// started.
func machineCPUs() int { return runtime.NumCPU() }
