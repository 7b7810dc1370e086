package loadgen

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestOpenArrivalsKeepRate: against a handler that takes 2 s — longer than
// the whole run — an open loop of 40/s for a second starts all 40 requests
// before the first answer comes back: the achieved start rate is the
// offered one, and every request was in flight at once. A generator that
// waited for answers could not start the second before 2 s.
func TestOpenArrivalsKeepRate(t *testing.T) {
	const delay = 2 * time.Second
	var served atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(delay) // the slow server under test, not a wait for time to pass
		served.Add(1)
	}))
	defer srv.Close()
	api := &API{Client: NewClient(100, 10*time.Second), URL: srv.URL}
	var answered atomic.Int32
	var startedBeforeAnswer atomic.Int32
	a := OpenArrivals(context.Background(), 40, time.Second, 100, func(ctx context.Context, i int) {
		if answered.Load() == 0 {
			startedBeforeAnswer.Add(1)
		}
		if _, err := api.Get(ctx, "/", ""); err != nil {
			t.Errorf("request %d: %v", i, err)
		}
		answered.Add(1)
	})
	if a.Offered != 40 || a.Started != 40 || a.Dropped != 0 || served.Load() != 40 {
		t.Fatalf("offered %d, started %d, dropped %d, served %d; want 40, 40, 0, 40", a.Offered, a.Started, a.Dropped, served.Load())
	}
	if rate := float64(a.Started) / time.Second.Seconds(); rate != 40 {
		t.Errorf("achieved start rate %.1f/s, offered 40/s", rate)
	}
	if startedBeforeAnswer.Load() != 40 || a.MaxInFlight != 40 || a.LastStart >= delay {
		t.Errorf("%d started before the first answer, at most %d in flight, last start at %v: the loop waited for answers",
			startedBeforeAnswer.Load(), a.MaxInFlight, a.LastStart)
	}
}

// TestOpenArrivalsDrop: with 3 in flight at most and no answer yet, the
// arrivals beyond are dropped by the generator and counted, never sent.
func TestOpenArrivalsDrop(t *testing.T) {
	release := make(chan struct{})
	var served atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release
		served.Add(1)
	}))
	defer srv.Close()
	api := &API{Client: NewClient(10, 5*time.Second), URL: srv.URL}
	// Nothing is answered before the loop's 200 ms are over.
	time.AfterFunc(500*time.Millisecond, func() { close(release) })
	a := OpenArrivals(context.Background(), 100, 200*time.Millisecond, 3, func(ctx context.Context, i int) {
		api.Get(ctx, "/", "")
	})
	if a.Offered != 20 || a.Started != 3 || a.Dropped != 17 || served.Load() != 3 {
		t.Errorf("offered %d, started %d, dropped %d, served %d; want 20, 3, 17, 3", a.Offered, a.Started, a.Dropped, served.Load())
	}
}

