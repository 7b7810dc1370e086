//go:build unix

package store

import (
	"errors"
	"os"
	"strconv"
	"strings"
	"syscall"

	"github.com/ninsho/ninsho/internal/ninsho"
)

// holdExclusive takes the advisory lock that makes a SQLite file one
// server's: an exclusive flock(2) on <path>.lock, which holds the process
// id of its holder for the message another process gets. The kernel drops
// the lock when the process ends, however it ends, so a killed server
// leaves nothing to clean up. It returns the release.
func holdExclusive(path string) (func() error, error) {
	name := path + ".lock"
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, ninsho.Internal("store: open %s: %w", name, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		buf := make([]byte, 32)
		n, _ := f.ReadAt(buf, 0)
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, inUse(path, strings.TrimSpace(string(buf[:n])))
		}
		return nil, ninsho.Internal("store: lock %s: %w", name, err)
	}
	pid := strconv.Itoa(os.Getpid())
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(pid+"\n"), 0)
	}
	return func() error {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		return errors.Join(err, f.Close())
	}, nil
}

// inUse is the refusal of a second server on a SQLite file.
func inUse(path, pid string) error {
	holder := "another process"
	if _, err := strconv.Atoi(pid); err == nil {
		holder = "process " + pid
	}
	return ninsho.Internal("store: %s is in use by another Ninsho server (%s): a SQLite database serves one server process — stop the other one, give this one another data_dir, or use PostgreSQL (database_url) for several instances", path, holder)
}
