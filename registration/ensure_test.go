package registration

import (
	"context"
	"crypto/rand"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oidcrp/oidcrp/discovery"
)

func TestEnsureRegistersWhenNothingIsStored(t *testing.T) {
	env := newEnv(t)
	creds := env.mustEnsure(t, wanted())

	if got := env.op.count(); got != 1 {
		t.Fatalf("registrations = %d, want 1", got)
	}
	if creds.ClientID != "client-1" || creds.ClientSecret == "" || creds.TokenEndpointAuthMethod != "client_secret_basic" {
		t.Errorf("credentials = %v", creds)
	}
	if creds.RegistrationAccessToken == "" || creds.RegistrationClientURI != env.op.URL()+"/oauth2/register/client-1" {
		t.Errorf("registration_client_uri = %q (the admin Location header must be ignored)", creds.RegistrationClientURI)
	}
	if creds.Issuer != env.op.URL() || creds.RegistrationEndpoint != env.op.endpoint() {
		t.Errorf("issuer %q, endpoint %q", creds.Issuer, creds.RegistrationEndpoint)
	}
	stored := env.stored(t)
	if stored == nil || stored.ClientID != creds.ClientID || stored.ClientSecret != creds.ClientSecret ||
		stored.RegistrationAccessToken != creds.RegistrationAccessToken {
		t.Fatalf("stored credentials %v differ from the returned %v", stored, creds)
	}
	if env.op.iatSeen[0] != "" {
		t.Errorf("register carried Authorization %q without an initial access token", env.op.iatSeen[0])
	}
	if !strings.Contains(env.log.String(), "registered a new client") {
		t.Errorf("log lacks the registration:\n%s", env.log)
	}
}

func TestEnsureReusesTheStoredClient(t *testing.T) {
	env := newEnv(t)
	first := env.mustEnsure(t, wanted())
	second := env.mustEnsure(t, wanted())

	if got := env.op.count(); got != 1 {
		t.Fatalf("registrations = %d, want 1", got)
	}
	if second.ClientID != first.ClientID || second.ClientSecret != first.ClientSecret ||
		second.RegistrationAccessToken != first.RegistrationAccessToken {
		t.Errorf("second Ensure returned %v, want the stored %v", second, first)
	}
	if n := env.op.requestsMatching("PUT "); n != 0 {
		t.Errorf("%d updates for unchanged metadata", n)
	}
	if n := env.op.requestsMatching("GET /oauth2/register/client-1 Bearer " + first.RegistrationAccessToken); n != 1 {
		t.Errorf("reads with the registration access token = %d, want 1", n)
	}
}

func TestEnsureUpdatesOnlyWhenTheWantedMetadataChanged(t *testing.T) {
	tests := []struct {
		name       string
		change     func(*Metadata)
		wantUpdate bool
	}{
		{name: "same metadata", change: func(*Metadata) {}},
		{name: "lists and scope in another order", change: func(m *Metadata) {
			slices.Reverse(m.RedirectURIs)
			slices.Reverse(m.GrantTypes)
			m.Scope = "offline_access email openid profile"
		}},
		{name: "duplicate list entry", change: func(m *Metadata) { m.GrantTypes = append(m.GrantTypes, "refresh_token") }},
		{name: "another redirect URI", change: func(m *Metadata) { m.RedirectURIs[1] = "http://127.0.0.1:9090/callback" }, wantUpdate: true},
		{name: "member dropped", change: func(m *Metadata) { m.BackchannelLogoutURI = "" }, wantUpdate: true},
		{name: "member added", change: func(m *Metadata) { m.ClientURI = "http://127.0.0.1:8080/" }, wantUpdate: true},
		{name: "scope narrowed", change: func(m *Metadata) { m.Scope = "openid" }, wantUpdate: true},
		{name: "lifespan added", change: func(m *Metadata) { m.AuthorizationCodeGrantAccessTokenLifespan = Duration(time.Hour) }, wantUpdate: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := newEnv(t)
			first := env.mustEnsure(t, wanted())
			md := wanted()
			tc.change(md)
			got := env.mustEnsure(t, md)

			puts := env.op.requestsMatching("PUT ")
			if tc.wantUpdate != (puts == 1) || puts > 1 {
				t.Fatalf("updates = %d, want update %v", puts, tc.wantUpdate)
			}
			if !tc.wantUpdate {
				return
			}
			if got.RegistrationAccessToken == first.RegistrationAccessToken {
				t.Error("the rotated registration access token was not taken")
			}
			if s := env.stored(t); s.RegistrationAccessToken != got.RegistrationAccessToken {
				t.Error("the rotated registration access token was not saved")
			}
			// The old token is refused at once, as with Ory Hydra.
			c, _ := NewClient(Config{Endpoint: env.op.endpoint()})
			if _, err := c.Read(t.Context(), first); !errors.Is(err, ErrTokenRejected) {
				t.Errorf("read with the old token = %v, want ErrTokenRejected", err)
			}
			body := env.op.putBodies[0]
			if _, ok := body["client_secret"]; ok {
				t.Error("the update echoed the client secret")
			}
			if body["client_id"] != first.ClientID || body["client_name"] != "test app" {
				t.Errorf("update body %v lacks client_id or the full metadata", body)
			}
			fc, _ := env.op.client(first.ClientID)
			if !equalMember("redirect_uris", mustJSON(t, md.RedirectURIs), mustJSON(t, fc.md["redirect_uris"])) {
				t.Errorf("provider holds redirect_uris %v, want %v", fc.md["redirect_uris"], md.RedirectURIs)
			}
			// A third run finds nothing to do.
			env.mustEnsure(t, md)
			if n := env.op.requestsMatching("PUT "); n != 1 {
				t.Errorf("updates after a settled run = %d, want 1", n)
			}
		})
	}
}

