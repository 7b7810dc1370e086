package web

import (
	"slices"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/event"
	"github.com/ninsho/ninsho/internal/realm"
)

func TestDescribeUA(t *testing.T) {
	tests := []struct{ ua, want string }{
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0 Safari/537.36 Edg/142.0", "Edge on Windows"},
		{"Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Mobile/15E148 Safari/604.1", "Safari on iPhone"},
		{"Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/142.0 Mobile/15E148 Safari/604.1", "Chrome on iPhone"},
		{"Mozilla/5.0 (Linux; Android 14; SC-51D) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0 Mobile Safari/537.36", "Chrome on Android"},
		{"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0; rv:133.0) Gecko/20100101 Firefox/133.0", "Firefox on macOS"},
		{"Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0 Safari/537.36", "Chrome on ChromeOS"},
		{"okhttp/4.12.0", "a browser"},
		{"curl/7.88.1", "a browser"},
		{"MyApp/1.0", "a browser"},
		{"NinshoApp/3.1 (com.example.shop; build 4567; iOS 18.0) Alamofire/5.9", "a browser"},
		{"Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) SomeApp/2.0", "a browser on Android"},
		{"", ""},
	}
	if got, want := describeUA("ja", tests[0].ua), "Windows の Edge"; got != want {
		t.Errorf("describeUA(ja, Edge) = %q, want %q", got, want)
	}
	// An agent it does not recognise never shows as it is on a Japanese
	// page: no English words.
	for _, ua := range []string{"curl/7.88.1", "MyApp/1.0"} {
		if got, want := describeUA("ja", ua), "ブラウザー"; got != want {
			t.Errorf("describeUA(ja, %q) = %q, want %q", ua, got, want)
		}
	}
	for _, tt := range tests {
		if got := describeUA("en", tt.ua); got != tt.want {
			t.Errorf("describeUA(en, %q) = %q, want %q", tt.ua, got, tt.want)
		}
	}
}

func TestHistoryRows(t *testing.T) {
	at := time.Date(2026, 11, 25, 15, 30, 0, 0, time.UTC) // 00:30 JST on the 26th
	evs := []*event.Event{
		{Type: event.TypeSigninSucceeded, IP: "198.51.100.7", At: at,
			Data: map[string]any{"prefix": "198.51.100.0/24", "reasons": []any{"network_unfamiliar", "something_new"}, "typo_corrected": true}},
		{Type: event.TypeSigninFailed, IP: "203.0.113.9", At: at,
			Data: map[string]any{"reason": "rate_limited", "risk": []string{"address_velocity"}}},
		{Type: event.TypeAccountLocked, At: at, Data: map[string]any{"kind": "unfamiliar", "until": "2026-11-25T16:00:00Z"}},
		{Type: event.TypeAccountLocked, At: at, Data: map[string]any{"kind": "suspicious", "reason": "not_me"}},
		{Type: event.TypeSigninAlertSent, At: at, Data: map[string]any{"template": "signin_alert", "channel": "email"}},
		{Type: event.TypeSigninAlertSent, At: at, Data: map[string]any{"template": "password_changed", "channel": "email"}},
		{Type: "account.renamed", At: at},
	}
	tests := []struct {
		locale string
		rl     *realm.Realm
		zone   string
		want   []historyRow
	}{
		{"en", &realm.Realm{DefaultLocale: "ja"}, "zone.jst", []historyRow{
			{When: "Nov 26, 2026 00:30", What: "Signed in", Address: "198.51.100.7", Network: "198.51.100.0/24",
				Reasons: []string{"new network", "something_new", "password accepted with Caps Lock or first-letter case corrected"}},
			{When: "Nov 26, 2026 00:30", What: "Sign-in refused: too many attempts", Failed: true, Address: "203.0.113.9", Reasons: []string{"many attempts from this IP address"}},
			{When: "Nov 26, 2026 00:30", What: "Locked for new devices until 01:00 JST", Failed: true},
			{When: "Nov 26, 2026 00:30", What: "Locked to protect you: you reported a sign-in that wasn't you", Failed: true},
			{When: "Nov 26, 2026 00:30", What: "Sign-in alert sent"},
			{When: "Nov 26, 2026 00:30", What: "Password-change notice sent"},
			{When: "Nov 26, 2026 00:30", What: "account.renamed"},
		}},
		{"ja", &realm.Realm{DefaultLocale: "en"}, "zone.utc", []historyRow{
			{When: "2026年11月25日 15:30", What: "ログイン", Address: "198.51.100.7", Network: "198.51.100.0/24",
				Reasons: []string{"新しいネットワーク", "something_new", "Caps Lock または先頭文字の大文字・小文字を補正して受理"}},
			{When: "2026年11月25日 15:30", What: "ログインを拒否: 試行回数の超過", Failed: true, Address: "203.0.113.9", Reasons: []string{"このIPアドレスからの多数の試行"}},
			{When: "2026年11月25日 15:30", What: "16:00 UTCまで新しいデバイスからのログインを制限", Failed: true},
			{When: "2026年11月25日 15:30", What: "保護のためロック（身に覚えのないログインのご報告による）", Failed: true},
			{When: "2026年11月25日 15:30", What: "ログインのお知らせを送信"},
			{When: "2026年11月25日 15:30", What: "パスワード変更のお知らせを送信"},
			{When: "2026年11月25日 15:30", What: "account.renamed"},
		}},
	}
	for _, tt := range tests {
		rows, zone := historyRows(tt.locale, tt.rl, evs)
		if zone != tt.zone {
			t.Errorf("%s: zone %q, want %q", tt.locale, zone, tt.zone)
		}
		if len(rows) != len(tt.want) {
			t.Fatalf("%s: %d rows, want %d", tt.locale, len(rows), len(tt.want))
		}
		for i, got := range rows {
			w := tt.want[i]
			if got.When != w.When || got.What != w.What || got.Failed != w.Failed || got.Address != w.Address || got.Network != w.Network || !slices.Equal(got.Reasons, w.Reasons) {
				t.Errorf("%s row %d:\n got %+v\nwant %+v", tt.locale, i, got, w)
			}
			if got.Datetime != "2026-11-25T15:30:00Z" {
				t.Errorf("%s row %d: datetime %q", tt.locale, i, got.Datetime)
			}
		}
	}
}
