package cli_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/cli"
	"github.com/ninsho/ninsho/internal/loadgen"
	"github.com/ninsho/ninsho/internal/oauthclient"
	"github.com/ninsho/ninsho/internal/store/storetest"
)

// benchRun runs `ninsho bench --json` with args and decodes the report.
func benchRun(t *testing.T, args ...string) *loadgen.Report {
	t.Helper()
	var out, errOut bytes.Buffer
	args = append([]string{"bench", "--json", "--hash-time", "100ms", "--hash-params", "m=8192,t=1,p=1"}, args...)
	if code := cli.Main(args, &out, &errOut); code != 0 {
		t.Fatalf("ninsho %s: exit %d\n%s", strings.Join(args, " "), code, errOut.String())
	}
	var rep loadgen.Report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("report: %v\n%s", err, out.String())
	}
	return &rep
}

// startBenchTarget starts an instance that trusts 127.0.0.1 as its proxy, so
// that bench's X-Forwarded-For addresses count as the clients'.
func startBenchTarget(t *testing.T, dbURL string) *cli.App {
	t.Helper()
	return startIssuer(t, dbURL, func(c *cliConfig) { c.TrustedProxies = []string{"127.0.0.1/32"} })
}

// checkKind checks one request kind's figures: every request as wanted and
// latencies in order.
func checkKind(t *testing.T, rep *loadgen.Report, kind string, want int) {
	t.Helper()
	k := rep.Kind(kind)
	if k == nil {
		t.Fatalf("no %s in the report: %+v", kind, rep.Kinds)
	}
	if k.Requests != want || k.OK != want || k.Statuses["200"] != want || k.TransportErrors != 0 || k.Refused503 != 0 {
		t.Errorf("%s: %d requests, %d ok, statuses %v, %d without answer, %d refused; want %d all 200 (errors %+v)",
			kind, k.Requests, k.OK, k.Statuses, k.TransportErrors, k.Refused503, want, rep.Errors)
	}
	if !(k.P50ms > 0 && k.P50ms <= k.P99ms && k.P99ms <= k.P999ms && k.P999ms < 10_000) {
		t.Errorf("%s: latencies p50 %v p99 %v p99.9 %v ms", kind, k.P50ms, k.P99ms, k.P999ms)
	}
	if got := k.OKPerS; got != float64(want)/rep.DurationS {
		t.Errorf("%s: %v ok/s, want %v", kind, got, float64(want)/rep.DurationS)
	}
}

