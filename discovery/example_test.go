package discovery_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"

	"github.com/oidcrp/oidcrp/discovery"
)

func ExampleNew() {
	// A stand-in provider on a loopback address (http is allowed there).
	var issuer string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != discovery.WellKnownPath {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Cache-Control", "max-age=3600")
		json.NewEncoder(w).Encode(discovery.Metadata{
			Issuer:                           issuer,
			AuthorizationEndpoint:            issuer + "/oauth2/auth",
			TokenEndpoint:                    issuer + "/oauth2/token",
			JWKSURI:                          issuer + "/.well-known/jwks.json",
			ResponseTypesSupported:           []string{"code"},
			SubjectTypesSupported:            []string{"public"},
			IDTokenSigningAlgValuesSupported: []string{"RS256"},
		})
	}))
	defer srv.Close()
	issuer = srv.URL

	p, err := discovery.New(discovery.Config{
		Issuer: issuer,
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer p.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	md, err := p.Metadata(ctx) // waits for the first load only
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(md.TokenEndpoint == issuer+"/oauth2/token", p.Ready())
	// Output: true true
}

func ExampleProvider_BackchannelURL() {
	// Browsers reach the provider at https://id.example.com; this
	// application reaches it at https://hydra.internal:4444.
	issuer := "https://id.example.com"
	p, err := discovery.New(discovery.Config{
		Issuer:       issuer,
		DiscoveryURL: "https://hydra.internal:4444",
		Logger:       slog.New(slog.DiscardHandler),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer p.Close()
	fmt.Println(p.BackchannelURL(issuer + "/oauth2/token"))
	fmt.Println(p.BackchannelURL("https://cdn.example.com/keys"))
	// Output:
	// https://hydra.internal:4444/oauth2/token
	// https://cdn.example.com/keys
}

func ExampleNewStaticKeySet() {
	raw, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	key, _ := jwk.FromRaw(raw)
	key.Set(jwk.KeyIDKey, "k1")
	set := jwk.NewSet()
	set.AddKey(key) // private keys are reduced to their public part

	hdr := jws.NewHeaders()
	hdr.Set(jws.KeyIDKey, "k1")
	token, _ := jws.Sign([]byte(`{"sub":"alice"}`), jws.WithKey(jwa.ES256, raw, jws.WithProtectedHeaders(hdr)))

	ks := discovery.NewStaticKeySet(set)
	payload, err := ks.Verify(context.Background(), token, []string{"ES256"})
	fmt.Println(string(payload), err)

	_, err = ks.Verify(context.Background(), token, []string{"RS256"})
	fmt.Println(err)
	// Output:
	// {"sub":"alice"} <nil>
	// discovery: verify: signature algorithm not allowed: "ES256"
}
