package app_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"sync"
	"testing"

	"github.com/oidcrp/oidcrp/examples/webapp/app"
	"github.com/oidcrp/oidcrp/internal/hydra"
	"github.com/oidcrp/oidcrp/internal/redistest"
)

// TestHydraReplicasSelfRegisterOnce: replicas booting at once with
// OIDC_REGISTER=1 over one Redis register one client at Ory Hydra, not one
// each, and share its credentials.
func TestHydraReplicasSelfRegisterOnce(t *testing.T) {
	hs := hydra.StartWithLoginApp(t, &alice, hydra.Options{})
	redis := redistest.Start(t)
	// The replicas sit behind one public address: their redirect URL is
	// the same.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	vars := map[string]string{
		"LISTEN_ADDR":          ln.Addr().String(),
		"OIDC_ISSUER":          hs.Issuer,
		"OIDC_REGISTER":        "1",
		"SESSION_STORE":        "redis",
		"REDIS_URL":            redis.URL(),
		"SESSION_KEYS":         sessionKey,
		"OIDC_HOLDER_KEY_FILE": t.TempDir() + "/holder.pem",
	}
	const replicas = 4
	ids := make([]string, replicas)
	var wg sync.WaitGroup
	for i := range replicas {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Each replica has its own disk: only Redis is shared.
			own := t.TempDir() + "/client.json"
			cfg, err := app.LoadConfig(func(k string) string {
				if k == "OIDC_CREDENTIALS_FILE" {
					return own
				}
				return vars[k]
			})
			if err != nil {
				t.Error(err)
				return
			}
			a, _, err := app.New(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
			if err != nil {
				t.Errorf("replica %d: %v", i, err)
				return
			}
			defer a.Close()
			ids[i] = a.RP().ClientID()
		}()
	}
	wg.Wait()
	for i := 1; i < replicas; i++ {
		if ids[i] == "" || ids[i] != ids[0] {
			t.Fatalf("replicas registered different clients: %v", ids)
		}
	}
}
