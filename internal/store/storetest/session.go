package storetest

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/session"
)

// Session checks session.Store: lookups by token hash, touching, and the
// revocation semantics (idempotent, first time kept, "everywhere but here"
// counts only live sessions of the one account).
func Session(t *testing.T, open func(tb testing.TB) Stores) {
	ctx := context.Background()

	t.Run("round trip", func(t *testing.T) {
		s := open(t)
		a := MustCreateAccount(t, s, NewAccount("jp", "hanako@example.jp", ""))
		d := MustCreateDevice(t, s, NewDevice("jp"))
		plain := NewSession("jp", a.ID)
		strong := NewSession("jp", a.ID)
		strong.DeviceID, strong.AAL, strong.Methods = d.ID, 2, []string{session.MethodPassword, session.MethodOTP}
		strong.AuthenticatedAt = at(time.Minute)
		revoked := NewSession("jp", a.ID)
		revoked.RevokedAt = ptr(at(time.Minute))
		for _, want := range []*session.Session{plain, strong, revoked} {
			MustCreateSession(t, s, want)
			got, err := s.SessionByTokenHash(ctx, want.TokenHash)
			mustNil(t, "SessionByTokenHash", err)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("SessionByTokenHash:\ngot  %s\nwant %s", show(got), show(want))
			}
		}
		for _, h := range [][]byte{NewHash(), nil} {
			_, err := s.SessionByTokenHash(ctx, h)
			wantCode(t, "SessionByTokenHash of an unknown token", err, ninsho.CodeUnauthenticated)
		}
	})

	t.Run("touch and revoke", func(t *testing.T) {
		s := open(t)
		a := MustCreateAccount(t, s, NewAccount("jp", "hanako@example.jp", ""))
		sess := MustCreateSession(t, s, NewSession("jp", a.ID))
		mustNil(t, "TouchSession", s.TouchSession(ctx, sess.ID, at(time.Minute)))
		mustNil(t, "RevokeSession", s.RevokeSession(ctx, sess.ID, at(2*time.Minute)))
		mustNil(t, "RevokeSession again", s.RevokeSession(ctx, sess.ID, at(3*time.Minute)))
		mustNil(t, "RevokeSession of an unknown session", s.RevokeSession(ctx, NewID(), at(3*time.Minute)))
		got, err := s.SessionByTokenHash(ctx, sess.TokenHash)
		mustNil(t, "SessionByTokenHash of a revoked session", err)
		if !got.LastSeenAt.Equal(at(time.Minute)) {
			t.Errorf("LastSeenAt: got %v, want %v", got.LastSeenAt, at(time.Minute))
		}
		if got.RevokedAt == nil || !got.RevokedAt.Equal(at(2*time.Minute)) {
			t.Errorf("RevokedAt: got %v, want %v (the first revocation)", got.RevokedAt, at(2*time.Minute))
		}
	})

	t.Run("reauthenticate", func(t *testing.T) {
		s := open(t)
		a := MustCreateAccount(t, s, NewAccount("jp", "hanako@example.jp", ""))
		sess := MustCreateSession(t, s, NewSession("jp", a.ID))
		other := MustCreateSession(t, s, NewSession("jp", a.ID))
		methods := []string{session.MethodPassword, session.MethodHWK}
		mustNil(t, "ReauthenticateSession", s.ReauthenticateSession(ctx, sess.ID, at(time.Hour), 2, methods))
		got, err := s.SessionByTokenHash(ctx, sess.TokenHash)
		mustNil(t, "SessionByTokenHash", err)
		want := *sess
		want.AuthenticatedAt, want.AAL, want.Methods = at(time.Hour), 2, methods
		if !reflect.DeepEqual(got, &want) {
			t.Errorf("after ReauthenticateSession:\ngot  %s\nwant %s", show(got), show(&want))
		}
		if !got.CreatedAt.Equal(Epoch) {
			t.Errorf("CreatedAt moved with re-authentication: got %v, want %v", got.CreatedAt, Epoch)
		}
		untouched, err := s.SessionByTokenHash(ctx, other.TokenHash)
		mustNil(t, "SessionByTokenHash of another session", err)
		if !reflect.DeepEqual(untouched, other) {
			t.Errorf("another session of the account changed:\ngot  %s\nwant %s", show(untouched), show(other))
		}
		mustNil(t, "RevokeSession", s.RevokeSession(ctx, sess.ID, at(2*time.Hour)))
		err = s.ReauthenticateSession(ctx, sess.ID, at(3*time.Hour), 2, methods)
		wantCode(t, "ReauthenticateSession of a revoked session", err, ninsho.CodeUnauthenticated)
		err = s.ReauthenticateSession(ctx, NewID(), at(3*time.Hour), 2, methods)
		wantCode(t, "ReauthenticateSession of an unknown session", err, ninsho.CodeUnauthenticated)
		got, err = s.SessionByTokenHash(ctx, sess.TokenHash)
		mustNil(t, "SessionByTokenHash of the revoked session", err)
		if !got.AuthenticatedAt.Equal(at(time.Hour)) {
			t.Errorf("AuthenticatedAt of a revoked session moved: got %v, want %v", got.AuthenticatedAt, at(time.Hour))
		}
	})

	t.Run("revoke account sessions", func(t *testing.T) {
		now := at(time.Hour)
		type row struct {
			other       bool          // belongs to another account
			revokedAt   time.Duration // 0: live; else revoked at Epoch+d
			expiresIn   time.Duration // from now
			wantRevoked bool
		}
		cases := []struct {
			name   string
			except int // index of the current session, -1 for none
			rows   []row
			want   int
		}{
			{"everywhere but here", 0, []row{
				{expiresIn: time.Hour},                    // current
				{expiresIn: time.Hour, wantRevoked: true}, // live
				{expiresIn: time.Minute, wantRevoked: true},
				{revokedAt: time.Minute, expiresIn: time.Hour, wantRevoked: true}, // already
				{expiresIn: -time.Minute},                                         // expired
				{other: true, expiresIn: time.Hour},                               // another account
			}, 2},
			{"everywhere", -1, []row{
				{expiresIn: time.Hour, wantRevoked: true},
				{expiresIn: time.Hour, wantRevoked: true},
				{other: true, expiresIn: time.Hour},
			}, 2},
			{"nothing live", -1, []row{
				{revokedAt: time.Minute, expiresIn: time.Hour, wantRevoked: true},
				{expiresIn: 0},
			}, 0},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				s := open(t)
				mine := MustCreateAccount(t, s, NewAccount("jp", "hanako@example.jp", ""))
				other := MustCreateAccount(t, s, NewAccount("jp", "taro@example.jp", ""))
				sessions := make([]*session.Session, len(tc.rows))
				for i, r := range tc.rows {
					owner := mine.ID
					if r.other {
						owner = other.ID
					}
					sessions[i] = NewSession("jp", owner)
					sessions[i].ExpiresAt = now.Add(r.expiresIn)
					if r.revokedAt != 0 {
						sessions[i].RevokedAt = ptr(at(r.revokedAt))
					}
					MustCreateSession(t, s, sessions[i])
				}
				except := ""
				if tc.except >= 0 {
					except = sessions[tc.except].ID
				}
				n, err := s.RevokeAccountSessions(ctx, mine.ID, except, now)
				mustNil(t, "RevokeAccountSessions", err)
				if n != tc.want {
					t.Errorf("RevokeAccountSessions: got %d, want %d", n, tc.want)
				}
				for i, r := range tc.rows {
					got, err := s.SessionByTokenHash(ctx, sessions[i].TokenHash)
					mustNil(t, "SessionByTokenHash", err)
					if (got.RevokedAt != nil) != r.wantRevoked {
						t.Errorf("session #%d: got RevokedAt %v, want revoked %v", i, got.RevokedAt, r.wantRevoked)
						continue
					}
					wantAt := now
					if r.revokedAt != 0 {
						wantAt = at(r.revokedAt)
					}
					if r.wantRevoked && !got.RevokedAt.Equal(wantAt) {
						t.Errorf("session #%d: got RevokedAt %v, want %v", i, got.RevokedAt, wantAt)
					}
				}
			})
		}
	})
}
