package bench

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/loadgen"
	"github.com/ninsho/ninsho/internal/password"
	"github.com/ninsho/ninsho/internal/signin"
)

var (
	loadTime = flag.Duration("load", 15*time.Second, "measured window of each main load phase")
	keep     = flag.Bool("keep", false, "keep the work directory (binaries, data, server logs) and print its path")
	config   = flag.String("config", "", "configuration file for ninsho serve --config (give \"mode\": \"development\" to keep the development inbox)")
)

// Sizes of the seeded population and of the loads.
const (
	seedUsers   = 64   // sign in, check sessions
	seedVictims = 32   // targets of the flood, so that the others stay clean
	floodConns  = 1000 // concurrent wrong-password sign-ins
	meConnsPer  = 8    // session-check connections per core
	// signinPer is the sign-in clients per core of the closed loops: two
	// per hash slot keep every slot busy (one hashes while the other does
	// its reads and writes or waits), yet stay within what the hash
	// limiter admits without refusing (password.max_wait, 150 ms) even where
	// a hash takes 40 ms; four per core were refused on such a machine
	// and measured the 503 loop instead of the server.
	signinPer = 2
)

// The sign-in benchmark's load windows, and the bare hash measured beside
// each of them. The machine's speed drifts by several per cent within
// seconds, so the windows are short and many: each window's ratio is taken
// against hashes measured a second or two before and after it.
const (
	signinRounds = 6
	hashPhase    = 1500 * time.Millisecond
)

// Goals of DESIGN §8 as the issue states them.
const (
	goalSigninRatio = 0.90
	goalMeRatio     = 0.75
	goalOverloadP99 = 300 * time.Millisecond
	// goalRefusal is the longest a 503 refusal may take (its p99).
	goalRefusal = 5 * time.Millisecond
	// goalGoodput is the share of the sustainable rate that must still
	// complete at twice that rate.
	goalGoodput     = 0.90
	goalOverloadRSS = 512 << 20
	goalFloodRSS    = 256 << 20
	// readyTimeout is how long /readyz may take during the flood to count
	// as answering: the default timeout of a Kubernetes readiness probe.
	readyTimeout = time.Second
)

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.fx != nil {
		if *keep {
			fmt.Fprintf(os.Stderr, "bench: work directory kept: %s\n", shared.fx.dir)
		} else {
			os.RemoveAll(shared.fx.dir)
		}
	}
	os.Exit(code)
}

// fixture is what the benchmarks of one run share: the binaries and a data
// directory with seeded accounts. Each benchmark starts its own server
// process on it, so that each peak RSS is its own.
type fixture struct {
	dir     string
	ninsho  string // binary
	bare    string // binary
	data    string
	env     []string
	cores   int
	users   []loadgen.Account
	victims []loadgen.Account
}

var shared struct {
	once sync.Once
	fx   *fixture
	err  error
}

func mustFixture(b *testing.B) *fixture {
	b.Helper()
	shared.once.Do(func() { shared.fx, shared.err = newFixture(b.Context()) })
	if shared.err != nil {
		b.Fatal(shared.err)
	}
	return shared.fx
}

func newFixture(ctx context.Context) (*fixture, error) {
	dir, err := os.MkdirTemp("", "ninsho-bench-")
	if err != nil {
		return nil, err
	}
	fx := &fixture{
		dir:    dir,
		ninsho: filepath.Join(dir, "ninsho"),
		bare:   filepath.Join(dir, "bareserver"),
		data:   filepath.Join(dir, "data"),
		cores:  runtime.GOMAXPROCS(0),
	}
	shared.fx = fx // removed by TestMain even if the rest fails
	// The servers get this environment without NINSHO_* variables, so that
	// the benchmark always measures the development configuration.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "NINSHO_") {
			fx.env = append(fx.env, kv)
		}
	}
	if err := Build(ctx, "github.com/ninsho/ninsho/cmd/ninsho", fx.ninsho); err != nil {
		return fx, err
	}
	if err := Build(ctx, "github.com/ninsho/ninsho/internal/bench/bareserver", fx.bare); err != nil {
		return fx, err
	}
	srv, err := fx.startNinsho(ctx, "seed")
	if err != nil {
		return fx, err
	}
	defer srv.Stop()
	api := &loadgen.API{Client: loadgen.NewClient(16, 30*time.Second), URL: srv.URL}
	if fx.users, err = api.Seed(ctx, "user", seedUsers, 2*fx.cores); err != nil {
		return fx, err
	}
	if fx.victims, err = api.Seed(ctx, "victim", seedVictims, 2*fx.cores); err != nil {
		return fx, err
	}
	return fx, srv.Stop()
}

