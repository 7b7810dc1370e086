package config

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// realms[].closure_grace: 0 keeps the default (30 days); otherwise between
// one day and a year.
func TestClosureGrace(t *testing.T) {
	for _, tt := range []struct {
		grace time.Duration
		ok    bool
	}{
		{0, true}, {24 * time.Hour, true}, {30 * 24 * time.Hour, true}, {365 * 24 * time.Hour, true},
		{-time.Hour, false}, {time.Hour, false}, {366 * 24 * time.Hour, false},
	} {
		c := Default()
		c.Realms[0].ClosureGrace = Duration(tt.grace)
		err := c.Validate()
		if tt.ok && err != nil {
			t.Errorf("closure_grace %v: Validate() = %v, want nil", tt.grace, err)
		}
		if !tt.ok && (err == nil || !strings.Contains(err.Error(), "realms[0].closure_grace")) {
			t.Errorf("closure_grace %v: Validate() = %v, want an error naming realms[0].closure_grace", tt.grace, err)
		}
	}
	var r Realm
	if err := json.Unmarshal([]byte(`{"closure_grace": "168h"}`), &r); err != nil || time.Duration(r.ClosureGrace) != 7*24*time.Hour {
		t.Errorf("closure_grace \"168h\" read as %v, %v", time.Duration(r.ClosureGrace), err)
	}
}
