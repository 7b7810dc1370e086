package loadgen

import (
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Request kinds of the report.
const (
	KindSignin     = "signin"      // password sign-in from the account's familiar device
	KindSession    = "session"     // GET /api/v1/me with the session token
	KindCodeSignin = "code_signin" // password sign-in from a new device: answers the code step
	KindCodeSubmit = "code_submit" // submit_code with the code from the development inbox
	KindRefresh    = "refresh"     // OIDC refresh_token grant
)

var kindOrder = []string{KindSignin, KindSession, KindCodeSignin, KindCodeSubmit, KindRefresh}

// outcome is one finished request.
type outcome struct {
	kind    string
	latency time.Duration
	status  int    // 0: no answer (transport error or the generator's own failure)
	code    string // catalogue code of a refusal, or what went wrong
	ok      bool   // the answer the scenario wants
	refused bool   // 503 with Retry-After
}

// recorder collects outcomes from every iteration.
type recorder struct {
	mu    sync.Mutex
	kinds map[string]*kindStats
}

type kindStats struct {
	requests, ok, transport int
	latency                 []time.Duration // every answer but a 503 refusal
	refused                 []time.Duration // 503 with Retry-After
	status                  map[int]int
	errors                  map[errKey]int
}

type errKey struct {
	status int
	code   string
}

func newRecorder() *recorder { return &recorder{kinds: map[string]*kindStats{}} }

func (r *recorder) add(o outcome) {
	r.mu.Lock()
	defer r.mu.Unlock()
	k := r.kinds[o.kind]
	if k == nil {
		k = &kindStats{status: map[int]int{}, errors: map[errKey]int{}}
		r.kinds[o.kind] = k
	}
	k.requests++
	switch {
	case o.status == 0:
		k.transport++
		k.errors[errKey{0, o.code}]++
		return
	case o.refused:
		k.status[o.status]++
		k.refused = append(k.refused, o.latency)
		return
	}
	k.status[o.status]++
	k.latency = append(k.latency, o.latency)
	if o.ok {
		k.ok++
	} else {
		k.errors[errKey{o.status, o.code}]++
	}
}

// Report is what a run of `ninsho bench` measured. Its JSON field names are
// documented in docs/operations.md ("Load testing: ninsho bench").
type Report struct {
	Scenario string   `json:"scenario"`
	Targets  []string `json:"targets"`
	Accounts int      `json:"accounts"`
	// AccountsFrom is "seeded" (--seed, through the development inbox) or
	// "file" (--accounts).
	AccountsFrom string   `json:"accounts_from"`
	Skipped      []string `json:"skipped,omitempty"`
	Warnings     []string `json:"warnings,omitempty"`

	DurationS float64 `json:"duration_s"`
	// OfferedPerS is the arrival rate asked for: iterations started per
	// second whatever the answers. An iteration is one request, or two for
	// code (the new-device sign-in and its code).
	OfferedPerS float64 `json:"offered_per_s"`
	Offered     int     `json:"offered"`
	Started     int     `json:"started"`
	StartedPerS float64 `json:"started_per_s"`
	Dropped     int     `json:"dropped_by_generator"`
	MaxInFlight int     `json:"max_in_flight"`
	// ElapsedS is the whole run: the duration and the wait for the last
	// answers.
	ElapsedS     float64 `json:"elapsed_s"`
	Requests     int     `json:"requests"`
	RequestsPerS float64 `json:"requests_per_s"`
	OK           int     `json:"ok"`
	OKPerS       float64 `json:"ok_per_s"`
	Refused503   int     `json:"refused_503"`

	Kinds  []KindReport  `json:"kinds"`
	Errors []ErrorReport `json:"errors"`

	Memory *MemoryReport `json:"server_memory,omitempty"`
	// MemoryUnavailable says why the server's memory is not reported.
	MemoryUnavailable string      `json:"server_memory_unavailable,omitempty"`
	Hash              *HashReport `json:"hash_bound,omitempty"`
}

// KindReport is one request kind's figures.
type KindReport struct {
	Kind     string  `json:"kind"`
	Requests int     `json:"requests"`
	OK       int     `json:"ok"`
	OKPerS   float64 `json:"ok_per_s"`
	// Latencies in milliseconds of every answer except the 503 refusals.
	P50ms  float64 `json:"p50_ms"`
	P99ms  float64 `json:"p99_ms"`
	P999ms float64 `json:"p999_ms"`
	// Statuses counts the answers by HTTP status ("200": 812).
	Statuses   map[string]int `json:"statuses"`
	Refused503 int            `json:"refused_503"`
	// Refused503 latencies in milliseconds: a refusal should be quick.
	Refused503P50ms float64 `json:"refused_503_p50_ms"`
	Refused503P99ms float64 `json:"refused_503_p99_ms"`
	TransportErrors int     `json:"transport_errors"`
}

// ErrorReport counts the answers of one kind that were not the wanted one,
// by HTTP status and catalogue code (status 0: no answer — code "timeout",
// "transport" or "no_code_in_inbox").
type ErrorReport struct {
	Kind   string `json:"kind"`
	Status int    `json:"status"`
	Code   string `json:"code"`
	Count  int    `json:"count"`
}

// MemoryReport is the server's memory and goroutines from /metrics before
// and after the load.
type MemoryReport struct {
	URL    string  `json:"url"`
	Before Metrics `json:"before"`
	After  Metrics `json:"after"`
}

// HashReport is the bare argon2id cost measured on the machine bench runs
// on, with the server's parameters.
type HashReport struct {
	Params       string  `json:"params"`
	Workers      int     `json:"workers"`
	PerHashMs    float64 `json:"per_hash_ms"`
	LimitPerS    float64 `json:"limit_per_s"`
	SigninsPerS  float64 `json:"signins_per_s"`
	MeasuredForS float64 `json:"measured_for_s"`
}

func msOf(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// build fills the report's counts from the recorder.
func (r *recorder) build(rep *Report) {
	r.mu.Lock()
	defer r.mu.Unlock()
	d := rep.DurationS
	names := make([]string, 0, len(r.kinds))
	for name := range r.kinds {
		names = append(names, name)
	}
	sort.Slice(names, func(i, j int) bool { return kindRank(names[i]) < kindRank(names[j]) })
	rep.Kinds, rep.Errors = []KindReport{}, []ErrorReport{}
	for _, name := range names {
		k := r.kinds[name]
		slices.Sort(k.latency)
		slices.Sort(k.refused)
		kr := KindReport{Kind: name, Requests: k.requests, OK: k.ok, OKPerS: float64(k.ok) / d,
			P50ms: msOf(Quantile(k.latency, 0.5)), P99ms: msOf(Quantile(k.latency, 0.99)), P999ms: msOf(Quantile(k.latency, 0.999)),
			Statuses: map[string]int{}, Refused503: len(k.refused),
			Refused503P50ms: msOf(Quantile(k.refused, 0.5)), Refused503P99ms: msOf(Quantile(k.refused, 0.99)),
			TransportErrors: k.transport}
		for s, n := range k.status {
			kr.Statuses[strconv.Itoa(s)] = n
		}
		rep.Kinds = append(rep.Kinds, kr)
		rep.Requests += k.requests
		rep.OK += k.ok
		rep.Refused503 += len(k.refused)
		for e, n := range k.errors {
			rep.Errors = append(rep.Errors, ErrorReport{Kind: name, Status: e.status, Code: e.code, Count: n})
		}
	}
	sort.Slice(rep.Errors, func(i, j int) bool {
		a, b := rep.Errors[i], rep.Errors[j]
		if a.Kind != b.Kind {
			return kindRank(a.Kind) < kindRank(b.Kind)
		}
		if a.Count != b.Count {
			return a.Count > b.Count
		}
		return a.Status < b.Status || a.Status == b.Status && a.Code < b.Code
	})
	rep.RequestsPerS = float64(rep.Requests) / d
	rep.OKPerS = float64(rep.OK) / d
}

func kindRank(k string) int {
	if i := slices.Index(kindOrder, k); i >= 0 {
		return i
	}
	return len(kindOrder)
}

// Kind returns the figures of the request kind, or nil.
func (rep *Report) Kind(kind string) *KindReport {
	for i := range rep.Kinds {
		if rep.Kinds[i].Kind == kind {
			return &rep.Kinds[i]
		}
	}
	return nil
}

// ErrorCount returns how many answers of kind had status and code.
func (rep *Report) ErrorCount(kind string, status int, code string) int {
	for _, e := range rep.Errors {
		if e.Kind == kind && e.Status == status && e.Code == code {
			return e.Count
		}
	}
	return 0
}

// WriteText writes the report for people.
func (rep *Report) WriteText(w io.Writer) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
	p("ninsho bench: scenario %s against %s", rep.Scenario, strings.Join(rep.Targets, ", "))
	p("accounts: %d (%s)", rep.Accounts, rep.AccountsFrom)
	for _, s := range rep.Skipped {
		p("skipped: %s", s)
	}
	for _, s := range rep.Warnings {
		p("warning: %s", s)
	}
	p("offered %.1f/s for %.0fs (%d iterations): started %d (%.1f/s), dropped by generator %d, at most %d in flight",
		rep.OfferedPerS, rep.DurationS, rep.Offered, rep.Started, rep.StartedPerS, rep.Dropped, rep.MaxInFlight)
	p("answered %d requests (%.1f/s), %d as wanted (%.1f/s), 503 refusals %d; last answer after %.1fs",
		rep.Requests, rep.RequestsPerS, rep.OK, rep.OKPerS, rep.Refused503, rep.ElapsedS)
	p("")
	p("%-12s %9s %9s %9s %10s %10s %10s %8s %19s %9s", "kind", "requests", "ok", "ok/s", "p50", "p99", "p99.9", "503s", "503 p50 / p99", "no-answer")
	for _, k := range rep.Kinds {
		p("%-12s %9d %9d %9.1f %8.1fms %8.1fms %8.1fms %8d %8.1fms/%6.1fms %9d", k.Kind, k.Requests, k.OK, k.OKPerS,
			k.P50ms, k.P99ms, k.P999ms, k.Refused503, k.Refused503P50ms, k.Refused503P99ms, k.TransportErrors)
	}
	if len(rep.Errors) > 0 {
		p("")
		p("errors by status and code:")
		for _, e := range rep.Errors {
			p("  %-12s %3d %-32s ×%d", e.Kind, e.Status, e.Code, e.Count)
		}
	}
	p("")
	if m := rep.Memory; m != nil {
		p("server memory (%s): RSS %s → %s, heap in use %s → %s, Go sys %s → %s, goroutines %.0f → %.0f",
			m.URL, mib(m.Before.ResidentBytes), mib(m.After.ResidentBytes), mib(m.Before.HeapInuseBytes), mib(m.After.HeapInuseBytes),
			mib(m.Before.SysBytes), mib(m.After.SysBytes), m.Before.Goroutines, m.After.Goroutines)
		if share, hashes, ok := m.Before.HashCPUShare(m.After); ok {
			p("server CPU: %.1f s, of which password hashing %.1f%% (%.0f hashes; %.1f%% outside the hash)",
				m.After.CPUSeconds-m.Before.CPUSeconds, 100*share, hashes, 100*(1-share))
		}
	} else if rep.MemoryUnavailable != "" {
		p("server memory: not available (%s)", rep.MemoryUnavailable)
	}
	if h := rep.Hash; h != nil {
		p("sign-ins: %.1f/s achieved; hash-bound limit ≈ %.1f sign-ins/s on this machine (only meaningful when bench runs on the server's machine; argon2id %s, %.1f ms per hash on %d cores)",
			h.SigninsPerS, h.LimitPerS, h.Params, h.PerHashMs, h.Workers)
	}
}

func mib(b float64) string {
	if b < 0 {
		return "?"
	}
	return fmt.Sprintf("%.1f MiB", b/(1<<20))
}
