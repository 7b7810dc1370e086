package storetest

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/oauthclient"
)

// OAuthClientStores are the stores of OAuth clients.
type OAuthClientStores interface {
	Stores
	oauthclient.Store
}

// OAuthClients checks registered clients: every field round trips (lists
// as lists, an empty list as empty, absent hash and JWKS as nil), an id is
// unique within its realm only (a second one is conflict and changes
// nothing), a realm lists its own clients by created_at then id, an
// unknown or other realm's client is not_found, and deleting takes only
// that client (a second delete is not_found).
func OAuthClients(t *testing.T, open func(tb testing.TB) OAuthClientStores) {
	ctx := context.Background()
	s := open(t)
	web := &oauthclient.Client{
		Realm: "a", ID: "c_webwebwebwebwebwebweb", Name: "Shop web", Kind: oauthclient.Confidential,
		AuthMethod: oauthclient.AuthSecretBasic, SecretHash: NewHash(),
		RedirectURIs:           []string{"https://shop.example.jp/cb", "https://shop.example.jp/cb2?x=1"},
		PostLogoutRedirectURIs: []string{"https://shop.example.jp/bye"},
		FirstParty:             true, BackchannelLogoutURI: "https://shop.example.jp/bcl",
		FrontchannelLogoutURI: "https://shop.example.jp/fcl", WithoutTwoStep: oauthclient.Refuse, CreatedAt: at(time.Minute),
	}
	app := &oauthclient.Client{
		Realm: "a", ID: "c_appappappappappappapp", Name: "ショップ アプリ", Kind: oauthclient.Public,
		AuthMethod: oauthclient.AuthNone, RedirectURIs: []string{"jp.example.shop:/callback"},
		WithoutTwoStep: oauthclient.Enrol, CreatedAt: at(0),
	}
	jwt := &oauthclient.Client{
		Realm: "a", ID: "c_aaaaaaaaaaaaaaaaaaaa", Name: "Back end", Kind: oauthclient.Confidential,
		AuthMethod: oauthclient.AuthPrivateKeyJWT, JWKS: []byte(`{"keys":[]}`),
		RedirectURIs: []string{"https://api.example.jp/cb"}, WithoutTwoStep: oauthclient.Enrol, CreatedAt: at(time.Minute),
	}
	other := *web
	other.Realm, other.Name = "b", "Other realm, same id"
	for _, c := range []*oauthclient.Client{web, app, jwt, &other} {
		mustNil(t, "CreateClient "+c.Realm+"/"+c.ID, s.CreateClient(ctx, c))
	}
	again := *app
	again.Name = "changed"
	if err := s.CreateClient(ctx, &again); !ninsho.IsCode(err, ninsho.CodeConflict) {
		t.Errorf("CreateClient with a stored (realm, id): %v, want conflict", err)
	}

	got, err := s.ClientByID(ctx, "a", web.ID)
	mustNil(t, "ClientByID web", err)
	if show(got) != show(web) {
		t.Errorf("round trip:\n got %s\nwant %s", show(got), show(web))
	}
	got, err = s.ClientByID(ctx, "a", app.ID)
	mustNil(t, "ClientByID app", err)
	if got.Name != app.Name || got.SecretHash != nil || got.JWKS != nil || got.FirstParty ||
		got.PostLogoutRedirectURIs == nil || len(got.PostLogoutRedirectURIs) != 0 ||
		!slices.Equal(got.RedirectURIs, app.RedirectURIs) || got.BackchannelLogoutURI != "" || !got.CreatedAt.Equal(app.CreatedAt) {
		t.Errorf("public client round trip: got %s, want %s (no hash, no JWKS, empty lists, the first name kept)", show(got), show(app))
	}
	got, _ = s.ClientByID(ctx, "a", jwt.ID)
	if got == nil || string(got.JWKS) != `{"keys":[]}` || got.SecretHash != nil {
		t.Errorf("private_key_jwt client round trip: got %s", show(got))
	}
	got, _ = s.ClientByID(ctx, "b", web.ID)
	if got == nil || got.Name != other.Name {
		t.Errorf("the same id in realm b: got %s", show(got))
	}
	for _, k := range [][2]string{{"a", "c_unknown"}, {"c", web.ID}, {"b", app.ID}} {
		if _, err := s.ClientByID(ctx, k[0], k[1]); !ninsho.IsCode(err, ninsho.CodeNotFound) {
			t.Errorf("ClientByID(%q, %q): %v, want not_found", k[0], k[1], err)
		}
	}

	list, err := s.Clients(ctx, "a")
	mustNil(t, "Clients a", err)
	if ids := clientIDs(list); !slices.Equal(ids, []string{app.ID, jwt.ID, web.ID}) {
		t.Errorf("Clients a: %v, want app (earliest), then jwt and web by id", ids)
	}
	if list, err := s.Clients(ctx, "c"); err != nil || len(list) != 0 {
		t.Errorf("Clients of a realm without clients: %s, %v", show(list), err)
	}

	mustNil(t, "DeleteClient", s.DeleteClient(ctx, "a", web.ID))
	if err := s.DeleteClient(ctx, "a", web.ID); !ninsho.IsCode(err, ninsho.CodeNotFound) {
		t.Errorf("second DeleteClient: %v, want not_found", err)
	}
	if err := s.DeleteClient(ctx, "c", app.ID); !ninsho.IsCode(err, ninsho.CodeNotFound) {
		t.Errorf("DeleteClient in another realm: %v, want not_found", err)
	}
	list, _ = s.Clients(ctx, "a")
	if ids := clientIDs(list); !slices.Equal(ids, []string{app.ID, jwt.ID}) {
		t.Errorf("after deleting web: %v, want app, jwt", ids)
	}
	if got, err := s.ClientByID(ctx, "b", web.ID); err != nil || got.Realm != "b" {
		t.Errorf("deleting in realm a took realm b's client: %v", err)
	}

	// A failed create inside a transaction leaves the transaction usable
	// and changes nothing.
	late := *jwt
	late.ID, late.CreatedAt = "c_late", at(time.Hour)
	err = s.InTx(ctx, func(ctx context.Context) error {
		if err := s.CreateClient(ctx, &again); !ninsho.IsCode(err, ninsho.CodeConflict) {
			t.Errorf("conflict in a transaction: %v", err)
		}
		return s.CreateClient(ctx, &late)
	})
	mustNil(t, "create after a conflict in one transaction", err)
	list, _ = s.Clients(ctx, "a")
	if ids := clientIDs(list); !slices.Equal(ids, []string{app.ID, jwt.ID, "c_late"}) || list[0].Name != app.Name {
		t.Errorf("after the transaction: %v, want app (unchanged), jwt, c_late", ids)
	}
}

func clientIDs(list []oauthclient.Client) []string {
	var out []string
	for _, c := range list {
		out = append(out, c.ID)
	}
	return out
}
