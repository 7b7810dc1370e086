package realmset

import (
	"time"

	"github.com/ninsho/ninsho/internal/config"
	"github.com/ninsho/ninsho/internal/realm"
	"github.com/ninsho/ninsho/internal/risk"
	"github.com/ninsho/ninsho/internal/theme"
)

// Build turns cfg.Realms (the configuration's, or the stored ones put in
// its place by Service.Effective) into realms, in order; each realm's links
// and host name come from config.RealmURL (its own public_url first) and
// HintRealms point into the same list. emailOnly says which realms cannot
// send text messages (no SMS provider).
func Build(cfg config.Config, emailOnly func(id string) bool) []*realm.Realm {
	var rs []*realm.Realm
	for i, rc := range cfg.Realms {
		baseURL, publicHost := cfg.RealmURL(i)
		r := &realm.Realm{
			ID: rc.ID, Name: rc.Name, Hosts: rc.Hosts, DefaultLocale: rc.DefaultLocale,
			PhoneRegion: rc.PhoneRegion, Disclosure: realm.Disclosure(rc.IdentifierDisclosure),
			PublicHost: publicHost, BaseURL: baseURL,
			Heightened:     rc.HeightenedProtection,
			TypoTolerance:  rc.TypoTolerance == nil || *rc.TypoTolerance,
			SignInWithCode: rc.SignInWithCode == nil || *rc.SignInWithCode,
			EmailOnly:      emailOnly(rc.ID),
			Brand: realm.Brand{
				PrimaryColor: rc.Branding.PrimaryColor,
				SupportURL:   rc.Branding.SupportURL, SupportContact: rc.Branding.SupportContact,
				TermsURL: rc.Branding.TermsURL, PrivacyURL: rc.Branding.PrivacyURL,
				PoweredBy: rc.Branding.PoweredBy,
			},
			ThemeDir:            rc.Theme,
			ReturnTo:            rc.ReturnTo,
			CodeDeliveryTimeout: time.Duration(rc.CodeDeliveryTimeout),
			ClosureGraceFor:     time.Duration(rc.ClosureGrace),
			HelpDueFor:          time.Duration(rc.Help.Due),
			RecoveryDueFor:      time.Duration(rc.Recovery.Due),
			TwoStep: realm.TwoStep{
				ReauthWindow:     time.Duration(rc.TwoStep.ReauthWindow),
				RequiredFor:      rc.TwoStep.RequiredFor,
				TrustedDeviceFor: time.Duration(rc.TwoStep.TrustedDeviceDays) * 24 * time.Hour,
				PasskeySignIn:    rc.PasskeySignIn == nil || *rc.PasskeySignIn,
			},
			SMSLimits:         realm.SMSLimits(rc.SMSLimits),
			Locales:           rc.Locales,
			PasswordMinLength: rc.Password.MinLength,
			CodeLifetimeFor:   time.Duration(rc.Codes.Lifetime),
			Organisations: realm.Organisations{BusinessApproval: rc.Organisations.BusinessApproval,
				Approvers: rc.Organisations.Normalized()},
		}
		switch l := rc.Branding.Logo; {
		case config.LogoIsURL(l):
			r.Brand.LogoURL = l
		case l != "":
			r.Brand.LogoFile = l
		default:
			// The theme directory's logo.svg, .png, .jpg or .webp.
			r.Brand.LogoFile = theme.FindLogo(rc.Theme)
		}
		if t := rc.Risk; t.Any() {
			pol := risk.DefaultPolicy()
			set := func(dst *int, v int) {
				if v > 0 {
					*dst = v
				}
			}
			set(&pol.CaptchaAfterFailures, t.CaptchaAfterFailures)
			set(&pol.CaptchaAfterFailuresFam, t.CaptchaAfterFailuresFamiliar)
			set(&pol.AddressPerMinute, t.AddressPerMinute)
			set(&pol.PrefixPerMinute, t.PrefixPerMinute)
			set(&pol.DevicePerMinute, t.DevicePerMinute)
			set(&pol.LockAfterFailures, t.LockAfterFailures)
			if len(t.LockLadder) > 0 {
				pol.LockLadder = make([]time.Duration, len(t.LockLadder))
				for i, d := range t.LockLadder {
					pol.LockLadder[i] = time.Duration(d)
				}
			}
			r.Risk = &pol
		}
		rs = append(rs, r)
	}
	for i, rc := range cfg.Realms { // the hint's realms, once all exist
		for _, id := range rc.CrossRealmHint {
			for _, o := range rs {
				if o.ID == id {
					rs[i].HintRealms = append(rs[i].HintRealms, o)
				}
			}
		}
	}
	return rs
}