func TestEnsureRepairsChangesMadeAtTheProvider(t *testing.T) {
	tests := []struct {
		name   string
		member string
		value  any
	}{
		{name: "redirect URI added by an admin", member: "redirect_uris", value: []any{"https://attacker.example/cb", "http://127.0.0.1:8080/callback", "http://localhost:8080/callback"}},
		{name: "scope widened", member: "scope", value: "openid offline_access email profile admin"},
		{name: "back-channel logout cleared", member: "backchannel_logout_uri", value: nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := newEnv(t)
			creds := env.mustEnsure(t, wanted())
			if tc.value == nil {
				env.op.mu.Lock()
				delete(env.op.clients[creds.ClientID].md, tc.member)
				env.op.mu.Unlock()
			} else {
				env.op.adminSet(creds.ClientID, tc.member, tc.value)
			}
			env.mustEnsure(t, wanted())
			if n := env.op.requestsMatching("PUT "); n != 1 {
				t.Fatalf("updates = %d, want 1", n)
			}
			fc, _ := env.op.client(creds.ClientID)
			want, _ := wanted().members()
			if !equalMember(tc.member, want[tc.member], mustJSON(t, fc.md[tc.member])) {
				t.Errorf("%s at the provider = %v after Ensure", tc.member, fc.md[tc.member])
			}
		})
	}
}

func TestEnsureAcceptsValuesTheProviderSubstitutes(t *testing.T) {
	env := newEnv(t)
	// The provider grants fewer scopes than asked, consistently.
	env.op.set(func(op *fakeOP) {
		op.answer = func(_ string, body map[string]any) { body["scope"] = "openid" }
	})
	env.mustEnsure(t, wanted())
	env.mustEnsure(t, wanted())
	if n := env.op.requestsMatching("PUT "); n != 0 {
		t.Errorf("updates = %d; a substituted value must not cause an update on every boot", n)
	}
}

func TestEnsureRegistersAgainWhenTheClientIsGone(t *testing.T) {
	env := newEnv(t)
	first := env.mustEnsure(t, wanted())
	env.op.adminDelete(first.ClientID)

	second := env.mustEnsure(t, wanted())
	if second.ClientID == first.ClientID || env.op.count() != 2 {
		t.Fatalf("client %q after deletion (registrations %d), want a new one", second.ClientID, env.op.count())
	}
	if s := env.stored(t); s.ClientID != second.ClientID {
		t.Errorf("stored client %q, want %q", s.ClientID, second.ClientID)
	}
	if n := env.op.requestsMatching("POST /oauth2/token Basic "); n != 1 {
		t.Errorf("token endpoint probes = %d, want 1 with HTTP Basic", n)
	}
	if !strings.Contains(env.log.String(), "gone") {
		t.Errorf("log does not say the client was gone:\n%s", env.log)
	}
}

