package cli_test

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"syscall"
	"testing"

	"github.com/ninsho/ninsho/internal/config"
)

// get sends GET url with the Authorization header auth (when not empty) and
// returns the status and body.
func get(t *testing.T, url, auth string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func TestMetricsOnAListenerOfTheirOwn(t *testing.T) {
	const token = "s3cret-metrics-token"
	app := startAppWith(t, func(c *config.Config) {
		c.Metrics = config.Metrics{Addr: "127.0.0.1:0", BearerToken: token}
	})
	if app.MetricsURL() == "" || app.MetricsURL() == app.URL() {
		t.Fatalf("got MetricsURL() %q (main %q), want a listener of its own", app.MetricsURL(), app.URL())
	}
	if status, body := get(t, app.URL()+"/metrics", "Bearer "+token); status != http.StatusNotFound || strings.Contains(body, "ninsho_http") {
		t.Errorf("got the main listener's /metrics %d, want 404 without metrics", status)
	}
	tests := []struct {
		name, auth string
		status     int
		want       string
	}{
		{"no token", "", http.StatusUnauthorized, `"code":"unauthenticated"`},
		{"wrong token", "Bearer nope-nope-nope-nope", http.StatusUnauthorized, `"code":"unauthenticated"`},
		{"token", "Bearer " + token, http.StatusOK, "ninsho_http_requests_total"},
	}
	for _, tt := range tests {
		status, body := get(t, app.MetricsURL()+"/metrics", tt.auth)
		if status != tt.status || !strings.Contains(body, tt.want) {
			t.Errorf("%s: got %d %.120q, want %d with %s", tt.name, status, body, tt.status, tt.want)
		}
	}
	metrics := app.MetricsURL()
	if err := app.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := http.Get(metrics + "/metrics"); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("got %v after Close, want the metrics listener closed (connection refused)", err)
	}
}

func TestMetricsOnTheMainListenerInDevelopment(t *testing.T) {
	app := startApp(t, "")
	if app.MetricsURL() != "" {
		t.Errorf("got MetricsURL() %q, want none", app.MetricsURL())
	}
	get(t, app.URL()+"/healthz", "")
	if status, body := get(t, app.URL()+"/metrics", ""); status != http.StatusOK || !strings.Contains(body, "ninsho_http_requests_total") {
		t.Errorf("got /metrics %d, want 200 with the metrics (development default)", status)
	}
	// Every provider in use has its breaker gauge from the start (closed).
	if _, body := get(t, app.URL()+"/metrics", ""); !strings.Contains(body, `ninsho_message_provider_breaker_state{provider="devinbox"} 0`) {
		t.Errorf("/metrics has no closed breaker gauge for the dev inbox")
	}
}
