package bench

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/loadgen"
	"github.com/ninsho/ninsho/internal/password"
	"github.com/ninsho/ninsho/internal/totp"
)

// The TOTP benchmark's own accounts, seeded once per run on the fixture's
// data directory when the benchmark first runs. It is the last benchmark of
// the package, so the others run before these accounts exist.
var totpShared struct {
	once sync.Once
	accs []TOTPAccount
	took time.Duration
	err  error
}

// totpAddresses is where the TOTP benchmark's client addresses start
// (10.128.0.0): apart from the other benchmarks', whose clients count from
// 10.0.0.0, so that neither adds to the other's per-address and per-network
// counters.
const totpAddresses = 1 << 23

func mustTOTPAccounts(b *testing.B, fx *fixture, n int) ([]TOTPAccount, time.Duration) {
	b.Helper()
	totpShared.once.Do(func() {
		ctx := b.Context()
		start := time.Now()
		srv, err := fx.startNinsho(ctx, "totp-seed")
		if err != nil {
			totpShared.err = err
			return
		}
		defer srv.Stop()
		api := &loadgen.API{Client: loadgen.NewClientFrom(16, 30*time.Second, totpAddresses), URL: srv.URL}
		if totpShared.accs, err = SeedTOTP(ctx, api, "totp", n, 4*fx.cores); err != nil {
			totpShared.err = err
			return
		}
		totpShared.err = srv.Stop()
		totpShared.took = time.Since(start)
	})
	if totpShared.err != nil {
		b.Fatal(totpShared.err)
	}
	return totpShared.accs, totpShared.took
}

// codeTally counts the answers that were not what a sign-in wants, by the
// step that got them and their status and error codes.
type codeTally struct {
	mu sync.Mutex
	n  map[string]int
}

func (t *codeTally) add(stage string, r loadgen.Reply) {
	what := r.ErrorCodes()
	if what == "" && r.Flow != nil {
		what = r.Flow.Status
		if r.Flow.Next != nil {
			what += " at " + r.Flow.Next.Step
		}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.n == nil {
		t.n = map[string]int{}
	}
	t.n[fmt.Sprintf("%s: %d %s", stage, r.Status, what)]++
}

func (t *codeTally) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.n) == 0 {
		return "none"
	}
	var parts []string
	for k, v := range t.n {
		parts = append(parts, fmt.Sprintf("%s ×%d", k, v))
	}
	slices.Sort(parts)
	return strings.Join(parts, "; ")
}

func (t *codeTally) total() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for _, v := range t.n {
		n += v
	}
	return n
}

// totpOp signs in with the password and then the authenticator app's code
// (two requests) as the roster's accounts, from their own devices. ok is a
// completed sign-in with a session.
func totpOp(api *loadgen.API, roster *Roster, bad *codeTally) loadgen.Op {
	return func(ctx context.Context, _, _ int) (loadgen.Reply, bool, error) {
		i, err := roster.Take(ctx)
		if err != nil {
			return loadgen.Reply{}, false, err
		}
		acc := roster.Account(i)
		r, err := api.Signin(ctx, acc.Identifier, acc.Password, acc.DeviceToken)
		if err != nil || r.Status != http.StatusOK || !r.Flow.At("second_factor") || r.Flow.Next.Method != "totp" {
			roster.Release(i, 0)
			if err == nil {
				bad.add("password", r)
			}
			return r, false, err
		}
		step, code, err := roster.Code(i)
		if err != nil {
			roster.Release(i, 0)
			return r, false, err
		}
		r, err = api.Act(ctx, r.Flow.ID, "submit_second_factor", map[string]any{
			"code": code, "trust_device": false, "device_token": acc.DeviceToken,
		})
		roster.Release(i, step)
		if err == nil && !r.SignedIn() {
			bad.add("second_factor", r)
		}
		return r, r.SignedIn(), err
	}
}