func TestEnsureNeverRegistersADuplicateForAStaleToken(t *testing.T) {
	t.Run("nothing to change: the stored client is used", func(t *testing.T) {
		env := newEnv(t)
		first := env.mustEnsure(t, wanted())
		env.op.adminRotateRAT(first.ClientID) // the token we hold is now stale
		got := env.mustEnsure(t, wanted())
		if got.ClientID != first.ClientID || env.op.count() != 1 {
			t.Fatalf("client %q, registrations %d; want the stored client and no registration", got.ClientID, env.op.count())
		}
		if !strings.Contains(env.log.String(), "cannot be read or changed") {
			t.Errorf("log lacks the warning:\n%s", env.log)
		}
	})
	t.Run("changes wanted: ErrStaleToken", func(t *testing.T) {
		env := newEnv(t)
		first := env.mustEnsure(t, wanted())
		env.op.adminRotateRAT(first.ClientID)
		md := wanted()
		md.ClientName = "renamed"
		_, err := env.ensure(t, md)
		if !errors.Is(err, ErrStaleToken) {
			t.Fatalf("Ensure = %v, want ErrStaleToken", err)
		}
		if env.op.count() != 1 {
			t.Errorf("registrations = %d, want 1", env.op.count())
		}
	})
	t.Run("another replica saved the rotated token meanwhile", func(t *testing.T) {
		env := newEnv(t)
		first := env.mustEnsure(t, wanted())
		fresh := first.Clone()
		fresh.RegistrationAccessToken = env.op.adminRotateRAT(first.ClientID)
		env.store = &laggingStore{MemoryStore: &MemoryStore{}, stale: first}
		env.store.Save(t.Context(), fresh)

		got := env.mustEnsure(t, wanted())
		if got.RegistrationAccessToken != fresh.RegistrationAccessToken || env.op.count() != 1 {
			t.Fatalf("got token %q (registrations %d), want the replica's token and no registration",
				got.RegistrationAccessToken, env.op.count())
		}
		if n := env.op.requestsMatching("GET /oauth2/register/"); n != 2 {
			t.Errorf("reads = %d, want 2 (stale token, reloaded token)", n)
		}
		if n := env.op.requestsMatching("POST /oauth2/token"); n != 1 {
			t.Errorf("token endpoint probes = %d, want 1", n)
		}
	})
	t.Run("token endpoint inconclusive: error, no registration", func(t *testing.T) {
		env := newEnv(t)
		first := env.mustEnsure(t, wanted())
		env.op.adminRotateRAT(first.ClientID)
		env.op.set(func(op *fakeOP) {
			op.override = func(w http.ResponseWriter, r *http.Request) bool {
				if r.URL.Path != "/oauth2/token" {
					return false
				}
				http.Error(w, "upstream down", http.StatusBadGateway)
				return true
			}
		})
		_, err := env.ensure(t, wanted())
		if err == nil || !errors.Is(err, ErrTokenRejected) || !strings.Contains(err.Error(), "inconclusive") {
			t.Fatalf("Ensure = %v, want an inconclusive-probe error", err)
		}
		if env.op.count() != 1 {
			t.Errorf("registrations = %d, want 1", env.op.count())
		}
	})
}

// laggingStore returns stale credentials on its first Load, as a replica
// that read the file just before another one saved a rotated token.
type laggingStore struct {
	*MemoryStore
	stale  *Credentials
	served atomic.Bool
}

func (s *laggingStore) Load(ctx context.Context) (*Credentials, error) {
	if !s.served.Swap(true) {
		return s.stale.Clone(), nil
	}
	return s.MemoryStore.Load(ctx)
}

func TestEnsureRotatesAnExpiringSecret(t *testing.T) {
	t.Run("provider issues a new secret on update", func(t *testing.T) {
		env := newEnv(t)
		env.op.set(func(op *fakeOP) { op.secretTTL = 48 * time.Hour; op.rotateSecretOnPut = true })
		first := env.mustEnsure(t, wanted())
		env.now = env.now.Add(47 * time.Hour)
		got := env.mustEnsure(t, wanted())
		if got.ClientID != first.ClientID || got.ClientSecret == first.ClientSecret {
			t.Fatalf("got %v, want the same client with a new secret", got)
		}
		if exp, _ := got.SecretExpiresAt(); !exp.After(env.now.Add(24 * time.Hour)) {
			t.Errorf("new secret expires at %v", exp)
		}
		if s := env.stored(t); s.ClientSecret != got.ClientSecret {
			t.Error("the new secret was not saved")
		}
		if env.op.count() != 1 {
			t.Errorf("registrations = %d, want 1", env.op.count())
		}
	})
	t.Run("provider keeps the secret: register anew, retire the old client", func(t *testing.T) {
		env := newEnv(t)
		env.op.set(func(op *fakeOP) { op.secretTTL = 48 * time.Hour })
		first := env.mustEnsure(t, wanted())
		env.mustEnsure(t, wanted()) // far from expiry: nothing happens
		if env.op.count() != 1 {
			t.Fatalf("registrations = %d before expiry", env.op.count())
		}

		env.now = env.now.Add(47 * time.Hour)
		second := env.mustEnsure(t, wanted())
		if second.ClientID == first.ClientID || env.op.count() != 2 {
			t.Fatalf("got client %q, want a new one", second.ClientID)
		}
		if len(second.Retired) != 1 || second.Retired[0].ClientID != first.ClientID {
			t.Fatalf("retired = %+v", second.Retired)
		}
		if _, ok := env.op.client(first.ClientID); !ok {
			t.Fatal("the old client was deleted before its secret expired")
		}

		env.now = env.now.Add(2 * time.Hour) // the old secret has expired
		third := env.mustEnsure(t, wanted())
		if third.ClientID != second.ClientID || len(third.Retired) != 0 {
			t.Fatalf("got %v retired %+v", third, third.Retired)
		}
		if _, ok := env.op.client(first.ClientID); ok {
			t.Error("the retired client was not deleted after its secret expired")
		}
		if s := env.stored(t); len(s.Retired) != 0 {
			t.Errorf("stored retired = %+v", s.Retired)
		}
	})
}

