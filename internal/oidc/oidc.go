// Package oidc is the HTTP adapter of OpenID Connect (issue 14). This first
// step serves, per realm (the Host selects it as everywhere), the discovery
// document and the realm's public signing keys (internal/signingkey). It
// only translates: keys are made, chosen and retired by signingkey.Service.
package oidc

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/ninsho/ninsho/internal/httperr"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/realm"
	"github.com/ninsho/ninsho/internal/signingkey"
	"github.com/ninsho/ninsho/internal/web/webreq"
)

// Paths served.
const (
	DiscoveryPath = "/.well-known/openid-configuration"
	JWKSPath      = "/oauth/v2/keys"
)

// CacheControl is sent with both documents: relying parties refetch keys
// within minutes, well inside signingkey.PublicationDelay.
const CacheControl = "public, max-age=300"

// Handler serves DiscoveryPath and JWKSPath.
type Handler struct {
	Realms *realm.Registry
	Keys   *signingkey.Service
	Now    func() time.Time
}

// Discovery is the discovery document: only what is implemented.
type Discovery struct {
	Issuer                           string   `json:"issuer"`
	JWKSURI                          string   `json:"jwks_uri"`
	IDTokenSigningAlgValuesSupported []string `json:"id_token_signing_alg_values_supported"`
}

// Mount adds the routes to mux.
func (h *Handler) Mount(mux *http.ServeMux) {
	mux.HandleFunc(DiscoveryPath, h.discovery)
	mux.HandleFunc(JWKSPath, h.jwks)
}

// Issuer is a realm's issuer: its public URL without a trailing slash.
func Issuer(rl *realm.Realm) string { return strings.TrimRight(rl.BaseURL, "/") }

func (h *Handler) method(w http.ResponseWriter, r *http.Request, rl *realm.Realm) bool {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return true
	}
	w.Header().Set("Allow", "GET, HEAD")
	httperr.WriteProblem(w, r, ninsho.E(ninsho.CodeMethodNotAllowed), webreq.Locale(r, rl), httperr.RequestID(r.Context()))
	return false
}

func (h *Handler) discovery(w http.ResponseWriter, r *http.Request) {
	rl := h.Realms.ForHost(r.Host)
	if !h.method(w, r, rl) {
		return
	}
	iss := Issuer(rl)
	writeJSON(w, Discovery{
		Issuer:                           iss,
		JWKSURI:                          iss + JWKSPath,
		IDTokenSigningAlgValuesSupported: []string{signingkey.ES256, signingkey.RS256},
	}, "application/json")
}

func (h *Handler) jwks(w http.ResponseWriter, r *http.Request) {
	rl := h.Realms.ForHost(r.Host)
	if !h.method(w, r, rl) {
		return
	}
	keys, err := h.Keys.Published(r.Context(), rl.ID, h.Now())
	if err == nil {
		set, jerr := signingkey.JWKS(keys)
		if err = jerr; err == nil {
			writeJSON(w, set, "application/jwk-set+json")
			return
		}
	}
	httperr.WriteProblem(w, r, err, webreq.Locale(r, rl), httperr.RequestID(r.Context()))
}

func writeJSON(w http.ResponseWriter, v any, contentType string) {
	body, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "internal", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Cache-Control", CacheControl)
	w.Header().Set("Access-Control-Allow-Origin", "*")
	w.Write(body)
}
