package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oidcrp/oidcrp/registration"
)

func sampleCredentials() *registration.Credentials {
	return &registration.Credentials{
		Issuer:                  "https://id.example.com/",
		RegistrationEndpoint:    "https://id.example.com/oauth2/register",
		ClientID:                "client-123",
		ClientSecret:            "s3cr3t-client-secret-value",
		ClientIDIssuedAt:        1_700_000_000,
		TokenEndpointAuthMethod: "client_secret_basic",
		RegistrationAccessToken: "ory_at_registration-access-token",
		RegistrationClientURI:   "https://id.example.com/oauth2/register/client-123",
		Metadata:                &registration.Metadata{ClientName: "app", RedirectURIs: []string{"https://app.example/callback"}},
		Retired:                 []registration.RetiredClient{{ClientID: "client-old", ExpiresAt: 1_800_000_000}},
	}
}

func TestCredentialStore(t *testing.T) {
	rp := startRedis(t)
	raw := rp.client(t)
	ctx := context.Background()
	for _, sealed := range []bool{false, true} {
		t.Run(fmt.Sprintf("sealed=%v", sealed), func(t *testing.T) {
			opt := Options{Prefix: fmt.Sprintf("c%v:", sealed)}
			if sealed {
				opt.Codec = mustCodec(t, 7)
			}
			s := rp.store(t, opt)
			cs := s.CredentialStore("default")
			key := opt.Prefix + "reg:default"

			if c, err := cs.Load(ctx); c != nil || err != nil {
				t.Fatalf("Load of nothing = %v, %v; want nil, nil", c, err)
			}
			want := sampleCredentials()
			if err := cs.Save(ctx, want); err != nil {
				t.Fatal(err)
			}
			got, err := rp.store(t, opt).CredentialStore("default").Load(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Load = %#v, want %#v", got, want)
			}
			v := raw.Get(ctx, key).Val()
			for _, secret := range []string{want.ClientSecret, want.RegistrationAccessToken} {
				if strings.Contains(v, secret) == sealed {
					t.Errorf("stored value holds the secret %q: %v, want %v", secret, !sealed, !sealed)
				}
			}
			if ttl := raw.TTL(ctx, key).Val(); ttl != -1 {
				t.Errorf("credentials have TTL %v, want none", ttl)
			}
			if c, err := s.CredentialStore("other").Load(ctx); c != nil || err != nil {
				t.Errorf("another name sees %v, %v", c, err)
			}
			if err := cs.Save(ctx, nil); err == nil {
				t.Error("Save(nil) succeeded")
			}

			corrupt := []struct {
				name, value string
			}{
				{name: "not JSON", value: "{{{"},
				{name: "no client_id", value: `{"client_secret":"x"}`},
			}
			for _, tc := range corrupt {
				t.Run(tc.name, func(t *testing.T) {
					val := tc.value
					if sealed {
						sv, err := opt.Codec.Seal("oidcrp-redis:"+key, []byte(tc.value))
						if err != nil {
							t.Fatal(err)
						}
						val = sv
					}
					raw.Set(ctx, key, val, 0)
					if c, err := cs.Load(ctx); c != nil || err == nil {
						t.Errorf("Load of corrupt data = %v, %v; want an error, not none", c, err)
					}
				})
			}
			if sealed {
				t.Run("plain JSON planted in a sealed store", func(t *testing.T) {
					b, _ := json.Marshal(want)
					raw.Set(ctx, key, b, 0)
					if c, err := cs.Load(ctx); c != nil || err == nil {
						t.Errorf("Load = %v, %v; want an error", c, err)
					}
				})
			}
		})
	}
}

