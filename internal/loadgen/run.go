package loadgen

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/ninsho/ninsho/internal/password"
)

// Scenarios of `ninsho bench`.
const (
	ScenarioSignin  = "signin"
	ScenarioSession = "session"
	ScenarioCode    = "code"
	ScenarioRefresh = "refresh"
	ScenarioMix     = "mix"
)

// Scenarios lists the scenarios in the order the help gives them.
var Scenarios = []string{ScenarioSignin, ScenarioSession, ScenarioCode, ScenarioRefresh, ScenarioMix}

// Mix is the share of each scenario in a mixed run, in parts of their sum.
type Mix struct {
	Session, Signin, Code, Refresh int
}

// DefaultMix is the realistic share of `--scenario mix`: a shop's pages
// check the session far more often than people sign in, a few sign-ins come
// from a new device and need a code, and an app refreshes its tokens now
// and then. Without OIDC the refresh share goes to session checks.
var DefaultMix = Mix{Session: 65, Signin: 25, Code: 5, Refresh: 5}

// OwnerCodesPerHour is the owner's hourly code budget per address (docs/api.md,
// "Code budget per destination"): the code scenario's new-device sign-ins
// spend it.
const OwnerCodesPerHour = 10

// Config is a run of `ninsho bench`.
type Config struct {
	URLs        []string // base URLs, requests spread round-robin
	Scenario    string
	Mix         Mix // for ScenarioMix; zero: DefaultMix
	Rate        float64
	Duration    time.Duration
	MaxInFlight int
	Timeout     time.Duration // of one request

	Seed     int       // accounts to sign up through the development inbox
	Accounts []Account // or accounts given (--accounts)

	// ForwardedFor gives every request its own X-Forwarded-For address
	// from 10.0.0.0/8, counted on from FirstAddress.
	ForwardedFor bool
	FirstAddress uint32

	MetricsURL   string // "" : the first URL's /metrics
	MetricsToken string

	HashParams password.Params
	HashTime   time.Duration // 0: no hash measurement

	OIDCClientID, OIDCSecret, OIDCRedirectURI string

	// Log receives progress lines of the setup; nil discards them.
	Log io.Writer
}

// ReadAccounts reads JSON lines {"identifier", "password"} (and optionally
// "device_token" of a device that has signed in to the account, and
// "session_token"). Blank lines are skipped.
func ReadAccounts(r io.Reader) ([]Account, error) {
	var accs []Account
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		var a struct {
			Identifier   string `json:"identifier"`
			Password     string `json:"password"`
			DeviceToken  string `json:"device_token"`
			SessionToken string `json:"session_token"`
		}
		d := json.NewDecoder(strings.NewReader(line))
		d.DisallowUnknownFields()
		if err := d.Decode(&a); err != nil || d.More() {
			return nil, fmt.Errorf("accounts line %d: not a JSON object of identifier, password, device_token, session_token", n)
		}
		if a.Identifier == "" || a.Password == "" {
			return nil, fmt.Errorf("accounts line %d: identifier and password are required", n)
		}
		accs = append(accs, Account{Identifier: a.Identifier, Password: a.Password, DeviceToken: a.DeviceToken, SessionToken: a.SessionToken})
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(accs) == 0 {
		return nil, errors.New("the accounts file holds no account")
	}
	return accs, nil
}

// ParseHashParams reads "m=19456,t=2,p=1" (memory in KiB, passes, lanes)
// over password.DefaultParams.
func ParseHashParams(s string) (password.Params, error) {
	p := password.DefaultParams()
	for part := range strings.SplitSeq(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		n, err := strconv.ParseUint(v, 10, 32)
		if !ok || err != nil || n == 0 {
			return p, fmt.Errorf("--hash-params %q: want m=KiB,t=passes,p=lanes", s)
		}
		switch k {
		case "m":
			p.Memory = uint32(n)
		case "t":
			p.Time = uint32(n)
		case "p":
			if n > 255 {
				return p, fmt.Errorf("--hash-params %q: p is at most 255", s)
			}
			p.Threads = uint8(n)
		default:
			return p, fmt.Errorf("--hash-params %q: want m=KiB,t=passes,p=lanes", s)
		}
	}
	return p, nil
}

// ParseRate reads "50" or "50/s".
func ParseRate(s string) (float64, error) {
	v, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(s), "/s"), 64)
	if err != nil || v <= 0 || v > 1e6 {
		return 0, fmt.Errorf("--rate %q: want a number of iterations per second, e.g. 50/s", s)
	}
	return v, nil
}