func TestEnsureFailsClosedOnAWeakeningRegisterAnswer(t *testing.T) {
	tests := []struct {
		name   string
		answer func(map[string]any)
		want   error
	}{
		{name: "other redirect_uris", answer: func(b map[string]any) { b["redirect_uris"] = []string{"https://attacker.example/cb"} }, want: ErrWeakened},
		{name: "extra redirect_uri", answer: func(b map[string]any) {
			b["redirect_uris"] = append(slices.Clone(wanted().RedirectURIs), "https://attacker.example/cb")
		}, want: ErrWeakened},
		{name: "other post_logout_redirect_uris", answer: func(b map[string]any) { b["post_logout_redirect_uris"] = []string{"https://attacker.example/"} }, want: ErrWeakened},
		{name: "token_endpoint_auth_method none", answer: func(b map[string]any) { b["token_endpoint_auth_method"] = "none" }, want: ErrWeakened},
		{name: "id_token_signed_response_alg none", answer: func(b map[string]any) { b["id_token_signed_response_alg"] = "none" }, want: ErrWeakened},
		{name: "no client secret", answer: func(b map[string]any) { delete(b, "client_secret") }, want: ErrInvalidResponse},
		{name: "auth method rp cannot use", answer: func(b map[string]any) { b["token_endpoint_auth_method"] = "private_key_jwt" }, want: nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := newEnv(t)
			env.op.set(func(op *fakeOP) {
				op.answer = func(op string, b map[string]any) {
					if op == "register" {
						tc.answer(b)
					}
				}
			})
			_, err := env.ensure(t, wanted())
			if err == nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("Ensure = %v, want %v", err, tc.want)
			}
			if env.op.live() != 0 {
				t.Error("the client registered with an unusable answer was not deleted")
			}
			if env.stored(t) != nil {
				t.Error("credentials from an unusable answer were saved")
			}
		})
	}
}

func TestEnsureFailsClosedOnAWeakeningUpdateAnswer(t *testing.T) {
	env := newEnv(t)
	first := env.mustEnsure(t, wanted())
	env.op.set(func(op *fakeOP) {
		op.answer = func(op string, b map[string]any) {
			if op == "update" {
				b["token_endpoint_auth_method"] = "none"
			}
		}
	})
	md := wanted()
	md.ClientName = "renamed"
	for i := range 2 {
		_, err := env.ensure(t, md)
		if !errors.Is(err, ErrWeakened) {
			t.Fatalf("run %d: Ensure = %v, want ErrWeakened", i, err)
		}
		// The rotated token was saved although the answer was refused.
		stored := env.stored(t)
		fc, _ := env.op.client(first.ClientID)
		if stored.RegistrationAccessToken != fc.rat {
			t.Fatalf("run %d: stored token is not the provider's current one", i)
		}
		if stored.Requested.ClientName != "test app" {
			t.Errorf("run %d: the weakened update was recorded as requested", i)
		}
	}
	if n := env.op.requestsMatching("PUT "); n != 2 {
		t.Errorf("updates = %d, want 2 (the weakened answer must not be taken as settled)", n)
	}
}

func TestEnsureRefusesAnotherClientID(t *testing.T) {
	for _, op := range []string{"read", "update"} {
		t.Run(op, func(t *testing.T) {
			env := newEnv(t)
			first := env.mustEnsure(t, wanted())
			env.op.set(func(f *fakeOP) {
				f.answer = func(o string, b map[string]any) {
					if o == op {
						b["client_id"] = "someone-else"
					}
				}
			})
			md := wanted()
			md.ClientName = "renamed" // forces an update after the read
			_, err := env.ensure(t, md)
			if !errors.Is(err, ErrClientIDMismatch) {
				t.Fatalf("Ensure = %v, want ErrClientIDMismatch", err)
			}
			stored := env.stored(t)
			if stored.ClientID != first.ClientID {
				t.Errorf("stored client_id = %q", stored.ClientID)
			}
			if fc, _ := env.op.client(first.ClientID); stored.RegistrationAccessToken != fc.rat {
				t.Error("stored token is not the provider's current one")
			}
		})
	}
}

