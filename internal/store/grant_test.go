package store_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/grant"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/secret"
	"github.com/ninsho/ninsho/internal/store"
	"github.com/ninsho/ninsho/internal/store/storetest"
	"github.com/ninsho/ninsho/internal/throttle"
)

// TestGrantLifecycle holds grant.Service on the real stores: a code is
// redeemed once (a second use revokes what it issued), refresh tokens
// rotate (a rotated one presented again revokes its family), revocation
// by a client, and a token dies with its session.
func TestGrantLifecycle(t *testing.T) {
	storetest.EachDatabase(t, func(t *testing.T, open func(testing.TB) *store.DB) {
		db := open(t)
		ctx := context.Background()
		clock := ninsho.NewManualClock(storetest.Epoch)
		h, err := secret.NewHasher(bytes.Repeat([]byte{7}, 32))
		if err != nil {
			t.Fatal(err)
		}
		g := &grant.Service{Store: db, Owners: db, Tx: db, Events: db, Hasher: h, Clock: clock, Random: ninsho.SecureRandom}
		acct := storetest.MustCreateAccount(t, db, storetest.NewAccount("jp", "grant@example.jp", ""))
		sess := storetest.MustCreateSession(t, db, storetest.NewSession("jp", acct.ID))

		authorize := func() (*grant.Authorization, string) {
			a := &grant.Authorization{Realm: "jp", ClientID: "c_web", AccountID: acct.ID, SessionID: sess.ID,
				RedirectURI: "https://shop.example.jp/cb", Scopes: []string{"openid", "offline_access"},
				AuthTime: storetest.Epoch, AMR: []string{"pwd"}, ACR: "aal1"}
			if err := g.Authorize(ctx, a, ninsho.Request{}); err != nil {
				t.Fatal(err)
			}
			code := ninsho.Token(ninsho.SecureRandom, 24)
			if err := g.SetCode(ctx, a.ID, code); err != nil {
				t.Fatal(err)
			}
			return a, code
		}
		issue := func(a *grant.Authorization) grant.Issue {
			return grant.Issue{Realm: "jp", ClientID: a.ClientID, AccountID: a.AccountID, SessionID: a.SessionID,
				Family: a.ID, Scopes: a.Scopes, SessionExpiresAt: sess.ExpiresAt}
		}

		// A code: once, in its realm, before it expires.
		a, code := authorize()
		if _, err := g.Redeem(ctx, "us", code); !ninsho.IsCode(err, ninsho.CodeUnauthenticated) {
			t.Fatalf("code of another realm: %v", err)
		}
		got, err := g.Redeem(ctx, "jp", code)
		if err != nil || got.ID != a.ID || got.AccountID != acct.ID || got.Scopes[1] != "offline_access" || got.UsedAt != nil {
			t.Fatalf("Redeem = %+v, %v", got, err)
		}
		// Redeem only reads: a stranger presenting the code (refused by
		// the provider before Consume) changes nothing.
		if again, err := g.Redeem(ctx, "jp", code); err != nil || again.UsedAt != nil {
			t.Fatalf("Redeem changed the code: %+v, %v", again, err)
		}
		if err := g.Consume(ctx, "jp", a.ID, a.ClientID, a.AccountID); err != nil {
			t.Fatalf("Consume: %v", err)
		}
		access, refresh, err := g.IssuePair(ctx, issue(a), "")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := g.Access(ctx, "jp", access.ID); err != nil {
			t.Fatalf("fresh access token: %v", err)
		}
		if used, err := g.Redeem(ctx, "jp", code); err != nil || used.UsedAt == nil {
			t.Fatalf("second redemption reads %+v, %v", used, err)
		}
		if err := g.Consume(ctx, "jp", a.ID, a.ClientID, a.AccountID); !ninsho.IsCode(err, ninsho.CodeUnauthenticated) {
			t.Fatalf("second Consume: %v", err)
		}
		if _, err := g.Access(ctx, "jp", access.ID); err == nil {
			t.Fatal("a reused code left its access token alive")
		}
		if _, err := g.Refresh(ctx, "jp", "", refresh); err == nil {
			t.Fatal("a reused code left its refresh token alive")
		}

		// Rotation and reuse.
		a, code = authorize()
		if _, err := g.Redeem(ctx, "jp", code); err != nil {
			t.Fatal(err)
		}
		if err := g.Consume(ctx, "jp", a.ID, a.ClientID, a.AccountID); err != nil {
			t.Fatal(err)
		}
		_, r1, err := g.IssuePair(ctx, issue(a), "")
		if err != nil {
			t.Fatal(err)
		}
		clock.Advance(time.Minute)
		if _, err := g.Refresh(ctx, "jp", "", r1); err != nil {
			t.Fatalf("Refresh(r1): %v", err)
		}
		acc2, r2, err := g.IssuePair(ctx, issue(a), r1)
		if err != nil || r2 == r1 {
			t.Fatalf("rotation: %v", err)
		}
		if _, err := g.Refresh(ctx, "us", "", r2); err == nil {
			t.Fatal("a refresh token of another realm was accepted")
		}
		if _, err := g.Refresh(ctx, "jp", "", r1); !ninsho.IsCode(err, ninsho.CodeUnauthenticated) {
			t.Fatalf("rotated token again: %v", err)
		}
		if _, err := g.Refresh(ctx, "jp", "", r2); err == nil {
			t.Fatal("the reuse of r1 left r2 alive")
		}
		if _, err := g.Access(ctx, "jp", acc2.ID); err == nil {
			t.Fatal("the reuse of r1 left the family's access token alive")
		}
		// A concurrent rotation (the second IssuePair with the same token)
		// is a reuse too.
		a, code = authorize()
		if _, err := g.Redeem(ctx, "jp", code); err != nil {
			t.Fatal(err)
		}
		if err := g.Consume(ctx, "jp", a.ID, a.ClientID, a.AccountID); err != nil {
			t.Fatal(err)
		}
		_, r3, _ := g.IssuePair(ctx, issue(a), "")
		if _, _, err := g.IssuePair(ctx, issue(a), r3); err != nil {
			t.Fatal(err)
		}
		if _, _, err := g.IssuePair(ctx, issue(a), r3); !ninsho.IsCode(err, ninsho.CodeUnauthenticated) {
			t.Fatalf("second rotation of one token: %v", err)
		}

		// Revocation by the client: another client's revocation does nothing.
		a, code = authorize()
		if _, err := g.Redeem(ctx, "jp", code); err != nil {
			t.Fatal(err)
		}
		if err := g.Consume(ctx, "jp", a.ID, a.ClientID, a.AccountID); err != nil {
			t.Fatal(err)
		}
		acc4, r4, _ := g.IssuePair(ctx, issue(a), "")
		rt, ok := g.RefreshID(ctx, "jp", r4)
		if !ok {
			t.Fatal("RefreshID found nothing")
		}
		if err := g.Revoke(ctx, "jp", "c_other", rt.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := g.Refresh(ctx, "jp", "", r4); err != nil {
			t.Fatalf("another client's revocation took effect: %v", err)
		}
		if err := g.Revoke(ctx, "jp", "c_web", rt.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := g.Refresh(ctx, "jp", "", r4); err == nil {
			t.Fatal("revoked refresh token accepted")
		}
		if _, err := g.Access(ctx, "jp", acc4.ID); err == nil {
			t.Fatal("revoking the refresh token left its family's access token")
		}

		// A deleted client's tokens: all revoked, another client's kept.
		a, code = authorize()
		if _, err := g.Redeem(ctx, "jp", code); err != nil {
			t.Fatal(err)
		}
		if err := g.Consume(ctx, "jp", a.ID, a.ClientID, a.AccountID); err != nil {
			t.Fatal(err)
		}
		accW, rW, _ := g.IssuePair(ctx, issue(a), "")
		other := issue(a)
		other.ClientID, other.Family = "c_other", ""
		accO, _ := g.IssueAccess(ctx, other)
		if n, err := g.RevokeAllOfClient(ctx, "jp", "c_web"); err != nil || n < 2 {
			t.Fatalf("RevokeAllOfClient = %d, %v", n, err)
		}
		if _, err := g.Access(ctx, "jp", accW.ID); err == nil {
			t.Fatal("a deleted client's access token lives")
		}
		if _, err := g.Refresh(ctx, "jp", "", rW); err == nil {
			t.Fatal("a deleted client's refresh token lives")
		}
		if _, err := g.Access(ctx, "jp", accO.ID); err != nil {
			t.Fatalf("another client's token died: %v", err)
		}

		// Session coupling: revoking the session ends its tokens; expiry too.
		a, code = authorize()
		if _, err := g.Redeem(ctx, "jp", code); err != nil {
			t.Fatal(err)
		}
		if err := g.Consume(ctx, "jp", a.ID, a.ClientID, a.AccountID); err != nil {
			t.Fatal(err)
		}
		acc5, r5, _ := g.IssuePair(ctx, issue(a), "")
		if err := db.RevokeSession(ctx, sess.ID, clock.Now()); err != nil {
			t.Fatal(err)
		}
		if _, err := g.Refresh(ctx, "jp", "", r5); err == nil {
			t.Fatal("a refresh token outlived its session")
		}
		if _, err := g.Access(ctx, "jp", acc5.ID); err == nil {
			t.Fatal("an access token outlived its session")
		}

		// Expired codes and tokens; the purge keeps them a day.
		a, code = authorize()
		clock.Advance(grant.CodeLifetime)
		if _, err := g.Redeem(ctx, "jp", code); err == nil {
			t.Fatal("an expired code was redeemed")
		}
		clock.Advance(grant.RefreshLifetime + 25*time.Hour)
		n, err := g.Purge(ctx, 1000)
		if err != nil || n == 0 {
			t.Fatalf("Purge = %d, %v", n, err)
		}
		if _, ok := g.RefreshID(ctx, "jp", r5); ok {
			t.Fatal("purge kept an expired refresh token")
		}
	})
}

// TestAuthorizationsCappedPerSession: one session gets at most
// AuthorizationsPerSession authorizations within AuthorizationWindow —
// the next writes nothing and is rate_limited — another session is not
// affected, and the window's end frees it.
func TestAuthorizationsCappedPerSession(t *testing.T) {
	storetest.EachDatabase(t, func(t *testing.T, open func(testing.TB) *store.DB) {
		db := open(t)
		ctx := context.Background()
		clock := ninsho.NewManualClock(storetest.Epoch)
		h, _ := secret.NewHasher(bytes.Repeat([]byte{7}, 32))
		g := &grant.Service{Store: db, Tx: db, Hasher: h, Clock: clock, Random: ninsho.SecureRandom,
			Starts: &throttle.Counter{Store: db, Clock: clock}}
		acct := storetest.MustCreateAccount(t, db, storetest.NewAccount("jp", "cap@example.jp", ""))
		s1 := storetest.MustCreateSession(t, db, storetest.NewSession("jp", acct.ID))
		s2 := storetest.MustCreateSession(t, db, storetest.NewSession("jp", acct.ID))
		authorize := func(sid string) error {
			return g.Authorize(ctx, &grant.Authorization{Realm: "jp", ClientID: "c", AccountID: acct.ID, SessionID: sid,
				RedirectURI: "https://shop.example.jp/cb", Scopes: []string{"openid"}}, ninsho.Request{})
		}
		for i := 0; i < grant.AuthorizationsPerSession; i++ {
			if err := authorize(s1.ID); err != nil {
				t.Fatalf("authorization %d: %v", i+1, err)
			}
		}
		if err := authorize(s1.ID); !ninsho.IsCode(err, ninsho.CodeRateLimited) {
			t.Fatalf("authorization %d of one session: %v", grant.AuthorizationsPerSession+1, err)
		}
		if err := authorize(s2.ID); err != nil {
			t.Fatalf("another session: %v", err)
		}
		clock.Advance(grant.AuthorizationWindow)
		if err := authorize(s1.ID); err != nil {
			t.Fatalf("after the window: %v", err)
		}
	})
}
