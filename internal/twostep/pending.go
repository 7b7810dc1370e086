package twostep

import (
	"context"

	"github.com/ninsho/ninsho/internal/account"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/realm"
	"github.com/ninsho/ninsho/internal/totp"
)

// PendingTOTP returns again what the authenticator app needs for a's
// unproved authenticator-app credential id (BeginTOTP's answer, rebuilt
// from the sealed secret), so that a page showing the enrolment can be
// shown again while the code is typed. A proved, unknown or other
// credential is ninsho.CodeNotFound: a secret is never shown once it
// counts.
func (s *Service) PendingTOTP(ctx context.Context, rl *realm.Realm, a *account.Account, id string) (*Enrolment, error) {
	creds, err := s.Store.Credentials(ctx, rl.ID, a.ID)
	if err != nil {
		return nil, err
	}
	c, err := credentialByID(creds, id, func(c *Credential) bool { return c.Method == MethodTOTP && !c.Proved() })
	if err != nil {
		return nil, err
	}
	sec, err := s.open(rl.ID, a.ID, c)
	if err != nil {
		return nil, err
	}
	u := totp.URL(rl.Name, accountLabel(rl, a), sec)
	img, err := totp.PNG(u, QRSize)
	if err != nil {
		return nil, ninsho.Internal("twostep: QR code").Wrap(err)
	}
	return &Enrolment{CredentialID: c.ID, Secret: sec, Grouped: totp.Grouped(sec), URL: u, PNG: img}, nil
}
