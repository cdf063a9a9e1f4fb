package rptest_test

import (
	"sync"
	"testing"

	"github.com/oidcrp/oidcrp/rp/rptest"
)

// TestConcurrentUse runs logins, refreshes, discovery and key changes at
// once; with -race it proves the provider is safe for concurrent use, and
// the counters must add up exactly.
func TestConcurrentUse(t *testing.T) {
	const workers, rounds = 8, 5
	p := rptest.NewProvider(t, rptest.WithClient(testClient()))
	var wg sync.WaitGroup
	errs := make(chan error, workers*rounds)
	for range workers {
		wg.Go(func() {
			f := newFlow(t, p, nil)
			for range rounds {
				code := f.code(t)
				tok, err := f.exchange(code)
				if err != nil {
					errs <- err
					continue
				}
				if _, err := f.refresh(tok.RefreshToken); err != nil {
					errs <- err
				}
				p.Count(rptest.EndpointToken)
				p.LastTokenRequest()
				p.LastAuthorizeRequest()
				p.TokenActive(tok.AccessToken)
			}
		})
	}
	wg.Go(func() {
		for range rounds {
			p.SetMisbehaviour(rptest.Misbehaviour{GarbageJWKSKey: true})
			p.AddKey("ES256")
			p.SetMisbehaviour(rptest.Misbehaviour{})
			p.SignIDToken(p.IDTokenClaims("nonce-1234"))
		}
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for name, want := range map[string]int{
		rptest.EndpointDiscovery: workers,
		rptest.EndpointAuthorize: workers * rounds,
		rptest.EndpointToken:     2 * workers * rounds,
		rptest.EndpointRefresh:   workers * rounds,
	} {
		if got := p.Count(name); got != want {
			t.Errorf("Count(%s) = %d, want %d", name, got, want)
		}
	}
}
