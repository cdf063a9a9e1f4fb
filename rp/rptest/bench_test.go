package rptest_test

import (
	"testing"

	"github.com/oidcrp/oidcrp/rp/rptest"
)

// BenchmarkNewProvider measures starting a provider (RSA and EC key
// generation dominate).
func BenchmarkNewProvider(b *testing.B) {
	for b.Loop() {
		p, err := rptest.New()
		if err != nil {
			b.Fatal(err)
		}
		p.Close()
	}
}

// BenchmarkLogin measures one authorization and code exchange, client
// side included (x/oauth2 over loopback HTTP).
func BenchmarkLogin(b *testing.B) {
	p, err := rptest.New(rptest.WithClient(testClient()))
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	f := newFlow(b, p, nil)
	for b.Loop() {
		cb := p.Authorize(b, f.authURL())
		if _, err := f.exchange(cb.Query().Get("code")); err != nil {
			b.Fatal(err)
		}
	}
}
