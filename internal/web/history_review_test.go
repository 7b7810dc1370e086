package web

import (
	"strings"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/event"
	"github.com/ninsho/ninsho/internal/i18n"
	"github.com/ninsho/ninsho/internal/realm"
	"github.com/ninsho/ninsho/internal/signin"
)

// TestHistoryRecoveryRows: a recovery case opened, approved, rejected and
// cancelled shows in the owner's history with its reference only — never
// the reviewer's written reason — and a staff decision without the address
// or browser it was made from.
func TestHistoryRecoveryRows(t *testing.T) {
	at := time.Date(2026, 11, 25, 15, 30, 0, 0, time.UTC)
	const ref = "R-7KP4-MX3C"
	evs := []*event.Event{
		{Type: event.TypeRecoverySubmitted, Actor: "account:a1", Data: map[string]any{"case": ref}},
		{Type: event.TypeRecoveryApproved, Actor: "staff:s1", Data: map[string]any{"case": ref, "reason": "staff-only note"}},
		{Type: event.TypeRecoveryRejected, Actor: "staff:s1", Data: map[string]any{"case": ref, "reason": "staff-only note", "instead": "x"}},
		{Type: event.TypeRecoveryCancelled, Actor: "account:a1", Data: map[string]any{"case": ref}},
	}
	for _, e := range evs {
		e.IP, e.UserAgent, e.At = "198.51.100.7", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36", at
		if !contains(signin.HistoryTypes, e.Type) {
			t.Errorf("%s is not in the owner's history", e.Type)
		}
	}
	for _, locale := range []string{"en", "ja"} {
		rows, _ := historyRows(locale, &realm.Realm{}, evs)
		for i, row := range rows {
			want := i18n.Message(locale, "history."+evs[i].Type, map[string]any{"reference": ref})
			if row.What != want || !strings.Contains(row.What, ref) || strings.Contains(row.What, "staff-only") {
				t.Errorf("%s row %d: what %q, want %q", locale, i, row.What, want)
			}
			if staff := i == 1 || i == 2; staff != (row.Address == "" && row.Device == "" && row.Network == "") {
				t.Errorf("%s row %d (%s): address %q device %q network %q; want them only for the owner's own entries", locale, i, evs[i].Actor, row.Address, row.Device, row.Network)
			}
			if row.Failed {
				t.Errorf("%s row %d: shown as a failure", locale, i)
			}
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