func TestEnsureSendsTheTokenOnlyToTheProvidersOrigin(t *testing.T) {
	var evilHits atomic.Int64
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		evilHits.Add(1)
		w.WriteHeader(http.StatusOK)
	}))
	defer evil.Close()

	t.Run("register answer names another origin", func(t *testing.T) {
		env := newEnv(t)
		env.op.set(func(op *fakeOP) {
			op.answer = func(_ string, b map[string]any) { b["registration_client_uri"] = evil.URL + "/oauth2/register/x" }
		})
		_, err := env.ensure(t, wanted())
		if !errors.Is(err, ErrUntrustedURI) {
			t.Fatalf("Ensure = %v, want ErrUntrustedURI", err)
		}
		if env.stored(t) != nil {
			t.Error("credentials were saved")
		}
	})
	t.Run("register answer names plain http on a public host", func(t *testing.T) {
		env := newEnv(t)
		env.op.set(func(op *fakeOP) {
			op.answer = func(_ string, b map[string]any) {
				b["registration_client_uri"] = "http://id.example.com/oauth2/register/x"
			}
		})
		if _, err := env.ensure(t, wanted()); !errors.Is(err, ErrUntrustedURI) {
			t.Fatalf("Ensure = %v, want ErrUntrustedURI", err)
		}
	})
	t.Run("stored credentials were tampered with", func(t *testing.T) {
		env := newEnv(t)
		creds := env.mustEnsure(t, wanted())
		creds.RegistrationClientURI = evil.URL + "/oauth2/register/" + creds.ClientID
		env.store.Save(t.Context(), creds)
		if _, err := env.ensure(t, wanted()); !errors.Is(err, ErrUntrustedURI) {
			t.Fatalf("Ensure = %v, want ErrUntrustedURI", err)
		}
	})
	t.Run("provider redirects the read", func(t *testing.T) {
		env := newEnv(t)
		env.mustEnsure(t, wanted())
		env.op.set(func(op *fakeOP) {
			op.override = func(w http.ResponseWriter, r *http.Request) bool {
				if !strings.HasPrefix(r.URL.Path, "/oauth2/register/") {
					return false
				}
				http.Redirect(w, r, evil.URL+r.URL.Path, http.StatusTemporaryRedirect)
				return true
			}
		})
		var e *Error
		if _, err := env.ensure(t, wanted()); !errors.As(err, &e) || e.StatusCode != http.StatusTemporaryRedirect {
			t.Fatalf("Ensure = %v, want the redirect as an error", err)
		}
	})
	if n := evilHits.Load(); n != 0 {
		t.Fatalf("the other origin received %d requests", n)
	}
}

func TestEnsureInitialAccessToken(t *testing.T) {
	env := newEnv(t)
	opts := env.options(wanted())
	opts.InitialAccessToken = "iat-0123456789"
	if _, err := Ensure(t.Context(), opts); err != nil {
		t.Fatal(err)
	}
	if _, err := Ensure(t.Context(), opts); err != nil {
		t.Fatal(err)
	}
	if env.op.iatSeen[0] != "Bearer iat-0123456789" {
		t.Errorf("register Authorization = %q", env.op.iatSeen[0])
	}
	if n := env.op.requestsMatching("GET /oauth2/register/client-1 Bearer iat-"); n != 0 {
		t.Error("the initial access token was sent to the registration client URI")
	}
}

func TestEnsureRegistrationEndpoint(t *testing.T) {
	env := newEnv(t)
	env.op.set(func(op *fakeOP) { op.advertise = false })
	if _, err := env.ensure(t, wanted()); !errors.Is(err, ErrNoRegistrationEndpoint) {
		t.Fatalf("Ensure without an endpoint = %v, want ErrNoRegistrationEndpoint", err)
	}
	opts := env.options(wanted())
	opts.RegistrationEndpoint = env.op.endpoint()
	creds, err := Ensure(t.Context(), opts)
	if err != nil || creds.ClientID == "" {
		t.Fatalf("Ensure with an explicit endpoint = %v, %v", creds, err)
	}
}

