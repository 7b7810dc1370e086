package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/ninsho/ninsho/internal/loadgen"
	"github.com/ninsho/ninsho/internal/password"
)

// urlFlags collects repeated or comma-separated --url flags.
type urlFlags []string

func (u *urlFlags) String() string { return strings.Join(*u, ",") }
func (u *urlFlags) Set(v string) error {
	for part := range strings.SplitSeq(v, ",") {
		part = strings.TrimRight(strings.TrimSpace(part), "/")
		if !strings.HasPrefix(part, "http://") && !strings.HasPrefix(part, "https://") {
			return fmt.Errorf("%q is not an http:// or https:// URL", part)
		}
		*u = append(*u, part)
	}
	return nil
}

// rateFlag reads --rate 50 or 50/s.
type rateFlag float64

func (r *rateFlag) String() string { return fmt.Sprintf("%g/s", float64(*r)) }
func (r *rateFlag) Set(v string) error {
	f, err := loadgen.ParseRate(v)
	*r = rateFlag(f)
	return err
}

const benchAbout = `Drives a running deployment with open-loop traffic: requests start at the
fixed --rate whatever the answers, so a slow server does not slow the load.
Reports requests per second achieved against offered, p50/p99/p99.9 per
request kind, errors by status and catalogue code, 503 refusals apart, the
server's memory from /metrics and the hash-bound limit of this machine.
The target must trust this machine as a proxy (--trusted-proxy or
trusted_proxies), since every request carries its own X-Forwarded-For
address. See docs/operations.md, "Load testing: ninsho bench".`

// bench runs `ninsho bench`.
func bench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var (
		urls                      urlFlags
		rate                      = rateFlag(10)
		cfg                       loadgen.Config
		accountsFile, hashParams  string
		asJSON, noForwarded       bool
		oidcID, oidcSecretFile    string
		oidcRedirect              string
		duration, timeout, hashDo time.Duration
		maxInFlight, seed         int
	)
	c := newCommand("bench", "--url URL [flags]", benchAbout, stderr, func(c *command) {
		c.fs.Var(&urls, "url", "base `URL` of an instance; repeat or separate by commas for several (requests go round-robin)")
		c.fs.StringVar(&cfg.Scenario, "scenario", loadgen.ScenarioMix, "`what` to send: "+strings.Join(loadgen.Scenarios, ", "))
		c.fs.Var(&rate, "rate", "arrival `rate` of iterations per second, e.g. 50 or 50/s")
		c.fs.DurationVar(&duration, "duration", 30*time.Second, "how long to start iterations")
		c.fs.IntVar(&maxInFlight, "max-in-flight", 1000, "iterations running at once at most; an arrival beyond is dropped by the generator (counted)")
		c.fs.DurationVar(&timeout, "timeout", 30*time.Second, "timeout of one request")
		c.fs.IntVar(&seed, "seed", 0, "sign up `N` accounts first through the API and the development inbox (development mode only)")
		c.fs.StringVar(&accountsFile, "accounts", "", "JSON lines `file` of accounts: identifier, password, optional device_token and session_token")
		c.fs.BoolVar(&noForwarded, "no-forwarded-for", false, "send no X-Forwarded-For (every request then comes from this machine's address)")
		c.fs.StringVar(&cfg.MetricsURL, "metrics", "", "`URL` of the server's /metrics (default: the first --url's /metrics)")
		c.fs.StringVar(&cfg.MetricsToken, "metrics-token", "", "bearer `token` of /metrics (metrics.bearer_token); or NINSHO_METRICS_TOKEN")
		c.fs.StringVar(&hashParams, "hash-params", "", "the server's argon2id parameters m=KiB,t=passes,p=lanes (default: password.DefaultParams, m=19456,t=2,p=1)")
		c.fs.DurationVar(&hashDo, "hash-time", 2*time.Second, "how long to measure the hash on every core before the load (0: not at all)")
		c.fs.StringVar(&oidcID, "oidc-client-id", "", "client `id` of a confidential first-party OIDC client, for refresh")
		c.fs.StringVar(&oidcSecretFile, "oidc-client-secret-file", "", "`file` holding that client's secret; or NINSHO_BENCH_OIDC_SECRET")
		c.fs.StringVar(&oidcRedirect, "oidc-redirect-uri", "", "a registered redirect `URI` of that client")
		c.fs.BoolVar(&asJSON, "json", false, "print the report as JSON")
	})
	if err := c.parse(args); err != nil {
		return err
	}
	if len(urls) == 0 {
		return errors.New("bench: give the deployment with --url URL")
	}
	if !slices.Contains(loadgen.Scenarios, cfg.Scenario) {
		return fmt.Errorf("bench: --scenario %q: want one of %s", cfg.Scenario, strings.Join(loadgen.Scenarios, ", "))
	}
	if duration <= 0 || maxInFlight <= 0 || timeout <= 0 || seed < 0 || hashDo < 0 {
		return errors.New("bench: --duration, --timeout and --max-in-flight must be positive, --seed and --hash-time not negative")
	}
	if float64(rate)*duration.Seconds() < 1 {
		return errors.New("bench: --rate × --duration starts no iteration")
	}
	cfg.URLs, cfg.Rate, cfg.Duration, cfg.MaxInFlight, cfg.Timeout = urls, float64(rate), duration, maxInFlight, timeout
	cfg.Seed, cfg.ForwardedFor, cfg.HashTime = seed, !noForwarded, hashDo
	// Each run counts its client addresses from a random /24 of
	// 10.0.0.0/8: runs one after another would otherwise seed from the
	// same networks and meet the sign-up caps per network and hour.
	cfg.FirstAddress = uint32(rand.IntN(1<<16)) << 8
	cfg.HashParams = password.DefaultParams()
	if hashParams != "" {
		p, err := loadgen.ParseHashParams(hashParams)
		if err != nil {
			return fmt.Errorf("bench: %w", err)
		}
		cfg.HashParams = p
	}
	if cfg.MetricsToken == "" {
		cfg.MetricsToken = os.Getenv("NINSHO_METRICS_TOKEN")
	}
	if accountsFile != "" {
		f, err := os.Open(accountsFile)
		if err != nil {
			return fmt.Errorf("bench: %w", err)
		}
		cfg.Accounts, err = loadgen.ReadAccounts(f)
		f.Close()
		if err != nil {
			return fmt.Errorf("bench: %s: %w", accountsFile, err)
		}
	}
	cfg.OIDCClientID, cfg.OIDCRedirectURI = oidcID, oidcRedirect
	cfg.OIDCSecret = os.Getenv("NINSHO_BENCH_OIDC_SECRET")
	if oidcSecretFile != "" {
		b, err := os.ReadFile(oidcSecretFile)
		if err != nil {
			return fmt.Errorf("bench: %w", err)
		}
		cfg.OIDCSecret = strings.TrimSpace(string(b))
	}
	cfg.Log = stderr
	rep, err := loadgen.Run(ctx, cfg)
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	rep.WriteText(stdout)
	return nil
}
