package registration

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
)

func TestClientLifecycle(t *testing.T) {
	op := newFakeOP(t)
	c, err := NewClient(Config{Endpoint: op.endpoint()})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	creds, err := c.Register(ctx, wanted())
	if err != nil {
		t.Fatal(err)
	}
	read, err := c.Read(ctx, creds)
	if err != nil {
		t.Fatal(err)
	}
	if read.ClientSecret != creds.ClientSecret || read.RegistrationAccessToken != creds.RegistrationAccessToken {
		t.Error("a read without new secrets changed the stored ones")
	}
	if read.Metadata.ClientName != "test app" || read.Metadata.UserinfoSignedResponseAlg != "none" {
		t.Errorf("read metadata = %+v", read.Metadata)
	}

	md := wanted()
	md.RedirectURIs = []string{"http://127.0.0.1:8080/callback"}
	upd, err := c.Update(ctx, read, md)
	if err != nil {
		t.Fatal(err)
	}
	if upd.RegistrationAccessToken == read.RegistrationAccessToken {
		t.Error("the rotated registration access token was not taken")
	}
	if upd.ClientSecret != creds.ClientSecret {
		t.Error("the client secret was lost on update")
	}
	if _, err := c.Read(ctx, read); !errors.Is(err, ErrTokenRejected) {
		t.Errorf("read with the pre-update token = %v, want ErrTokenRejected", err)
	}

	if err := c.Delete(ctx, upd); err != nil {
		t.Fatal(err)
	}
	// As with Ory Hydra: a read after delete answers 401, not 404.
	_, err = c.Read(ctx, upd)
	var e *Error
	if !errors.As(err, &e) || e.StatusCode != http.StatusUnauthorized || !errors.Is(err, ErrTokenRejected) {
		t.Fatalf("read after delete = %v, want a 401 *Error", err)
	}
	if e.Operation != "read" || e.Code != "The request could not be authorized" {
		t.Errorf("error = %+v", e)
	}
}

func TestClientNeverSendsTheSecret(t *testing.T) {
	op := newFakeOP(t)
	c, _ := NewClient(Config{Endpoint: op.endpoint()})
	md := wanted()
	// Somebody copied a provider answer into Extra.
	md.Extra = map[string]json.RawMessage{
		"client_secret":             []byte(`"s3cr3t-from-extra"`),
		"registration_access_token": []byte(`"rat"`),
		"software_statement_extra":  []byte(`"kept"`),
	}
	creds, err := c.Register(t.Context(), md)
	if err != nil {
		t.Fatalf("register = %v (a client_secret must not reach the provider)", err)
	}
	if _, err := c.Update(t.Context(), creds, md); err != nil {
		t.Fatalf("update = %v (a client_secret must not reach the provider: Hydra answers 403)", err)
	}
	body := op.putBodies[0]
	if _, ok := body["client_secret"]; ok {
		t.Error("client_secret sent in the update")
	}
	if _, ok := body["registration_access_token"]; ok {
		t.Error("registration_access_token sent in the body")
	}
	if body["software_statement_extra"] != "kept" {
		t.Errorf("unknown member lost: %v", body)
	}
}

func TestClientErrors(t *testing.T) {
	long := strings.Repeat("x", 1000)
	tests := []struct {
		name       string
		status     int
		body       string
		wantCode   string
		wantDesc   string
		notInError []string
	}{
		{
			name: "RFC 7591 invalid_redirect_uri", status: 400,
			body:     `{"error":"invalid_redirect_uri","error_description":"The value of one or more redirect_uris is invalid."}`,
			wantCode: CodeInvalidRedirectURI, wantDesc: "The value of one or more redirect_uris is invalid.",
		},
		{
			name: "Hydra invalid_client_metadata", status: 400,
			body:     `{"error":"invalid_client_metadata","error_description":"post_logout_redirect_uri \"http://x\" must match the domain, port, scheme of at least one of the registered redirect URIs but did not'"}`,
			wantCode: CodeInvalidClientMetadata, wantDesc: `post_logout_redirect_uri "http://x" must match the domain, port, scheme of at least one of the registered redirect URIs but did not'`,
		},
		{
			name: "Hydra herodot phrase", status: 403,
			body:     `{"error":"The requested action was forbidden","error_description":"It is not allowed to choose your own OAuth2 Client secret."}`,
			wantCode: "The requested action was forbidden", wantDesc: "It is not allowed to choose your own OAuth2 Client secret.",
		},
		{
			name: "herodot nested error", status: 404,
			body:     `{"error":{"code":404,"status":"Not Found","message":"The requested resource could not be found","reason":"Unable to locate the resource"}}`,
			wantCode: "The requested resource could not be found", wantDesc: "Unable to locate the resource",
		},
		{name: "not JSON", status: 502, body: `<html>bad gateway</html>`},
		{
			name: "hostile description", status: 400,
			body:       `{"error":"invalid_client_metadata","error_description":"line1\nFAKE LOG ENTRY \u001b[31mred\u202e"}`,
			wantCode:   CodeInvalidClientMetadata,
			wantDesc:   "line1 FAKE LOG ENTRY [31mred",
			notInError: []string{"\n", "\x1b", "\u202e"},
		},
		{
			name: "overlong description", status: 400,
			body:     fmt.Sprintf(`{"error":"invalid_client_metadata","error_description":%q}`, long),
			wantCode: CodeInvalidClientMetadata, wantDesc: strings.Repeat("x", maxDescription) + "…",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			op := newFakeOP(t)
			op.set(func(f *fakeOP) {
				f.override = func(w http.ResponseWriter, r *http.Request) bool {
					w.WriteHeader(tc.status)
					w.Write([]byte(tc.body))
					return true
				}
			})
			c, _ := NewClient(Config{Endpoint: op.endpoint()})
			creds, err := c.Register(t.Context(), wanted())
			var e *Error
			if creds != nil || !errors.As(err, &e) {
				t.Fatalf("Register = %v, %v; want a *Error", creds, err)
			}
			if e.StatusCode != tc.status || e.Code != tc.wantCode || e.Description != tc.wantDesc || e.Operation != "register" {
				t.Errorf("error = %+v, want code %q description %q", e, tc.wantCode, tc.wantDesc)
			}
			if errors.Is(err, ErrTokenRejected) != (tc.status == 404) {
				t.Errorf("errors.Is(ErrTokenRejected) wrong for status %d", tc.status)
			}
			for _, s := range tc.notInError {
				if strings.Contains(err.Error(), s) {
					t.Errorf("error text carries %q: %s", s, err)
				}
			}
		})
	}
}

