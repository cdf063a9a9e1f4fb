package loginapp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/oidcrp/oidcrp/internal/httpx"
)

// adminTimeout bounds every call to Hydra's admin API.
const adminTimeout = 10 * time.Second

// adminMaxBody bounds every admin API response.
const adminMaxBody = 1 << 20

// flow kinds, as they appear in the admin API paths and challenge names.
const (
	kindLogin   = "login"
	kindConsent = "consent"
	kindLogout  = "logout"
)

// apiError is an admin API answer with an unexpected status.
type apiError struct {
	Status int
	Body   string
	// RedirectTo is set on 410 Gone: the request was already handled and
	// the browser belongs at this URL.
	RedirectTo string
}

func (e *apiError) Error() string {
	return fmt.Sprintf("admin API status %d: %s", e.Status, e.Body)
}

// client is a minimal client of Hydra's login, consent and logout admin API.
type client struct {
	base string
	http *http.Client
}

// oauthClient is the part of a Hydra client a login UI shows.
type oauthClient struct {
	ClientID   string `json:"client_id"`
	ClientName string `json:"client_name"`
}

// displayName is the client's name, or its ID when it has none.
func (c *oauthClient) displayName() string {
	if c == nil {
		return ""
	}
	if c.ClientName != "" {
		return c.ClientName
	}
	return c.ClientID
}

// loginRequest is GET /admin/oauth2/auth/requests/login.
type loginRequest struct {
	Challenge      string       `json:"challenge"`
	Skip           bool         `json:"skip"`
	Subject        string       `json:"subject"`
	SessionID      string       `json:"session_id"`
	RequestedScope []string     `json:"requested_scope"`
	Client         *oauthClient `json:"client"`
	OIDCContext    struct {
		LoginHint string `json:"login_hint"`
	} `json:"oidc_context"`
}

// consentRequest is GET /admin/oauth2/auth/requests/consent.
type consentRequest struct {
	Challenge                    string       `json:"challenge"`
	Skip                         bool         `json:"skip"`
	Subject                      string       `json:"subject"`
	RequestedScope               []string     `json:"requested_scope"`
	RequestedAccessTokenAudience []string     `json:"requested_access_token_audience"`
	Client                       *oauthClient `json:"client"`
	LoginSessionID               string       `json:"login_session_id"`
}

// logoutRequest is GET /admin/oauth2/auth/requests/logout.
type logoutRequest struct {
	Subject     string       `json:"subject"`
	SID         string       `json:"sid"`
	RPInitiated bool         `json:"rp_initiated"`
	Client      *oauthClient `json:"client"`
}

// acceptLogin is the body of PUT …/login/accept.
type acceptLogin struct {
	Subject     string   `json:"subject"`
	Remember    bool     `json:"remember"`
	RememberFor int      `json:"remember_for"`
	ACR         string   `json:"acr,omitempty"`
	AMR         []string `json:"amr,omitempty"`
}

// acceptConsent is the body of PUT …/consent/accept.
type acceptConsent struct {
	GrantScope               []string       `json:"grant_scope"`
	GrantAccessTokenAudience []string       `json:"grant_access_token_audience"`
	Remember                 bool           `json:"remember"`
	RememberFor              int            `json:"remember_for"`
	Session                  consentSession `json:"session"`
}

// consentSession carries the claims Hydra puts into the tokens.
type consentSession struct {
	IDToken     map[string]any `json:"id_token,omitempty"`
	AccessToken map[string]any `json:"access_token,omitempty"`
}

// rejection is the body of PUT …/{login,consent}/reject (RFC 6749 §4.1.2.1).
type rejection struct {
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description,omitempty"`
}

// get reads the login, consent or logout request behind challenge.
func (c *client) get(ctx context.Context, kind, challenge string, out any) error {
	return c.call(ctx, http.MethodGet, kind, "", challenge, nil, http.StatusOK, out)
}

// decide accepts or rejects a request and returns where Hydra wants the
// browser next (empty for a rejected logout, which Hydra answers with 204).
func (c *client) decide(ctx context.Context, kind, action, challenge string, body any) (string, error) {
	want := http.StatusOK
	if kind == kindLogout && action == "reject" {
		want = http.StatusNoContent
	}
	var out struct {
		RedirectTo string `json:"redirect_to"`
	}
	if err := c.call(ctx, http.MethodPut, kind, "/"+action, challenge, body, want, &out); err != nil {
		return "", err
	}
	if want == http.StatusOK && out.RedirectTo == "" {
		return "", fmt.Errorf("loginapp: %s %s: answer has no redirect_to", action, kind)
	}
	return out.RedirectTo, nil
}

func (c *client) call(ctx context.Context, method, kind, action, challenge string, in any, want int, out any) error {
	ctx, cancel := context.WithTimeout(ctx, adminTimeout)
	defer cancel()
	u := c.base + "/admin/oauth2/auth/requests/" + kind + action + "?" +
		url.Values{kind + "_challenge": {challenge}}.Encode()
	var body *bytes.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("loginapp: encode %s%s: %w", kind, action, err)
		}
		body = bytes.NewReader(b)
	} else {
		body = bytes.NewReader(nil)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return fmt.Errorf("loginapp: %s %s%s: %w", method, kind, action, err)
	}
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("loginapp: %s %s%s: %w", method, kind, action, err)
	}
	defer resp.Body.Close()
	b, err := httpx.ReadBody(resp.Body, adminMaxBody)
	if err != nil {
		return fmt.Errorf("loginapp: %s %s%s: read body: %w", method, kind, action, err)
	}
	if resp.StatusCode != want {
		ae := &apiError{Status: resp.StatusCode, Body: string(bytes.TrimSpace(b))}
		if resp.StatusCode == http.StatusGone {
			var gone struct {
				RedirectTo string `json:"redirect_to"`
			}
			if json.Unmarshal(b, &gone) == nil {
				ae.RedirectTo = gone.RedirectTo
			}
		}
		return fmt.Errorf("loginapp: %s %s%s: %w", method, kind, action, ae)
	}
	if out == nil || want == http.StatusNoContent {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("loginapp: %s %s%s: decode: %w", method, kind, action, err)
	}
	return nil
}

// asAPIError returns the admin API error inside err, if any.
func asAPIError(err error) (*apiError, bool) {
	var ae *apiError
	ok := errors.As(err, &ae)
	return ae, ok
}
