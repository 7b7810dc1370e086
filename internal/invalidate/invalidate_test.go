package invalidate_test

import (
	"fmt"
	"testing"

	"github.com/ninsho/ninsho/internal/invalidate"
)

func TestPayloadRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		payload string
		kind    invalidate.Kind
		key     string
		ok      bool
	}{
		{invalidate.Payload(invalidate.Sessions, "0190-abc"), invalidate.Sessions, "0190-abc", true},
		{invalidate.Payload(invalidate.Realms, "jp:x"), invalidate.Realms, "jp:x", true},
		{"sessions:", "", "", false},
		{":key", "", "", false},
		{"nocolon", "", "", false},
		{"", "", "", false},
	} {
		kind, key, ok := invalidate.Parse(tc.payload)
		if kind != tc.kind || key != tc.key || ok != tc.ok {
			t.Errorf("Parse(%q) = %q, %q, %v; want %q, %q, %v", tc.payload, kind, key, ok, tc.kind, tc.key, tc.ok)
		}
	}
}

func TestHubDeliversByKindAndTellsLoss(t *testing.T) {
	var h invalidate.Hub
	var got []string
	h.Subscribe(invalidate.Sessions, func(key string) { got = append(got, "s="+key) })
	h.Subscribe(invalidate.Realms, func(key string) { got = append(got, "r="+key) })
	h.Deliver(invalidate.Sessions, "a1")
	h.Deliver(invalidate.Realms, "jp")
	h.Deliver("other", "x")
	if fmt.Sprint(got) != "[s=a1 r=jp]" {
		t.Errorf("delivered %v, want [s=a1 r=jp]", got)
	}
	got = nil
	h.Lost()
	if len(got) != 2 || (got[0] != "s=" && got[0] != "r=") || got[0] == got[1] {
		t.Errorf("after Lost got %v, want each subscriber once with key \"\"", got)
	}
}
