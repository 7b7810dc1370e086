package config

import (
	"strings"
	"testing"
)

func TestMetricsOnMainListener(t *testing.T) {
	tests := []struct {
		name  string
		mode  Mode
		addr  string
		token Secret
		want  bool
	}{
		{"development as before", ModeDevelopment, "", "", true},
		{"development, own listener", ModeDevelopment, "127.0.0.1:9090", "", false},
		{"production without settings serves none", ModeProduction, "", "", false},
		{"production behind a token", ModeProduction, "", "0123456789abcdef", true},
		{"production, own listener", ModeProduction, "127.0.0.1:9090", "0123456789abcdef", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			c.Mode, c.Metrics = tt.mode, Metrics{Addr: tt.addr, BearerToken: tt.token}
			if got := c.MetricsOnMainListener(); got != tt.want {
				t.Errorf("got MetricsOnMainListener() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestMetricsSettings(t *testing.T) {
	c, err := Load("", func(k string) string {
		return map[string]string{"NINSHO_METRICS_ADDR": "127.0.0.1:9090", "NINSHO_METRICS_TOKEN": "s3cret-metrics-token"}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.Metrics, (Metrics{Addr: "127.0.0.1:9090", BearerToken: "s3cret-metrics-token"}); got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if out := c.Redacted(); strings.Contains(out, "s3cret") || !strings.Contains(out, `"addr": "127.0.0.1:9090"`) {
		t.Errorf("Redacted() = %s, want the address and not the token", out)
	}

	tests := []struct {
		name string
		addr string
		m    Metrics
		want string // "" means valid
	}{
		{"own listener", "127.0.0.1:8080", Metrics{Addr: "127.0.0.1:9090"}, ""},
		{"token", "127.0.0.1:8080", Metrics{BearerToken: "0123456789abcdef"}, ""},
		{"both on port 0", "127.0.0.1:0", Metrics{Addr: "127.0.0.1:0"}, ""},
		{"not host:port", "127.0.0.1:8080", Metrics{Addr: "9090"}, "metrics.addr"},
		{"the main address", "127.0.0.1:8080", Metrics{Addr: "127.0.0.1:8080"}, "metrics.addr: must differ from addr"},
		{"short token", "127.0.0.1:8080", Metrics{BearerToken: "short"}, "metrics.bearer_token: at least 16 characters"},
		{"token with a space", "127.0.0.1:8080", Metrics{BearerToken: "0123456789 abcdef"}, "metrics.bearer_token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			c.Addr, c.Metrics = tt.addr, tt.m
			err := c.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("got Validate() = %v, want nil", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("got Validate() = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}
