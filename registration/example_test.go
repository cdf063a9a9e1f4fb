package registration_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/oidcrp/oidcrp/registration"
)

// standInProvider is a tiny provider with a registration endpoint, so that
// the example runs without a network.
func standInProvider() *httptest.Server {
	var srv *httptest.Server
	clients := map[string]map[string]any{}
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.URL.Path == "/.well-known/openid-configuration":
			json.NewEncoder(w).Encode(map[string]any{
				"issuer": srv.URL, "authorization_endpoint": srv.URL + "/oauth2/auth",
				"token_endpoint": srv.URL + "/oauth2/token", "jwks_uri": srv.URL + "/.well-known/jwks.json",
				"registration_endpoint":    srv.URL + "/oauth2/register",
				"response_types_supported": []string{"code"}, "subject_types_supported": []string{"public"},
				"id_token_signing_alg_values_supported": []string{"RS256"},
			})
		case r.Method == http.MethodPost && r.URL.Path == "/oauth2/register":
			var md map[string]any
			json.NewDecoder(r.Body).Decode(&md)
			clients["rp-1"] = md
			answer := map[string]any{"client_id": "rp-1", "client_secret": "s3cr3t-s3cr3t",
				"registration_access_token": "rat-1", "registration_client_uri": srv.URL + "/oauth2/register/rp-1"}
			for k, v := range md {
				answer[k] = v
			}
			w.WriteHeader(http.StatusCreated)
			json.NewEncoder(w).Encode(answer)
		case r.Method == http.MethodGet && r.URL.Path == "/oauth2/register/rp-1" && r.Header.Get("Authorization") == "Bearer rat-1":
			answer := map[string]any{"client_id": "rp-1"}
			for k, v := range clients["rp-1"] {
				answer[k] = v
			}
			json.NewEncoder(w).Encode(answer)
		default:
			w.WriteHeader(http.StatusUnauthorized)
			w.Write([]byte(`{"error":"invalid_token"}`))
		}
	}))
	return srv
}

func ExampleEnsure() {
	provider := standInProvider()
	defer provider.Close()
	dir, _ := os.MkdirTemp("", "oidcrp-example")
	defer os.RemoveAll(dir)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	opts := registration.Options{
		Issuer: provider.URL, // for Ory Hydra, also set RegistrationEndpoint unless it is advertised
		Metadata: &registration.Metadata{
			ClientName:              "example app",
			RedirectURIs:            []string{"http://127.0.0.1:8080/callback"},
			PostLogoutRedirectURIs:  []string{"http://127.0.0.1:8080/logout/done"},
			GrantTypes:              []string{"authorization_code", "refresh_token"},
			ResponseTypes:           []string{"code"},
			Scope:                   "openid profile email offline_access",
			TokenEndpointAuthMethod: "client_secret_basic",
		},
		Store:  registration.NewFileStore(filepath.Join(dir, "oidcrp-client.json")),
		Logger: slog.New(slog.DiscardHandler),
	}

	// The first boot registers; every later boot reuses the stored client.
	for boot := 1; boot <= 2; boot++ {
		creds, err := registration.Ensure(ctx, opts)
		if err != nil {
			fmt.Println(err)
			return
		}
		// creds.ClientID, creds.ClientSecret and creds.TokenEndpointAuthMethod
		// go into rp.Config.
		fmt.Printf("boot %d: client %s, %s, secret set: %v\n",
			boot, creds.ClientID, creds.TokenEndpointAuthMethod, creds.ClientSecret != "")
		fmt.Println(strings.Contains(creds.String(), "s3cr3t")) // String never shows the secret
	}
	// Output:
	// boot 1: client rp-1, client_secret_basic, secret set: true
	// false
	// boot 2: client rp-1, client_secret_basic, secret set: true
	// false
}