// run is one bench run's state.
type run struct {
	cfg     Config
	rec     *recorder
	apis    []*API
	client  *http.Client
	inbox   bool
	signin  []Account // with a password
	session []Account // with a session token
	codes   chan *codeAccount
	grants  chan *grant
	oidc    []*OIDC
	plan    []string // the kinds, one per slot of the schedule
}

type codeAccount struct {
	Account
}

type grant struct{ refresh string }

func (r *run) api(i int) *API { return r.apis[i%len(r.apis)] }

func (r *run) logf(format string, args ...any) {
	if r.cfg.Log != nil {
		fmt.Fprintf(r.cfg.Log, format+"\n", args...)
	}
}

// Run prepares the accounts, measures the hash, drives the target and
// returns the report. An error means the run could not be prepared; what
// the server answered during the load is in the report.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if len(cfg.URLs) == 0 {
		return nil, errors.New("no --url given")
	}
	if cfg.MaxInFlight <= 0 {
		cfg.MaxInFlight = 1000
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.Mix == (Mix{}) {
		cfg.Mix = DefaultMix
	}
	r := &run{cfg: cfg, rec: newRecorder()}
	r.client = newClient(cfg.MaxInFlight, cfg.Timeout, cfg.ForwardedFor, cfg.FirstAddress)
	for _, u := range cfg.URLs {
		r.apis = append(r.apis, &API{Client: r.client, URL: strings.TrimRight(u, "/")})
	}
	rep := &Report{Scenario: cfg.Scenario, Targets: cfg.URLs, DurationS: cfg.Duration.Seconds(), OfferedPerS: cfg.Rate}
	r.inbox = r.hasInbox(ctx)
	if err := r.prepareAccounts(ctx, rep); err != nil {
		return nil, err
	}
	r.plan = r.schedule(ctx, rep)
	if len(r.plan) == 0 {
		r.rec.build(rep)
		return rep, nil
	}
	if cfg.HashTime > 0 {
		r.logf("measuring argon2id for %v on %d cores…", cfg.HashTime, runtime.NumCPU())
		h, err := MeasureHash(ctx, cfg.HashParams, runtime.NumCPU(), cfg.HashTime)
		if err != nil {
			return nil, fmt.Errorf("measuring the hash: %w", err)
		}
		p := cfg.HashParams
		rep.Hash = &HashReport{Params: fmt.Sprintf("m=%d,t=%d,p=%d", p.Memory, p.Time, p.Threads),
			Workers: h.Workers, PerHashMs: msOf(h.PerHash), LimitPerS: h.PerSecond, MeasuredForS: cfg.HashTime.Seconds()}
	}
	metricsURL := cfg.MetricsURL
	if metricsURL == "" {
		metricsURL = r.apis[0].URL + "/metrics"
	}
	mc := &http.Client{Timeout: 5 * time.Second}
	before, merr := ScrapeMetrics(ctx, mc, metricsURL, cfg.MetricsToken)

	r.logf("driving %s at %g/s for %v…", strings.Join(cfg.URLs, ", "), cfg.Rate, cfg.Duration)
	start := time.Now()
	arr := OpenArrivals(ctx, cfg.Rate, cfg.Duration, cfg.MaxInFlight, r.iteration)
	rep.ElapsedS = time.Since(start).Seconds()
	rep.Offered, rep.Started, rep.Dropped, rep.MaxInFlight = arr.Offered, arr.Started, arr.Dropped, arr.MaxInFlight
	rep.StartedPerS = float64(arr.Started) / cfg.Duration.Seconds()

	if merr == nil {
		after, err := ScrapeMetrics(ctx, mc, metricsURL, cfg.MetricsToken)
		if err == nil {
			rep.Memory = &MemoryReport{URL: metricsURL, Before: before, After: after}
		} else {
			merr = err
		}
	}
	if merr != nil {
		rep.MemoryUnavailable = merr.Error()
	}
	r.rec.build(rep)
	if rep.Hash != nil {
		for _, k := range []string{KindSignin, KindCodeSignin} {
			if kr := rep.Kind(k); kr != nil {
				rep.Hash.SigninsPerS += kr.OKPerS
			}
		}
	}
	return rep, nil
}

// newClient is NewClientFrom with the spread addresses optional.
func newClient(idle int, timeout time.Duration, spread bool, first uint32) *http.Client {
	c := NewClientFrom(idle, timeout, first)
	c.Transport.(*peopleTransport).noSpread = !spread
	return c
}