// startNinsho starts `ninsho serve` on the fixture's data directory and a
// free loopback port, with the -config file if one is given, logging to
// <name>.log.
func (fx *fixture) startNinsho(ctx context.Context, name string) (*Process, error) {
	args, err := fx.serveArgs()
	if err != nil {
		return nil, err
	}
	return Start(ctx, fx.ninsho, args, fx.env, filepath.Join(fx.dir, name+".log"), "running at", "/readyz")
}

// serveArgs are the arguments of `ninsho serve` for the fixture.
func (fx *fixture) serveArgs() ([]string, error) {
	args := []string{"serve", "--data-dir", fx.data, "--addr", "127.0.0.1:0", "--trusted-proxy", "127.0.0.1/32"}
	if *config != "" {
		path, err := filepath.Abs(*config)
		if err != nil {
			return nil, err
		}
		args = append(args, "--config", path)
	}
	return args, nil
}

func mustStart(b *testing.B, start func() (*Process, error)) *Process {
	b.Helper()
	p, err := start()
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		if err := p.Stop(); err != nil {
			b.Errorf("server: %v", err)
		}
	})
	return p
}

// signinOp signs in as the users in turn, from their own devices.
func (fx *fixture) signinOp(api *loadgen.API) loadgen.Op {
	return func(ctx context.Context, _, i int) (loadgen.Reply, bool, error) {
		u := fx.users[i%len(fx.users)]
		r, err := api.Signin(ctx, u.Identifier, u.Password, u.DeviceToken)
		return r, r.SignedIn(), err
	}
}

// getOp requests path with the users' session tokens in turn; ok is a 200.
func (fx *fixture) getOp(api *loadgen.API, path string) loadgen.Op {
	return func(ctx context.Context, _, i int) (loadgen.Reply, bool, error) {
		r, err := api.Get(ctx, path, fx.users[i%len(fx.users)].SessionToken)
		return r, r.Status == http.StatusOK, err
	}
}

// phase is the length of the shorter phases: a third of -load, at least 2 s.
func phase() time.Duration { return max(*loadTime/3, 2*time.Second) }

// BenchmarkSignin holds goal (a): complete password sign-ins over HTTP reach
// at least 90% of the hash-bound limit, cores ÷ the time of one bare
// verification with the same parameters and as many at once as cores.
//
// A shared virtual machine changes speed by several per cent within a
// minute, so the limit is measured next to the load rather than once for
// it: the load runs in signinRounds windows of -load ÷ signinRounds, with
// the bare hash measured before the first and after each window, and each
// window's ratio is its sign-in rate over the mean of the two hash
// measurements on either side of it. The goal holds for the median of the
// windows' ratios; the pooled ratio (all sign-ins over all windows ÷ the
// mean of every hash measurement) and the CPU ratio (which no other process
// on the machine can move: bare hash CPU ÷ the server's CPU per sign-in)
// are reported beside it.
//
// One more window follows the six, with perf sampling the server in place
// (SampleHashShare). perf takes about 3% of the machine while it records,
// and the samples' interrupts land on the server's threads, so that window
// says where the server's CPU went but counts in none of the figures
// above; its ratio is reported on its own line.
func BenchmarkSignin(b *testing.B) {
	fx := mustFixture(b)
	ctx := b.Context()
	srv := mustStart(b, func() (*Process, error) { return fx.startNinsho(ctx, "signin") })
	fx.signinGoal(b, "signin", srv, fx.cores, func(d time.Duration) loadgen.HashRate { return mustMeasureHashFor(b, fx.cores, d) })
}

