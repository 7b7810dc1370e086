package web

import (
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/event"
	"github.com/ninsho/ninsho/internal/realm"
)

// TestHistorySecondFactorFailedRows: a second factor failed after the
// right password (a sign-in, a re-authentication) or after the right code
// (the password assistant, unlock) is a failed row in plain words, and its
// alert is named.
func TestHistorySecondFactorFailedRows(t *testing.T) {
	at := time.Date(2026, 11, 25, 15, 30, 0, 0, time.UTC)
	evs := []*event.Event{
		{Type: event.TypeSigninSecondFactorFailed, Data: map[string]any{"kind": "signin", "reason": "attempts_exceeded"}},
		{Type: event.TypeSigninSecondFactorFailed, Data: map[string]any{"kind": "reauth", "reason": "codes_paused"}},
		{Type: event.TypeSigninSecondFactorFailed, Data: map[string]any{"kind": "password_assistant", "reason": "attempts_exceeded"}},
		{Type: event.TypeSigninAlertSent, Data: map[string]any{"template": "second_factor_failed", "channel": "sms"}},
	}
	for _, e := range evs {
		e.IP, e.At = "198.51.100.7", at
	}
	want := map[string][]string{
		"en": {
			"Two-step verification failed after the right password",
			"Two-step verification failed after the right password",
			"Two-step verification failed after the right code",
			"Notice sent: two-step verification failed after the right password or code",
		},
		"ja": {
			"正しいパスワードの入力後、2段階認証で失敗",
			"正しいパスワードの入力後、2段階認証で失敗",
			"正しい確認コードの入力後、2段階認証で失敗",
			"2段階認証を通過できなかったことのお知らせを送信",
		},
	}
	for locale, whats := range want {
		rows, _ := historyRows(locale, &realm.Realm{}, evs)
		for i, row := range rows {
			if row.What != whats[i] {
				t.Errorf("%s row %d: what %q, want %q", locale, i, row.What, whats[i])
			}
			if failed := i < 3; row.Failed != failed {
				t.Errorf("%s row %d: failed %v, want %v", locale, i, row.Failed, failed)
			}
		}
	}
}
