package workthread

import (
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// threadNice is the nice value of the calling thread.
func threadNice(t *testing.T) int {
	t.Helper()
	// getpriority answers 20 - nice for PRIO_PROCESS on Linux.
	prio, err := unix.Getpriority(unix.PRIO_PROCESS, unix.Gettid())
	if err != nil {
		t.Fatal(err)
	}
	return 20 - prio
}

// lowered counts the threads of this process whose nice value is not 0,
// without the main thread when exceptMain. (A locked goroutine that ends on
// the main thread does not end it — a process must keep its main thread —
// but wedges it for good: it runs no goroutine again.)
func lowered(t *testing.T, exceptMain bool) int {
	t.Helper()
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, task := range tasks {
		if exceptMain && task.Name() == strconv.Itoa(os.Getpid()) {
			continue
		}
		b, err := os.ReadFile("/proc/self/task/" + task.Name() + "/stat")
		if err != nil {
			continue // the thread has ended
		}
		// Fields after the command (which may hold spaces): the nice
		// value is the 19th field of stat, the 17th after ") ".
		f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
		if nice, _ := strconv.Atoi(f[16]); nice != 0 {
			n++
		}
	}
	return n
}

func TestCallsRunOnLoweredThreadsOnly(t *testing.T) {
	if lowered(t, true) != 0 {
		t.Skip("this process already has threads at another nice value")
	}
	before := lowered(t, false) // the main thread, if an earlier pool wedged it
	p := New(2, Nice)
	if p.Lowered != 2 {
		t.Fatalf("%d of 2 threads lowered", p.Lowered)
	}
	var inside int
	p.Run(func() { inside = threadNice(t) })
	if inside != Nice {
		t.Errorf("fn ran at nice %d, want %d", inside, Nice)
	}
	runtime.LockOSThread()
	if got := threadNice(t); got != 0 {
		t.Errorf("the caller's thread is at nice %d, want 0", got)
	}
	runtime.UnlockOSThread()
	if got := lowered(t, false) - before; got != 2 {
		t.Errorf("%d threads lowered while the pool runs, want its 2", got)
	}
	p.Close()
	// The lowered threads end with the pool (each just after its
	// goroutine): none is left for other goroutines to run on.
	deadline := time.Now().Add(5 * time.Second)
	for lowered(t, true) != 0 && time.Now().Before(deadline) {
		runtime.Gosched()
	}
	if got := lowered(t, true); got != 0 {
		t.Errorf("%d lowered threads left 5 s after Close, want 0", got)
	}
}

func TestConcurrentCallsRunOnDifferentPinnedCPUs(t *testing.T) {
	cpus := allowedCPUs()
	if len(cpus) < 2 {
		t.Skip("needs two CPUs")
	}
	// A thread for every CPU and one more, as the password limiter's
	// slots and its owners' lane.
	p := New(len(cpus)+1, Nice)
	defer p.Close()
	if p.Pinned != len(cpus) {
		t.Fatalf("%d threads pinned, want one per CPU (%d)", p.Pinned, len(cpus))
	}
	var mu sync.Mutex
	seen := map[int]int{}
	var all sync.WaitGroup
	all.Add(len(cpus))
	var wg sync.WaitGroup
	for range cpus {
		wg.Go(func() {
			p.Run(func() {
				var set unix.CPUSet
				if err := unix.SchedGetaffinity(0, &set); err != nil {
					t.Error(err)
				}
				mu.Lock()
				for _, c := range cpus {
					if set.IsSet(c) {
						seen[c]++
					}
				}
				if set.Count() != 1 {
					t.Errorf("a call ran on a thread allowed %d CPUs, want 1", set.Count())
				}
				mu.Unlock()
				// Hold every thread until all calls run at once.
				all.Done()
				all.Wait()
			})
		})
	}
	wg.Wait()
	for _, c := range cpus {
		if seen[c] != 1 {
			t.Errorf("CPU %d ran %d of the %d concurrent calls, want 1 each: %v", c, seen[c], len(cpus), seen)
		}
	}
}

func TestPoolSmallerThanItsCPUsPinsNothing(t *testing.T) {
	if len(allowedCPUs()) < 2 {
		t.Skip("needs two CPUs")
	}
	p := New(1, Nice)
	defer p.Close()
	if p.Pinned != 0 {
		t.Fatalf("a pool of 1 thread on %d CPUs pinned %d", len(allowedCPUs()), p.Pinned)
	}
	var set unix.CPUSet
	p.Run(func() { _ = unix.SchedGetaffinity(0, &set) })
	if set.Count() != len(allowedCPUs()) {
		t.Errorf("its thread may run on %d CPUs, want all %d", set.Count(), len(allowedCPUs()))
	}
}

func TestNiceZeroLowersNothing(t *testing.T) {
	p := New(2, 0)
	defer p.Close()
	if p.Lowered != 0 {
		t.Fatalf("%d threads lowered at nice 0", p.Lowered)
	}
	var inside int
	p.Run(func() { inside = threadNice(t) })
	if inside != 0 {
		t.Errorf("fn ran at nice %d, want 0", inside)
	}
}

// burn computes on the calling goroutine, locked to its thread, until that
// thread has used d more of CPU time.
func burn(t *testing.T, d time.Duration) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	start, ok := threadCPU()
	if !ok {
		t.Error("no CPU time per thread on Linux")
		return
	}
	for {
		if now, _ := threadCPU(); now-start >= d {
			return
		}
	}
}

// TestCPUCountsTheCallsOwnThreadTime: the pool counts the CPU time its
// threads spend in the calls — a call that computes for 30 ms of its
// thread's CPU — and not the time a call waits, nor what another thread of
// the process burns meanwhile.
func TestCPUCountsTheCallsOwnThreadTime(t *testing.T) {
	p := New(1, 0)
	defer p.Close()
	const work = 30 * time.Millisecond
	p.Run(func() { burn(t, work) })
	// The second call waits while another thread computes for 30 ms.
	released := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		defer close(released)
		burn(t, work)
	})
	p.Run(func() { <-released })
	wg.Wait()
	if got := p.Calls(); got != 2 {
		t.Errorf("Calls() = %d, want 2", got)
	}
	if got := p.CPU(); got < work || got > work+15*time.Millisecond {
		t.Errorf("CPU() = %v, want the computing call's %v (and little more)", got, work)
	}
}
