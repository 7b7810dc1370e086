package workthread

import (
	"time"

	"golang.org/x/sys/unix"
)

// lowerThread sets the nice value of the calling thread only: on Linux,
// PRIO_PROCESS with a thread id names that thread, not its process.
func lowerThread(nice int) error {
	return unix.Setpriority(unix.PRIO_PROCESS, unix.Gettid(), nice)
}

// allowedCPUs lists the CPUs this process may run on (nil if unknown).
func allowedCPUs() []int {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		return nil
	}
	var cpus []int
	for c := range len(set) * 64 {
		if set.IsSet(c) {
			cpus = append(cpus, c)
		}
	}
	return cpus
}

// pinThread keeps the calling thread on cpu.
func pinThread(cpu int) error {
	var set unix.CPUSet
	set.Set(cpu)
	return unix.SchedSetaffinity(0, &set)
}

// threadCPU is the CPU time (user and system) the calling thread has used,
// to the nanosecond: CLOCK_THREAD_CPUTIME_ID counts the time since the
// thread's last scheduler tick too, which getrusage(RUSAGE_THREAD) leaves
// out (up to a tick, 4 ms at 250 Hz, of a 20 ms hash).
func threadCPU() (time.Duration, bool) {
	var ts unix.Timespec
	if unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts) != nil {
		return 0, false
	}
	return time.Duration(ts.Nano()), true
}
