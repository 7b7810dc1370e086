package cli_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/cli"
	"github.com/ninsho/ninsho/internal/config"
)

// logBuffer collects an app's JSON log; it is safe for concurrent use.
type logBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// records returns the log records whose msg is msg.
func (l *logBuffer) records(tb testing.TB, msg string) []map[string]any {
	tb.Helper()
	l.mu.Lock()
	text := l.b.String()
	l.mu.Unlock()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			tb.Fatalf("log line %q: %v", sc.Text(), err)
		}
		if m["msg"] == msg {
			out = append(out, m)
		}
	}
	return out
}

// startLoggedApp is startAppWith with the app's JSON log kept.
func startLoggedApp(tb testing.TB, edit func(*config.Config)) (*cli.App, *logBuffer) {
	tb.Helper()
	cfg := config.Default()
	cfg.Addr = "127.0.0.1:0"
	cfg.DataDir = tb.TempDir()
	cfg.Password.MemoryKiB = 8192
	cfg.Password.Time = 1
	cfg.LogFormat = "json"
	edit(&cfg)
	logs := &logBuffer{}
	sent := newDeliveries()
	app, err := cli.NewApp(context.Background(), cfg, cli.Options{LogOutput: logs, Delivered: sent.record})
	if err != nil {
		tb.Fatalf("NewApp: %v", err)
	}
	if err := app.Start(); err != nil {
		tb.Fatalf("Start: %v", err)
	}
	tb.Cleanup(func() { app.Close() })
	registerDeliveries(tb, app.URL(), sent)
	return app, logs
}

var notMeLink = regexp.MustCompile(`(http://\S+)/signin/not-me\?token=(\S+)`)

