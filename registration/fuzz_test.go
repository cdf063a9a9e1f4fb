package registration

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"unicode"
)

// cannedTransport answers every request with one status and body.
type cannedTransport struct {
	status int
	body   []byte
}

func (c cannedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: c.status, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(bytes.NewReader(c.body)), ContentLength: int64(len(c.body)), Request: r}, nil
}

// FuzzClientAnswers: whatever the registration endpoint answers, Register
// and Read return usable credentials only for a client_id (the one asked
// for, on a read) whose registration_client_uri, if any, is on the
// registration endpoint's origin over https; errors never carry control
// characters from the answer.
func FuzzClientAnswers(f *testing.F) {
	const endpoint = "https://id.example.com/oauth2/register"
	for _, s := range []struct {
		status int
		body   string
	}{
		{201, `{"client_id":"c1","client_secret":"s","registration_access_token":"rat","registration_client_uri":"https://id.example.com/oauth2/register/c1","redirect_uris":["https://app.example/cb"],"token_endpoint_auth_method":"client_secret_basic"}`},
		{201, `{"client_id":"c1","client_secret":"s","registration_client_uri":"https://attacker.example/steal","redirect_uris":["https://app.example/cb"]}`},
		{201, `{"client_id":"c1","client_secret":"s","registration_client_uri":"http://id.example.com/oauth2/register/c1","redirect_uris":["https://app.example/cb"]}`},
		{201, `{"client_id":"c1","redirect_uris":["https://attacker.example/cb"],"token_endpoint_auth_method":"none"}`},
		{200, `{"client_id":"other","client_secret":"s","redirect_uris":["https://app.example/cb"]}`},
		{201, `{"client_id":"a","client_secret":"x","authorization_code_grant_access_token_lifespan":"forever"}`},
		{400, `{"error":"invalid_client_metadata","error_description":"line1\nFAKE LOG ENTRY \u001b[31mred\u202e"}`},
		{404, `{"error":{"code":404,"status":"Not Found","message":"The requested resource could not be found","reason":"Unable to locate the resource"}}`},
		{502, `<html>bad gateway</html>`},
		{201, `[]`},
		{201, ``},
	} {
		f.Add(uint16(s.status), []byte(s.body))
	}
	want := &Metadata{RedirectURIs: []string{"https://app.example/cb"}, TokenEndpointAuthMethod: "client_secret_basic"}
	cur := &Credentials{RegistrationEndpoint: endpoint, ClientID: "c1", ClientSecret: "s", TokenEndpointAuthMethod: "client_secret_basic",
		RegistrationAccessToken: "rat", RegistrationClientURI: endpoint + "/c1"}
	origin, _ := url.Parse(endpoint)
	f.Fuzz(func(t *testing.T, status uint16, body []byte) {
		if status < 100 || status > 599 {
			status = 201
		}
		c, err := NewClient(Config{Endpoint: endpoint, HTTPClient: &http.Client{Transport: cannedTransport{int(status), body}}})
		if err != nil {
			t.Fatal(err)
		}
		check := func(op string, got *Credentials, err error) {
			t.Helper()
			if err != nil {
				for _, r := range err.Error() {
					if unicode.Is(unicode.Cc, r) || unicode.Is(unicode.Cf, r) {
						t.Fatalf("%s: error %q carries control character %U", op, err, r)
					}
				}
				var re *Error
				if (status < 200 || status > 299) && !errors.As(err, &re) {
					t.Fatalf("%s: status %d gave %v, not an *Error", op, status, err)
				}
			}
			if got == nil {
				return
			}
			if got.ClientID == "" {
				t.Fatalf("%s: credentials without client_id from %s", op, body)
			}
			if got.RegistrationClientURI != "" {
				u, perr := url.Parse(got.RegistrationClientURI)
				if perr != nil || u.Scheme != "https" || !strings.EqualFold(u.Host, origin.Host) || u.User != nil {
					t.Fatalf("%s: registration_client_uri %q kept from %s", op, got.RegistrationClientURI, body)
				}
			}
		}
		creds, err := c.Register(context.Background(), want)
		check("register", creds, err)
		if err == nil && creds.TokenEndpointAuthMethod != "none" && creds.ClientSecret == "" {
			t.Fatalf("register: confidential client without a secret from %s", body)
		}
		got, err := c.Read(context.Background(), cur)
		check("read", got, err)
		if err == nil && got.ClientID != cur.ClientID {
			t.Fatalf("read: asked for %q, got %q", cur.ClientID, got.ClientID)
		}
	})
}
