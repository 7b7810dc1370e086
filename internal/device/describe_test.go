package device_test

import (
	"testing"

	"github.com/ninsho/ninsho/internal/device"
)

// TestDescribe: devices are told in the reader's language; a Japanese
// message never says "a browser".
func TestDescribe(t *testing.T) {
	const (
		winChrome   = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0 Safari/537.36"
		winEdge     = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0 Safari/537.36 Edg/142.0"
		iPhone      = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Mobile/15E148 Safari/604.1"
		iPhoneCriOS = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/142.0 Mobile/15E148 Safari/604.1"
		macFirefox  = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0; rv:133.0) Gecko/20100101 Firefox/133.0"
		chromeOS    = "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0 Safari/537.36"
		androidApp  = "Dalvik/2.1.0 (Linux; U; Android 14; SC-51D Build/UP1A)"
		tool        = "okhttp/4.12.0"
	)
	tests := []struct {
		locale, ua string
		want       string
		known      bool
	}{
		{"ja", winChrome, "Windows の Chrome", true},
		{"en", winChrome, "Chrome on Windows", true},
		{"ja", winEdge, "Windows の Edge", true},
		{"en", iPhone, "Safari on iPhone", true},
		{"ja", iPhone, "iPhone の Safari", true},
		{"ja", iPhoneCriOS, "iPhone の Chrome", true},
		{"ja", macFirefox, "macOS の Firefox", true},
		{"en", chromeOS, "Chrome on ChromeOS", true},
		{"ja", androidApp, "Android のブラウザー", false},
		{"en", androidApp, "a browser on Android", false},
		{"ja", tool, "ブラウザー", false},
		{"en", tool, "a browser", false},
		{"ja", "", "ブラウザー", false},
		{"en", "", "a browser", false},
	}
	for _, tt := range tests {
		got, known := device.Describe(tt.locale, tt.ua)
		if got != tt.want || known != tt.known {
			t.Errorf("Describe(%q, %q) = %q, %v; want %q, %v", tt.locale, tt.ua, got, known, tt.want, tt.known)
		}
	}
}