func TestParseMetrics(t *testing.T) {
	text := `# HELP go_goroutines Number of goroutines.
# TYPE go_goroutines gauge
go_goroutines 42
go_memstats_heap_inuse_bytes 1.2582912e+07
go_memstats_sys_bytes 3.3554432e+07
go_gc_duration_seconds{quantile="0"} 1e-05
process_resident_memory_bytes 5.0331648e+07 1700000000000
`
	m, err := ParseMetrics(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	if m.Goroutines != 42 || m.HeapInuseBytes != 12<<20 || m.SysBytes != 32<<20 || m.ResidentBytes != 48<<20 || m.HeapAllocBytes != -1 {
		t.Errorf("ParseMetrics = %+v", m)
	}
	if _, _, ok := m.HashCPUShare(m); ok {
		t.Error("a hash CPU share without CPU figures")
	}
	before, err := ParseMetrics(strings.NewReader("process_cpu_seconds_total 10\nninsho_password_hash_cpu_seconds_total 8\nninsho_password_hashes_total 400\n"))
	if err != nil {
		t.Fatal(err)
	}
	after, err := ParseMetrics(strings.NewReader("process_cpu_seconds_total 30\nninsho_password_hash_cpu_seconds_total 26.5\nninsho_password_hashes_total 1200\n"))
	if err != nil {
		t.Fatal(err)
	}
	if share, hashes, ok := before.HashCPUShare(after); !ok || share != 0.925 || hashes != 800 {
		t.Errorf("HashCPUShare = %v, %v, %v; want 0.925, 800, true", share, hashes, ok)
	}
	if _, _, ok := after.HashCPUShare(after); ok {
		t.Error("a hash CPU share over no CPU time")
	}
	if _, err := ParseMetrics(strings.NewReader("ninsho_up 1\n")); err == nil {
		t.Error("metrics without memory figures parsed")
	}
	if _, err := ParseMetrics(strings.NewReader("go_goroutines many\n")); err == nil {
		t.Error("a malformed value parsed")
	}
}

func TestReadAccounts(t *testing.T) {
	accs, err := ReadAccounts(strings.NewReader(`{"identifier": "a@example.com", "password": "pw-1"}

{"identifier": "b@example.com", "password": "pw-2", "device_token": "d", "session_token": "s"}
`))
	if err != nil || len(accs) != 2 || accs[1].DeviceToken != "d" || accs[1].SessionToken != "s" || accs[0].Password != "pw-1" {
		t.Fatalf("ReadAccounts = %+v, %v", accs, err)
	}
	for in, want := range map[string]string{
		`{"identifier": "a@example.com"}`:                            "line 1: identifier and password are required",
		"\n{\"identifier\": \"a\", \"password\": \"p\", \"pin\": 1}": "line 2: not a JSON object",
		`not json`: "line 1: not a JSON object",
		"":         "holds no account",
		`{"identifier": "a", "password": "p"} {"identifier": "b"}`:    "line 1: not a JSON object",
		"{\"identifier\": \"a\", \"password\": \"secret-pw\"}\n[1]\n": "line 2",
	} {
		_, err := ReadAccounts(strings.NewReader(in))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ReadAccounts(%q) = %v, want an error with %q", in, err, want)
		}
		if err != nil && strings.Contains(err.Error(), "secret-pw") {
			t.Errorf("the error quotes a password: %v", err)
		}
	}
}

func TestParseFlags(t *testing.T) {
	p, err := ParseHashParams("m=65536,t=3,p=4")
	if err != nil || p.Memory != 65536 || p.Time != 3 || p.Threads != 4 || p.KeyLen != 32 {
		t.Errorf("ParseHashParams = %+v, %v", p, err)
	}
	for _, bad := range []string{"m=0", "x=1", "m=big", "p=300", "m"} {
		if _, err := ParseHashParams(bad); err == nil {
			t.Errorf("ParseHashParams(%q) accepted", bad)
		}
	}
	for in, want := range map[string]float64{"50": 50, "12.5/s": 12.5, " 3/s ": 3} {
		if got, err := ParseRate(in); err != nil || got != want {
			t.Errorf("ParseRate(%q) = %v, %v", in, got, err)
		}
	}
	for _, bad := range []string{"0", "-1", "fast", "5/m"} {
		if _, err := ParseRate(bad); err == nil {
			t.Errorf("ParseRate(%q) accepted", bad)
		}
	}
}

// TestSchedule: the mix's kinds interleave in their shares, and a kind the
// target cannot serve gives its share to another and is named as skipped.
func TestSchedule(t *testing.T) {
	r := &run{cfg: Config{Scenario: ScenarioMix, Mix: DefaultMix, Rate: 1, Duration: time.Second},
		signin: []Account{{Identifier: "a", Password: "p", DeviceToken: "d", SessionToken: "s"}}, inbox: true}
	r.session = r.signin
	rep := &Report{}
	plan := r.schedule(context.Background(), rep)
	count := map[string]int{}
	for _, k := range plan {
		count[k]++
	}
	// No OIDC client: refresh's 5 go to session checks.
	if len(plan) != 100 || count[KindSession] != 70 || count[KindSignin] != 25 || count[ScenarioCode] != 5 || count[KindRefresh] != 0 {
		t.Errorf("plan counts %v of %d", count, len(plan))
	}
	if len(rep.Skipped) != 1 || !strings.HasPrefix(rep.Skipped[0], "refresh: no OIDC client given") {
		t.Errorf("skipped %q", rep.Skipped)
	}
	// Evenly interleaved: no two code iterations in the first 20 slots.
	if n := strings.Count(strings.Join(plan[:20], " "), ScenarioCode); n != 1 {
		t.Errorf("first 20 slots hold %d code iterations: %v", n, plan[:20])
	}

	r.inbox = false
	r.cfg.Scenario = ScenarioCode
	rep = &Report{}
	if plan := r.schedule(context.Background(), rep); len(plan) != 0 || len(rep.Skipped) != 1 || !strings.Contains(rep.Skipped[0], "development inbox") {
		t.Errorf("code without an inbox: plan %v, skipped %q", plan, rep.Skipped)
	}
}
