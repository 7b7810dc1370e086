package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/loadgen"
	"github.com/ninsho/ninsho/internal/store/storetest"
)

// The OpenID Connect benchmarks (issue 14): token refresh and introspection
// per second through the real server (its own process, every middleware),
// beside the bare net/http handler of BenchmarkSessionCheck, on SQLite and,
// when NINSHO_TEST_POSTGRES is set, on PostgreSQL.

// oidcConnsPer is the number of OIDC clients per core, as for /me.
const oidcConnsPer = meConnsPer

// oidcCallback is the benchmark client's one redirect URI.
const oidcCallback = "https://shop.example.jp/callback"

// oidcTarget is a server with a confidential client and one grant per
// worker: a refresh token (its own family) and an access token.
type oidcTarget struct {
	srv, bare *Process
	clientID  string
	secret    string
	refresh   []string // worker w's current refresh token
	access    []string // worker w's access token
	conns     int
	client    *http.Client
}

// BenchmarkOIDCRefresh measures POST /oauth/v2/token grant_type=refresh_token
// (client_secret_basic): each worker holds its own refresh-token family and
// sends the newest token of it, so every request rotates (retires one
// refresh token, issues a new access token, refresh token and ID token).
func BenchmarkOIDCRefresh(b *testing.B) {
	oidcBench(b, "refresh", func(t *oidcTarget) loadgen.Op {
		return func(ctx context.Context, w, _ int) (loadgen.Reply, bool, error) {
			r, body, err := t.post(ctx, t.srv.URL+"/oauth/v2/token", url.Values{
				"grant_type": {"refresh_token"}, "refresh_token": {t.refresh[w]}})
			if err != nil || r.Status != http.StatusOK {
				return r, false, err
			}
			var tok tokenAnswer
			if err := json.Unmarshal(body, &tok); err != nil || tok.RefreshToken == "" || tok.AccessToken == "" || tok.IDToken == "" {
				return r, false, fmt.Errorf("refresh answer without tokens: %v", err)
			}
			t.refresh[w] = tok.RefreshToken
			return r, true, nil
		}
	})
}

// BenchmarkOIDCIntrospect measures POST /oauth/v2/introspect
// (client_secret_basic) of the workers' live access tokens; each answer must
// be active.
func BenchmarkOIDCIntrospect(b *testing.B) {
	oidcBench(b, "introspect", func(t *oidcTarget) loadgen.Op {
		return func(ctx context.Context, w, _ int) (loadgen.Reply, bool, error) {
			r, body, err := t.post(ctx, t.srv.URL+"/oauth/v2/introspect", url.Values{"token": {t.access[w]}})
			if err != nil || r.Status != http.StatusOK {
				return r, false, err
			}
			var in struct {
				Active bool `json:"active"`
			}
			if err := json.Unmarshal(body, &in); err != nil || !in.Active {
				return r, false, fmt.Errorf("introspection not active: %s", body)
			}
			return r, true, nil
		}
	})
}

// oidcBench runs the sqlite and postgres sub-benchmarks of one operation:
// bare, OIDC, bare, OIDC, each with a 1 s warm-up and a phase() window, from
// the same client with the same connections.
func oidcBench(b *testing.B, what string, opOf func(*oidcTarget) loadgen.Op) {
	fx := mustFixture(b)
	for _, db := range []string{"sqlite", "postgres"} {
		b.Run(db, func(b *testing.B) {
			dbURL := ""
			if db == "postgres" {
				dbURL = storetest.PostgresURL(b) // skips when NINSHO_TEST_POSTGRES is unset
			}
			t := mustOIDCTarget(b, fx, what+"-"+db, dbURL)
			op := opOf(t)
			bareOp := func(ctx context.Context, w, _ int) (loadgen.Reply, bool, error) {
				// The same form request, to the bare handler.
				r, _, err := t.post(ctx, t.bare.URL+"/oauth/v2/token", url.Values{
					"grant_type": {"refresh_token"}, "refresh_token": {t.refresh[w]}})
				return r, err == nil && r.Status == http.StatusOK, err
			}
			m := startMeter(fx.cores, t.srv, t.bare)
			var got, base []*loadgen.Result
			var cpu time.Duration
			var n int
			for range 2 {
				base = append(base, loadgen.ClosedLoop(b.Context(), t.conns, time.Second, phase(), bareOp))
				c0 := mustCPU(b, t.srv)
				res := loadgen.ClosedLoop(b.Context(), t.conns, time.Second, phase(), op)
				cpu += mustCPU(b, t.srv) - c0
				n += res.AllOK
				got = append(got, res)
			}
			rate, baseRate := meanRate(got), meanRate(base)
			ratio := rate / baseRate
			per := cpu / time.Duration(max(n, 1))

			r := newReport(b, "oidc "+what)
			r.figure("database", "%s", db)
			r.figure("connections", "%d closed-loop, keep-alive, same client for both", t.conns)
			for i := range got {
				r.figure(fmt.Sprintf("round %d: bare / %s", i+1, what), "%.0f/s / %.0f/s", base[i].Rate(), got[i].Rate())
			}
			r.figure("bare handler", "%.0f/s, p99 %v", baseRate, ms(quantileAll(base, 0.99)))
			r.figure(what, "%.0f/s, p99 %v, server CPU %v/request", rate, ms(quantileAll(got, 0.99)), us(per))
			r.figure("answers", "%s", sumStatus(got))
			r.figure(what+" ÷ bare handler", "%.3f", ratio)
			m.log(r)
			okAll := true
			for _, res := range append(got, base...) {
				okAll = okAll && res.OK == res.Requests && res.Requests > 0
			}
			r.goal("every request answers 200 as it should", okAll, fmt.Sprint(okAll), "true")

			b.ReportMetric(rate, what+"/s")
			b.ReportMetric(baseRate, "bare-req/s")
			b.ReportMetric(ratio, "ratio")
			b.ReportMetric(float64(per)/1e3, "server-CPU-µs/op")
			r.done()
		})
	}
}