// hasInbox reports whether the first target is in development mode: its
// development inbox answers.
func (r *run) hasInbox(ctx context.Context) bool {
	resp, err := r.get(ctx, r.apis[0].URL+"/dev/api/messages?limit=1")
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	return resp.StatusCode == http.StatusOK && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json")
}

func (r *run) get(ctx context.Context, target string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return nil, err
	}
	return r.client.Do(req)
}

func (r *run) prepareAccounts(ctx context.Context, rep *Report) error {
	cfg := r.cfg
	var accs []Account
	switch {
	case cfg.Seed > 0 && len(cfg.Accounts) > 0:
		return errors.New("give --seed or --accounts, not both")
	case cfg.Seed > 0:
		if !r.inbox {
			return fmt.Errorf("--seed needs a server in development mode: %s/dev/api/messages does not answer (use --accounts FILE for a production deployment)", r.apis[0].URL)
		}
		prefix := "bench-" + strconv.FormatInt(time.Now().UnixNano()%(1<<40), 36) + "-"
		r.logf("seeding %d accounts through %s…", cfg.Seed, r.apis[0].URL)
		var err error
		if accs, err = r.apis[0].Seed(ctx, prefix, cfg.Seed, 2*runtime.NumCPU()); err != nil {
			return fmt.Errorf("seeding: %w", err)
		}
		rep.AccountsFrom = "seeded"
	case len(cfg.Accounts) > 0:
		accs = cfg.Accounts
		rep.AccountsFrom = "file"
		// A session for each account that signs in from its device.
		for i := range accs {
			if accs[i].SessionToken != "" || accs[i].DeviceToken == "" {
				continue
			}
			if a, err := r.apis[0].Signin(ctx, accs[i].Identifier, accs[i].Password, accs[i].DeviceToken); err == nil && a.SignedIn() {
				accs[i].SessionToken = a.Flow.Session.Token
			}
		}
	default:
		return errors.New("give --seed N (a server in development mode) or --accounts FILE")
	}
	rep.Accounts = len(accs)
	r.signin = accs
	for _, a := range accs {
		if a.SessionToken != "" {
			r.session = append(r.session, a)
		}
	}
	return nil
}

// schedule decides which kinds run, says why others are skipped, and
// returns the kinds of one cycle of the schedule.
func (r *run) schedule(ctx context.Context, rep *Report) []string {
	mix := Mix{}
	switch r.cfg.Scenario {
	case ScenarioSignin:
		mix.Signin = 1
	case ScenarioSession:
		mix.Session = 1
	case ScenarioCode:
		mix.Code = 1
	case ScenarioRefresh:
		mix.Refresh = 1
	default:
		mix = r.cfg.Mix
	}
	skip := func(what string) { rep.Skipped = append(rep.Skipped, what) }
	isMix := r.cfg.Scenario == ScenarioMix
	if mix.Refresh > 0 {
		if why := r.prepareGrants(ctx); why != "" {
			if isMix {
				why += "; its share goes to session checks"
				mix.Session += mix.Refresh
			}
			skip("refresh: " + why)
			mix.Refresh = 0
		}
	}
	if mix.Code > 0 {
		if !r.inbox {
			why := "code: needs the development inbox (/dev/api/messages) to read the codes: a server in development mode"
			if isMix {
				why += "; its share goes to sign-ins"
				mix.Signin += mix.Code
			}
			skip(why)
			mix.Code = 0
		} else {
			r.codes = make(chan *codeAccount, len(r.signin))
			for _, a := range r.signin {
				r.codes <- &codeAccount{Account: a}
			}
		}
	}
	if mix.Session > 0 && len(r.session) == 0 {
		why := "session: no account has a session token (give session_token or device_token in the accounts file)"
		if isMix {
			why += "; its share goes to sign-ins"
			mix.Signin += mix.Session
		}
		skip(why)
		mix.Session = 0
	}
	total := mix.Session + mix.Signin + mix.Code + mix.Refresh
	if total == 0 {
		return nil
	}
	if mix.Code > 0 {
		// Codes per account within an hour of the run.
		perAccount := r.cfg.Rate * float64(mix.Code) / float64(total) * min(r.cfg.Duration, time.Hour).Seconds() / float64(len(r.signin))
		if perAccount > OwnerCodesPerHour {
			rep.Warnings = append(rep.Warnings, fmt.Sprintf(
				"code: %.0f new-device sign-ins per account within an hour exceed the owner's %d codes an hour: expect 429 resend_limit_reached; use more accounts or a lower rate",
				perAccount, OwnerCodesPerHour))
		}
	}
	if mix.Signin > 0 {
		noDevice := 0
		for _, a := range r.signin {
			if a.DeviceToken == "" {
				noDevice++
			}
		}
		if noDevice > 0 {
			rep.Warnings = append(rep.Warnings, fmt.Sprintf(
				"signin: %d accounts have no device_token: their sign-ins stop at the verification code step (the password was checked; counted as wanted)", noDevice))
		}
	}
	// Smooth weighted round-robin: the kinds interleave evenly.
	weights := []struct {
		kind string
		w    int
	}{{KindSession, mix.Session}, {KindSignin, mix.Signin}, {ScenarioCode, mix.Code}, {KindRefresh, mix.Refresh}}
	credit := make([]int, len(weights))
	plan := make([]string, 0, total)
	for range total {
		best := -1
		for i, w := range weights {
			credit[i] += w.w
			if w.w > 0 && (best < 0 || credit[i] > credit[best]) {
				best = i
			}
		}
		credit[best] -= total
		plan = append(plan, weights[best].kind)
	}
	return plan
}

