package web

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/event"
	"github.com/ninsho/ninsho/internal/i18n"
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
			{When: "Nov 26, 2026 00:30", What: "Sign-in refused: too many attempts", Failed: true, Address: "203.0.113.9", Network: "203.0.113.0/24", Reasons: []string{"many attempts from this IP address"}},
			{When: "Nov 26, 2026 00:30", What: "Locked for new devices until 01:00 JST", Failed: true},
			{When: "Nov 26, 2026 00:30", What: "Locked to protect you: you reported a sign-in that wasn't you", Failed: true},
			{When: "Nov 26, 2026 00:30", What: "Sign-in alert sent"},
			{When: "Nov 26, 2026 00:30", What: "Password-change notice sent"},
			{When: "Nov 26, 2026 00:30", What: "account.renamed"},
		}},
		{"ja", &realm.Realm{DefaultLocale: "en"}, "zone.utc", []historyRow{
			{When: "2026年11月25日 15:30", What: "ログイン", Address: "198.51.100.7", Network: "198.51.100.0/24",
				Reasons: []string{"新しいネットワーク", "something_new", "Caps Lock または先頭文字の大文字・小文字を補正して受理"}},
			{When: "2026年11月25日 15:30", What: "ログインを拒否: 試行回数の超過", Failed: true, Address: "203.0.113.9", Network: "203.0.113.0/24", Reasons: []string{"このIPアドレスからの多数の試行"}},
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

// TestHistoryTwoStepRows: the events of two-step verification, trusted
// devices and re-authentication, and sign-ins by passkey, with a second
// factor or on a trusted device, each in plain words with the method named;
// the network is the address's /24 or /48 when the event recorded none.
func TestHistoryTwoStepRows(t *testing.T) {
	at := time.Date(2026, 11, 25, 15, 30, 0, 0, time.UTC)
	ip := "198.51.100.7"
	evs := []*event.Event{
		{Type: event.TypeSigninSucceeded, Data: map[string]any{"methods": []any{"pwd", "otp"}}},
		{Type: event.TypeSigninSucceeded, Data: map[string]any{"methods": []string{"pwd", "backup"}}},
		{Type: event.TypeSigninSucceeded, Data: map[string]any{"methods": []string{"email", "tel"}}},
		{Type: event.TypeSigninSucceeded, Data: map[string]any{"methods": []string{"hwk"}, "passkey": true}},
		{Type: event.TypeSigninSucceeded, Data: map[string]any{"methods": []string{"pwd"}, "second_factor": "trusted_device"}},
		{Type: event.TypeSigninSucceeded, Data: map[string]any{"methods": []string{"pwd", "email"}}},
		{Type: event.TypeSigninFailed, Data: map[string]any{"reason": "password_incorrect", "via": "reauth"}},
		{Type: event.TypeSigninFailed, Data: map[string]any{"reason": "passkey_unknown", "passkey": true}},
		{Type: event.TypeTwoStepEnabled, Data: map[string]any{"method": "totp"}},
		{Type: event.TypeTwoStepMethodAdded, Data: map[string]any{"method": "sms"}},
		{Type: event.TypeTwoStepMethodRemoved, Data: map[string]any{"method": "voice"}},
		{Type: event.TypeTwoStepMethodRemoved, Data: map[string]any{"method": "sms", "reason": "replaced"}},
		{Type: event.TypeTwoStepPreferred, Data: map[string]any{"method": "passkey"}},
		{Type: event.TypeTwoStepBackupCodes, Data: map[string]any{"count": 10}},
		{Type: event.TypeTwoStepDisabled, Data: map[string]any{"reason": "turned_off"}},
		{Type: event.TypeTwoStepDisabled, Data: map[string]any{"reason": "last_method_removed"}},
		{Type: event.TypeTwoStepMethodAdded, Data: map[string]any{"method": "carrier_pigeon"}},
		{Type: event.TypeSigninAlertSent, Data: map[string]any{"template": "two_step_changed", "channel": "email"}},
		{Type: event.TypeTrustedDeviceAdded},
		{Type: event.TypeTrustedDeviceRevoked},
		{Type: event.TypeTrustedDeviceCleared, Data: map[string]any{"reason": "owner", "count": 2}},
		{Type: event.TypeTrustedDeviceCleared, Data: map[string]any{"reason": "password_changed", "count": 1}},
		{Type: event.TypeTrustedDeviceCleared, Data: map[string]any{"reason": "not_me", "count": 1}},
		{Type: event.TypeTrustedDeviceCleared, Data: map[string]any{"reason": "two_step_off", "count": 1}},
		{Type: event.TypeSessionReauthenticated, Data: map[string]any{"aal": 1, "methods": []string{"pwd"}}},
		{Type: event.TypeSessionReauthenticated, Data: map[string]any{"aal": 2, "methods": []any{"pwd", "sms"}}},
	}
	for _, e := range evs {
		e.IP, e.At, e.UserAgent = ip, at, "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Mobile/15E148 Safari/604.1"
	}
	want := map[string][]string{
		"en": {
			"Signed in with two-step verification (authenticator app)",
			"Signed in with two-step verification (backup code)",
			"Signed in with two-step verification (voice call)",
			"Signed in with a passkey",
			"Signed in on a device that skips the code",
			"Signed in",
			"Identity check refused: wrong password",
			"Sign-in refused: a passkey we don't know",
			"Two-step verification turned on (authenticator app)",
			"Two-step verification method added: text message",
			"Two-step verification method removed: voice call",
			"Old phone number removed from two-step verification (text message)",
			"Preferred two-step verification method changed to: passkey",
			"New backup codes created (the old ones no longer work)",
			"Two-step verification turned off",
			"Two-step verification turned off (its last method was removed)",
			"Two-step verification method added",
			"Two-step verification change notice sent",
			"Device set to skip the code at sign-in",
			"A device removed from the devices that skip the code",
			"All devices removed from the devices that skip the code",
			"All devices removed from the devices that skip the code (password changed)",
			"All devices removed from the devices that skip the code (you reported a sign-in that wasn't you)",
			"All devices removed from the devices that skip the code (two-step verification turned off)",
			"Identity confirmed again with the password",
			"Identity confirmed again with the password and two-step verification (text message)",
		},
		"ja": {
			"2段階認証でログイン（認証アプリ）",
			"2段階認証でログイン（バックアップコード）",
			"2段階認証でログイン（音声通話）",
			"パスキーでログイン",
			"コードを求めないデバイスでログイン",
			"ログイン",
			"ご本人確認を拒否: パスワードの誤り",
			"ログインを拒否: 登録されていないパスキー",
			"2段階認証をオンに設定（認証アプリ）",
			"2段階認証の確認方法を追加: SMS",
			"2段階認証の確認方法を削除: 音声通話",
			"2段階認証の以前の電話番号を削除（SMS）",
			"2段階認証で優先して使う確認方法を変更: パスキー",
			"新しいバックアップコードを発行（以前のコードは使えなくなりました）",
			"2段階認証をオフに設定",
			"2段階認証をオフに設定（最後の確認方法を削除したため）",
			"2段階認証の確認方法を追加",
			"2段階認証の変更のお知らせを送信",
			"デバイスをコードを求めないデバイスに登録",
			"コードを求めないデバイスを1台解除",
			"コードを求めないデバイスをすべて解除",
			"コードを求めないデバイスをすべて解除（パスワードの変更による）",
			"コードを求めないデバイスをすべて解除（身に覚えのないログインのご報告による）",
			"コードを求めないデバイスをすべて解除（2段階認証をオフにしたため）",
			"パスワードでご本人確認",
			"パスワードと2段階認証でご本人確認（SMS）",
		},
	}
	for locale, whats := range want {
		rows, _ := historyRows(locale, &realm.Realm{}, evs)
		for i, row := range rows {
			if row.What != whats[i] {
				t.Errorf("%s row %d (%s): what %q, want %q", locale, i, evs[i].Type, row.What, whats[i])
			}
			if row.Address != ip || row.Network != "198.51.100.0/24" || row.Device == "" {
				t.Errorf("%s row %d: address %q network %q device %q, want %s, its /24 and a device", locale, i, row.Address, row.Network, row.Device, ip)
			}
		}
	}
}

// TestHistoryNotices: a notice of a suspension, a reinstatement or a
// recovery request is named for what it is, never "sign-in alert sent".
func TestHistoryNotices(t *testing.T) {
	signinAlert := i18n.Message("en", "history.signin.alert_sent", nil)
	seen := map[string]bool{}
	for _, tpl := range []string{"account_suspended", "account_reinstated", "recovery_opened", "recovery_approved", "recovery_rejected"} {
		for _, lang := range []string{"en", "ja"} {
			got := historyWhat(lang, &event.Event{Type: event.TypeSigninAlertSent, Data: map[string]any{"template": tpl}}, time.UTC)
			if got == "" || got == signinAlert || got == i18n.Message("ja", "history.signin.alert_sent", nil) || strings.HasPrefix(got, "history.") || seen[got] {
				t.Errorf("%s (%s): %q", tpl, lang, got)
			}
			seen[got] = true
		}
	}
}
