package store_test

import (
	"bytes"
	"context"
	"slices"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/consent"
	"github.com/ninsho/ninsho/internal/event"
	"github.com/ninsho/ninsho/internal/grant"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/oauthclient"
	"github.com/ninsho/ninsho/internal/secret"
	"github.com/ninsho/ninsho/internal/store"
	"github.com/ninsho/ninsho/internal/store/storetest"
)

// TestConsentLifecycle holds consent.Service on the real stores: a consent
// is remembered per (realm, account, client) with the union of the scopes
// granted, listed with the client's name (not for a deleted client), and
// revoked with every live token the client holds for the account — and
// only those.
func TestConsentLifecycle(t *testing.T) {
	storetest.EachDatabase(t, func(t *testing.T, open func(testing.TB) *store.DB) {
		db := open(t)
		ctx := context.Background()
		clock := ninsho.NewManualClock(storetest.Epoch)
		h, err := secret.NewHasher(bytes.Repeat([]byte{7}, 32))
		if err != nil {
			t.Fatal(err)
		}
		g := &grant.Service{Store: db, Owners: db, Tx: db, Events: db, Hasher: h, Clock: clock, Random: ninsho.SecureRandom}
		cs := &consent.Service{Store: db, Tokens: g, Tx: db, Events: db, Clock: clock, Random: ninsho.SecureRandom}
		acct := storetest.MustCreateAccount(t, db, storetest.NewAccount("jp", "consent@example.jp", ""))
		other := storetest.MustCreateAccount(t, db, storetest.NewAccount("jp", "other@example.jp", ""))
		sess := storetest.MustCreateSession(t, db, storetest.NewSession("jp", acct.ID))
		for _, c := range []*oauthclient.Client{
			{Realm: "jp", ID: "c_shop", Name: "Partner shop", Kind: oauthclient.Public, AuthMethod: oauthclient.AuthNone,
				RedirectURIs: []string{"https://partner.example/cb"}, WithoutTwoStep: oauthclient.Enrol, CreatedAt: storetest.Epoch},
			{Realm: "jp", ID: "c_blog", Name: "Blog", Kind: oauthclient.Public, AuthMethod: oauthclient.AuthNone,
				RedirectURIs: []string{"https://blog.example/cb"}, WithoutTwoStep: oauthclient.Enrol, CreatedAt: storetest.Epoch},
		} {
			if err := db.CreateClient(ctx, c); err != nil {
				t.Fatal(err)
			}
		}

		if c, err := cs.Get(ctx, "jp", acct.ID, "c_shop"); c != nil || err != nil {
			t.Fatalf("Get before any consent = %+v, %v", c, err)
		}
		first, err := cs.Grant(ctx, "jp", acct.ID, "c_shop", []string{"openid", "email"}, ninsho.Request{})
		if err != nil {
			t.Fatal(err)
		}
		clock.Advance(time.Minute)
		c, err := cs.Grant(ctx, "jp", acct.ID, "c_shop", []string{"profile", "openid"}, ninsho.Request{})
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{"email", "openid", "profile"}; !slices.Equal(c.Scopes, want) {
			t.Fatalf("scopes after a second grant = %v, want %v", c.Scopes, want)
		}
		got, err := cs.Get(ctx, "jp", acct.ID, "c_shop")
		if err != nil || got == nil || !slices.Equal(got.Scopes, c.Scopes) || !got.GrantedAt.Equal(c.GrantedAt) || !got.GrantedAt.After(first.GrantedAt) {
			t.Fatalf("Get = %+v, %v; want %+v", got, err, c)
		}
		if !got.Covers([]string{"openid", "email"}) || got.Covers([]string{"openid", "phone"}) {
			t.Fatal("Covers does not follow the scopes granted")
		}
		if c, _ := cs.Get(ctx, "us", acct.ID, "c_shop"); c != nil {
			t.Fatal("a consent leaked into another realm")
		}
		if c, _ := cs.Get(ctx, "jp", other.ID, "c_shop"); c != nil {
			t.Fatal("a consent leaked to another account")
		}
		clock.Advance(time.Minute)
		if _, err := cs.Grant(ctx, "jp", acct.ID, "c_blog", []string{"openid"}, ninsho.Request{}); err != nil {
			t.Fatal(err)
		}
		if _, err := cs.Grant(ctx, "jp", acct.ID, "c_deleted", []string{"openid"}, ninsho.Request{}); err != nil {
			t.Fatal(err)
		}
		list, err := cs.List(ctx, "jp", acct.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 2 || list[0].ClientID != "c_blog" || list[0].ClientName != "Blog" || list[1].ClientName != "Partner shop" {
			t.Fatalf("List = %+v, want Blog then Partner shop (and not the deleted client)", list)
		}

		// Tokens: the shop's for this account, the blog's, and the shop's
		// for the other account.
		issue := func(account, client string) (*grant.Token, string) {
			t.Helper()
			access, refresh, err := g.IssuePair(ctx, grant.Issue{Realm: "jp", ClientID: client, AccountID: account,
				SessionID: sess.ID, Family: ninsho.NewID(clock, ninsho.SecureRandom), Scopes: []string{"openid"},
				SessionExpiresAt: sess.ExpiresAt}, "")
			if err != nil {
				t.Fatal(err)
			}
			return access, refresh
		}
		shopAccess, shopRefresh := issue(acct.ID, "c_shop")
		blogAccess, _ := issue(acct.ID, "c_blog")
		otherAccess, _ := issue(other.ID, "c_shop")

		if err := cs.Revoke(ctx, "jp", acct.ID, "c_shop", ninsho.Request{}); err != nil {
			t.Fatal(err)
		}
		if c, _ := cs.Get(ctx, "jp", acct.ID, "c_shop"); c != nil {
			t.Fatal("the revoked consent is still remembered")
		}
		if _, err := g.Access(ctx, "jp", shopAccess.ID); err == nil {
			t.Fatal("revoking the consent left the client's access token alive")
		}
		if _, err := g.Refresh(ctx, "jp", "", shopRefresh); err == nil {
			t.Fatal("revoking the consent left the client's refresh token alive")
		}
		if _, err := g.Access(ctx, "jp", blogAccess.ID); err != nil {
			t.Fatalf("revoking one client's consent revoked another client's token: %v", err)
		}
		if _, err := g.Access(ctx, "jp", otherAccess.ID); err != nil {
			t.Fatalf("revoking one person's consent revoked another person's token: %v", err)
		}
		if err := cs.Revoke(ctx, "jp", acct.ID, "c_shop", ninsho.Request{}); !ninsho.IsCode(err, ninsho.CodeNotFound) {
			t.Fatalf("revoking again = %v, want not_found", err)
		}

		evs, err := db.AccountEvents(ctx, acct.ID, time.Time{}, 100)
		if err != nil {
			t.Fatal(err)
		}
		var granted, revoked int
		for _, e := range evs {
			switch e.Type {
			case event.TypeOIDCConsentGranted:
				granted++
			case event.TypeOIDCConsentRevoked:
				revoked++
				if e.Data["client_id"] != "c_shop" {
					t.Errorf("consent_revoked data = %v", e.Data)
				}
			}
		}
		if granted != 4 || revoked != 1 {
			t.Errorf("events: %d granted, %d revoked; want 4 and 1", granted, revoked)
		}
	})
}
