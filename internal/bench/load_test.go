package bench

import (
	"context"
	"github.com/ninsho/ninsho/internal/loadgen"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"
)

func TestQuantile(t *testing.T) {
	ms := func(n ...int) []time.Duration {
		var d []time.Duration
		for _, v := range n {
			d = append(d, time.Duration(v)*time.Millisecond)
		}
		return d
	}
	tests := []struct {
		sorted []time.Duration
		q      float64
		want   time.Duration
	}{
		{nil, 0.99, 0},
		{ms(7), 0.5, 7 * time.Millisecond},
		{ms(1, 2, 3, 4), 0.5, 2 * time.Millisecond},
		{ms(1, 2, 3, 4), 0.51, 3 * time.Millisecond},
		{ms(1, 2, 3, 4), 1, 4 * time.Millisecond},
		{ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 0.99, 10 * time.Millisecond},
	}
	for _, tt := range tests {
		if got := loadgen.Quantile(tt.sorted, tt.q); got != tt.want {
			t.Errorf("quantile(%v, %v) = %v, want %v", tt.sorted, tt.q, got, tt.want)
		}
	}
}

func TestParseProc(t *testing.T) {
	stat := "4242 (nin sho) S 1 4242 4242 0 -1 4194560 900 0 0 0 150 25 0 0 20 0 9 0 123 456 789"
	got, err := parseStatCPU(stat)
	if want := 175 * clockTick; err != nil || got != want {
		t.Errorf("parseStatCPU = %v, %v, want %v", got, err, want)
	}
	if _, err := parseStatCPU("4242 nin sho S"); err == nil {
		t.Error("parseStatCPU of a line without ')' did not fail")
	}
	status := "Name:\tninsho\nVmPeak:\t 1000 kB\nVmHWM:\t   20480 kB\nVmRSS:\t   10240 kB\n"
	for _, tt := range []struct {
		field string
		want  int64
	}{{"VmHWM", 20 << 20}, {"VmRSS", 10 << 20}} {
		if got, err := parseStatusKiB(status, tt.field); err != nil || got != tt.want {
			t.Errorf("parseStatusKiB(%s) = %v, %v, want %v", tt.field, got, err, tt.want)
		}
	}
	if _, err := parseStatusKiB(status, "VmSwap"); err == nil {
		t.Error("parseStatusKiB of a missing field did not fail")
	}
}

// TestLoops runs both load shapes briefly against the bare handler and checks
// the tallies, not the speed.
func TestLoops(t *testing.T) {
	srv := httptest.NewServer(BareHandler())
	defer srv.Close()
	notFound := httptest.NewServer(http.NotFoundHandler())
	defer notFound.Close()
	c := loadgen.NewClient(4, 5*time.Second)
	op := func(api *loadgen.API) loadgen.Op {
		return func(ctx context.Context, _, _ int) (loadgen.Reply, bool, error) {
			r, err := api.Get(ctx, "/api/v1/me", "token")
			return r, r.Status == http.StatusOK, err
		}
	}
	ctx := context.Background()

	r := loadgen.ClosedLoop(ctx, 4, 20*time.Millisecond, 100*time.Millisecond, op(&loadgen.API{Client: c, URL: srv.URL}))
	if r.OK == 0 || r.OK != r.Requests || r.Status[200] != r.OK || len(r.Latency) != r.OK {
		t.Errorf("closed loop: OK %d of %d, statuses %s, %d latencies", r.OK, r.Requests, r.StatusText(), len(r.Latency))
	}
	if r.AllOK < r.OK {
		t.Errorf("closed loop: AllOK %d < OK %d", r.AllOK, r.OK)
	}

	r = loadgen.OpenLoop(ctx, 200, 100*time.Millisecond, op(&loadgen.API{Client: c, URL: notFound.URL}))
	if r.Requests != 20 || r.OK != 0 || r.Status[404] != 20 || len(r.Other) != 20 || r.ServerErrors() != 0 {
		t.Errorf("open loop: %d requests, OK %d, statuses %s, %d other latencies, %d server errors",
			r.Requests, r.OK, r.StatusText(), len(r.Other), r.ServerErrors())
	}
}

func TestMergeAndMedian(t *testing.T) {
	a := &loadgen.Result{Window: 2 * time.Second, Requests: 5, OK: 4, AllOK: 6, Status: map[int]int{200: 4, 503: 1},
		Unavailable503: 1, Latency: []time.Duration{3, 9}, Other: []time.Duration{1}}
	b := &loadgen.Result{Window: 3 * time.Second, Requests: 6, OK: 6, AllOK: 7, Status: map[int]int{200: 6},
		Latency: []time.Duration{1, 5}}
	m := loadgen.Merge(a, b)
	if m.Window != 5*time.Second || m.Requests != 11 || m.OK != 10 || m.AllOK != 13 ||
		m.Status[200] != 10 || m.Status[503] != 1 || m.Unavailable503 != 1 {
		t.Fatalf("Merge = %+v", m)
	}
	if got := m.Rate(); got != 2 {
		t.Errorf("merged rate = %v, want 2 (10 in 5 s)", got)
	}
	if want := []time.Duration{1, 3, 5, 9}; !slices.Equal(m.Latency, want) {
		t.Errorf("merged latency = %v, want sorted %v", m.Latency, want)
	}
	for _, tt := range []struct {
		xs   []float64
		want float64
	}{{nil, 0}, {[]float64{0.8}, 0.8}, {[]float64{0.95, 0.83, 0.91}, 0.91}, {[]float64{4, 1, 3, 2}, 2.5}} {
		if got := median(tt.xs); got != tt.want {
			t.Errorf("median(%v) = %v, want %v", tt.xs, got, tt.want)
		}
	}
}
