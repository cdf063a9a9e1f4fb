package main

import (
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

	"github.com/oidcrp/oidcrp/internal/hydra"
	"github.com/oidcrp/oidcrp/registration"
)

// hydraHasClient asks Hydra's admin API whether the client exists.
func hydraHasClient(t *testing.T, srv *hydra.Server, id string) bool {
	t.Helper()
	resp, err := http.Get(srv.AdminURL + "/admin/clients/" + id)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

func TestHydraCLI(t *testing.T) {
	hydra.SkipIfUnavailable(t)
	srv := hydra.StartForTest(t, hydra.Options{})
	endpoint := srv.PublicURL + "/oauth2/register"
	const rp = "http://127.0.0.1:18081"

	t.Run("discover", func(t *testing.T) {
		code, out, stderr := cli("discover", srv.Issuer)
		if code != exitOK {
			t.Fatalf("exit %d\n%s", code, stderr)
		}
		var report discoverReport
		if err := json.Unmarshal([]byte(out), &report); err != nil {
			t.Fatal(err)
		}
		has := func(member, problemPrefix string) bool {
			return slices.ContainsFunc(report.Findings, func(f finding) bool {
				return f.Member == member && strings.HasPrefix(f.Problem, problemPrefix)
			})
		}
		// Hydra sends no RFC 9207 iss parameter and runs on plain http here.
		if !has("authorization_response_iss_parameter_supported", "false or absent") || !has("token_endpoint", "uses plain http") {
			t.Errorf("findings %+v lack the iss parameter or plain http", report.Findings)
		}
		for _, m := range []string{"code_challenge_methods_supported", "end_session_endpoint", "registration_endpoint", "revocation_endpoint"} {
			if has(m, "absent") || has(m, "lacks") {
				t.Errorf("findings report %s missing although Hydra has it: %+v", m, report.Findings)
			}
		}
	})

	t.Run("register, get, update, delete", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "oidcrp-client.json")
		code, out, stderr := cli("register", "-issuer", srv.Issuer, "-registration-endpoint", endpoint, "-credentials", file,
			"-redirect-uri", rp+"/callback", "-post-logout-redirect-uri", rp+"/logout/done",
			"-backchannel-logout-uri", rp+"/backchannel-logout", "-frontchannel-logout-uri", rp+"/frontchannel-logout",
			"-name", "oidcrp CLI test")
		if code != exitOK {
			t.Fatalf("register: exit %d\n%s", code, stderr)
		}
		id, _ := decode(t, out)["client_id"].(string)
		if id == "" || !hydraHasClient(t, srv, id) {
			t.Fatalf("register printed client %q, unknown to Hydra", id)
		}

		code, out, stderr = cli("get", "-credentials", file)
		if code != exitOK {
			t.Fatalf("get: exit %d\n%s", code, stderr)
		}
		md, _ := decode(t, out)["metadata"].(map[string]any)
		if md["client_name"] != "oidcrp CLI test" || md["frontchannel_logout_session_required"] != true {
			t.Errorf("get: metadata %v", md)
		}

		before, _ := registration.NewFileStore(file).Load(t.Context())
		code, out, stderr = cli("update", "-credentials", file, "-redirect-uri", rp+"/callback", "-redirect-uri", rp+"/callback2")
		if code != exitOK {
			t.Fatalf("update: exit %d\n%s", code, stderr)
		}
		after, _ := registration.NewFileStore(file).Load(t.Context())
		if after.RegistrationAccessToken == before.RegistrationAccessToken {
			t.Error("Hydra's rotated registration access token was not saved")
		}
		md, _ = decode(t, out)["metadata"].(map[string]any)
		if uris, _ := md["redirect_uris"].([]any); len(uris) != 2 {
			t.Errorf("Hydra answered redirect_uris %v", md["redirect_uris"])
		}
		if md["client_name"] != "oidcrp CLI test" || md["backchannel_logout_uri"] != rp+"/backchannel-logout" {
			t.Errorf("update lost stored metadata: %v", md)
		}

		code, _, stderr = cli("delete", "-credentials", file)
		if code != exitOK {
			t.Fatalf("delete: exit %d\n%s", code, stderr)
		}
		if hydraHasClient(t, srv, id) {
			t.Error("the client still exists in Hydra")
		}
	})

	t.Run("delete a client Ensure registered", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "oidcrp-client.json")
		creds, err := registration.Ensure(t.Context(), registration.Options{
			Issuer:               srv.Issuer,
			RegistrationEndpoint: endpoint,
			Store:                registration.NewFileStore(file),
			Logger:               slog.New(slog.DiscardHandler),
			Metadata: &registration.Metadata{
				RedirectURIs:  []string{rp + "/callback"},
				GrantTypes:    []string{"authorization_code", "refresh_token"},
				ResponseTypes: []string{"code"},
				Scope:         "openid offline_access",
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		code, out, stderr := cli("delete", "-credentials", file)
		if code != exitOK {
			t.Fatalf("delete: exit %d\n%s", code, stderr)
		}
		if decode(t, out)["deleted"] != creds.ClientID || hydraHasClient(t, srv, creds.ClientID) {
			t.Errorf("delete printed %s; client still in Hydra: %v", out, hydraHasClient(t, srv, creds.ClientID))
		}
		if _, err := os.Stat(file); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("credentials file left: %v", err)
		}
		// After the delete Hydra answers 401 to the old token.
		c, _ := registration.NewClient(registration.Config{Endpoint: endpoint})
		if _, err := c.Read(t.Context(), creds); !errors.Is(err, registration.ErrTokenRejected) {
			t.Errorf("read after delete = %v", err)
		}
		if strings.Contains(out, creds.ClientSecret) {
			t.Error("delete printed the secret")
		}
	})
}