// mustOIDCTarget starts a server of its own (a fresh SQLite data directory,
// or the PostgreSQL database dbURL) and the bare server, seeds one account
// per worker through the JSON API, registers a confidential first-party
// client with `ninsho clients create`, and gets each worker a grant without
// a browser: the authorization request with the account's session cookie,
// the login bridge's code, and the token exchange with PKCE.
func mustOIDCTarget(b *testing.B, fx *fixture, name, dbURL string) *oidcTarget {
	b.Helper()
	ctx := b.Context()
	data := filepath.Join(fx.dir, "data-"+name)
	env := fx.env
	if dbURL != "" {
		env = append(append([]string{}, fx.env...), "NINSHO_MODE=development", "NINSHO_DATABASE_URL="+dbURL)
	}
	args := []string{"serve", "--data-dir", data, "--addr", "127.0.0.1:0", "--trusted-proxy", "127.0.0.1/32"}
	// The client first: a serving process holds the SQLite database.
	var clientID, secret string
	create := exec.CommandContext(ctx, fx.ninsho, "clients", "create", "--data-dir", data,
		"--name", "Bench shop", "--type", "confidential", "--redirect-uri", oidcCallback, "--first-party")
	create.Env = env // the same database as the server
	out, err := create.CombinedOutput()
	if err != nil {
		b.Fatalf("clients create: %v\n%s", err, out)
	}
	for line := range strings.SplitSeq(string(out), "\n") {
		if v, ok := strings.CutPrefix(line, "client_id: "); ok {
			clientID = v
		} else if v, ok := strings.CutPrefix(line, "client_secret: "); ok {
			secret = v
		}
	}
	if clientID == "" || secret == "" {
		b.Fatalf("clients create printed no client id or secret:\n%s", out)
	}

	srv := mustStart(b, func() (*Process, error) {
		return Start(ctx, fx.ninsho, args, env, filepath.Join(fx.dir, name+".log"), "running at", "/readyz")
	})
	bare := mustStart(b, func() (*Process, error) {
		return Start(ctx, fx.bare, nil, fx.env, filepath.Join(fx.dir, name+"-bare.log"), "listening at", "/")
	})
	conns := oidcConnsPer * fx.cores
	t := &oidcTarget{srv: srv, bare: bare, conns: conns, clientID: clientID, secret: secret,
		client: loadgen.NewClient(conns, 10*time.Second), refresh: make([]string, conns), access: make([]string, conns)}

	api := &loadgen.API{Client: loadgen.NewClient(16, 30*time.Second), URL: srv.URL}
	accs, err := api.Seed(ctx, "oidc", conns, 2*fx.cores)
	if err != nil {
		b.Fatal(err)
	}
	for w := range conns {
		tok, err := t.grant(ctx, accs[w].SessionToken)
		if err != nil {
			b.Fatalf("grant %d: %v", w, err)
		}
		t.refresh[w], t.access[w] = tok.RefreshToken, tok.AccessToken
	}
	if *keep {
		fmt.Fprintf(os.Stderr, "bench: %s: client %s\n", name, t.clientID)
	}
	return t
}

type tokenAnswer = loadgen.Tokens

// oidc is the benchmark's client as loadgen's OIDC client of the server.
func (t *oidcTarget) oidc() *loadgen.OIDC {
	return &loadgen.OIDC{Client: t.client, URL: t.srv.URL, ClientID: t.clientID, Secret: t.secret, RedirectURI: oidcCallback}
}

// grant runs the authorization code flow for the session's person as a
// browser would, up to the token exchange.
func (t *oidcTarget) grant(ctx context.Context, session string) (tokenAnswer, error) {
	return t.oidc().Grant(ctx, session)
}

// post sends form with the client's credentials (client_secret_basic) and
// returns the status and the whole answer.
func (t *oidcTarget) post(ctx context.Context, target string, form url.Values) (loadgen.Reply, []byte, error) {
	return t.oidc().PostForm(ctx, target, form)
}
