// Package workthread runs CPU-heavy functions (password hashing) on a fixed
// set of dedicated OS threads at a lowered scheduling priority, so that the
// rest of a busy server — a refusal under overload, a session check — is not
// kept waiting behind them.
//
// Two waits are removed. The Go runtime's: a hash holds its processor (P)
// from start to end, and a runtime whose processors are all busy notices new
// requests only at its monitor's pace (up to 10 ms); the caller gives the
// runtime a processor more than the pool's threads (cli.spareProcessor). The
// kernel's: a thread that wakes for a short request on cores that all hash
// waits for a core, up to a scheduler tick (4 ms at HZ=250) and more; a
// hashing thread at nice 10 gives way at once, and still gets every cycle
// that nothing else wants, so hashing loses nothing while the machine has no
// other work.
//
// Only the pool's own threads are lowered: each runs one goroutine locked to
// it for the pool's life, so no other goroutine ever runs on a lowered
// thread. Where the pool has a thread for every CPU the process may use (a
// server whose hashing can fill the machine), its first threads are pinned
// one to each of those CPUs, and Run prefers them: two hashes are never
// stacked on one core while another idles, which the kernel's wake-up
// placement otherwise does often (measured: 5–9% of the machine idle under
// a closed sign-in loop). A pool smaller than the CPUs it may use (a
// container with a CPU quota on a larger machine) pins nothing, so that
// instances sharing a machine do not all crowd its first cores.
//
// The trade, measured on 2 cores (docs/performance.md): refusals under
// overload 14 ms → 3 ms at p99 from outside, for about one point more of the
// server's CPU outside the hash at full sign-in load (thread switches).
package workthread

import (
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// Nice is the nice value of a Pool's threads: about a tenth of a default
// thread's share when both want a core (Linux weights 110 against 1024).
const Nice = 10

// Pool is a fixed set of dedicated threads. Use it by pointer; it is safe for
// concurrent use.
type Pool struct {
	mu      sync.Mutex
	changed *sync.Cond // a thread became free, or the pool closed
	free    []bool     // by thread index
	workers []chan job
	closed  bool
	wg      sync.WaitGroup

	// Lowered is how many threads took the nice value (none for 0; fewer
	// where the system refused it; none on systems without per-thread
	// priorities).
	Lowered int
	// Pinned is how many threads are pinned, one to each CPU.
	Pinned int

	calls atomic.Int64
	cpu   atomic.Int64 // nanoseconds
}

type job struct {
	fn   func()
	done chan any // receives fn's panic value, or nil
}

// ErrClosed is the panic value of Run on a closed Pool.
var ErrClosed = errors.New("workthread: pool closed")

// New starts n threads (at least 1) at the nice value nice (0: the default
// priority, not lowered) where the system allows it, and pins them as the
// package comment says; a refusal of either leaves that thread as it was
// and is not an error. Close stops them.
func New(n, nice int) *Pool {
	n = max(n, 1)
	p := &Pool{free: make([]bool, n), workers: make([]chan job, n)}
	p.changed = sync.NewCond(&p.mu)
	cpus := allowedCPUs()
	if len(cpus) > n {
		cpus = nil
	}
	type started struct{ lowered, pinned bool }
	ready := make(chan started, n)
	for i := range n {
		p.free[i] = true
		p.workers[i] = make(chan job)
		cpu := -1
		if i < len(cpus) {
			cpu = cpus[i]
		}
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			// Locked for good: returning without unlocking ends the
			// thread with the goroutine, so a lowered thread is never
			// handed to other goroutines.
			runtime.LockOSThread()
			var s started
			if nice > 0 {
				s.lowered = lowerThread(nice) == nil
			}
			if cpu >= 0 {
				s.pinned = pinThread(cpu) == nil
			}
			ready <- s
			for j := range p.workers[i] {
				before, ok := threadCPU()
				v := call(j.fn)
				if after, ok2 := threadCPU(); ok && ok2 {
					p.cpu.Add(int64(after - before))
				}
				p.calls.Add(1)
				j.done <- v
			}
		}()
	}
	for range n {
		s := <-ready
		if s.lowered {
			p.Lowered++
		}
		if s.pinned {
			p.Pinned++
		}
	}
	return p
}

// Calls returns how many functions the pool's threads have run (returned or
// panicked).
func (p *Pool) Calls() int64 { return p.calls.Load() }

// CPU returns the CPU time, user and system, the pool's threads spent in the
// functions they ran: each thread's own CPU clock (CLOCK_THREAD_CPUTIME_ID)
// read around each call, so that it counts nothing else the process did
// meanwhile. It is 0 where the pool reads no per-thread CPU clock (only
// Linux here).
func (p *Pool) CPU() time.Duration { return time.Duration(p.cpu.Load()) }

// call runs fn and returns what it panicked with (nil when it returned).
func call(fn func()) (v any) {
	defer func() { v = recover() }()
	fn()
	return nil
}

// Run runs fn on the free thread with the lowest index — the pinned ones
// first, so that concurrent calls land on different cores — and returns once
// fn has returned; a panic in fn is raised again in the caller. Run waits for
// a free thread: callers bound their concurrency to the pool's size (the
// password Limiter does, MaxRunning). Run on a closed Pool panics with
// ErrClosed.
func (p *Pool) Run(fn func()) {
	p.mu.Lock()
	i := p.take()
	for i < 0 && !p.closed {
		p.changed.Wait()
		i = p.take()
	}
	if i < 0 {
		p.mu.Unlock()
		panic(ErrClosed)
	}
	p.mu.Unlock()
	j := job{fn: fn, done: make(chan any, 1)}
	p.workers[i] <- j
	v := <-j.done
	p.mu.Lock()
	p.free[i] = true
	p.mu.Unlock()
	p.changed.Broadcast()
	if v != nil {
		panic(v)
	}
}

// take marks the free thread with the lowest index busy and returns its
// index, or -1 when none is free or the pool is closed. p.mu is held.
func (p *Pool) take() int {
	if p.closed {
		return -1
	}
	for i, f := range p.free {
		if f {
			p.free[i] = false
			return i
		}
	}
	return -1
}

// Close stops the threads once the functions running on them have returned;
// Run then panics with ErrClosed. Close may be called more than once.
func (p *Pool) Close() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	p.changed.Broadcast() // Run calls waiting for a thread give up
	for i := range p.workers {
		for !p.free[i] {
			p.changed.Wait()
		}
		close(p.workers[i])
	}
	p.mu.Unlock()
	p.wg.Wait()
}
