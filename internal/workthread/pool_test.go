package workthread

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
)

func TestRunRunsEveryCallAndReturnsAfterIt(t *testing.T) {
	p := New(3, Nice)
	defer p.Close()
	var ran atomic.Int64
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() {
			for range 50 {
				done := false
				p.Run(func() { ran.Add(1); done = true })
				if !done {
					t.Error("Run returned before fn had run")
				}
			}
		})
	}
	wg.Wait()
	if got := ran.Load(); got != 150 {
		t.Fatalf("fn ran %d times, want 150", got)
	}
}

func TestRunRaisesTheCallsPanicInTheCaller(t *testing.T) {
	p := New(1, Nice)
	defer p.Close()
	boom := errors.New("boom")
	func() {
		defer func() {
			if v := recover(); v != boom {
				t.Errorf("Run panicked with %v, want %v", v, boom)
			}
		}()
		p.Run(func() { panic(boom) })
	}()
	// The thread survives the panic and takes the next call.
	ok := false
	p.Run(func() { ok = true })
	if !ok {
		t.Fatal("the pool's thread did not run a call after a panic")
	}
}

func TestCloseWaitsForRunningCallsAndRunAfterClosePanics(t *testing.T) {
	p := New(1, Nice)
	started, release := make(chan struct{}), make(chan struct{})
	finished := make(chan struct{})
	go func() {
		p.Run(func() { close(started); <-release })
		close(finished)
	}()
	<-started
	closed := make(chan struct{})
	go func() { p.Close(); close(closed) }()
	select {
	case <-closed:
		t.Fatal("Close returned while a call was running")
	case <-finished:
		t.Fatal("the call finished before it was released")
	default:
	}
	close(release)
	<-closed
	<-finished
	p.Close() // a second Close does nothing
	defer func() {
		if v := recover(); v != ErrClosed {
			t.Errorf("Run after Close panicked with %v, want ErrClosed", v)
		}
	}()
	p.Run(func() { t.Error("Run after Close ran fn") })
}