// signinGoal runs goal (a) (BenchmarkSignin) against srv, whose hashing has
// cores processors, with measure timing the bare hash on the same ones.
func (fx *fixture) signinGoal(b *testing.B, name string, srv *Process, cores int, measure func(time.Duration) loadgen.HashRate) {
	ctx := b.Context()
	workers := signinPer * cores
	api := &loadgen.API{Client: loadgen.NewClient(workers, 30*time.Second), URL: srv.URL}
	m := startMeter(fx.cores, srv)

	window := max(*loadTime/signinRounds, 2*time.Second)
	hashes := []loadgen.HashRate{measure(hashPhase)}
	var rounds []*loadgen.Result
	var ratios []float64
	var splits []cpuShares
	var cpu time.Duration
	// The server's own account of its hashing (the hashing threads' CPU
	// time, /metrics) against its process CPU time, in every window.
	mc := &http.Client{Timeout: 5 * time.Second}
	scrape := func() (loadgen.Metrics, error) { return loadgen.ScrapeMetrics(ctx, mc, srv.URL+"/metrics", "") }
	var hashShares []float64
	var firstScrape, lastScrape loadgen.Metrics
	for i := range signinRounds {
		// The first window warms the server up; later ones only need
		// every client to be back in the queue.
		warmup := 500 * time.Millisecond
		if i == 0 {
			warmup = 3 * time.Second
		}
		cpu0 := mustCPU(b, srv)
		wm := startMeter(fx.cores, srv)
		m0, err0 := scrape()
		res := loadgen.ClosedLoop(ctx, workers, warmup, window, fx.signinOp(api))
		m1, err1 := scrape()
		cpu += mustCPU(b, srv) - cpu0
		if share, _, ok := m0.HashCPUShare(m1); ok && err0 == nil && err1 == nil {
			hashShares = append(hashShares, share)
			if i == 0 {
				firstScrape = m0
			}
			lastScrape = m1
		}
		if s, ok := wm.shares(); ok {
			splits = append(splits, s)
		}
		hashes = append(hashes, measure(hashPhase))
		rounds = append(rounds, res)
		ratios = append(ratios, res.Rate()/((hashes[i].PerSecond+hashes[i+1].PerSecond)/2))
	}
	// The profiled window, outside the goal's figures (see BenchmarkSignin).
	warmup := 500 * time.Millisecond
	var inSitu HashShare
	var inSituErr error
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		inSitu, inSituErr = SampleHashShare(ctx, srv.PID(), warmup, window, fx.dir)
	}()
	profiled := loadgen.ClosedLoop(ctx, workers, warmup, window, fx.signinOp(api))
	<-sampled // perf writes its file after the window
	profiledHash := measure(hashPhase)
	profiledRatio := profiled.Rate() / ((hashes[signinRounds].PerSecond + profiledHash.PerSecond) / 2)
	peak := mustPeak(b, srv)

	res := loadgen.Merge(rounds...)
	var limit float64
	var hashCPU time.Duration
	for _, h := range hashes {
		limit += h.PerSecond / float64(len(hashes))
		hashCPU += h.CPU / time.Duration(len(hashes))
	}
	ratio := median(ratios)
	pooled := res.Rate() / limit
	cpuPer := cpu / time.Duration(max(res.AllOK, 1))
	cpuRatio := hashCPU.Seconds() / cpuPer.Seconds()

	r := newReport(b, name)
	r.figure("cores hashing (server and bare hash)", "%d of %d", cores, fx.cores)
	r.figure("clients", "%d closed-loop, keep-alive", workers)
	for i, h := range hashes {
		r.figure(fmt.Sprintf("bare hash %d: rate, wall, CPU", i), "%.2f/s, %v, %v", h.PerSecond, ms(h.PerHash), ms(h.CPU))
		if i < len(rounds) {
			r.figure(fmt.Sprintf("window %d: sign-ins, ratio to the hashes beside it", i+1), "%d in %v = %.2f/s, %.3f",
				rounds[i].OK, rounds[i].Window, rounds[i].Rate(), ratios[i])
			if i < len(splits) {
				s := splits[i]
				r.figure(fmt.Sprintf("window %d: machine CPU server / generator / others / idle", i+1), "%.1f%% / %.1f%% / %.1f%% / %.1f%%",
					100*s.server, 100*s.bench, 100*s.others, 100*s.idle)
			}
			if i < len(hashShares) {
				r.figure(fmt.Sprintf("window %d: server CPU in the hash (hashing threads' own time)", i+1), "%.1f%%", 100*hashShares[i])
			}
		}
	}
	r.figure("hash-bound limit (mean of all)", "%.2f/s", limit)
	r.figure("sign-ins", "%d in %v = %.2f/s (pooled ratio %.3f)", res.OK, res.Window, res.Rate(), pooled)
	r.figure("answers", "%s", res.StatusText())
	r.figure("latency p50 / p99", "%v / %v", ms(res.Quantile(0.5)), ms(res.Quantile(0.99)))
	r.figure("server CPU per sign-in", "%v", ms(cpuPer))
	r.figure("bare hash CPU ÷ server CPU per sign-in", "%.3f (%.1f%% of a sign-in's CPU outside the hash)",
		cpuRatio, 100*(1-cpuRatio))
	if share, hashes, ok := firstScrape.HashCPUShare(lastScrape); ok && len(hashShares) == signinRounds {
		r.figure("server CPU in the hash over the windows (/metrics: hashing threads' CPU ÷ process CPU)", "%.1f%% (%.0f hashes; %.1f%% of the server's CPU outside the hash)",
			100*share, hashes, 100*(1-share))
		if hashes > 0 {
			perHash := time.Duration((lastScrape.HashCPUSeconds - firstScrape.HashCPUSeconds) / hashes * float64(time.Second))
			r.figure("CPU of a hash in the server ÷ of a bare hash (mean of the measurements beside the windows)", "%v ÷ %v = %.3f",
				ms(perHash), ms(hashCPU), perHash.Seconds()/hashCPU.Seconds())
		}
		b.ReportMetric(share, "hash-cpu-share")
	} else {
		r.figure("server CPU in the hash over the windows (/metrics)", "not measured (the server's /metrics has no hashing CPU time)")
	}
	r.figure("profiled window (perf sampling the server; in no figure above)", "%d in %v = %.2f/s, ratio %.3f (bare hash after it %.2f/s)",
		profiled.OK, profiled.Window, profiled.Rate(), profiledRatio, profiledHash.PerSecond)
	if inSituErr != nil {
		r.figure("in place (perf, profiled window)", "not measured: %v", inSituErr)
	} else {
		r.figure("in place (perf, profiled window): samples in the hash", "%d of %d = %.1f%% (%.1f%% of the server's CPU outside the hash)",
			inSitu.Hash, inSitu.Samples, 100*inSitu.Share(), 100*(1-inSitu.Share()))
		b.ReportMetric(inSitu.Share(), "in-place-hash-share")
	}
	r.figure("server peak RSS", "%.0f MiB", mib(peak))
	m.log(r)
	r.goal("(a) sign-ins ÷ hash-bound limit (median of the windows)", ratio >= goalSigninRatio,
		fmt.Sprintf("%.3f", ratio), fmt.Sprintf("≥ %.2f", goalSigninRatio))
	r.goal("(a) every sign-in completes", res.OK == res.Requests && profiled.OK == profiled.Requests,
		fmt.Sprintf("%d of %d", res.OK+profiled.OK, res.Requests+profiled.Requests), "all")

	b.ReportMetric(res.Rate(), "signins/s")
	b.ReportMetric(limit, "hash-limit/s")
	b.ReportMetric(ratio, "ratio")
	b.ReportMetric(pooled, "pooled-ratio")
	b.ReportMetric(float64(res.Quantile(0.99))/1e6, "p99-ms")
	b.ReportMetric(float64(cpuPer)/1e6, "server-CPU-ms/signin")
	b.ReportMetric(cpuRatio, "cpu-ratio")
	r.done()
}

