package userinfo_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"testing"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"

	"github.com/oidcrp/oidcrp/discovery"
	"github.com/oidcrp/oidcrp/userinfo"
)

const fuzzIssuer = "https://op.example"

// fuzzKey signs userinfo answers; it is derived from a fixed seed so that
// answers signed by one fuzzing process verify in the others.
var fuzzKey = ed25519.NewKeyFromSeed(func() []byte { s := sha256.Sum256([]byte("oidcrp userinfo fuzz key")); return s[:] }())

// fuzzOP answers the JWKS with fuzzKey and the userinfo endpoint with the
// current canned answer.
type fuzzOP struct {
	jwks []byte
	mu   sync.Mutex // guards ct and body
	ct   string
	body []byte
}

func (o *fuzzOP) RoundTrip(r *http.Request) (*http.Response, error) {
	resp := &http.Response{StatusCode: http.StatusOK, Header: http.Header{}, Request: r}
	switch r.URL.Path {
	case "/jwks":
		resp.Header.Set("Content-Type", "application/json")
		resp.Body = io.NopCloser(bytes.NewReader(o.jwks))
	default:
		o.mu.Lock()
		resp.Header.Set("Content-Type", o.ct)
		resp.Body = io.NopCloser(bytes.NewReader(o.body))
		o.mu.Unlock()
	}
	return resp, nil
}

func fuzzSignUserinfo(t testing.TB, payload []byte) []byte {
	h := jws.NewHeaders()
	h.Set(jws.KeyIDKey, "ed")
	tok, err := jws.Sign(payload, jws.WithKey(jwa.EdDSA, fuzzKey, jws.WithProtectedHeaders(h)))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// FuzzFetchResponse: whatever the userinfo endpoint answers — plain JSON
// or a JWT signed by the provider's key — Fetch returns claims only about
// the expected subject and, for a signed answer, only when its iss and aud
// (when present) name the provider and this client (OpenID Connect Core
// §5.3.2).
func FuzzFetchResponse(f *testing.F) {
	pub, _ := jwk.FromRaw(fuzzKey.Public())
	pub.Set(jwk.KeyIDKey, "ed")
	pub.Set(jwk.AlgorithmKey, jwa.EdDSA)
	set := jwk.NewSet()
	set.AddKey(pub)
	jwksBody, _ := json.Marshal(set)
	op := &fuzzOP{jwks: jwksBody}
	client := &http.Client{Transport: op}
	dp, err := discovery.New(discovery.Config{
		Issuer: fuzzIssuer,
		Metadata: &discovery.Metadata{
			Issuer: fuzzIssuer, AuthorizationEndpoint: fuzzIssuer + "/auth", TokenEndpoint: fuzzIssuer + "/token",
			UserinfoEndpoint: fuzzIssuer + "/userinfo", JWKSURI: fuzzIssuer + "/jwks", ResponseTypesSupported: []string{"code"},
			SubjectTypesSupported: []string{"public"}, IDTokenSigningAlgValuesSupported: []string{"EdDSA"},
		},
		HTTPClient: client,
		Logger:     slog.New(slog.DiscardHandler),
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { dp.Close() })
	uic, err := userinfo.New(userinfo.Config{Provider: dp, ClientID: testClientID, HTTPClient: client})
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []struct {
		ct   string
		body string
		sign bool
	}{
		{"application/json", `{"sub":"alice","email":"alice@example.com","email_verified":"true","updated_at":1.7e9}`, false},
		{"application/json", `{"sub":"mallory"}`, false},
		{"", `{"sub":"alice"}`, false},
		{"text/html", `<html>`, false},
		{"application/jwt", `{"sub":"alice","iss":"https://op.example","aud":["app"]}`, true},
		{"application/jwt", `{"sub":"alice","iss":"https://attacker.example","aud":"app"}`, true},
		{"application/jwt", `{"sub":"alice","aud":["other"]}`, true},
		{"application/jwt", `{"sub":"alice","exp":1}`, true},
		{"application/jwt", `eyJhbGciOiJub25lIn0.eyJzdWIiOiJhbGljZSJ9.`, false},
	} {
		f.Add(s.ct, []byte(s.body), s.sign)
	}
	f.Fuzz(func(t *testing.T, contentType string, body []byte, sign bool) {
		payload := body
		if sign {
			if len(body) == 0 {
				return
			}
			body = fuzzSignUserinfo(t, body)
		}
		op.mu.Lock()
		op.ct, op.body = contentType, body
		op.mu.Unlock()
		info, err := uic.Fetch(context.Background(), testToken, "alice")
		if err != nil {
			if info != nil {
				t.Fatal("claims returned with an error")
			}
			return
		}
		if info.Subject != "alice" {
			t.Fatalf("accepted %q for subject %q", body, info.Subject)
		}
		if !info.Signed {
			return
		}
		if !sign {
			payload, err = jws.Verify(bytes.TrimSpace(body), jws.WithKey(jwa.EdDSA, fuzzKey.Public()))
			if err != nil {
				t.Fatalf("accepted %q as signed, but the provider's key does not verify it: %v", body, err)
			}
		}
		var reg struct {
			Iss *string         `json:"iss"`
			Aud json.RawMessage `json:"aud"`
		}
		if json.Unmarshal(payload, &reg) != nil {
			t.Fatalf("accepted signed %q", payload)
		}
		if reg.Iss != nil && *reg.Iss != fuzzIssuer {
			t.Fatalf("accepted signed answer from iss %q", *reg.Iss)
		}
		if len(reg.Aud) > 0 && string(reg.Aud) != "null" {
			var one string
			var many []string
			if json.Unmarshal(reg.Aud, &one) == nil {
				many = []string{one}
			} else if json.Unmarshal(reg.Aud, &many) != nil || !slices.Contains(many, testClientID) {
				t.Fatalf("accepted signed answer for aud %s", reg.Aud)
			}
			if !slices.Contains(many, testClientID) {
				t.Fatalf("accepted signed answer for aud %s", reg.Aud)
			}
		}
	})
}
