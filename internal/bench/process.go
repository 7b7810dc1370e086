package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Build compiles the main package pkg (an import path of this module) into the
// file out with `go build`.
func Build(ctx context.Context, pkg, out string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, pkg)
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("bench: go build %s: %w\n%s", pkg, err, b)
	}
	return nil
}

// Process is a server running as a child process. Its standard error (the
// log) goes to a file; its standard output is read for the line that names
// the URL it serves on.
type Process struct {
	// URL is the base URL, e.g. http://127.0.0.1:41234.
	URL string

	cmd  *exec.Cmd
	log  *os.File
	done chan struct{}
	err  error // of cmd.Wait, set before done closes
}

// startTimeout bounds how long a server may take to print its URL and answer.
const startTimeout = 60 * time.Second

// Start runs bin with args and the environment env (nil: this process's),
// logging to the file logPath, and waits until it has printed a line
// containing marker followed by its URL (the first word starting with
// http://) and answers GET URL+probe with 200.
func Start(ctx context.Context, bin string, args, env []string, logPath, marker, probe string) (*Process, error) {
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	cmd.Stderr = logf
	out, err := cmd.StdoutPipe()
	if err != nil {
		logf.Close()
		return nil, fmt.Errorf("bench: %w", err)
	}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("bench: start %s: %w", bin, err)
	}
	p := &Process{cmd: cmd, log: logf, done: make(chan struct{})}
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		found := false
		for sc.Scan() {
			line := sc.Text()
			if found || !strings.Contains(line, marker) {
				continue
			}
			for _, f := range strings.Fields(line) {
				if strings.HasPrefix(f, "http://") {
					found = true
					urls <- f
					break
				}
			}
		}
		io.Copy(io.Discard, out)
		p.err = cmd.Wait()
		close(p.done)
	}()
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	select {
	case p.URL = <-urls:
	case <-p.done:
		logf.Close()
		return nil, fmt.Errorf("bench: %s exited before serving: %v (log: %s)", bin, p.err, logPath)
	case <-ctx.Done():
		p.Stop()
		return nil, fmt.Errorf("bench: %s did not print its URL: %w (log: %s)", bin, ctx.Err(), logPath)
	}
	c := &http.Client{Timeout: 2 * time.Second}
	for {
		resp, err := c.Get(p.URL + probe)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p, nil
			}
		}
		select {
		case <-ctx.Done():
			p.Stop()
			return nil, fmt.Errorf("bench: %s%s never answered 200: %w (log: %s)", p.URL, probe, ctx.Err(), logPath)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// PID returns the process id.
func (p *Process) PID() int { return p.cmd.Process.Pid }

// Stop sends SIGTERM, waits up to 20 seconds for the process to end and kills
// it if it has not. It returns the error of a process that failed other than
// by the signal. It is safe to call twice.
func (p *Process) Stop() error {
	select {
	case <-p.done:
	default:
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(20 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	}
	p.log.Close()
	var ee *exec.ExitError
	if errors.As(p.err, &ee) && !ee.Exited() {
		return nil // ended by the signal
	}
	return p.err
}

// PeakRSS returns the peak resident set size of the process in bytes
// (VmHWM), since it started or since the last ResetPeak.
func (p *Process) PeakRSS() (int64, error) { return statusKiB(p.PID(), "VmHWM") }

// RSS returns the resident set size of the process in bytes now (VmRSS).
func (p *Process) RSS() (int64, error) { return statusKiB(p.PID(), "VmRSS") }

// ResetPeak sets the peak resident set size to the current one, so that the
// next PeakRSS covers only what follows (Linux ≥ 4.0, clear_refs value 5).
func (p *Process) ResetPeak() error {
	return os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", p.PID()), []byte("5"), 0)
}

// CPUTime returns the CPU time (user and system, every thread) the process
// has used so far.
func (p *Process) CPUTime() (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.PID()))
	if err != nil {
		return 0, fmt.Errorf("bench: %w", err)
	}
	return parseStatCPU(string(b))
}

// clockTick is the unit of utime and stime in /proc/PID/stat: USER_HZ, 100 on
// every Linux architecture Go supports.
const clockTick = 10 * time.Millisecond

// parseStatCPU returns utime+stime of a /proc/PID/stat line. The command name
// (field 2) is in parentheses and may hold spaces, so fields are counted from
// the last ')'.
func parseStatCPU(stat string) (time.Duration, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, errors.New("bench: malformed /proc/PID/stat")
	}
	f := strings.Fields(stat[i+1:])
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return 0, errors.New("bench: short /proc/PID/stat")
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	s, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, errors.New("bench: malformed cpu times in /proc/PID/stat")
	}
	return time.Duration(u+s) * clockTick, nil
}

// statusKiB reads the field name (a size in kB) of /proc/pid/status and
// returns it in bytes.
func statusKiB(pid int, name string) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("bench: %w", err)
	}
	return parseStatusKiB(string(b), name)
}

func parseStatusKiB(status, name string) (int64, error) {
	for _, line := range strings.Split(status, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok || k != name {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("bench: malformed %s in /proc/PID/status", name)
		}
		return n << 10, nil
	}
	return 0, fmt.Errorf("bench: no %s in /proc/PID/status", name)
}

// MachineCPU returns the CPU time every process on the machine has used
// since boot (the first line of /proc/stat, without idle and iowait). The
// difference over a run less what the server and the benchmark used is
// what other processes took: the noise of the run.
func MachineCPU() (time.Duration, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, fmt.Errorf("bench: %w", err)
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 8 || f[0] != "cpu" {
		return 0, errors.New("bench: malformed /proc/stat")
	}
	var ticks int64
	// user nice system idle iowait irq softirq steal …; guest time is
	// already in user.
	for i, v := range f[1:min(len(f), 9)] {
		if i == 3 || i == 4 {
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, errors.New("bench: malformed /proc/stat")
		}
		ticks += n
	}
	return time.Duration(ticks) * clockTick, nil
}