// BenchmarkSigninTOTP gives the sign-ins per second of accounts with an
// authenticator app, over HTTP like BenchmarkSignin: the password
// (POST /api/v1/signin, answered `challenge` at `second_factor`), then
// submit_second_factor with the code computed from the account's secret,
// which completes with a session. Its accounts are its own, enrolled through
// the documented API, and so many that no account is asked for a code of a
// step it has used (the server accepts one code per account and step). The
// issue sets no goal for the rate; the benchmark fails when a sign-in does
// not complete or when it had too few accounts for its rate.
func BenchmarkSigninTOTP(b *testing.B) {
	fx := mustFixture(b)
	ctx := b.Context()
	warmup := 3 * time.Second
	// Sized by the hash-bound limit, which no sign-in rate exceeds: cores ÷
	// the CPU time of a hash, which other processes on the machine do not
	// lower as they lower the rate measured in wall time.
	est := mustMeasureHashFor(b, fx.cores, 2*time.Second)
	bound := max(est.PerSecond, float64(fx.cores)/est.CPU.Seconds())
	accs, seeded := mustTOTPAccounts(b, fx, TOTPAccountsFor(bound, warmup+*loadTime))
	srv := mustStart(b, func() (*Process, error) { return fx.startNinsho(ctx, "totp") })
	workers := signinPer * fx.cores
	api := &loadgen.API{Client: loadgen.NewClientFrom(workers, 30*time.Second, totpAddresses+1<<20), URL: srv.URL}
	roster := NewRoster(accs)
	var bad codeTally
	m := startMeter(fx.cores, srv)

	before := mustMeasureHash(b, fx.cores)
	cpu0 := mustCPU(b, srv)
	res := loadgen.ClosedLoop(ctx, workers, warmup, *loadTime, totpOp(api, roster, &bad))
	cpu := mustCPU(b, srv) - cpu0
	after := mustMeasureHash(b, fx.cores)
	peak := mustPeak(b, srv)

	limit := (before.PerSecond + after.PerSecond) / 2
	hashCPU := (before.CPU + after.CPU) / 2
	ratio := res.Rate() / limit
	cpuPer := cpu / time.Duration(max(res.AllOK, 1))
	cpuRatio := hashCPU.Seconds() / cpuPer.Seconds()

	r := newReport(b, "signin totp")
	r.figure("cores (GOMAXPROCS)", "%d", fx.cores)
	r.figure("clients", "%d closed-loop, keep-alive", workers)
	r.figure("accounts with an authenticator app", "%d (seeded in %v; sized for %.0f sign-ins/s)", len(accs), seeded.Round(time.Second), bound)
	r.figure("bare hash before: rate, wall, CPU", "%.2f/s, %v, %v", before.PerSecond, ms(before.PerHash), ms(before.CPU))
	r.figure("bare hash after: rate, wall, CPU", "%.2f/s, %v, %v", after.PerSecond, ms(after.PerHash), ms(after.CPU))
	r.figure("hash-bound limit (mean)", "%.2f/s", limit)
	r.figure("TOTP sign-ins", "%d in %v = %.2f/s", res.OK, res.Window, res.Rate())
	r.figure("TOTP sign-ins ÷ hash-bound limit", "%.3f", ratio)
	r.figure("answers (of the code step)", "%s", res.StatusText())
	r.figure("latency p50 / p99 (both requests)", "%v / %v", ms(res.Quantile(0.5)), ms(res.Quantile(0.99)))
	r.figure("server CPU per sign-in", "%v", ms(cpuPer))
	r.figure("bare hash CPU ÷ server CPU per sign-in", "%.3f (%.1f%% of a sign-in's CPU outside the hash)",
		cpuRatio, 100*(1-cpuRatio))
	r.figure("refusals by step and code", "%s", bad.String())
	r.figure("server peak RSS", "%.0f MiB", mib(peak))
	m.log(r)
	r.goal("(totp) every sign-in completes", res.OK == res.Requests && bad.total() == 0,
		fmt.Sprintf("%d of %d, %d refused", res.OK, res.Requests, bad.total()), "all, none refused")
	r.goal("(totp) no sign-in waited for a fresh code step", roster.Waits() == 0,
		fmt.Sprint(roster.Waits()), "0")

	b.ReportMetric(res.Rate(), "signins/s")
	b.ReportMetric(limit, "hash-limit/s")
	b.ReportMetric(ratio, "ratio")
	b.ReportMetric(float64(res.Quantile(0.5))/1e6, "p50-ms")
	b.ReportMetric(float64(res.Quantile(0.99))/1e6, "p99-ms")
	b.ReportMetric(float64(cpuPer)/1e6, "server-CPU-ms/signin")
	b.ReportMetric(cpuRatio, "cpu-ratio")
	r.done()
}

