package startgate_test

import (
	"context"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/flowtest"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/startgate"
)

// TestAdmitCapsAndHolds: each kind's caps per address, network and device
// refuse with rate_limited (and Retry-After) past the limit; the CAPTCHA
// thresholds and the automation rule hold a start; an hour later the counts
// have gone. The counters are shared through the store (both databases).
func TestAdmitCapsAndHolds(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		g := e.Gate
		admit := func(kind flow.Kind, ip, dev, ua string) (bool, error) {
			req := flowtest.Req(ip, "")
			req.UserAgent = ua
			return g.Admit(ctx, kind, "jp", req, dev)
		}
		limits := startgate.DefaultLimits()
		for _, kind := range []flow.Kind{flow.KindSignup, flow.KindUnlock, flow.KindReset, flow.KindSignin} {
			l := limits[kind]
			// Per device: from one device on ever new networks.
			for i := 1; i <= l.PerDevice+1; i++ {
				hold, err := admit(kind, "198.51."+itoa(i)+".1", "device-"+string(kind), flowtest.BrowserUA)
				if i <= l.PerDevice {
					if err != nil {
						t.Fatalf("%s: device start %d: %v", kind, i, err)
					}
					if want := l.CaptchaAfterDevice > 0 && i >= l.CaptchaAfterDevice; hold != want {
						t.Errorf("%s: device start %d: hold %v, want %v", kind, i, hold, want)
					}
					continue
				}
				flowtest.WantCode(t, err, ninsho.CodeRateLimited)
				if ninsho.ErrorOf(err).Params["retry_after_s"] != 3600 {
					t.Errorf("%s: refusal without retry_after_s 3600: %v", kind, ninsho.ErrorOf(err).Params)
				}
			}
			// Per address: one address, ever new devices.
			for i := 1; i <= l.PerAddress+1; i++ {
				hold, err := admit(kind, "203.0.113."+itoa(10+int(len(kind))), "dev-"+string(kind)+itoa(i), flowtest.BrowserUA)
				if i <= l.PerAddress {
					if err != nil {
						t.Fatalf("%s: address start %d: %v", kind, i, err)
					}
					if want := l.CaptchaAfterAddress > 0 && i >= l.CaptchaAfterAddress; hold != want {
						t.Errorf("%s: address start %d: hold %v, want %v", kind, i, hold, want)
					}
					continue
				}
				flowtest.WantCode(t, err, ninsho.CodeRateLimited)
			}
			// Automation.
			hold, err := admit(kind, "192.0.2."+itoa(len(kind)), "bot-"+string(kind), "curl/8.5.0")
			if err != nil || hold != l.CaptchaForAutomation {
				t.Errorf("%s: automated client: hold %v, %v; want %v", kind, hold, err, l.CaptchaForAutomation)
			}
		}
		// Per network: one start from each of many addresses of one /24.
		l := limits[flow.KindReset]
		for i := 1; i <= l.PerPrefix+1; i++ {
			_, err := admit(flow.KindReset, "100.64.7."+itoa(i), "net-"+itoa(i), flowtest.BrowserUA)
			if i <= l.PerPrefix && err != nil {
				t.Fatalf("network start %d: %v", i, err)
			}
			if i > l.PerPrefix {
				flowtest.WantCode(t, err, ninsho.CodeRateLimited)
			}
		}
		// An hour later everything is admitted again.
		e.Clock.Advance(startgate.Window + time.Second)
		if _, err := admit(flow.KindReset, "100.64.7.1", "net-1", flowtest.BrowserUA); err != nil {
			t.Errorf("an hour later: %v", err)
		}
	})
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b []byte
	for ; i > 0; i /= 10 {
		b = append([]byte{byte('0' + i%10)}, b...)
	}
	return string(b)
}
