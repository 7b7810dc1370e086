package workthread

import "golang.org/x/sys/unix"

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