func mustMeasureHashFor(b *testing.B, workers int, d time.Duration) loadgen.HashRate {
	b.Helper()
	h, err := loadgen.MeasureHash(b.Context(), password.DefaultParams(), workers, d)
	if err != nil {
		b.Fatal(err)
	}
	return h
}

func TestFreshStep(t *testing.T) {
	base := time.Unix(1_800_000_000-1_800_000_000%totp.Period, 0) // the start of a step
	s := totp.Step(base)
	for _, tc := range []struct {
		last int64
		at   time.Duration
		want int64
	}{
		{0, 0, s - 1},                        // the step before is still accepted
		{0, 26 * time.Second, s - 1},         // 4 s left: still safe
		{0, 27 * time.Second, s},             // 3 s left: the server may be a step on
		{s - 1, 0, s},                        // after the last one used
		{s, 10 * time.Second, s + 1},         // one step ahead is accepted
		{s - 5, 10 * time.Second, s - 1},     // long unused
		{s - 5, 29500 * time.Millisecond, s}, // long unused, near the end
	} {
		if got := freshStep(tc.last, base.Add(tc.at)); got != tc.want {
			t.Errorf("freshStep(%d, +%v) = %d, want %d", tc.last-s, tc.at, got-s, tc.want-s)
		}
	}
}

// TestRosterSized runs a simulated closed loop at the rate the accounts were
// sized for, from every start within a step, with accounts enrolled just
// before: no account is asked for a used step or for one the server no
// longer accepts, and no sign-in waits for a step.
func TestRosterSized(t *testing.T) {
	const rate = 100.0
	base := time.Unix(1_800_000_000-1_800_000_000%totp.Period, 0)
	for _, span := range []time.Duration{8 * time.Second, 18 * time.Second, 33 * time.Second} {
		n := TOTPAccountsFor(rate, span)
		for at := time.Duration(0); at < totp.Period*time.Second; at += 2500 * time.Millisecond {
			for _, gap := range []time.Duration{2 * time.Second, 5 * time.Second} {
				start := base.Add(at)
				accs := make([]TOTPAccount, n)
				for j := range accs {
					// Enrolled one after another over the 10 s before gap.
					enrolled := start.Add(-gap - time.Duration(n-j)*10*time.Second/time.Duration(n))
					accs[j] = TOTPAccount{Secret: "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", Last: freshStep(0, enrolled)}
				}
				clock := start
				r := NewRoster(accs)
				r.now = func() time.Time { return clock }
				r.sleep = func(_ context.Context, d time.Duration) error { clock = clock.Add(d); return nil }
				for clock.Before(start.Add(span)) {
					i, err := r.Take(t.Context())
					if err != nil {
						t.Fatal(err)
					}
					last := r.Account(i).Last
					step, code, err := r.Code(i)
					if err != nil || len(code) != totp.Digits {
						t.Fatalf("code %q, %v", code, err)
					}
					// The code reaches the server up to a second later.
					if step <= last || step < totp.Step(clock.Add(time.Second))-1 || step > totp.Step(clock)+1 {
						t.Fatalf("span %v, start +%v, gap %v: step %d after %d at step %d",
							span, at, gap, step, last, totp.Step(clock))
					}
					r.Release(i, step)
					clock = clock.Add(time.Duration(float64(time.Second) / rate))
				}
				if w := r.Waits(); w != 0 {
					t.Errorf("span %v, start +%v, gap %v: %d accounts: %d waits", span, at, gap, n, w)
				}
			}
		}
	}
}