// TestBenchScenarios runs ninsho bench for a second at 8/s on each scenario
// against a real instance (SQLite; PostgreSQL when NINSHO_TEST_POSTGRES is
// set), with accounts it seeds through the development inbox.
func TestBenchScenarios(t *testing.T) {
	run := func(t *testing.T, dbURL string) {
		app := startBenchTarget(t, dbURL)
		realm := app.Realms.ForHost("127.0.0.1").ID
		oc, secret, err := app.Clients.Create(t.Context(), oauthclient.New{Realm: realm, Name: "Bench shop",
			Kind: oauthclient.Confidential, RedirectURIs: []string{shopCallback}, FirstParty: true})
		if err != nil {
			t.Fatal(err)
		}
		secretFile := filepath.Join(t.TempDir(), "secret")
		if err := os.WriteFile(secretFile, []byte(secret+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		common := []string{"--url", app.URL(), "--seed", "4", "--rate", "8/s", "--duration", "1s"}
		oidc := []string{"--oidc-client-id", oc.ID, "--oidc-client-secret-file", secretFile, "--oidc-redirect-uri", shopCallback}

		for _, tt := range []struct {
			scenario string
			kinds    map[string]int
		}{
			{"signin", map[string]int{loadgen.KindSignin: 8}},
			{"session", map[string]int{loadgen.KindSession: 8}},
			{"code", map[string]int{loadgen.KindCodeSignin: 8, loadgen.KindCodeSubmit: 8}},
			{"refresh", map[string]int{loadgen.KindRefresh: 8}},
		} {
			t.Run(tt.scenario, func(t *testing.T) {
				rep := benchRun(t, append(append(common, "--scenario", tt.scenario), oidc...)...)
				if rep.Offered != 8 || rep.Started != 8 || rep.Dropped != 0 || rep.StartedPerS != 8 || rep.Accounts != 4 || rep.AccountsFrom != "seeded" {
					t.Errorf("offered %d, started %d (%v/s), dropped %d, %d %s accounts", rep.Offered, rep.Started, rep.StartedPerS, rep.Dropped, rep.Accounts, rep.AccountsFrom)
				}
				if len(rep.Kinds) != len(tt.kinds) || len(rep.Errors) != 0 || len(rep.Skipped) != 0 {
					t.Errorf("kinds %+v, errors %+v, skipped %q", rep.Kinds, rep.Errors, rep.Skipped)
				}
				for kind, n := range tt.kinds {
					checkKind(t, rep, kind, n)
				}
				if rep.Memory == nil || rep.Memory.After.ResidentBytes <= 0 || rep.Memory.After.HeapInuseBytes <= 0 || rep.Memory.After.Goroutines <= 0 {
					t.Errorf("server memory %+v (%s)", rep.Memory, rep.MemoryUnavailable)
				}
				if h := rep.Hash; h == nil || h.LimitPerS <= 0 || h.Params != "m=8192,t=1,p=1" {
					t.Errorf("hash bound %+v", rep.Hash)
				} else if hashing := tt.kinds[loadgen.KindSignin] + tt.kinds[loadgen.KindCodeSignin]; h.SigninsPerS != float64(hashing) {
					t.Errorf("hash bound's sign-ins %v/s, want %d/s", h.SigninsPerS, hashing)
				}
			})
		}

		t.Run("mix", func(t *testing.T) {
			// 40 iterations: 26 session checks, 10 sign-ins, 2 codes, 2
			// refreshes (DefaultMix).
			rep := benchRun(t, append([]string{"--url", app.URL() + "," + app.URL(), "--seed", "4", "--rate", "20", "--duration", "2s", "--scenario", "mix"}, oidc...)...)
			checkKind(t, rep, loadgen.KindSession, 26)
			checkKind(t, rep, loadgen.KindSignin, 10)
			checkKind(t, rep, loadgen.KindCodeSignin, 2)
			checkKind(t, rep, loadgen.KindCodeSubmit, 2)
			checkKind(t, rep, loadgen.KindRefresh, 2)
			if rep.Requests != 42 || rep.OK != 42 || len(rep.Errors) != 0 || len(rep.Targets) != 2 {
				t.Errorf("%d requests, %d ok, errors %+v, targets %q", rep.Requests, rep.OK, rep.Errors, rep.Targets)
			}
		})
	}
	t.Run("sqlite", func(t *testing.T) { run(t, "") })
	t.Run("postgres", func(t *testing.T) { run(t, storetest.PostgresURL(t)) })
}

// TestBenchErrorsByCode: accounts given in a file (as for a production
// deployment) with wrong passwords and unknown identifiers: every answer is
// counted by its status and catalogue code, none as a success; refresh
// without an OIDC client is skipped with the reason; the text report says
// the hash-bound limit beside the sign-in rate.
func TestBenchErrorsByCode(t *testing.T) {
	app := startBenchTarget(t, "")
	api := &loadgen.API{Client: loadgen.NewClient(4, 10*time.Second), URL: app.URL()}
	accs, err := api.Seed(t.Context(), "errs", 3, 3)
	if err != nil {
		t.Fatal(err)
	}
	var lines strings.Builder
	for i, a := range accs {
		fmt.Fprintf(&lines, `{"identifier": %q, "password": %q, "device_token": %q}`+"\n", a.Identifier, "Wrong-"+a.Password, a.DeviceToken)
		fmt.Fprintf(&lines, `{"identifier": "nobody%d@example.com", "password": "Guess-1234-password"}`+"\n", i)
	}
	file := filepath.Join(t.TempDir(), "accounts.jsonl")
	if err := os.WriteFile(file, []byte(lines.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	rep := benchRun(t, "--url", app.URL(), "--accounts", file, "--scenario", "signin", "--rate", "6", "--duration", "1s")
	k := rep.Kind(loadgen.KindSignin)
	if rep.AccountsFrom != "file" || rep.Accounts != 6 || k == nil || k.Requests != 6 || k.OK != 0 || k.Statuses["400"] != 6 {
		t.Fatalf("accounts %d from %s, sign-ins %+v", rep.Accounts, rep.AccountsFrom, k)
	}
	if n, m := rep.ErrorCount(loadgen.KindSignin, http.StatusBadRequest, "password_incorrect"),
		rep.ErrorCount(loadgen.KindSignin, http.StatusBadRequest, "account_not_found"); n != 3 || m != 3 {
		t.Errorf("password_incorrect ×%d, account_not_found ×%d, want 3 and 3: %+v", n, m, rep.Errors)
	}
	if !(k.P50ms > 0 && k.P50ms <= k.P99ms) {
		t.Errorf("latencies of the refused sign-ins: %+v", k)
	}

	var out, errOut bytes.Buffer
	code := cli.Main([]string{"bench", "--url", app.URL(), "--accounts", file, "--scenario", "refresh", "--rate", "5", "--duration", "1s"}, &out, &errOut)
	if code != 0 || !strings.Contains(out.String(), "skipped: refresh: no OIDC client given") || strings.Contains(out.String(), "refresh     ") {
		t.Errorf("refresh without OIDC: exit %d\n%s%s", code, out.String(), errOut.String())
	}
	out.Reset()
	code = cli.Main([]string{"bench", "--url", app.URL(), "--accounts", file, "--scenario", "signin", "--rate", "2", "--duration", "1s",
		"--hash-time", "100ms", "--hash-params", "m=8192,t=1,p=1"}, &out, &errOut)
	for _, want := range []string{"hash-bound limit ≈", "sign-ins/s on this machine (only meaningful when bench runs on the server's machine",
		"errors by status and code:", "password_incorrect", "dropped by generator 0", "server memory (" + app.URL() + "/metrics): RSS"} {
		if code != 0 || !strings.Contains(out.String(), want) {
			t.Errorf("text report without %q: exit %d\n%s%s", want, code, out.String(), errOut.String())
		}
	}
	if strings.Contains(out.String(), "Wrong-") || strings.Contains(errOut.String(), "Wrong-") {
		t.Error("the report quotes a password")
	}
}

// TestBenchRefusesBadInput: bad flags and files are told, not run.
func TestBenchRefusesBadInput(t *testing.T) {
	app := startBenchTarget(t, "")
	bad := filepath.Join(t.TempDir(), "bad.jsonl")
	os.WriteFile(bad, []byte(`{"identifier": "a@example.com", "password": "Secret-pw-1"}`+"\n"+`{"identifier": "b"}`+"\n"), 0o600)
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{}, "give the deployment with --url"},
		{[]string{"--url", "ftp://x"}, "not an http:// or https:// URL"},
		{[]string{"--url", app.URL(), "--scenario", "flood"}, `--scenario "flood"`},
		{[]string{"--url", app.URL(), "--rate", "fast"}, "--rate"},
		{[]string{"--url", app.URL(), "--rate", "0.5", "--duration", "1s"}, "starts no iteration"},
		{[]string{"--url", app.URL(), "--duration", "1s"}, "give --seed N"},
		{[]string{"--url", app.URL(), "--accounts", bad}, "line 2: identifier and password are required"},
		{[]string{"--url", app.URL(), "--hash-params", "m=lots"}, "--hash-params"},
		{[]string{"--url", "http://127.0.0.1:1", "--seed", "2"}, "--seed needs a server in development mode"},
	} {
		var out, errOut bytes.Buffer
		code := cli.Main(append([]string{"bench"}, tt.args...), &out, &errOut)
		if code == 0 || !strings.Contains(errOut.String(), tt.want) {
			t.Errorf("bench %q: exit %d, %q; want %q", tt.args, code, errOut.String(), tt.want)
		}
		if strings.Contains(errOut.String(), "Secret-pw-1") {
			t.Errorf("bench %q quotes a password: %s", tt.args, errOut.String())
		}
	}
}
