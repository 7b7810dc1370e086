package loadgen

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// Op is one request of a load run. worker numbers the closed-loop worker (or
// is 0 in an open loop) and i counts the requests of the run. ok reports
// whether the answer is the one the run wants (a session, a 200); err is a
// transport failure.
type Op func(ctx context.Context, worker, i int) (r Reply, ok bool, err error)

// Result is what a load run measured in its window.
type Result struct {
	Window   time.Duration
	Requests int
	OK       int
	// AllOK counts the OK answers of the whole run, warm-up and tail
	// included, to divide the CPU time of the whole run by.
	AllOK int
	// Status counts answers by HTTP status; transport errors are in
	// Errors.
	Status map[int]int
	// Unavailable503 counts 503 answers with Retry-After; the rest of the
	// 503s are in Status only.
	Unavailable503 int
	Errors         int
	FirstError     error
	// Latency holds the latency of every OK answer, sorted.
	Latency []time.Duration
	// Other holds the latency of every other answer, sorted.
	Other []time.Duration
}

// Rate returns OK answers per second of the window.
func (r *Result) Rate() float64 { return float64(r.OK) / r.Window.Seconds() }

// Quantile returns the q-quantile (0 < q ≤ 1) of the OK latencies: the
// smallest latency that at least q of them do not exceed. It is 0 without
// OK answers.
func (r *Result) Quantile(q float64) time.Duration { return Quantile(r.Latency, q) }

// ServerErrors counts 5xx answers other than 503 with Retry-After.
func (r *Result) ServerErrors() int {
	n := 0
	for s, c := range r.Status {
		if s >= 500 {
			n += c
		}
	}
	return n - r.Unavailable503
}

// StatusText lists the counts by status, e.g. "200×812 503×40".
func (r *Result) StatusText() string {
	codes := make([]int, 0, len(r.Status))
	for s := range r.Status {
		codes = append(codes, s)
	}
	sort.Ints(codes)
	var b strings.Builder
	for _, s := range codes {
		fmt.Fprintf(&b, "%d×%d ", s, r.Status[s])
	}
	if r.Errors > 0 {
		fmt.Fprintf(&b, "transport-errors×%d (%v)", r.Errors, r.FirstError)
	}
	return strings.TrimSpace(b.String())
}

// Quantile returns the q-quantile (0 < q ≤ 1) of sorted: the smallest value
// that at least q of them do not exceed; 0 when sorted is empty.
func Quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// sample is one finished request.
type sample struct {
	end     time.Time
	latency time.Duration
	reply   Reply
	ok      bool
	err     error
}

// tally adds the samples that ended inside [from, to) to r.
func (r *Result) tally(samples []sample, from, to time.Time) {
	for _, s := range samples {
		if s.ok && s.err == nil {
			r.AllOK++
		}
		if s.end.Before(from) || !s.end.Before(to) {
			continue
		}
		r.Requests++
		switch {
		case s.err != nil:
			r.Errors++
			if r.FirstError == nil {
				r.FirstError = s.err
			}
			r.Other = append(r.Other, s.latency)
			continue
		case s.ok:
			r.OK++
			r.Latency = append(r.Latency, s.latency)
		default:
			r.Other = append(r.Other, s.latency)
		}
		r.Status[s.reply.Status]++
		if s.reply.RetryAfter {
			r.Unavailable503++
		}
	}
}

// Merge returns one result of runs measured one after another: windows,
// counts and latencies added up, so its rate is the rate over all of them.
func Merge(runs ...*Result) *Result {
	m := NewResult(0)
	for _, r := range runs {
		m.Window += r.Window
		m.Requests += r.Requests
		m.OK += r.OK
		m.AllOK += r.AllOK
		for s, n := range r.Status {
			m.Status[s] += n
		}
		m.Unavailable503 += r.Unavailable503
		m.Errors += r.Errors
		if m.FirstError == nil {
			m.FirstError = r.FirstError
		}
		m.Latency = append(m.Latency, r.Latency...)
		m.Other = append(m.Other, r.Other...)
	}
	return m.finish()
}

// NewResult returns an empty result of the window.
func NewResult(window time.Duration) *Result {
	return &Result{Window: window, Status: map[int]int{}}
}

func (r *Result) finish() *Result {
	slices.Sort(r.Latency)
	slices.Sort(r.Other)
	return r
}

// ClosedLoop runs workers workers, each sending its next request as soon as
// the previous one is answered, for warmup and then window. Only requests
// that end inside the window count, so the figures are those of the steady
// state.
func ClosedLoop(ctx context.Context, workers int, warmup, window time.Duration, op Op) *Result {
	start := time.Now()
	from, to := start.Add(warmup), start.Add(warmup+window)
	per := make([][]sample, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; ctx.Err() == nil; i += workers {
				t := time.Now()
				if !t.Before(to) {
					return
				}
				reply, ok, err := op(ctx, w, i)
				end := time.Now()
				per[w] = append(per[w], sample{end: end, latency: end.Sub(t), reply: reply, ok: ok, err: err})
			}
		})
	}
	wg.Wait()
	r := NewResult(window)
	for _, s := range per {
		r.tally(s, from, to)
	}
	return r.finish()
}

// OpenLoop starts rate requests per second, evenly spaced and each in its own
// goroutine whatever the answers to the earlier ones, for d; then it waits
// for every answer. Every request counts, and the result's window is d.
func OpenLoop(ctx context.Context, rate float64, d time.Duration, op Op) *Result {
	start := time.Now()
	n := int(rate * d.Seconds())
	samples := make([]sample, n)
	var wg sync.WaitGroup
	for i := range n {
		at := start.Add(time.Duration(float64(i) / rate * float64(time.Second)))
		if wait := time.Until(at); wait > 0 {
			select {
			case <-ctx.Done():
			case <-time.After(wait):
			}
		}
		if ctx.Err() != nil {
			samples = samples[:i]
			break
		}
		wg.Go(func() {
			t := time.Now()
			reply, ok, err := op(ctx, 0, i)
			end := time.Now()
			samples[i] = sample{end: end, latency: end.Sub(t), reply: reply, ok: ok, err: err}
		})
	}
	wg.Wait()
	r := NewResult(d)
	r.tally(samples, time.Time{}, time.Now().Add(time.Hour))
	return r.finish()
}

// Probe sends GET path to api every interval until ctx ends, each within the
// client's timeout, and returns how many answered 200, how many did not (an
// error, a timeout or another status) and the latencies of all, sorted.
func Probe(ctx context.Context, api *API, path string, interval time.Duration) (ok, failed int, latency []time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			slices.Sort(latency)
			return ok, failed, latency
		case <-t.C:
		}
		start := time.Now()
		// The probe's own context: ctx ending must not fail the last probe.
		r, err := api.Get(context.Background(), path, "")
		latency = append(latency, time.Since(start))
		if err == nil && r.Status == http.StatusOK {
			ok++
		} else {
			failed++
		}
	}
}