// median returns the middle value of xs (the mean of the two middle ones
// for an even count); xs is not changed.
func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n == 0 {
		return 0
	}
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// BenchmarkSessionCheck holds goal (b): GET /api/v1/me with a bearer token
// serves at least three quarters of the requests per second of a bare net/http handler
// that answers a small JSON body, both in their own process, loaded by the
// same client with the same concurrency over loopback, alternating twice.
//
// The load uses the seeded users' session tokens in turn, and the server
// trusts a verified token for signin.SessionCacheTTL: each token's session
// is read from the database about once per TTL, and every other request is
// answered from that cache. The report says which share of the requests that
// is; the cost of a session check that reads the database is measured by
// BenchmarkMe/store in internal/server.
func BenchmarkSessionCheck(b *testing.B) {
	fx := mustFixture(b)
	ctx := b.Context()
	srv := mustStart(b, func() (*Process, error) { return fx.startNinsho(ctx, "session") })
	bare := mustStart(b, func() (*Process, error) {
		return Start(ctx, fx.bare, nil, fx.env, filepath.Join(fx.dir, "bare.log"), "listening at", "/")
	})
	conns := meConnsPer * fx.cores
	client := loadgen.NewClient(conns, 10*time.Second)
	meOp := fx.getOp(&loadgen.API{Client: client, URL: srv.URL}, "/api/v1/me")
	bareOp := fx.getOp(&loadgen.API{Client: client, URL: bare.URL}, "/api/v1/me")
	m := startMeter(fx.cores, srv, bare)

	var me, base []*loadgen.Result
	var meCPU, baseCPU time.Duration
	var meN, baseN int
	for range 2 {
		c0 := mustCPU(b, bare)
		res := loadgen.ClosedLoop(ctx, conns, time.Second, phase(), bareOp)
		baseCPU += mustCPU(b, bare) - c0
		baseN += res.AllOK
		base = append(base, res)

		c0 = mustCPU(b, srv)
		res = loadgen.ClosedLoop(ctx, conns, time.Second, phase(), meOp)
		meCPU += mustCPU(b, srv) - c0
		meN += res.AllOK
		me = append(me, res)
	}
	meRate, baseRate := meanRate(me), meanRate(base)
	ratio := meRate / baseRate
	// About one database read per token per TTL; the rest hit the cache.
	reads := float64(len(fx.users)) / signin.SessionCacheTTL.Seconds()
	readShare := min(reads/meRate, 1)
	mePer := meCPU / time.Duration(max(meN, 1))
	basePer := baseCPU / time.Duration(max(baseN, 1))

	r := newReport(b, "session check")
	r.figure("connections", "%d closed-loop, keep-alive, same client for both", conns)
	for i := range me {
		r.figure(fmt.Sprintf("round %d: bare / me", i+1), "%.0f/s / %.0f/s", base[i].Rate(), me[i].Rate())
	}
	r.figure("bare handler", "%.0f/s, p99 %v, server CPU %v/request", baseRate, ms(quantileAll(base, 0.99)), us(basePer))
	r.figure("GET /api/v1/me", "%.0f/s, p99 %v, server CPU %v/request", meRate, ms(quantileAll(me, 0.99)), us(mePer))
	r.figure("answers of /me", "%s", sumStatus(me))
	r.figure("/me that read the database", "about %.1f%% (%d tokens, each cached for %v: ~%.0f reads/s of %.0f/s)",
		100*readShare, len(fx.users), signin.SessionCacheTTL, reads, meRate)
	m.log(r)
	r.goal("(b) /me ÷ bare handler", ratio >= goalMeRatio,
		fmt.Sprintf("%.3f", ratio), fmt.Sprintf("≥ %.2f", goalMeRatio))
	okAll := true
	for _, res := range append(me, base...) {
		okAll = okAll && res.OK == res.Requests
	}
	r.goal("(b) every request answers 200", okAll, fmt.Sprint(okAll), "true")

	b.ReportMetric(meRate, "me-req/s")
	b.ReportMetric(baseRate, "bare-req/s")
	b.ReportMetric(ratio, "ratio")
	b.ReportMetric(float64(mePer)/1e3, "server-CPU-µs/me")
	b.ReportMetric(float64(basePer)/1e3, "server-CPU-µs/bare")
	b.ReportMetric(readShare, "db-read-share")
	r.done()
}

