package realm

import (
	"testing"
	"time"
)

func TestForHost(t *testing.T) {
	jp := &Realm{ID: "jp", Hosts: []string{"id.example.jp"}}
	us := &Realm{ID: "us", Hosts: []string{"id.example.com"}}
	r := NewRegistry([]*Realm{jp, us})
	tests := []struct{ host, want string }{
		{"id.example.jp", "jp"},
		{"ID.EXAMPLE.COM", "us"},
		{"id.example.com:8443", "us"},
		{"unknown.example", "jp"},
		{"[::1]:8080", "jp"},
		{"", "jp"},
	}
	for _, tt := range tests {
		if got := r.ForHost(tt.host).ID; got != tt.want {
			t.Errorf("ForHost(%q) = %s, want %s", tt.host, got, tt.want)
		}
	}
	if r.ByID("us") != us || r.ByID("xx") != nil {
		t.Error("ByID is wrong")
	}
}

func TestReauthWindow(t *testing.T) {
	if got := (&Realm{}).ReauthWindow(); got != 10*time.Minute {
		t.Errorf("ReauthWindow of a realm without a setting = %v, want 10m", got)
	}
	r := &Realm{TwoStep: TwoStep{ReauthWindow: 5 * time.Minute}}
	if got := r.ReauthWindow(); got != 5*time.Minute {
		t.Errorf("ReauthWindow = %v, want the realm's 5m", got)
	}
}