func TestClientInvalidAnswers(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		want   error
	}{
		{name: "not JSON", status: 201, body: `not json`, want: ErrInvalidResponse},
		{name: "JSON array", status: 201, body: `[]`, want: ErrInvalidResponse},
		{name: "no client_id", status: 201, body: `{"client_secret":"x"}`, want: ErrInvalidResponse},
		{name: "bad lifespan", status: 201, body: `{"client_id":"a","client_secret":"x","authorization_code_grant_access_token_lifespan":"forever"}`, want: ErrInvalidResponse},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			op := newFakeOP(t)
			op.set(func(f *fakeOP) {
				f.override = func(w http.ResponseWriter, r *http.Request) bool {
					w.WriteHeader(tc.status)
					w.Write([]byte(tc.body))
					return true
				}
			})
			c, _ := NewClient(Config{Endpoint: op.endpoint()})
			if _, err := c.Register(t.Context(), wanted()); !errors.Is(err, tc.want) {
				t.Fatalf("Register = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestClientRotatedSecretInAnyAnswer(t *testing.T) {
	op := newFakeOP(t)
	c, _ := NewClient(Config{Endpoint: op.endpoint()})
	creds, err := c.Register(t.Context(), wanted())
	if err != nil {
		t.Fatal(err)
	}
	op.set(func(f *fakeOP) {
		f.answer = func(o string, b map[string]any) {
			if o == "read" {
				b["client_secret"] = "rotated-secret-on-read"
				b["client_secret_expires_at"] = 1900000000
				b["registration_access_token"] = "ignored-by-the-fake"
			}
		}
	})
	read, err := c.Read(t.Context(), creds)
	if err != nil {
		t.Fatal(err)
	}
	if read.ClientSecret != "rotated-secret-on-read" || read.ClientSecretExpiresAt != 1900000000 ||
		read.RegistrationAccessToken != "ignored-by-the-fake" {
		t.Errorf("read = %v expires %d: rotated values not taken", read, read.ClientSecretExpiresAt)
	}
	if creds.ClientSecret == read.ClientSecret {
		t.Error("Read modified its argument")
	}
}

func TestNewClientConfig(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{name: "https", cfg: Config{Endpoint: "https://id.example.com/oauth2/register"}},
		{name: "loopback http", cfg: Config{Endpoint: "http://127.0.0.1:4444/oauth2/register"}},
		{name: "insecure http allowed", cfg: Config{Endpoint: "http://id.example.com/register", InsecureAllowHTTP: true}},
		{name: "empty", cfg: Config{}, wantErr: "Endpoint is required"},
		{name: "public http", cfg: Config{Endpoint: "http://id.example.com/register"}, wantErr: "https"},
		{name: "user info", cfg: Config{Endpoint: "https://u:p@id.example.com/register"}, wantErr: "user info"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewClient(tc.cfg)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("NewClient = %v, want %q", err, tc.wantErr)
			}
		})
	}
}

func TestClientURIChecks(t *testing.T) {
	c, _ := NewClient(Config{Endpoint: "https://id.example.com/oauth2/register"})
	tests := []struct {
		uri string
		ok  bool
	}{
		{"https://id.example.com/oauth2/register/abc", true},
		{"https://ID.example.com:443/oauth2/register/abc?x=1", true},
		{"https://id.example.com.attacker.example/oauth2/register/abc", false},
		{"https://id.example.com:8443/oauth2/register/abc", false},
		{"http://id.example.com/oauth2/register/abc", false},
		{"https://user@id.example.com/oauth2/register/abc", false},
		{"/oauth2/register/abc", false},
		{"javascript:alert(1)", false},
	}
	for _, tc := range tests {
		t.Run(tc.uri, func(t *testing.T) {
			err := c.checkClientURI(tc.uri)
			if tc.ok != (err == nil) || err != nil && !errors.Is(err, ErrUntrustedURI) {
				t.Fatalf("checkClientURI = %v, want ok %v", err, tc.ok)
			}
		})
	}
}

func TestCredentialsNeverPrintSecrets(t *testing.T) {
	c := &Credentials{ClientID: "id-1", ClientSecret: "very-secret", RegistrationAccessToken: "ory_at_token"}
	var logged strings.Builder
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("x", "creds", c, "value", *c)
	outputs := []string{
		fmt.Sprint(c), fmt.Sprintf("%v %+v %#v %s", c, c, c, c),
		fmt.Sprintf("%v %+v", *c, *c), c.String(), logged.String(),
	}
	for _, out := range outputs {
		if strings.Contains(out, "very-secret") || strings.Contains(out, "ory_at_token") {
			t.Errorf("output carries a secret: %s", out)
		}
		if !strings.Contains(out, "id-1") {
			t.Errorf("output lacks the client_id: %s", out)
		}
	}
}