// BenchmarkOverload holds the first half of goal (c): at twice the
// sustainable sign-in rate (measured first, in the same run, and again after
// the overload for goodput), open-loop, the
// server answers no 5xx but 503 with Retry-After, the p99 of the sign-ins it
// admits stays within 300 ms, its refusals take under 5 ms (p99), the
// sign-ins it completes are at least 90% of the sustainable rate (goodput),
// and its peak RSS stays under 512 MiB (issue 16 tightened the first three).
func BenchmarkOverload(b *testing.B) {
	fx := mustFixture(b)
	ctx := b.Context()
	srv := mustStart(b, func() (*Process, error) { return fx.startNinsho(ctx, "overload") })
	workers := signinPer * fx.cores
	api := &loadgen.API{Client: loadgen.NewClient(1024, 30*time.Second), URL: srv.URL}
	m := startMeter(fx.cores, srv)

	sustained := loadgen.ClosedLoop(ctx, workers, 2*time.Second, phase(), fx.signinOp(api))
	rate := 2 * sustained.Rate()
	if err := srv.ResetPeak(); err != nil {
		b.Fatal(err)
	}
	res := loadgen.OpenLoop(ctx, rate, *loadTime, fx.signinOp(api))
	peak := mustPeak(b, srv)
	// The host's speed drifts: the sustainable rate is measured again
	// after the overload, and goodput compares with the mean of the two.
	after := loadgen.ClosedLoop(ctx, workers, time.Second, phase(), fx.signinOp(api))
	sustainable := (sustained.Rate() + after.Rate()) / 2

	r := newReport(b, "overload")
	r.figure("sustainable rate", "%.1f sign-ins/s (closed loop, %d clients; answers %s)", sustained.Rate(), workers, sustained.StatusText())
	r.figure("sustainable rate after the overload", "%.1f sign-ins/s (answers %s)", after.Rate(), after.StatusText())
	r.figure("offered", "%.1f sign-ins/s open-loop for %v = %d", rate, res.Window, res.Requests)
	r.figure("answers", "%s", res.StatusText())
	r.figure("admitted", "%d (%.1f/s), refused with 503+Retry-After %d", res.OK, res.Rate(), res.Unavailable503)
	r.figure("admitted latency p50 / p99 / max", "%v / %v / %v",
		ms(res.Quantile(0.5)), ms(res.Quantile(0.99)), ms(res.Quantile(1)))
	refusedP99 := loadgen.Quantile(res.Other, 0.99)
	r.figure("refused latency p50 / p99 / max", "%v / %v / %v", ms(loadgen.Quantile(res.Other, 0.5)), ms(refusedP99), ms(loadgen.Quantile(res.Other, 1)))
	goodput := res.Rate() / sustainable
	r.figure("goodput", "%.1f completed sign-ins/s = %.3f of the sustainable rate (mean of before and after, %.1f/s)", res.Rate(), goodput, sustainable)
	m.log(r)
	bad := res.ServerErrors() + res.Errors
	r.goal("(c) 5xx but 503+Retry-After, transport errors", bad == 0, fmt.Sprint(bad), "0")
	r.goal("(c) admitted p99", res.Quantile(0.99) <= goalOverloadP99,
		ms(res.Quantile(0.99)).String(), "≤ "+goalOverloadP99.String())
	r.goal("(c) refused p99", refusedP99 < goalRefusal, ms(refusedP99).String(), "< "+goalRefusal.String())
	r.goal("(c) goodput", goodput >= goalGoodput, fmt.Sprintf("%.3f", goodput), fmt.Sprintf("≥ %.2f", goalGoodput))
	r.goal("(c) server peak RSS", peak < goalOverloadRSS,
		fmt.Sprintf("%.0f MiB", mib(peak)), fmt.Sprintf("< %d MiB", goalOverloadRSS>>20))

	b.ReportMetric(rate, "offered/s")
	b.ReportMetric(res.Rate(), "admitted/s")
	b.ReportMetric(float64(res.Quantile(0.99))/1e6, "p99-ms")
	b.ReportMetric(float64(refusedP99)/1e6, "refused-p99-ms")
	b.ReportMetric(goodput, "goodput")
	b.ReportMetric(mib(peak), "peak-RSS-MiB")
	r.done()
}

