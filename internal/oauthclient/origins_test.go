package oauthclient_test

import (
	"reflect"
	"testing"

	"github.com/ninsho/ninsho/internal/oauthclient"
)

func TestFormSources(t *testing.T) {
	got := oauthclient.FormSources([]oauthclient.Client{
		{RedirectURIs: []string{"https://Shop.example.jp/cb", "https://shop.example.jp/other", "https://shop.example.jp:8443/cb"}},
		{RedirectURIs: []string{"http://127.0.0.1:9999/cb", "http://[::1]:1/cb", "jp.example.shop:/cb", "http://example.com/cb"}},
		{RedirectURIs: []string{"https://evil.example;script-src *"}},
	})
	want := []string{"https://shop.example.jp", "https://shop.example.jp:8443", "http://127.0.0.1:*", "http://[::1]:*", "jp.example.shop:"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("FormSources = %q, want %q", got, want)
	}
}
