package logout_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/oidcrp/oidcrp/discovery"
	"github.com/oidcrp/oidcrp/logout"
	"github.com/oidcrp/oidcrp/rp/rptest"
)

// TestRandomKIDFlood: tokens naming made-up kids cannot make the
// application hammer the provider's JWKS endpoint; at most the discovery
// refetch burst goes out, and valid tokens keep working.
func TestRandomKIDFlood(t *testing.T) {
	const n = 1000
	e := newEnv(t)
	v := e.verifier(t, nil)
	tokens := make([]string, n)
	for i := range tokens {
		c := e.op.LogoutTokenClaims(clientID, fmt.Sprintf("sid-%d", i))
		tokens[i] = e.sign(t, c, typed(), rptest.WithAlg("ES256"), rptest.WithKID(fmt.Sprintf("random-%d", i)))
	}
	before := e.op.Count(rptest.EndpointJWKS)

	var wg sync.WaitGroup
	errs := make(chan error, n)
	work := make(chan string)
	for range 16 {
		wg.Go(func() {
			for tok := range work {
				_, err := v.Verify(t.Context(), tok)
				errs <- err
			}
		})
	}
	for _, tok := range tokens {
		work <- tok
	}
	close(work)
	wg.Wait()
	close(errs)
	for err := range errs {
		if !errors.Is(err, logout.ErrSignature) {
			t.Fatalf("token with a random kid: %v, want ErrSignature", err)
		}
	}
	// An unknown kid does trigger a refetch (a key rotation is picked up),
	// but only as many as the burst allows.
	if fetched := e.op.Count(rptest.EndpointJWKS) - before; fetched < 1 || fetched > discovery.DefaultJWKSRefetchBurst {
		t.Errorf("%d random-kid tokens caused %d JWKS fetches, want 1 to %d", n, fetched, discovery.DefaultJWKSRefetchBurst)
	}
	if _, err := v.Verify(t.Context(), e.sign(t, e.op.LogoutTokenClaims(clientID, "sid-ok"), typed())); err != nil {
		t.Errorf("valid token after the flood: %v", err)
	}
}
