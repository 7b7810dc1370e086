package message

import (
	"strings"
	"testing"
)

// worstHost is a realistic long public host: 40 characters.
const worstHost = "id.sakura-shouten-online-shop.example.jp"

// linkTemplates carry a "this wasn't me" link, in a text message its short
// form baseURL + "/n/" + 22 characters of token (authflow.NotMeLink), 73
// characters with worstHost: more than a UCS-2 segment (70) on its own.
var linkTemplates = map[string]bool{
	TemplateSigninAlert: true, TemplatePasswordChanged: true, TemplateTwoStepChanged: true, TemplateSecondFactorFailed: true,
	TemplateAccountClosure: true,
	TemplateContactChanged: true,
	TemplateRecoveryOpened: true, TemplateRecoveryApproved: true,
}

// TestSMSTemplatesFitOneSegment renders every SMS template in both languages
// with worst-case variables — a Japanese shop name (which makes even the
// English text UCS-2) and an ASCII one, a 40-character host, a 6-digit
// code, a long name — and asserts each code or notice is one segment
// (CountSMS), with the origin-bound line "@host #code" last in every code.
// Templates with a link are one segment in English (GSM-7) and at most two
// in Japanese (UCS-2): the link alone is longer than a UCS-2 segment.
func TestSMSTemplatesFitOneSegment(t *testing.T) {
	if len(worstHost) != 40 {
		t.Fatalf("worstHost has %d characters, want 40", len(worstHost))
	}
	tm := MustTemplates(t)
	base := "https://" + worstHost
	link := base + "/n/" + strings.Repeat("A", 22)
	for _, id := range tm.IDs() {
		if !tm.Has(ChannelSMS, id) {
			continue
		}
		for _, loc := range []string{LocaleJA, LocaleEN} {
			// A realm has one name; like the goldens, each language gets a
			// shop named in it.
			for _, brand := range []string{map[string]string{LocaleJA: "さくら商店", LocaleEN: "Sakura Shop"}[loc]} {
				vars := map[string]string{"code": "987654", "name": "山田 太郎左衛門", "minutes": "10", "host": worstHost, "base_url": base,
					"time": "2026-11-25 10:02 JST", "device": "Windows の Chrome", "network": "203.0.113.0/24", "link": link,
					"ref": "H-7KP4-MX3C", "due": "2026-11-27 10:02 JST", "text": "T"}
				for _, variant := range smsVariants(id) {
					for k, v := range variant {
						vars[k] = v
					}
					r, err := tm.Render(ChannelSMS, id, loc, Brand{Name: brand}, vars)
					if err != nil {
						t.Fatal(err)
					}
					c := CountSMS(r.Text)
					limit := 1
					if linkTemplates[id] && c.Encoding == EncodingUCS2 {
						limit = 2
					}
					if c.Segments > limit {
						t.Errorf("%s %s brand %q %v: %d segments (%s, %d units), want at most %d:\n%s", id, loc, brand, variant, c.Segments, c.Encoding, c.Units, limit, r.Text)
					}
					if _, ok := vars["code"]; ok && hasCode(id) {
						lines := strings.Split(r.Text, "\n")
						if got, want := lines[len(lines)-1], "@"+worstHost+" #987654"; got != want {
							t.Errorf("%s %s: last line %q, want %q", id, loc, got, want)
						}
					}
				}
			}
		}
	}
}

// hasCode reports whether template id carries a code.
func hasCode(id string) bool {
	for _, n := range templateVars[id] {
		if n == "code" {
			return true
		}
	}
	return false
}

// smsVariants are the values of the choice variables of template id, each
// rendered.
func smsVariants(id string) []map[string]string {
	switch id {
	case TemplateTwoStepChanged:
		var out []map[string]string
		for _, c := range []string{"turned_on", "turned_off", "method_added", "method_removed", "backup_codes", "phone_changed"} {
			out = append(out, map[string]string{"change": c, "method": "voice"})
		}
		return out
	case TemplateSecondFactorFailed:
		return []map[string]string{{"after": "password"}, {"after": "code"}}
	case TemplateAccountClosure:
		return []map[string]string{{"change": "closed", "until": "2026-12-25 10:02 JST"}, {"change": "reopened", "until": ""}, {"change": "purged", "until": "", "link": "", "device": "", "network": ""}}
	case TemplateRecoveryOpened, TemplateRecoveryApproved, TemplateRecoveryRejected:
		return []map[string]string{{"reference": "R-7KP4-MX3C", "due": "2026-11-27 10:02 JST", "reason": "x", "instead": "y"}}
	case TemplateAccountSuspended:
		var out []map[string]string
		for _, r := range []string{"unusual_activity", "payment_problem", "terms_of_use", "owner_request"} {
			out = append(out, map[string]string{"reference": "S-7KP4-MX3C", "reason": r})
		}
		return out
	case TemplateAccountReinstated:
		return []map[string]string{{"reference": "S-7KP4-MX3C"}, {"reference": ""}}
	case TemplateContactChanged:
		var out []map[string]string
		for _, c := range []string{"email_changed", "phone_changed", "email_added", "phone_added"} {
			out = append(out, map[string]string{"change": c})
		}
		return out
	}
	return []map[string]string{{}}
}