func TestEnsureRefusesCredentialsOfAnotherProvider(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Credentials)
	}{
		{name: "issuer", mutate: func(c *Credentials) { c.Issuer = "https://other.example.com" }},
		{name: "registration endpoint", mutate: func(c *Credentials) { c.RegistrationEndpoint = "https://other.example.com/register" }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := newEnv(t)
			creds := env.mustEnsure(t, wanted())
			tc.mutate(creds)
			env.store.Save(t.Context(), creds)
			if _, err := env.ensure(t, wanted()); !errors.Is(err, ErrOtherProvider) {
				t.Fatalf("Ensure = %v, want ErrOtherProvider", err)
			}
			if env.op.count() != 1 {
				t.Errorf("registrations = %d", env.op.count())
			}
		})
	}
}

func TestEnsureWithUnmanageableCredentials(t *testing.T) {
	t.Run("client alive: used as stored", func(t *testing.T) {
		env := newEnv(t)
		creds := env.mustEnsure(t, wanted())
		creds.RegistrationAccessToken = ""
		env.store.Save(t.Context(), creds)
		got := env.mustEnsure(t, wanted())
		if got.ClientID != creds.ClientID || env.op.count() != 1 {
			t.Fatalf("got %v, registrations %d", got, env.op.count())
		}
	})
	t.Run("client alive, changes wanted: ErrNotManaged", func(t *testing.T) {
		env := newEnv(t)
		creds := env.mustEnsure(t, wanted())
		creds.RegistrationClientURI = ""
		env.store.Save(t.Context(), creds)
		md := wanted()
		md.Scope = "openid"
		if _, err := env.ensure(t, md); !errors.Is(err, ErrNotManaged) {
			t.Fatalf("Ensure = %v, want ErrNotManaged", err)
		}
	})
	t.Run("client gone: registered again", func(t *testing.T) {
		env := newEnv(t)
		creds := env.mustEnsure(t, wanted())
		creds.RegistrationAccessToken = ""
		env.store.Save(t.Context(), creds)
		env.op.adminDelete(creds.ClientID)
		got := env.mustEnsure(t, wanted())
		if got.ClientID == creds.ClientID {
			t.Fatal("a gone client was kept")
		}
	})
}

func TestEnsurePublicClient(t *testing.T) {
	env := newEnv(t)
	md := wanted()
	md.TokenEndpointAuthMethod = "none"
	creds := env.mustEnsure(t, md)
	if creds.ClientSecret != "" || creds.TokenEndpointAuthMethod != "none" {
		t.Fatalf("got %v", creds)
	}
	// The probe of a public client sends its client_id in the form.
	env.op.adminRotateRAT(creds.ClientID)
	if _, err := env.ensure(t, md); err != nil {
		t.Fatalf("Ensure with a stale token = %v", err)
	}
	if env.op.count() != 1 {
		t.Errorf("registrations = %d", env.op.count())
	}
}

// failingStore fails Save or Load on demand.
type failingStore struct {
	MemoryStore
	failSave, failLoad bool
}

var errStore = errors.New("store unavailable")

func (s *failingStore) Save(ctx context.Context, c *Credentials) error {
	if s.failSave {
		return errStore
	}
	return s.MemoryStore.Save(ctx, c)
}

func (s *failingStore) Load(ctx context.Context) (*Credentials, error) {
	if s.failLoad {
		return nil, errStore
	}
	return s.MemoryStore.Load(ctx)
}

func TestEnsureStoreFailures(t *testing.T) {
	t.Run("save fails after register: the client is deleted", func(t *testing.T) {
		env := newEnv(t)
		env.store = &failingStore{failSave: true}
		if _, err := env.ensure(t, wanted()); !errors.Is(err, errStore) {
			t.Fatalf("Ensure = %v, want the store's error", err)
		}
		if env.op.count() != 1 || env.op.live() != 0 {
			t.Errorf("registrations %d, live %d; want the unsaved client deleted", env.op.count(), env.op.live())
		}
	})
	t.Run("load fails: nothing is registered", func(t *testing.T) {
		env := newEnv(t)
		env.store = &failingStore{failLoad: true}
		if _, err := env.ensure(t, wanted()); !errors.Is(err, errStore) {
			t.Fatalf("Ensure = %v, want the store's error", err)
		}
		if env.op.count() != 0 {
			t.Error("registered although the store could not be read")
		}
	})
}

