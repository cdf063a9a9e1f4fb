package rp

import (
	"fmt"
	"net/http"
	"net/url"

	"golang.org/x/oauth2"
)

// LoginHandler returns the handler that starts a login: it records a new
// login flow (state, nonce, PKCE S256 verifier, return path) in its own
// sealed cookie and redirects the browser to the provider's authorization
// endpoint (OpenID Connect Core §3.1.2.1, RFC 7636). The query parameter
// return_to names where to land afterwards; only a path on this site is
// accepted. opts are added to every authorization request.
func (r *RP) LoginHandler(opts ...LoginOption) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method != http.MethodGet && req.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		r.StartLogin(w, req, req.URL.Query().Get("return_to"), opts...)
	})
}

// StartLogin redirects the browser to the provider to log in, then back to
// returnTo (a path on this site; anything else means PostLoginPath).
func (r *RP) StartLogin(w http.ResponseWriter, req *http.Request, returnTo string, opts ...LoginOption) {
	dest, ok := cleanReturnTo(returnTo)
	if !ok {
		if returnTo != "" {
			r.log.Warn("rp: refused return_to that is not a local path", "return_to", truncate(returnTo, 200))
		}
		dest = r.cfg.PostLoginPath
	}
	md, err := r.metadata(req.Context())
	if err != nil {
		r.fail(w, req, err)
		return
	}
	// The callback needs the shared caches (replay cache, revocation
	// list, store): when they are down (Redis), say so now rather than
	// after a round trip through the provider.
	if _, _, err := r.revocations.RevokedAt(req.Context(), "login-probe"); err != nil {
		r.fail(w, req, fmt.Errorf("%w: %w", ErrSessionStore, err))
		return
	}
	f := &loginFlow{
		State:    randomString(32),
		Nonce:    randomString(32),
		Verifier: oauth2.GenerateVerifier(),
		ReturnTo: dest,
		Created:  r.now().Unix(),
		MaxAge:   -1,
	}
	params := url.Values{}
	sent := applyOptions(params, opts)
	f.MaxAge, f.ACR = sent.maxAge, sent.requiredACR
	authOpts := []oauth2.AuthCodeOption{
		oauth2.SetAuthURLParam("nonce", f.Nonce),
		oauth2.S256ChallengeOption(f.Verifier),
	}
	for k := range params {
		authOpts = append(authOpts, oauth2.SetAuthURLParam(k, params.Get(k)))
	}
	if err := r.saveFlow(w, req, f); err != nil {
		r.fail(w, req, fmt.Errorf("rp: save login state: %w", err))
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, req, r.oauth2Config(md).AuthCodeURL(f.State, authOpts...), http.StatusFound)
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