// prepareGrants gets refresh tokens for the refresh scenario, or says why it
// cannot.
func (r *run) prepareGrants(ctx context.Context) string {
	c := r.cfg
	if c.OIDCClientID == "" || c.OIDCSecret == "" || c.OIDCRedirectURI == "" {
		return "no OIDC client given (--oidc-client-id, --oidc-client-secret-file, --oidc-redirect-uri)"
	}
	resp, err := r.get(ctx, r.apis[0].URL+"/.well-known/openid-configuration")
	if err != nil {
		return "the target does not answer its OpenID configuration: " + err.Error()
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Sprintf("the target serves no OpenID Connect (/.well-known/openid-configuration answered %d)", resp.StatusCode)
	}
	if len(r.session) == 0 {
		return "no account has a session to authorize the client with"
	}
	for _, a := range r.apis {
		r.oidc = append(r.oidc, &OIDC{Client: r.client, URL: a.URL, ClientID: c.OIDCClientID, Secret: c.OIDCSecret, RedirectURI: c.OIDCRedirectURI})
	}
	n := min(len(r.session), 64)
	r.grants = make(chan *grant, n)
	r.logf("getting %d OIDC grants…", n)
	for i := range n {
		tok, err := r.oidc[i%len(r.oidc)].Grant(ctx, r.session[i].SessionToken)
		if err != nil {
			return "getting a grant failed: " + err.Error()
		}
		r.grants <- &grant{refresh: tok.RefreshToken}
	}
	return ""
}

// iteration runs the i-th arrival.
func (r *run) iteration(ctx context.Context, i int) {
	switch kind := r.plan[i%len(r.plan)]; kind {
	case KindSignin:
		a := r.signin[i%len(r.signin)]
		r.timed(KindSignin, func() (Reply, bool, error) {
			rep, err := r.api(i).Signin(ctx, a.Identifier, a.Password, a.DeviceToken)
			return rep, rep.SignedIn() || passwordAccepted(rep), err
		})
	case KindSession:
		a := r.session[i%len(r.session)]
		r.timed(KindSession, func() (Reply, bool, error) {
			rep, err := r.api(i).Get(ctx, "/api/v1/me", a.SessionToken)
			return rep, rep.Status == http.StatusOK, err
		})
	case ScenarioCode:
		r.code(ctx, i)
	case KindRefresh:
		r.refresh(ctx, i)
	}
}

// passwordAccepted reports a sign-in answered at the code or second-factor
// step: the password was right, the device is not the account's.
func passwordAccepted(r Reply) bool {
	return r.Status == http.StatusOK && r.Flow != nil && r.Flow.Status == "challenge" &&
		(r.Flow.At("verification_code") || r.Flow.At("second_factor"))
}

// timed runs one request and records it.
func (r *run) timed(kind string, do func() (Reply, bool, error)) (Reply, bool) {
	start := time.Now()
	rep, ok, err := do()
	o := outcome{kind: kind, latency: time.Since(start)}
	switch {
	case err != nil:
		o.code = "transport"
		var ne net.Error
		if errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout() {
			o.code = "timeout"
		}
	default:
		o.status, o.ok = rep.Status, ok
		o.refused = rep.RetryAfter
		if !ok {
			o.code = classify(rep)
		}
	}
	r.rec.add(o)
	return rep, ok && err == nil
}