// TestOperatorSignals walks a person through sign-up, a wrong password, a
// sign-in from a new device, "this wasn't me" and the unlock with a new
// password, on an instance whose public_url has a port and a path: the
// links in its messages keep both, /metrics counts every step with bounded
// labels, and the security events reach the log without secrets.
func TestOperatorSignals(t *testing.T) {
	const publicURL = "http://127.0.0.1:18080/id"
	app, logs := startLoggedApp(t, func(c *config.Config) { c.PublicURL = publicURL })
	if !app.Config.Dev() {
		t.Fatalf("got mode %s, want development (public_url on loopback is not production-like)", app.Config.Mode)
	}
	c := &client{tb: t, base: app.URL(), http: &http.Client{Timeout: 10 * time.Second}}
	inbox := deliveriesOf(t, app.URL())
	const to, pw, newPW = "hanako@example.jp", "kumo-no-ue-42", "sora-no-shita-77"

	var f flowJSON
	if status, raw := c.call("POST", "/api/v1/signup", "", map[string]string{"identifier": to, "password": pw, "name": "花子", "locale": "ja"}, &f); status != http.StatusCreated {
		t.Fatalf("signup: %d %s", status, raw)
	}
	signupCode := inbox.wait(t, t.Context(), to, hasCode)
	if status, raw := c.call("POST", "/api/v1/flows/"+f.ID, "", map[string]string{"action": "submit_code", "code": signupCode.Code}, nil); status != http.StatusOK {
		t.Fatalf("signup code: %d %s", status, raw)
	}
	if status, raw := c.call("POST", "/api/v1/signin", "", map[string]string{"identifier": to, "password": "not-the-password"}, nil); status != http.StatusBadRequest {
		t.Fatalf("wrong password: %d %s", status, raw)
	}
	// Another device: no device token, so a code is asked for.
	if status, raw := c.call("POST", "/api/v1/signin", "", map[string]string{"identifier": to, "password": pw}, &f); status != http.StatusOK || f.Next == nil || f.Next.Step != "verification_code" {
		t.Fatalf("signin from a new device: %d %s", status, raw)
	}
	signinCode := inbox.wait(t, t.Context(), to, fromTemplate("signin_code"))
	if status, raw := c.call("POST", "/api/v1/flows/"+f.ID, "", map[string]string{"action": "submit_code", "code": signinCode.Code}, nil); status != http.StatusOK {
		t.Fatalf("signin code: %d %s", status, raw)
	}
	alert := inbox.wait(t, t.Context(), to, fromTemplate("signin_alert"))

	// Links follow public_url, port and path included, in every part.
	for name, body := range map[string]string{"signin_code text": signinCode.Text, "signin_code html": signinCode.HTML, "signin_alert text": alert.Text, "signin_alert html": alert.HTML} {
		if !strings.Contains(body, publicURL+"/") {
			t.Errorf("%s: no link to %s/…:\n%s", name, publicURL, body)
		}
		for _, u := range regexp.MustCompile(`https?://[^\s"<>]+`).FindAllString(body, -1) {
			if !strings.HasPrefix(u, publicURL+"/") {
				t.Errorf("%s: link %s does not start with %s/", name, u, publicURL)
			}
		}
	}
	m := notMeLink.FindStringSubmatch(alert.Text)
	if m == nil || m[1] != publicURL {
		t.Fatalf("signin_alert: no \"this wasn't me\" link under %s:\n%s", publicURL, alert.Text)
	}
	notMeToken := m[2]

	if status, raw := c.call("POST", "/api/v1/not-me", "", map[string]string{"token": notMeToken}, &f); status != http.StatusOK && status != http.StatusCreated {
		t.Fatalf("not-me: %d %s", status, raw)
	}
	unlockCode := inbox.wait(t, t.Context(), to, fromTemplate("unlock_code"))
	if status, raw := c.call("POST", "/api/v1/flows/"+f.ID, "", map[string]string{"action": "submit_code", "code": unlockCode.Code}, nil); status != http.StatusOK {
		t.Fatalf("unlock code: %d %s", status, raw)
	}
	if status, raw := c.call("POST", "/api/v1/flows/"+f.ID, "", map[string]string{"action": "set_new_password", "password": newPW, "password_confirmation": newPW}, &f); status != http.StatusOK || f.Status != "complete" {
		t.Fatalf("set_new_password: %d %s", status, raw)
	}

	_, metrics := get(t, app.URL()+"/metrics", "")
	for _, want := range []string{
		`ninsho_signin_outcomes_total{realm="default",reason="password_incorrect",result="refused"} 1`,
		`ninsho_signin_outcomes_total{realm="default",reason="device_unfamiliar",result="code_required"} 1`,
		`ninsho_signin_outcomes_total{realm="default",reason="verification_code",result="succeeded"} 1`,
		`ninsho_codes_sent_total{channel="email",purpose="signup",realm="default"} 1`,
		`ninsho_codes_sent_total{channel="email",purpose="signin",realm="default"} 1`,
		`ninsho_codes_sent_total{channel="email",purpose="unlock",realm="default"} 1`,
		`ninsho_locks_set_total{kind="suspicious",realm="default"} 1`,
		`ninsho_locks_lifted_total{kind="suspicious",realm="default",via="unlock"} 1`,
		`ninsho_sms_guard_refusals_total{channel="sms",limit="realm_hour"} 0`,
		"ninsho_outbox_pending_messages ",
		"ninsho_outbox_oldest_pending_age_seconds ",
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	// Sign-up, the wrong password, the new device's sign-in and the new
	// password each ran a hash on the hashing threads, which took CPU time.
	if n := metricValue(t, metrics, "ninsho_password_hashes_total"); n < 4 {
		t.Errorf("ninsho_password_hashes_total = %v, want at least 4", n)
	}
	if cpu := metricValue(t, metrics, "ninsho_password_hash_cpu_seconds_total"); cpu <= 0 {
		t.Errorf("ninsho_password_hash_cpu_seconds_total = %v, want more than 0", cpu)
	}
	for _, leak := range []string{to, "127.0.0.1\""} {
		if strings.Contains(metrics, leak) {
			t.Errorf("/metrics holds %q", leak)
		}
	}

	var got []string
	for _, r := range logs.records(t, "security event") {
		got = append(got, r["event"].(string))
		for _, k := range []string{"realm", "account_id", "client_ip", "request_id"} {
			if s, _ := r[k].(string); s == "" {
				t.Errorf("security event %v: no %s", r, k)
			}
		}
		if r["event"] == "account.locked" && (r["reason"] != "not_me" || r["kind"] != "suspicious") {
			t.Errorf("\"this wasn't me\" record: got %v, want kind suspicious, reason not_me", r)
		}
	}
	// The unlock with a new password tells the owner (the last alert).
	if want := "signin.alert_sent account.locked password.changed account.unlocked signin.alert_sent"; strings.Join(got, " ") != want {
		t.Errorf("security events in the log: got %q, want %q", strings.Join(got, " "), want)
	}
	all := func() string { logs.mu.Lock(); defer logs.mu.Unlock(); return logs.b.String() }()
	for _, secret := range []string{to, pw, newPW, notMeToken} {
		if strings.Contains(all, secret) {
			t.Errorf("the log holds %q", secret)
		}
	}
	for _, code := range []string{signupCode.Code, signinCode.Code, unlockCode.Code} {
		// A whole word: six digits may occur by chance inside an id.
		if regexp.MustCompile(`\b` + code + `\b`).MatchString(all) {
			t.Errorf("the log holds the code %s", code)
		}
	}
}

// metricValue is the value of the unlabelled metric name in a /metrics
// scrape.
func metricValue(t *testing.T, scrape, name string) float64 {
	t.Helper()
	for line := range strings.Lines(scrape) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			return f
		}
	}
	t.Fatalf("/metrics lacks %s", name)
	return 0
}