// BenchmarkFlood holds the second half of goal (c): 1,000 concurrent
// wrong-password sign-ins (known accounts and unknown identifiers, no device
// token) for the -load window keep the server's peak RSS under 256 MiB, and
// /readyz, probed every 100 ms, answers 200 within a second throughout.
// Owners signing in from their devices during the flood are counted for
// information (DESIGN §8 asks that they can; the issue sets no figure).
func BenchmarkFlood(b *testing.B) {
	fx := mustFixture(b)
	ctx := b.Context()
	srv := mustStart(b, func() (*Process, error) { return fx.startNinsho(ctx, "flood") })
	api := &loadgen.API{Client: loadgen.NewClient(floodConns, 30*time.Second), URL: srv.URL}
	probe := &loadgen.API{Client: loadgen.NewClient(2, readyTimeout), URL: srv.URL}
	owner := &loadgen.API{Client: loadgen.NewClient(2, 30*time.Second), URL: srv.URL}
	m := startMeter(fx.cores, srv)

	pctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	var readyOK, readyFailed int
	var readyLat []time.Duration
	wg.Go(func() { readyOK, readyFailed, readyLat = loadgen.Probe(pctx, probe, "/readyz", 100*time.Millisecond) })
	var ownerTries, ownerOK int
	wg.Go(func() {
		for i := 0; pctx.Err() == nil; i++ {
			u := fx.users[i%len(fx.users)]
			r, err := owner.Signin(pctx, u.Identifier, u.Password, u.DeviceToken)
			if pctx.Err() != nil {
				break
			}
			ownerTries++
			if err == nil && r.SignedIn() {
				ownerOK++
			}
			select {
			case <-pctx.Done():
			case <-time.After(500 * time.Millisecond):
			}
		}
	})
	res := loadgen.ClosedLoop(ctx, floodConns, 0, *loadTime, func(ctx context.Context, _, i int) (loadgen.Reply, bool, error) {
		var r loadgen.Reply
		var err error
		if i%2 == 0 {
			v := fx.victims[(i/2)%len(fx.victims)]
			r, err = api.Signin(ctx, v.Identifier, "wrong-"+v.Password, "")
		} else {
			r, err = api.Signin(ctx, fmt.Sprintf("nobody%07d@example.com", i), "Guess-1234-password", "")
		}
		return r, r.Status == http.StatusBadRequest, err
	})
	stop()
	wg.Wait()
	peak := mustPeak(b, srv)

	r := newReport(b, "flood")
	r.figure("flood", "%d connections, closed loop, %v", floodConns, res.Window)
	r.figure("answers", "%s (%.0f/s)", res.StatusText(), float64(res.Requests)/res.Window.Seconds())
	r.figure("wrong-password answers (400)", "%d (%.1f/s), p99 %v", res.OK, res.Rate(), ms(res.Quantile(0.99)))
	r.figure("/readyz p50 / p99 / max", "%v / %v / %v",
		ms(loadgen.Quantile(readyLat, 0.5)), ms(loadgen.Quantile(readyLat, 0.99)), ms(loadgen.Quantile(readyLat, 1)))
	r.figure("owners from their devices", "%d of %d signed in (informational)", ownerOK, ownerTries)
	m.log(r)
	r.goal("(c) flood: server peak RSS", peak < goalFloodRSS,
		fmt.Sprintf("%.0f MiB", mib(peak)), fmt.Sprintf("< %d MiB", goalFloodRSS>>20))
	r.goal("(c) flood: /readyz 200 within 1 s", readyFailed == 0 && readyOK > 0,
		fmt.Sprintf("%d of %d", readyOK, readyOK+readyFailed), "all")
	bad := res.ServerErrors() + res.Errors
	r.goal("(c) flood: 5xx but 503+Retry-After, transport errors", bad == 0, fmt.Sprint(bad), "0")

	b.ReportMetric(mib(peak), "peak-RSS-MiB")
	b.ReportMetric(float64(res.Requests)/res.Window.Seconds(), "answers/s")
	b.ReportMetric(float64(loadgen.Quantile(readyLat, 1))/1e6, "readyz-max-ms")
	r.done()
}

