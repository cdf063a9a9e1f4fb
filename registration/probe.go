package registration

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/oidcrp/oidcrp/internal/httpx"
)

// probeGone asks the token endpoint whether the client still exists, when
// the registration endpoint refused its registration access token.
//
// It POSTs grant_type=authorization_code with a random code that was never
// issued, authenticating with the client's own credentials in the
// registered way (client_secret_basic, client_secret_post, or client_id
// alone for none). A provider authenticates the client before it looks at
// the grant (RFC 6749 §3.2.1, §5.2), so:
//
//   - invalid_client means the client is gone, or its secret is no longer
//     valid: either way the stored credentials are useless (gone = true);
//   - any other OAuth error (invalid_grant, unauthorized_client,
//     unsupported_grant_type, …) means the client authenticated and still
//     exists (gone = false);
//   - a network error, a 5xx, or an answer that is not an OAuth error is
//     inconclusive and returned as an error, so that no duplicate client
//     is registered on a guess.
//
// The code is random and unguessable, so the request can never redeem
// anything.
func probeGone(ctx context.Context, hc *http.Client, tokenEndpoint string, c *Credentials) (bool, error) {
	if tokenEndpoint == "" {
		return false, errors.New("probe client: the provider has no token endpoint")
	}
	form := url.Values{"grant_type": {"authorization_code"}, "code": {"oidcrp-probe-" + rand.Text()}}
	var basic bool
	switch c.TokenEndpointAuthMethod {
	case "", "client_secret_basic":
		basic = true
	case "client_secret_post":
		form.Set("client_id", c.ClientID)
		form.Set("client_secret", c.ClientSecret)
	case "none":
		form.Set("client_id", c.ClientID)
	default:
		return false, fmt.Errorf("probe client: token_endpoint_auth_method %q is not supported", c.TokenEndpointAuthMethod)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, tokenEndpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return false, fmt.Errorf("probe client: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if basic {
		// RFC 6749 §2.3.1: form-encode id and secret before Basic.
		req.SetBasicAuth(url.QueryEscape(c.ClientID), url.QueryEscape(c.ClientSecret))
	}
	resp, err := hc.Do(req)
	if err != nil {
		if ue, ok := errors.AsType[*url.Error](err); ok {
			err = ue.Err
		}
		return false, fmt.Errorf("probe client at the token endpoint: %w", err)
	}
	defer resp.Body.Close()
	body, err := httpx.ReadBody(resp.Body, 64<<10)
	if err != nil {
		return false, fmt.Errorf("probe client at the token endpoint: %w", err)
	}
	if resp.StatusCode == http.StatusOK {
		return false, nil
	}
	var e struct {
		Error string `json:"error"`
	}
	json.Unmarshal(body, &e)
	switch {
	case e.Error == "invalid_client":
		return true, nil
	case resp.StatusCode >= 500 || e.Error == "":
		return false, fmt.Errorf("probe client at the token endpoint: inconclusive answer %d %q", resp.StatusCode, sanitize(e.Error, 100))
	default:
		return false, nil
	}
}