func TestEnsureOptions(t *testing.T) {
	env := newEnv(t)
	tests := []struct {
		name    string
		mutate  func(*Options)
		wantErr string
	}{
		{name: "no metadata", mutate: func(o *Options) { o.Metadata = nil }, wantErr: "Metadata is required"},
		{name: "no issuer", mutate: func(o *Options) { o.Issuer = "" }, wantErr: "Provider or Issuer"},
		{name: "http redirect URI on a public host", mutate: func(o *Options) { o.Metadata.RedirectURIs = []string{"http://app.example.com/cb"} }, wantErr: "must use https"},
		{name: "relative logout URI", mutate: func(o *Options) { o.Metadata.BackchannelLogoutURI = "/logout" }, wantErr: "absolute"},
		{name: "auth method rp cannot use", mutate: func(o *Options) { o.Metadata.TokenEndpointAuthMethod = "private_key_jwt" }, wantErr: "private_key_jwt"},
		{name: "negative margin", mutate: func(o *Options) { o.SecretExpiryMargin = -time.Second }, wantErr: "negative"},
		{name: "public http issuer", mutate: func(o *Options) { o.Issuer = "http://id.example.com" }, wantErr: "https"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opts := env.options(wanted())
			tc.mutate(&opts)
			_, err := Ensure(t.Context(), opts)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Ensure = %v, want an error containing %q", err, tc.wantErr)
			}
		})
	}
	if env.op.count() != 0 {
		t.Error("a bad configuration registered a client")
	}
}

// hookStore lets a test change what Load returns, by call number.
type hookStore struct {
	MemoryStore
	// mu guards n.
	mu     sync.Mutex
	n      int
	onLoad func(n int, c *Credentials) *Credentials
}

func (s *hookStore) Load(ctx context.Context) (*Credentials, error) {
	c, err := s.MemoryStore.Load(ctx)
	s.mu.Lock()
	s.n++
	n := s.n
	s.mu.Unlock()
	if err != nil || c == nil || s.onLoad == nil {
		return c, err
	}
	return s.onLoad(n, c), nil
}

func TestEnsureStartsOverWhenCredentialsChangeUnderIt(t *testing.T) {
	t.Run("token changes before every step: give up", func(t *testing.T) {
		env := newEnv(t)
		hs := &hookStore{}
		env.store = hs
		env.mustEnsure(t, wanted())
		hs.onLoad = func(_ int, c *Credentials) *Credentials {
			c.RegistrationAccessToken = "ory_at_" + rand.Text() // a writer ignoring the lock
			return c
		}
		_, err := env.ensure(t, wanted())
		if err == nil || !strings.Contains(err.Error(), "changed 4 times") {
			t.Fatalf("Ensure = %v, want the give-up error", err)
		}
		if env.op.count() != 1 {
			t.Errorf("registrations = %d", env.op.count())
		}
	})
	t.Run("another replica updates between our read and our update", func(t *testing.T) {
		env := newEnv(t)
		hs := &hookStore{}
		env.store = hs
		first := env.mustEnsure(t, wanted())
		start := hs.n
		var replicaRAT string
		hs.onLoad = func(n int, c *Credentials) *Credentials {
			if n == start+2 { // the reload right before our update
				replicaRAT = env.op.adminRotateRAT(first.ClientID)
			}
			if replicaRAT != "" {
				c.RegistrationAccessToken = replicaRAT
			}
			return c
		}
		md := wanted()
		md.ClientName = "renamed"
		got, err := env.ensure(t, md)
		if err != nil {
			t.Fatalf("Ensure = %v", err)
		}
		if got.Metadata.ClientName != "renamed" || env.op.count() != 1 {
			t.Errorf("got %+v, registrations %d", got.Metadata, env.op.count())
		}
		// Read with our token, no update with it (the stored one changed),
		// read again with the replica's token, update with it.
		if n := env.op.requestsMatching("PUT /oauth2/register/client-1 Bearer " + replicaRAT); n != 1 {
			t.Errorf("updates with the replica's token = %d, want 1", n)
		}
		if n := env.op.requestsMatching("PUT "); n != 1 {
			t.Errorf("updates = %d, want 1", n)
		}
		if n := env.op.requestsMatching("GET /oauth2/register/"); n != 2 {
			t.Errorf("reads = %d, want 2", n)
		}
	})
	t.Run("update refused: token rotated at the provider meanwhile", func(t *testing.T) {
		env := newEnv(t)
		first := env.mustEnsure(t, wanted())
		var once sync.Once
		env.op.set(func(op *fakeOP) {
			op.override = func(w http.ResponseWriter, r *http.Request) bool {
				if r.Method == http.MethodPut {
					once.Do(func() { op.adminRotateRAT(first.ClientID) })
				}
				return false
			}
		})
		md := wanted()
		md.ClientName = "renamed"
		if _, err := env.ensure(t, md); !errors.Is(err, ErrStaleToken) {
			t.Fatalf("Ensure = %v, want ErrStaleToken", err)
		}
		if env.op.count() != 1 {
			t.Errorf("registrations = %d", env.op.count())
		}
	})
}