// classify names an unwanted answer: its catalogue code, or the step a flow
// stopped at.
func classify(r Reply) string {
	if r.Problem != "" {
		return r.Problem
	}
	if r.Flow != nil {
		if len(r.Flow.Errors) > 0 {
			return r.Flow.Errors[0].Code
		}
		if r.Flow.Next != nil {
			return "step:" + r.Flow.Next.Step
		}
		return "status:" + r.Flow.Status
	}
	return "-"
}

// code signs in as an account from a new device (no device token), reads the
// code from the development inbox and submits it. One account runs one code
// iteration at a time, so the newest code in its inbox is this one's.
func (r *run) code(ctx context.Context, i int) {
	var a *codeAccount
	select {
	case a = <-r.codes:
	case <-ctx.Done():
		return
	}
	defer func() { r.codes <- a }()
	api := r.api(i)
	last, err := api.newestCode(ctx, a.Identifier)
	if err != nil {
		r.rec.add(outcome{kind: KindCodeSignin, code: "inbox_unreadable"})
		return
	}
	rep, ok := r.timed(KindCodeSignin, func() (Reply, bool, error) {
		rep, err := api.Signin(ctx, a.Identifier, a.Password, "")
		return rep, rep.Status == http.StatusOK && rep.Flow != nil && rep.Flow.At("verification_code"), err
	})
	if !ok {
		return
	}
	code, err := api.awaitCode(ctx, a.Identifier, last, r.cfg.Timeout)
	if err != nil {
		r.rec.add(outcome{kind: KindCodeSubmit, code: "no_code_in_inbox"})
		return
	}
	r.timed(KindCodeSubmit, func() (Reply, bool, error) {
		sub, err := api.Act(ctx, rep.Flow.ID, "submit_code", map[string]any{"code": code, "device_token": rep.Flow.DeviceToken})
		return sub, sub.SignedIn(), err
	})
}

// newestCode returns the id of the newest message with a code to to ("" if
// none).
func (a *API) newestCode(ctx context.Context, to string) (string, error) {
	id, _, err := a.inboxNewest(ctx, to)
	return id, err
}

// awaitCode polls the development inbox until a message with a code newer
// than the one with id after arrives for to.
func (a *API) awaitCode(ctx context.Context, to, after string, timeout time.Duration) (string, error) {
	deadline := time.Now().Add(timeout)
	for {
		id, code, err := a.inboxNewest(ctx, to)
		if err == nil && id != "" && id != after {
			return code, nil
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("loadgen: no new code for %s in the development inbox", to)
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// inboxNewest returns the id and code of the newest message with a code to
// to in the development inbox.
func (a *API) inboxNewest(ctx context.Context, to string) (id, code string, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.URL+"/dev/api/messages?limit=10&to="+url.QueryEscape(to), nil)
	if err != nil {
		return "", "", err
	}
	resp, err := a.Client.Do(req)
	if err != nil {
		return "", "", err
	}
	defer resp.Body.Close()
	var inbox struct {
		Messages []struct {
			ID   string `json:"id"`
			Code string `json:"code"`
		} `json:"messages"`
	}
	if resp.StatusCode != http.StatusOK {
		return "", "", fmt.Errorf("loadgen: the development inbox answered %d", resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(&inbox); err != nil {
		return "", "", err
	}
	for _, m := range inbox.Messages {
		if m.Code != "" {
			return m.ID, m.Code, nil
		}
	}
	return "", "", nil
}

// refresh rotates one grant's refresh token. A grant is used by one
// iteration at a time (a refresh token is used once); a grant the server
// refused is not used again.
func (r *run) refresh(ctx context.Context, i int) {
	var g *grant
	wait := time.NewTimer(r.cfg.Timeout)
	defer wait.Stop()
	select {
	case g = <-r.grants:
	case <-wait.C:
		r.rec.add(outcome{kind: KindRefresh, code: "no_live_grant"})
		return
	case <-ctx.Done():
		return
	}
	o := r.oidc[i%len(r.oidc)]
	var tok Tokens
	rep, ok := r.timed(KindRefresh, func() (Reply, bool, error) {
		rep, t, ok, err := o.Refresh(ctx, o.URL, g.refresh)
		tok = t
		return rep, ok, err
	})
	switch {
	case ok:
		g.refresh = tok.RefreshToken
	case rep.Status == http.StatusBadRequest || rep.Status == http.StatusUnauthorized:
		return // the family is gone
	}
	r.grants <- g
}
