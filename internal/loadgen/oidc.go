package loadgen

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// OIDC is a confidential first-party client of a Ninsho OpenID provider at
// URL, as registered with `ninsho clients create --type confidential
// --first-party`.
type OIDC struct {
	Client      *http.Client
	URL         string // base URL of the server
	ClientID    string
	Secret      string
	RedirectURI string
}

// Tokens is the answer of the token endpoint.
type Tokens struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	IDToken      string `json:"id_token"`
}

// Grant runs the authorization code flow with PKCE for the person of the
// session token as a browser would (the session as the ninsho_session
// cookie, the login bridge's redirects followed on URL whatever the public
// URL), up to the token exchange.
func (o *OIDC) Grant(ctx context.Context, session string) (Tokens, error) {
	verifier := rand.Text() + rand.Text()
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{
		"client_id": {o.ClientID}, "redirect_uri": {o.RedirectURI}, "response_type": {"code"},
		"scope": {"openid email offline_access"}, "state": {rand.Text()}, "nonce": {rand.Text()},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"},
	}
	next := o.URL + "/oauth/v2/authorize?" + q.Encode()
	browser := *o.Client
	browser.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	var code string
	for range 5 {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, next, nil)
		if err != nil {
			return Tokens{}, err
		}
		req.AddCookie(&http.Cookie{Name: "ninsho_session", Value: session})
		resp, err := browser.Do(req)
		if err != nil {
			return Tokens{}, err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		loc, err := resp.Location()
		if err != nil {
			return Tokens{}, fmt.Errorf("GET %s: %d without a Location", req.URL.Path, resp.StatusCode)
		}
		if strings.HasPrefix(loc.String(), o.RedirectURI) {
			if code = loc.Query().Get("code"); code == "" {
				return Tokens{}, fmt.Errorf("callback without a code: %s", loc.Query().Get("error"))
			}
			break
		}
		// The server's own pages: follow on this server whatever its public URL.
		next = o.URL + loc.RequestURI()
	}
	if code == "" {
		return Tokens{}, errors.New("no code after 5 redirects")
	}
	r, body, err := o.PostForm(ctx, o.URL+"/oauth/v2/token", url.Values{
		"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {o.RedirectURI}, "code_verifier": {verifier}})
	if err != nil {
		return Tokens{}, err
	}
	var tok Tokens
	if r.Status != http.StatusOK || json.Unmarshal(body, &tok) != nil || tok.RefreshToken == "" || tok.AccessToken == "" {
		return Tokens{}, fmt.Errorf("token exchange answered %d %s", r.Status, oauthError(body))
	}
	return tok, nil
}

// Refresh exchanges refresh for new tokens. ok is false for an answer other
// than 200 with every token; r.Problem then holds the OAuth error code.
func (o *OIDC) Refresh(ctx context.Context, base, refresh string) (r Reply, tok Tokens, ok bool, err error) {
	r, body, err := o.PostForm(ctx, base+"/oauth/v2/token", url.Values{
		"grant_type": {"refresh_token"}, "refresh_token": {refresh}})
	if err != nil {
		return r, tok, false, err
	}
	if r.Status != http.StatusOK {
		r.Problem = oauthError(body)
		return r, tok, false, nil
	}
	if json.Unmarshal(body, &tok) != nil || tok.RefreshToken == "" || tok.AccessToken == "" || tok.IDToken == "" {
		r.Problem = "answer_without_tokens"
		return r, tok, false, nil
	}
	return r, tok, true, nil
}

// PostForm sends form to target with the client's credentials
// (client_secret_basic) and returns the status and the whole answer.
func (o *OIDC) PostForm(ctx context.Context, target string, form url.Values) (Reply, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader([]byte(form.Encode())))
	if err != nil {
		return Reply{}, nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(o.ClientID), url.QueryEscape(o.Secret))
	resp, err := o.Client.Do(req)
	if err != nil {
		return Reply{}, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return Reply{}, nil, err
	}
	return ReplyOf(resp), body, nil
}

// oauthError returns the "error" of an OAuth error answer (never the
// description, which may quote what was sent).
func oauthError(body []byte) string {
	var e struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(body, &e) == nil && e.Error != "" {
		return e.Error
	}
	return ""
}
