package registration

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/oidcrp/oidcrp/internal/httpx"
	"github.com/oidcrp/oidcrp/internal/hydra"
)

// hydraClients lists the client IDs Hydra holds (admin API).
func hydraClients(t *testing.T, srv *hydra.Server) []string {
	t.Helper()
	resp, err := http.Get(srv.AdminURL + "/admin/clients?page_size=500")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var list []struct {
		ClientID string `json:"client_id"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, c := range list {
		ids = append(ids, c.ClientID)
	}
	slices.Sort(ids)
	return ids
}

// hydraAdmin sends a request to Hydra's admin API and returns the status.
func hydraAdmin(t *testing.T, srv *hydra.Server, method, path, contentType, body string) int {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), method, srv.AdminURL+path, strings.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func TestHydraRegistration(t *testing.T) {
	hydra.SkipIfUnavailable(t)
	srv := hydra.StartForTest(t, hydra.Options{})
	ctx := t.Context()
	const rp = "http://127.0.0.1:18080"
	want := &Metadata{
		ClientName:                        "oidcrp registration test",
		RedirectURIs:                      []string{rp + "/callback"},
		PostLogoutRedirectURIs:            []string{rp + "/logout/done"},
		BackchannelLogoutURI:              rp + "/backchannel-logout",
		BackchannelLogoutSessionRequired:  true,
		FrontchannelLogoutURI:             rp + "/frontchannel-logout",
		FrontchannelLogoutSessionRequired: true,
		GrantTypes:                        []string{"authorization_code", "refresh_token"},
		ResponseTypes:                     []string{"code"},
		Scope:                             "openid offline_access email profile",
		TokenEndpointAuthMethod:           "client_secret_basic",
	}
	path := filepath.Join(t.TempDir(), "oidcrp-client.json")
	var logged syncBuffer
	opts := Options{
		Metadata: want,
		Store:    NewFileStore(path),
		Issuer:   srv.Issuer,
		// Hydra advertises it only when configured to; set it explicitly.
		RegistrationEndpoint: srv.PublicURL + "/oauth2/register",
		Logger:               slog.New(slog.NewTextHandler(&logged, nil)),
	}
	client, err := NewClient(Config{Endpoint: opts.RegistrationEndpoint})
	if err != nil {
		t.Fatal(err)
	}
	var secrets []string
	defer func() {
		for _, s := range secrets {
			if s != "" && strings.Contains(logged.String(), s) {
				t.Errorf("a secret or token appears in the log")
			}
		}
	}()

	creds, err := Ensure(ctx, opts)
	if err != nil {
		t.Fatalf("register: %v", err)
	}
	secrets = append(secrets, creds.ClientSecret, creds.RegistrationAccessToken)
	t.Run("register answer", func(t *testing.T) {
		if len(creds.ClientSecret) != 26 || !strings.HasPrefix(creds.RegistrationAccessToken, "ory_at_") {
			t.Errorf("secret length %d, token prefix ok %v", len(creds.ClientSecret), strings.HasPrefix(creds.RegistrationAccessToken, "ory_at_"))
		}
		if creds.RegistrationClientURI != srv.PublicURL+"/oauth2/register/"+creds.ClientID {
			t.Errorf("registration_client_uri = %q", creds.RegistrationClientURI)
		}
		if creds.TokenEndpointAuthMethod != "client_secret_basic" || creds.ClientSecretExpiresAt != 0 {
			t.Errorf("auth method %q, expires %d", creds.TokenEndpointAuthMethod, creds.ClientSecretExpiresAt)
		}
		if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("credentials file: %v %v", fi.Mode(), err)
		}
		if ids := hydraClients(t, srv); !slices.Equal(ids, []string{creds.ClientID}) {
			t.Errorf("Hydra holds %v", ids)
		}
	})

	t.Run("read", func(t *testing.T) {
		got, err := client.Read(ctx, creds)
		if err != nil {
			t.Fatal(err)
		}
		if got.Metadata.ClientName != want.ClientName || !sameSet(got.Metadata.RedirectURIs, want.RedirectURIs) ||
			got.Metadata.UserinfoSignedResponseAlg != "none" || got.Metadata.SubjectType != "public" {
			t.Errorf("read metadata = %+v", got.Metadata)
		}
		if got.ClientSecret != creds.ClientSecret || got.RegistrationAccessToken != creds.RegistrationAccessToken {
			t.Error("a read changed the stored secret or token")
		}
	})

	t.Run("restart reuses the stored client", func(t *testing.T) {
		again, err := Ensure(ctx, opts)
		if err != nil {
			t.Fatal(err)
		}
		if again.ClientID != creds.ClientID || again.RegistrationAccessToken != creds.RegistrationAccessToken {
			t.Fatalf("restart: client %q (token rotated: %v), want the stored client untouched",
				again.ClientID, again.RegistrationAccessToken != creds.RegistrationAccessToken)
		}
	})

	t.Run("update rotates the token; the old one is refused", func(t *testing.T) {
		before := creds
		want.RedirectURIs = []string{rp + "/callback", rp + "/callback2"}
		want.PostLogoutRedirectURIs = []string{rp + "/logout/done", rp + "/bye"}
		updated, err := Ensure(ctx, opts)
		if err != nil {
			t.Fatal(err)
		}
		secrets = append(secrets, updated.RegistrationAccessToken)
		if updated.ClientID != before.ClientID || updated.RegistrationAccessToken == before.RegistrationAccessToken {
			t.Fatal("update did not rotate the registration access token")
		}
		if updated.ClientSecret != before.ClientSecret {
			t.Error("the client secret changed on update")
		}
		if !sameSet(updated.Metadata.RedirectURIs, want.RedirectURIs) || !sameSet(updated.Metadata.PostLogoutRedirectURIs, want.PostLogoutRedirectURIs) {
			t.Errorf("Hydra answered redirect_uris %v, post_logout %v", updated.Metadata.RedirectURIs, updated.Metadata.PostLogoutRedirectURIs)
		}
		if _, err := client.Read(ctx, before); !errors.Is(err, ErrTokenRejected) {
			t.Errorf("read with the old token = %v, want 401", err)
		}
		// The original secret still authenticates.
		if gone, err := probeGone(ctx, httpx.Default, srv.PublicURL+"/oauth2/token", updated); err != nil || gone {
			t.Errorf("token endpoint after update: gone %v, %v", gone, err)
		}
		creds = updated
	})

	t.Run("change made in the admin API is repaired", func(t *testing.T) {
		patch := `[{"op":"replace","path":"/client_name","value":"changed by an admin"}]`
		if st := hydraAdmin(t, srv, http.MethodPatch, "/admin/clients/"+creds.ClientID, "application/json", patch); st != http.StatusOK {
			t.Fatalf("admin patch: %d", st)
		}
		repaired, err := Ensure(ctx, opts)
		if err != nil {
			t.Fatal(err)
		}
		secrets = append(secrets, repaired.RegistrationAccessToken)
		if repaired.RegistrationAccessToken == creds.RegistrationAccessToken {
			t.Error("no update was sent for the changed client_name")
		}
		got, err := client.Read(ctx, repaired)
		if err != nil {
			t.Fatal(err)
		}
		if got.Metadata.ClientName != want.ClientName {
			t.Errorf("client_name = %q after Ensure", got.Metadata.ClientName)
		}
		creds = repaired
	})

	t.Run("Hydra errors", func(t *testing.T) {
		bad := want.Clone()
		bad.PostLogoutRedirectURIs = []string{"http://127.0.0.1:1/elsewhere"}
		_, err := client.Register(ctx, bad)
		var e *Error
		if !errors.As(err, &e) || e.StatusCode != http.StatusBadRequest || e.Code != CodeInvalidClientMetadata ||
			!strings.Contains(e.Description, "post_logout_redirect_uri") {
			t.Errorf("post-logout URI on another origin: %v", err)
		}
		// A PUT carrying client_secret is refused with 403 (sent raw here:
		// Client never sends it).
		body, _ := json.Marshal(map[string]any{"client_id": creds.ClientID, "client_secret": "chosen-by-me", "redirect_uris": want.RedirectURIs})
		req, _ := http.NewRequestWithContext(ctx, http.MethodPut, creds.RegistrationClientURI, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+creds.RegistrationAccessToken)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if e := parseError("update", resp.StatusCode, b); e.StatusCode != http.StatusForbidden || e.Code == "" || e.Description == "" {
			t.Errorf("PUT with client_secret: %+v", e)
		}
		// The refused PUT did not rotate the token.
		if _, err := client.Read(ctx, creds); err != nil {
			t.Errorf("read after the refused PUT: %v", err)
		}
	})

	t.Run("stale token, client alive: no duplicate", func(t *testing.T) {
		// Another process updates with the same metadata and loses the
		// rotated token: the stored one is now stale.
		if _, err := client.Update(ctx, creds, want); err != nil {
			t.Fatal(err)
		}
		if _, err := client.Read(ctx, creds); !errors.Is(err, ErrTokenRejected) {
			t.Fatalf("stored token still accepted: %v", err)
		}
		got, err := Ensure(ctx, opts)
		if err != nil {
			t.Fatalf("Ensure: %v", err)
		}
		if got.ClientID != creds.ClientID {
			t.Fatalf("client %q, want the stored %q", got.ClientID, creds.ClientID)
		}
		if ids := hydraClients(t, srv); !slices.Equal(ids, []string{creds.ClientID}) {
			t.Errorf("Hydra holds %v, want only the stored client", ids)
		}
	})

	t.Run("deleted behind the app's back: registered again", func(t *testing.T) {
		if err := srv.DeleteClient(ctx, creds.ClientID); err != nil {
			t.Fatal(err)
		}
		fresh, err := Ensure(ctx, opts)
		if err != nil {
			t.Fatal(err)
		}
		secrets = append(secrets, fresh.ClientSecret, fresh.RegistrationAccessToken)
		if fresh.ClientID == creds.ClientID {
			t.Fatal("the deleted client was kept")
		}
		stored, _ := opts.Store.Load(ctx)
		if stored.ClientID != fresh.ClientID {
			t.Errorf("stored %q, want %q", stored.ClientID, fresh.ClientID)
		}
		if ids := hydraClients(t, srv); !slices.Equal(ids, []string{fresh.ClientID}) {
			t.Errorf("Hydra holds %v", ids)
		}
		creds = fresh
	})

	t.Run("delete", func(t *testing.T) {
		if err := client.Delete(ctx, creds); err != nil {
			t.Fatal(err)
		}
		_, err := client.Read(ctx, creds)
		var e *Error
		if !errors.As(err, &e) || e.StatusCode != http.StatusUnauthorized {
			t.Errorf("read after delete = %v, want 401 (not 404)", err)
		}
		if gone, err := probeGone(ctx, httpx.Default, srv.PublicURL+"/oauth2/token", creds); err != nil || !gone {
			t.Errorf("token endpoint after delete: gone %v, %v; want invalid_client", gone, err)
		}
	})
}