// meter measures where the machine's CPU went during a benchmark, so that a
// run disturbed by other processes shows it.
type meter struct {
	start            time.Time
	machine, self    time.Duration
	servers          time.Duration
	procs            []*Process
	cores            int
	machineErr, pErr error
}

func startMeter(cores int, procs ...*Process) *meter {
	m := &meter{start: time.Now(), self: benchCPU(), procs: procs, cores: cores}
	m.machine, m.machineErr = MachineCPU()
	m.servers, m.pErr = cpuOf(procs)
	return m
}

func cpuOf(procs []*Process) (time.Duration, error) {
	var sum time.Duration
	for _, p := range procs {
		d, err := p.CPUTime()
		if err != nil {
			return 0, err
		}
		sum += d
	}
	return sum, nil
}

// cpuShares are the shares of the machine's CPU capacity since a meter
// started: the servers', the benchmark process's own (load generator and bare
// hashes), other processes' (with the kernel's work for nobody in
// particular), and what stayed idle.
type cpuShares struct {
	server, bench, others, idle float64
	over                        time.Duration
}

// shares measures the cpuShares since m started; ok is false when /proc
// could not be read.
func (m *meter) shares() (s cpuShares, ok bool) {
	machine, err := MachineCPU()
	servers, perr := cpuOf(m.procs)
	if err != nil || perr != nil || m.machineErr != nil || m.pErr != nil {
		return s, false
	}
	s.over = time.Since(m.start)
	capacity := s.over.Seconds() * float64(m.cores)
	busy := (machine - m.machine).Seconds()
	srv := (servers - m.servers).Seconds()
	self := (benchCPU() - m.self).Seconds()
	s.server, s.bench = srv/capacity, self/capacity
	s.others = max(busy-srv-self, 0) / capacity
	s.idle = max(capacity-busy, 0) / capacity
	return s, true
}