func TestCredentialLock(t *testing.T) {
	rp := startRedis(t)
	ctx := context.Background()
	opt := Options{CredentialLockTTL: 150 * time.Millisecond}
	a := rp.store(t, opt).CredentialStore("default").(registration.Locker)
	b := rp.store(t, opt).CredentialStore("default").(registration.Locker)
	other := rp.store(t, opt).CredentialStore("other").(registration.Locker)

	tryLock := func(l registration.Locker, d time.Duration) (func(), error) {
		ctx, cancel := context.WithTimeout(ctx, d)
		defer cancel()
		return l.Lock(ctx)
	}

	unlock, err := a.Lock(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("held beyond its lease while the holder lives", func(t *testing.T) {
		// Three leases long: only renewal keeps it.
		if _, err := tryLock(b, 450*time.Millisecond); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("second Lock = %v, want DeadlineExceeded", err)
		}
	})
	t.Run("names are separate", func(t *testing.T) {
		u, err := tryLock(other, 3*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		u()
	})
	t.Run("released at unlock", func(t *testing.T) {
		unlock()
		unlock() // twice is fine
		// Generous: on a loaded machine the release takes a moment.
		u, err := tryLock(b, 3*time.Second)
		if err != nil {
			t.Fatalf("Lock after unlock: %v", err)
		}
		u()
	})
	t.Run("a dead holder's lock ends with its lease", func(t *testing.T) {
		deadClient := rp.client(t)
		s, err := New(Options{Client: deadClient, CredentialLockTTL: 150 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		deadUnlock, err := s.CredentialStore("default").(registration.Locker).Lock(ctx)
		if err != nil {
			t.Fatal(err)
		}
		// The holder's process "dies": its connection goes away, so its
		// renewals fail. (Its unlock only stops the renewal goroutine at
		// the end of the test; the release fails on the closed client.)
		_ = deadClient.Close()
		t.Cleanup(deadUnlock)
		start := time.Now()
		u, err := tryLock(b, 3*time.Second)
		if err != nil {
			t.Fatalf("Lock after the holder died: %v", err)
		}
		u()
		if d := time.Since(start); d > time.Second {
			t.Errorf("waited %v for a 150ms lease", d)
		}
	})
}

// fakeRegistrar is the smallest provider registration.Ensure works with:
// discovery, RFC 7591 register and RFC 7592 read. It counts
// registrations.
type fakeRegistrar struct {
	srv     *httptest.Server
	creates atomic.Int32

	mu      sync.Mutex // guards clients
	clients map[string]map[string]any
}

func newFakeRegistrar(t *testing.T) *fakeRegistrar {
	f := &fakeRegistrar{clients: map[string]map[string]any{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeRegistrar) serve(w http.ResponseWriter, r *http.Request) {
	u := f.srv.URL
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.URL.Path == "/.well-known/openid-configuration":
		_ = json.NewEncoder(w).Encode(map[string]any{
			"issuer": u, "authorization_endpoint": u + "/auth", "token_endpoint": u + "/token",
			"jwks_uri": u + "/jwks", "registration_endpoint": u + "/register",
			"response_types_supported": []string{"code"}, "subject_types_supported": []string{"public"},
			"id_token_signing_alg_values_supported": []string{"RS256"},
		})
	case r.Method == http.MethodPost && r.URL.Path == "/register":
		var md map[string]any
		if err := json.NewDecoder(r.Body).Decode(&md); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		time.Sleep(30 * time.Millisecond) // widen the window for duplicates
		n := f.creates.Add(1)
		id := fmt.Sprintf("client-%d", n)
		f.mu.Lock()
		f.clients[id] = md
		f.mu.Unlock()
		ans := map[string]any{}
		for k, v := range md {
			ans[k] = v
		}
		ans["client_id"] = id
		ans["client_secret"] = "secret-" + id
		ans["client_secret_expires_at"] = 0
		ans["registration_access_token"] = "rat-" + id
		ans["registration_client_uri"] = u + "/register/" + id
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(ans)
	case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/register/"):
		id := strings.TrimPrefix(r.URL.Path, "/register/")
		f.mu.Lock()
		md, ok := f.clients[id]
		f.mu.Unlock()
		if !ok || r.Header.Get("Authorization") != "Bearer rat-"+id {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = io.WriteString(w, `{"error":"invalid_token"}`)
			return
		}
		ans := map[string]any{"client_id": id, "client_secret_expires_at": 0}
		for k, v := range md {
			ans[k] = v
		}
		_ = json.NewEncoder(w).Encode(ans)
	default:
		http.NotFound(w, r)
	}
}

// TestEnsureAcrossReplicas boots several "replicas" at once, each with its
// own Store and connection pool: the shared lock makes them register one
// client and agree on it.
func TestEnsureAcrossReplicas(t *testing.T) {
	rp := startRedis(t)
	op := newFakeRegistrar(t)
	md := &registration.Metadata{
		ClientName:              "replicated app",
		RedirectURIs:            []string{"http://127.0.0.1:8080/callback"},
		GrantTypes:              []string{"authorization_code", "refresh_token"},
		ResponseTypes:           []string{"code"},
		Scope:                   "openid offline_access",
		TokenEndpointAuthMethod: "client_secret_basic",
	}
	const replicas = 6
	ids := make([]string, replicas)
	errs := make([]error, replicas)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range replicas {
		store := rp.store(t, Options{Codec: mustCodec(t, 3)}).CredentialStore("hydra")
		wg.Go(func() {
			<-start
			c, err := registration.Ensure(t.Context(), registration.Options{
				Metadata: md.Clone(),
				Issuer:   op.srv.URL,
				Store:    store,
				Logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
			})
			errs[i] = err
			if c != nil {
				ids[i] = c.ClientID
			}
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("replica %d: %v", i, err)
		}
		if ids[i] != ids[0] {
			t.Fatalf("replicas got clients %v, want one", ids)
		}
	}
	if n := op.creates.Load(); n != 1 {
		t.Errorf("%d replicas registered %d clients, want 1", replicas, n)
	}
}