func TestEnsureProviderFailures(t *testing.T) {
	t.Run("read fails with 500: error, no registration", func(t *testing.T) {
		env := newEnv(t)
		env.mustEnsure(t, wanted())
		env.op.set(func(op *fakeOP) {
			op.override = func(w http.ResponseWriter, r *http.Request) bool {
				if r.Method != http.MethodGet || !strings.HasPrefix(r.URL.Path, "/oauth2/register/") {
					return false
				}
				http.Error(w, "database down", http.StatusInternalServerError)
				return true
			}
		})
		var e *Error
		if _, err := env.ensure(t, wanted()); !errors.As(err, &e) || e.StatusCode != 500 {
			t.Fatalf("Ensure = %v, want the 500", err)
		}
		if env.op.count() != 1 || env.op.requestsMatching("POST /oauth2/token") != 0 {
			t.Error("a server error was taken for a gone client")
		}
	})
	t.Run("discovery fails", func(t *testing.T) {
		env := newEnv(t)
		env.op.set(func(op *fakeOP) {
			op.override = func(w http.ResponseWriter, r *http.Request) bool {
				http.Error(w, "down", http.StatusServiceUnavailable)
				return true
			}
		})
		ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
		defer cancel()
		if _, err := Ensure(ctx, env.options(wanted())); err == nil {
			t.Fatal("Ensure succeeded without discovery")
		}
	})
	t.Run("retired client deletion fails: kept for later", func(t *testing.T) {
		env := newEnv(t)
		env.op.set(func(op *fakeOP) { op.secretTTL = 48 * time.Hour })
		first := env.mustEnsure(t, wanted())
		env.now = env.now.Add(47 * time.Hour)
		env.mustEnsure(t, wanted()) // rotates: first is retired
		env.now = env.now.Add(2 * time.Hour)
		env.op.set(func(op *fakeOP) {
			op.override = func(w http.ResponseWriter, r *http.Request) bool {
				if r.Method != http.MethodDelete {
					return false
				}
				http.Error(w, "busy", http.StatusServiceUnavailable)
				return true
			}
		})
		got := env.mustEnsure(t, wanted())
		if len(got.Retired) != 1 || got.Retired[0].ClientID != first.ClientID {
			t.Fatalf("retired = %+v, want the old client kept for a retry", got.Retired)
		}
		env.op.set(func(op *fakeOP) { op.override = nil })
		if got := env.mustEnsure(t, wanted()); len(got.Retired) != 0 {
			t.Errorf("retired = %+v after a successful retry", got.Retired)
		}
	})
	t.Run("stale token and expiring secret: register anew", func(t *testing.T) {
		env := newEnv(t)
		env.op.set(func(op *fakeOP) { op.secretTTL = 48 * time.Hour })
		first := env.mustEnsure(t, wanted())
		env.op.adminRotateRAT(first.ClientID)
		env.now = env.now.Add(47 * time.Hour)
		got := env.mustEnsure(t, wanted())
		if got.ClientID == first.ClientID || len(got.Retired) != 1 {
			t.Fatalf("got %v retired %+v", got, got.Retired)
		}
	})
}

func TestEnsureThroughABackchannelAddress(t *testing.T) {
	// Browsers and tokens use https://id.example.com; the application
	// reaches the provider at its loopback address (a container network).
	env := newEnv(t)
	env.op.set(func(op *fakeOP) { op.publicBase = "https://id.example.com" })
	p, err := discovery.New(discovery.Config{
		Issuer:       "https://id.example.com",
		DiscoveryURL: env.op.URL(),
		Logger:       slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	opts := env.options(wanted())
	opts.Issuer, opts.Provider = "", p
	creds, err := Ensure(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if creds.RegistrationClientURI != "https://id.example.com/oauth2/register/client-1" || creds.Issuer != "https://id.example.com" {
		t.Errorf("credentials %v issuer %q", creds, creds.Issuer)
	}
	// The second run reads at the back-channel address; deleting the
	// client makes it probe the token endpoint there too.
	env.op.adminDelete(creds.ClientID)
	again, err := Ensure(t.Context(), opts)
	if err != nil || again.ClientID != "client-2" {
		t.Fatalf("Ensure = %v, %v", again, err)
	}
	if env.op.requestsMatching("GET /oauth2/register/client-1") != 1 || env.op.requestsMatching("POST /oauth2/token") != 1 {
		t.Error("the read or the probe did not reach the provider")
	}
}