// benchCPU is the CPU time of the benchmark process and of its helper
// processes that have ended (BenchmarkSigninOwnCore's bare hashes); the
// servers, which end after their benchmark, are measured apart.
func benchCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_CHILDREN, &ru) != nil {
		return loadgen.SelfCPU()
	}
	return loadgen.SelfCPU() + time.Duration(ru.Utime.Nano()+ru.Stime.Nano())
}

// log reports the shares of the machine's CPU capacity over the benchmark.
func (m *meter) log(r *report) {
	s, ok := m.shares()
	if !ok {
		return
	}
	r.figure("machine CPU: server / bench / others", "%.0f%% / %.0f%% / %.0f%% of %d cores over %v",
		100*s.server, 100*s.bench, 100*s.others, m.cores, s.over.Round(time.Second))
	if s.others > noisy {
		r.figure("WARNING", "other processes took %.0f%% of the machine: the figures of this run are unreliable", 100*s.others)
	}
}

// noisy is the share of the machine other processes may take before a run
// is flagged as unreliable.
const noisy = 0.10

// report logs a benchmark's figures and goals, one per line, and fails the
// benchmark after logging everything if a goal is missed.
type report struct {
	b      *testing.B
	name   string
	missed []string
}

func newReport(b *testing.B, name string) *report {
	b.ReportMetric(0, "ns/op") // one fixed-length measurement: ns/op means nothing
	return &report{b: b, name: name}
}

// figure prints a line of the report. The report goes to standard output
// rather than to b.Log, which the testing package cuts after ten lines.
func (r *report) figure(label, format string, args ...any) {
	fmt.Printf("%-14s %-46s %s\n", r.name, label, fmt.Sprintf(format, args...))
}

// goal logs a figure with its goal and the verdict.
func (r *report) goal(label string, ok bool, got, want string) {
	verdict := "PASS"
	if !ok {
		verdict = "FAIL"
		r.missed = append(r.missed, label)
	}
	fmt.Printf("%-14s %-46s %s (goal %s) %s\n", r.name, label, got, want, verdict)
}

func (r *report) done() {
	if len(r.missed) > 0 {
		r.b.Errorf("%s: goals missed: %s", r.name, strings.Join(r.missed, "; "))
	}
}

func mustMeasureHash(b *testing.B, workers int) loadgen.HashRate {
	b.Helper()
	h, err := loadgen.MeasureHash(b.Context(), password.DefaultParams(), workers, phase())
	if err != nil {
		b.Fatal(err)
	}
	return h
}

func mustCPU(b *testing.B, p *Process) time.Duration {
	b.Helper()
	d, err := p.CPUTime()
	if err != nil {
		b.Fatal(err)
	}
	return d
}

func mustPeak(b *testing.B, p *Process) int64 {
	b.Helper()
	n, err := p.PeakRSS()
	if err != nil {
		b.Fatal(err)
	}
	return n
}

func meanRate(rs []*loadgen.Result) float64 {
	var sum float64
	for _, r := range rs {
		sum += r.Rate()
	}
	return sum / float64(len(rs))
}

func quantileAll(rs []*loadgen.Result, q float64) time.Duration {
	var all []time.Duration
	for _, r := range rs {
		all = append(all, r.Latency...)
	}
	slices.Sort(all)
	return loadgen.Quantile(all, q)
}

func sumStatus(rs []*loadgen.Result) string {
	sum := loadgen.NewResult(0)
	for _, r := range rs {
		for s, n := range r.Status {
			sum.Status[s] += n
		}
		sum.Errors += r.Errors
		if sum.FirstError == nil {
			sum.FirstError = r.FirstError
		}
	}
	return sum.StatusText()
}

func mib(n int64) float64 { return float64(n) / (1 << 20) }

// ms and us round a duration for reading.
func ms(d time.Duration) time.Duration { return d.Round(100 * time.Microsecond) }
func us(d time.Duration) time.Duration { return d.Round(100 * time.Nanosecond) }
