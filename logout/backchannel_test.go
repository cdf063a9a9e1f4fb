package logout_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/oidcrp/oidcrp/discovery"
	"github.com/oidcrp/oidcrp/logout"
	"github.com/oidcrp/oidcrp/rp/rptest"
)

// attackerKey returns an EC key pair the provider does not know.
func attackerKey(t *testing.T, kid string) (priv, pub jwk.Key) {
	t.Helper()
	raw, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if priv, err = jwk.FromRaw(raw); err != nil {
		t.Fatal(err)
	}
	if kid != "" {
		priv.Set(jwk.KeyIDKey, kid)
	}
	if pub, err = priv.PublicKey(); err != nil {
		t.Fatal(err)
	}
	return priv, pub
}

// rsaPublicKeyAsSecret returns the provider's RSA public key as PEM, the
// bytes an algorithm-confusion attacker uses as an HMAC secret, together
// with the kid of that key.
func rsaPublicKeyAsSecret(t *testing.T, e *env) (jwk.Key, string) {
	t.Helper()
	var kid string
	for _, k := range e.op.KeyIDs() {
		if priv, ok := e.op.PrivateKey(k); ok && priv.KeyType() == "RSA" {
			kid = k
		}
	}
	priv, _ := e.op.PrivateKey(kid)
	pub, err := priv.PublicKey()
	if err != nil {
		t.Fatal(err)
	}
	var raw any
	if err := pub.Raw(&raw); err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(raw)
	if err != nil {
		t.Fatal(err)
	}
	secret, err := jwk.FromRaw(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	if err != nil {
		t.Fatal(err)
	}
	return secret, kid
}

func typed() rptest.SignOption { return rptest.WithHeader("typ", "logout+jwt") }

// TestVerify checks every rule of Back-Channel Logout 1.0 §2.6 from the
// attacker's side: one defect per token.
func TestVerify(t *testing.T) {
	e := newEnv(t)
	var jkuHits atomic.Int64
	jku := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		jkuHits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"keys":[]}`))
	}))
	defer jku.Close()

	tests := []struct {
		name string
		// edit changes the valid claims of LogoutTokenClaims(clientID, "sid-1").
		edit func(c map[string]any, now time.Time)
		// opts are the signing options; nil means typ logout+jwt.
		opts func(t *testing.T) []rptest.SignOption
		// token, when set, replaces the signed token.
		token func(t *testing.T, valid string) string
		cfg   func(*logout.VerifierConfig)
		want  error // nil: accepted
	}{
		{name: "valid"},
		{name: "valid, ES256", opts: func(*testing.T) []rptest.SignOption {
			return []rptest.SignOption{typed(), rptest.WithAlg("ES256")}
		}},
		{name: "valid, typ JWT", opts: func(*testing.T) []rptest.SignOption { return nil }},
		{name: "valid, no typ", opts: func(*testing.T) []rptest.SignOption {
			return []rptest.SignOption{rptest.WithHeader("typ", nil)}
		}},
		{name: "valid, typ application/logout+jwt", opts: func(*testing.T) []rptest.SignOption {
			return []rptest.SignOption{rptest.WithHeader("typ", "application/Logout+JWT")}
		}},
		{name: "valid, aud as a string", edit: func(c map[string]any, _ time.Time) { c["aud"] = clientID }},
		{name: "valid, only sid", edit: func(c map[string]any, _ time.Time) { delete(c, "sub") }},
		{name: "valid, only sub", edit: func(c map[string]any, _ time.Time) { delete(c, "sid") }},
		{name: "valid, iat within skew in the future", edit: func(c map[string]any, now time.Time) {
			c["iat"] = now.Add(30 * time.Second).Unix()
		}},
		{name: "valid, exp passed within skew", edit: func(c map[string]any, now time.Time) {
			c["iat"], c["exp"] = now.Add(-time.Minute).Unix(), now.Add(-30*time.Second).Unix()
		}},
		{name: "valid, no exp and iat within MaxAge plus skew", edit: func(c map[string]any, now time.Time) {
			delete(c, "exp")
			c["iat"] = now.Add(-150 * time.Second).Unix()
		}},
		{name: "valid, fractional times", edit: func(c map[string]any, now time.Time) {
			c["iat"] = float64(now.Unix()) + 0.5
			c["exp"] = float64(now.Add(time.Minute).Unix()) + 0.25
		}},
		{name: "valid, extra trusted audience", edit: func(c map[string]any, _ time.Time) {
			c["aud"] = []string{clientID, "api"}
		}, cfg: func(c *logout.VerifierConfig) { c.TrustedAudiences = []string{"api"} }},
		{name: "valid, unknown claims and event members ignored", edit: func(c map[string]any, _ time.Time) {
			c["x"] = map[string]any{"y": 1}
			c["events"] = map[string]any{logout.BackchannelLogoutEvent: map[string]any{"a": 1}, "urn:other": map[string]any{}}
		}},

		// Issuer.
		{name: "wrong iss", edit: func(c map[string]any, _ time.Time) { c["iss"] = rptest.WrongValue }, want: logout.ErrIssuer},
		{name: "iss with trailing slash", edit: func(c map[string]any, _ time.Time) { c["iss"] = e.op.Issuer() + "/" }, want: logout.ErrIssuer},
		{name: "missing iss", edit: func(c map[string]any, _ time.Time) { delete(c, "iss") }, want: logout.ErrIssuer},
		{name: "iss not a string", edit: func(c map[string]any, _ time.Time) { c["iss"] = 42 }, want: logout.ErrMalformed},

		// Audience.
		{name: "token for another client", edit: func(c map[string]any, _ time.Time) { c["aud"] = []string{"other-app"} }, want: logout.ErrAudience},
		{name: "missing aud", edit: func(c map[string]any, _ time.Time) { delete(c, "aud") }, want: logout.ErrAudience},
		{name: "empty aud", edit: func(c map[string]any, _ time.Time) { c["aud"] = []string{} }, want: logout.ErrAudience},
		{name: "extra untrusted audience", edit: func(c map[string]any, _ time.Time) {
			c["aud"] = []string{clientID, rptest.WrongValue}
		}, want: logout.ErrAudience},
		{name: "aud not strings", edit: func(c map[string]any, _ time.Time) { c["aud"] = []any{clientID, 1} }, want: logout.ErrMalformed},

		// Signature and algorithm.
		{name: "bad signature", token: func(t *testing.T, valid string) string {
			i := strings.LastIndexByte(valid, '.')
			sig, _ := base64.RawURLEncoding.DecodeString(valid[i+1:])
			sig[10] ^= 0xff
			return valid[:i+1] + base64.RawURLEncoding.EncodeToString(sig)
		}, want: logout.ErrSignature},
		{name: "payload swapped", token: func(t *testing.T, valid string) string {
			parts := strings.Split(valid, ".")
			other, _ := json.Marshal(map[string]any{"iss": e.op.Issuer(), "aud": clientID, "sub": "bob"})
			return parts[0] + "." + base64.RawURLEncoding.EncodeToString(other) + "." + parts[2]
		}, want: logout.ErrSignature},
		{name: "alg none", opts: func(*testing.T) []rptest.SignOption {
			return []rptest.SignOption{typed(), rptest.WithAlg("none")}
		}, want: logout.ErrSignature},
		{name: "HS256 with the RSA public key as secret", opts: func(t *testing.T) []rptest.SignOption {
			secret, kid := rsaPublicKeyAsSecret(t, e)
			return []rptest.SignOption{typed(), rptest.WithKey(secret), rptest.WithAlg("HS256"), rptest.WithKID(kid)}
		}, want: logout.ErrSignature},
		{name: "RS384 not in the allow-list", opts: func(*testing.T) []rptest.SignOption {
			return []rptest.SignOption{typed(), rptest.WithAlg("RS384")}
		}, want: logout.ErrSignature},
		{name: "ES256 outside a configured allow-list", opts: func(*testing.T) []rptest.SignOption {
			return []rptest.SignOption{typed(), rptest.WithAlg("ES256")}
		}, cfg: func(c *logout.VerifierConfig) { c.Algorithms = []string{"RS256"} }, want: logout.ErrSignature},
		{name: "key from embedded jwk header", opts: func(t *testing.T) []rptest.SignOption {
			priv, pub := attackerKey(t, "attacker")
			return []rptest.SignOption{typed(), rptest.WithKey(priv), rptest.WithHeader("jwk", pub)}
		}, want: logout.ErrSignature},
		{name: "key from embedded jwk header with the provider's kid", opts: func(t *testing.T) []rptest.SignOption {
			priv, pub := attackerKey(t, "")
			var kid string
			for _, k := range e.op.KeyIDs() {
				if p, _ := e.op.PrivateKey(k); p.KeyType() == "EC" {
					kid = k
				}
			}
			return []rptest.SignOption{typed(), rptest.WithKey(priv), rptest.WithKID(kid), rptest.WithHeader("jwk", pub)}
		}, want: logout.ErrSignature},
		{name: "key from embedded jwk header without kid", opts: func(t *testing.T) []rptest.SignOption {
			priv, pub := attackerKey(t, "")
			return []rptest.SignOption{typed(), rptest.WithKey(priv), rptest.WithKID(""), rptest.WithHeader("jwk", pub)}
		}, want: logout.ErrSignature},
		{name: "key from jku and x5u headers", opts: func(t *testing.T) []rptest.SignOption {
			priv, _ := attackerKey(t, "attacker-jku")
			return []rptest.SignOption{typed(), rptest.WithKey(priv), rptest.WithHeader("jku", jku.URL), rptest.WithHeader("x5u", jku.URL)}
		}, want: logout.ErrSignature},
		{name: "unknown kid", opts: func(*testing.T) []rptest.SignOption {
			return []rptest.SignOption{typed(), rptest.WithKID("no-such-key")}
		}, want: logout.ErrSignature},
		{name: "encrypted (five parts)", token: func(*testing.T, string) string { return "a.b.c.d.e" }, want: logout.ErrMalformed},
		{name: "not a JWT", token: func(*testing.T, string) string { return "hello" }, want: logout.ErrMalformed},
		{name: "oversized", token: func(_ *testing.T, valid string) string {
			return valid + strings.Repeat("A", logout.MaxTokenSize)
		}, want: logout.ErrMalformed},
		{name: "payload not an object", token: func(t *testing.T, _ string) string {
			tok, err := e.op.Sign(nil, typed())
			if err != nil {
				t.Fatal(err)
			}
			return tok
		}, want: logout.ErrMalformed},

		// Type.
		{name: "typ at+jwt", opts: func(*testing.T) []rptest.SignOption {
			return []rptest.SignOption{rptest.WithHeader("typ", "at+jwt")}
		}, want: logout.ErrType},
		{name: "typ secevent+jwt", opts: func(*testing.T) []rptest.SignOption {
			return []rptest.SignOption{rptest.WithHeader("typ", "secevent+jwt")}
		}, want: logout.ErrType},
		{name: "typ JWT when explicit typing is required", opts: func(*testing.T) []rptest.SignOption { return nil },
			cfg: func(c *logout.VerifierConfig) { c.RequireExplicitType = true }, want: logout.ErrType},

		// Times.
		{name: "missing iat", edit: func(c map[string]any, _ time.Time) { delete(c, "iat") }, want: logout.ErrIssuedAt},
		{name: "iat not a number", edit: func(c map[string]any, now time.Time) { c["iat"] = "1700000000" }, want: logout.ErrMalformed},
		{name: "negative iat", edit: func(c map[string]any, now time.Time) { c["iat"] = -1 }, want: logout.ErrMalformed},
		{name: "future iat", edit: func(c map[string]any, now time.Time) {
			c["iat"], c["exp"] = now.Add(2*time.Minute).Unix(), now.Add(4*time.Minute).Unix()
		}, want: logout.ErrIssuedAt},
		{name: "expired exp", edit: func(c map[string]any, now time.Time) {
			c["iat"], c["exp"] = now.Add(-5*time.Minute).Unix(), now.Add(-2*time.Minute).Unix()
		}, want: logout.ErrExpired},
		{name: "old iat without exp", edit: func(c map[string]any, now time.Time) {
			delete(c, "exp")
			c["iat"] = now.Add(-4 * time.Minute).Unix()
		}, want: logout.ErrExpired},
		{name: "old iat without exp, longer MaxAge", edit: func(c map[string]any, now time.Time) {
			delete(c, "exp")
			c["iat"] = now.Add(-4 * time.Minute).Unix()
		}, cfg: func(c *logout.VerifierConfig) { c.MaxAge = 5 * time.Minute }},
		{name: "no exp with RequireExp", edit: func(c map[string]any, _ time.Time) { delete(c, "exp") },
			cfg: func(c *logout.VerifierConfig) { c.RequireExp = true }, want: logout.ErrNoExpiry},

		// jti, events, sub/sid, nonce.
		{name: "missing jti", edit: func(c map[string]any, _ time.Time) { delete(c, "jti") }, want: logout.ErrNoJTI},
		{name: "empty jti", edit: func(c map[string]any, _ time.Time) { c["jti"] = "" }, want: logout.ErrNoJTI},
		{name: "missing events", edit: func(c map[string]any, _ time.Time) { delete(c, "events") }, want: logout.ErrEvents},
		{name: "events not an object", edit: func(c map[string]any, _ time.Time) {
			c["events"] = []string{logout.BackchannelLogoutEvent}
		}, want: logout.ErrEvents},
		{name: "events member not an object", edit: func(c map[string]any, _ time.Time) {
			c["events"] = map[string]any{logout.BackchannelLogoutEvent: "yes"}
		}, want: logout.ErrEvents},
		{name: "events member null", edit: func(c map[string]any, _ time.Time) {
			c["events"] = map[string]any{logout.BackchannelLogoutEvent: nil}
		}, want: logout.ErrEvents},
		{name: "wrong event URI", edit: func(c map[string]any, _ time.Time) {
			c["events"] = map[string]any{"http://schemas.openid.net/event/frontchannel-logout": map[string]any{}}
		}, want: logout.ErrEvents},
		{name: "no sub and no sid", edit: func(c map[string]any, _ time.Time) { delete(c, "sub"); delete(c, "sid") }, want: logout.ErrNoSubject},
		{name: "empty sub and no sid", edit: func(c map[string]any, _ time.Time) { c["sub"] = ""; delete(c, "sid") }, want: logout.ErrNoSubject},
		{name: "nonce present", edit: func(c map[string]any, _ time.Time) { c["nonce"] = "n-0123456789" }, want: logout.ErrNonce},
		{name: "null nonce present", edit: func(c map[string]any, _ time.Time) { c["nonce"] = nil }, want: logout.ErrNonce},
		{name: "an ID token", token: func(t *testing.T, _ string) string {
			return e.sign(t, e.op.IDTokenClaims("nonce-12345678"))
		}, want: logout.ErrInvalidToken},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			now := e.clk.Now()
			claims := e.op.LogoutTokenClaims(clientID, "sid-1")
			if tc.edit != nil {
				tc.edit(claims, now)
			}
			opts := []rptest.SignOption{typed()}
			if tc.opts != nil {
				opts = tc.opts(t)
			}
			token := e.sign(t, claims, opts...)
			if tc.token != nil {
				token = tc.token(t, token)
			}
			v := e.verifier(t, tc.cfg)
			got, err := v.Verify(t.Context(), token)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				if got.Issuer != e.op.Issuer() || got.JTI != claims["jti"] || !slices.Contains(got.Audience, clientID) ||
					got.SID != stringClaim(claims, "sid") || got.Subject != stringClaim(claims, "sub") || got.IssuedAt.IsZero() ||
					got.Raw["jti"] != claims["jti"] {
					t.Errorf("claims = %+v, token claims %v", got, claims)
				}
				return
			}
			if !errors.Is(err, tc.want) || !errors.Is(err, logout.ErrInvalidToken) {
				t.Fatalf("Verify error = %v, want %v and ErrInvalidToken", err, tc.want)
			}
			if got != nil {
				t.Errorf("claims returned with an error: %+v", got)
			}
			if !strings.HasPrefix(err.Error(), "logout: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
		})
	}
	if n := jkuHits.Load(); n != 0 {
		t.Errorf("the jku/x5u URL was fetched %d times", n)
	}
}

func stringClaim(c map[string]any, name string) string {
	s, _ := c[name].(string)
	return s
}

func TestVerifyTimes(t *testing.T) {
	e := newEnv(t)
	v := e.verifier(t, nil)
	c := e.op.LogoutTokenClaims(clientID, "sid-1")
	c["iat"] = float64(e.clk.Now().Unix()) + 0.5
	got, err := v.Verify(t.Context(), e.sign(t, c, typed()))
	if err != nil {
		t.Fatal(err)
	}
	wantIat := time.Unix(e.clk.Now().Unix(), 5e8)
	wantExp := time.Unix(c["exp"].(int64), 0)
	if !got.IssuedAt.Equal(wantIat) || !got.Expiry.Equal(wantExp) {
		t.Errorf("IssuedAt %v Expiry %v, want %v %v", got.IssuedAt, got.Expiry, wantIat, wantExp)
	}
	delete(c, "exp")
	c["jti"] = "no-exp"
	got, err = v.Verify(t.Context(), e.sign(t, c))
	if err != nil || !got.Expiry.IsZero() {
		t.Errorf("without exp: %+v, %v; want a zero Expiry", got, err)
	}
}

func TestVerifyReplay(t *testing.T) {
	e := newEnv(t)
	rc := &recordingCache{}
	v := e.verifier(t, func(c *logout.VerifierConfig) { c.ReplayCache = rc })
	now := e.clk.Now()

	withExp := e.op.LogoutTokenClaims(clientID, "sid-1") // exp = now + 2m
	tok := e.sign(t, withExp, typed())
	if _, err := v.Verify(t.Context(), tok); err != nil {
		t.Fatal(err)
	}
	_, err := v.Verify(t.Context(), tok)
	if !errors.Is(err, logout.ErrReplay) || !errors.Is(err, logout.ErrInvalidToken) {
		t.Fatalf("replayed token: %v, want ErrReplay", err)
	}

	// The same jti in a token signed again (another signature) is still a replay.
	resigned := e.sign(t, withExp, typed(), rptest.WithAlg("ES256"))
	if _, err := v.Verify(t.Context(), resigned); !errors.Is(err, logout.ErrReplay) {
		t.Fatalf("re-signed token with a seen jti: %v, want ErrReplay", err)
	}

	// Hydra-like: no exp; the entry must outlive iat + MaxAge + skew.
	noExp := e.op.LogoutTokenClaims(clientID, "sid-2")
	delete(noExp, "exp")
	noExp["iat"] = now.Add(-30 * time.Second).Unix()
	if _, err := v.Verify(t.Context(), e.sign(t, noExp)); err != nil {
		t.Fatal(err)
	}

	// Rejected tokens never reach the cache.
	bad := e.op.LogoutTokenClaims(clientID, "sid-3")
	bad["iss"] = rptest.WrongValue
	if _, err := v.Verify(t.Context(), e.sign(t, bad, typed())); !errors.Is(err, logout.ErrIssuer) {
		t.Fatal(err)
	}

	ttls := rc.calls()
	want := []time.Duration{
		2*time.Minute + logout.DefaultClockSkew, // exp + skew
		2*time.Minute + logout.DefaultClockSkew,
		2*time.Minute + logout.DefaultClockSkew,
		logout.DefaultMaxAge + logout.DefaultClockSkew - 30*time.Second, // iat + MaxAge + skew
	}
	if !slices.Equal(ttls, want) {
		t.Errorf("replay TTLs = %v, want %v", ttls, want)
	}
}

func TestVerifyReplayDefaultCache(t *testing.T) {
	e := newEnv(t)
	v := e.verifier(t, nil)
	tok := e.sign(t, e.op.LogoutTokenClaims(clientID, "sid-1"), typed())
	if _, err := v.Verify(t.Context(), tok); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(t.Context(), tok); !errors.Is(err, logout.ErrReplay) {
		t.Fatalf("replay with the default cache: %v", err)
	}
	// Another verifier (another replica without a shared cache) does not
	// know it: the cache is per Verifier.
	if _, err := e.verifier(t, nil).Verify(t.Context(), tok); err != nil {
		t.Fatalf("fresh verifier: %v", err)
	}
}

func TestVerifySystemErrors(t *testing.T) {
	e := newEnv(t)
	cacheErr := errors.New("redis down")
	v := e.verifier(t, func(c *logout.VerifierConfig) { c.ReplayCache = &recordingCache{err: cacheErr} })
	_, err := v.Verify(t.Context(), e.sign(t, e.op.LogoutTokenClaims(clientID, "sid-1"), typed()))
	if !errors.Is(err, cacheErr) || errors.Is(err, logout.ErrInvalidToken) {
		t.Errorf("replay cache failure: %v, want the cause and not ErrInvalidToken", err)
	}

	// A provider whose metadata cannot be loaded: not the token's fault.
	op := rptest.NewProvider(t)
	op.SetMisbehaviour(rptest.Misbehaviour{DiscoveryStatus: http.StatusServiceUnavailable})
	dp, err := discovery.New(discovery.Config{Issuer: op.Issuer(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer dp.Close()
	v, err = logout.NewVerifier(logout.VerifierConfig{Provider: dp, ClientID: clientID})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	_, err = v.Verify(ctx, op.SignIDToken(op.LogoutTokenClaims(clientID, "sid-1"), typed()))
	if !errors.Is(err, discovery.ErrNotReady) || errors.Is(err, logout.ErrInvalidToken) {
		t.Errorf("provider unavailable: %v, want ErrNotReady and not ErrInvalidToken", err)
	}
}

func TestNewVerifier(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name string
		cfg  logout.VerifierConfig
	}{
		{"no provider", logout.VerifierConfig{ClientID: clientID}},
		{"no client ID", logout.VerifierConfig{Provider: e.dp}},
		{"negative MaxAge", logout.VerifierConfig{Provider: e.dp, ClientID: clientID, MaxAge: -time.Second}},
		{"negative ClockSkew", logout.VerifierConfig{Provider: e.dp, ClientID: clientID, ClockSkew: -time.Second}},
		{"alg none", logout.VerifierConfig{Provider: e.dp, ClientID: clientID, Algorithms: []string{"RS256", "none"}}},
		{"alg HS256", logout.VerifierConfig{Provider: e.dp, ClientID: clientID, Algorithms: []string{"HS256"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if v, err := logout.NewVerifier(tc.cfg); err == nil || v != nil {
				t.Errorf("NewVerifier = %v, %v; want an error", v, err)
			}
		})
	}
}

// TestVerifyMetadataAlgorithms: the allow-list comes from the provider's
// id_token_signing_alg_values_supported, without none and HS*; with
// nothing usable left, RS256 only.
func TestVerifyMetadataAlgorithms(t *testing.T) {
	tests := []struct {
		name     string
		algs     []string
		tokenAlg string
		wantErr  bool
	}{
		{"listed", []string{"ES256"}, "ES256", false},
		{"not listed", []string{"ES256"}, "RS256", true},
		{"none and HS256 listed: RS256 default", []string{"none", "HS256"}, "RS256", false},
		{"none and HS256 listed: ES256 refused", []string{"none", "HS256"}, "ES256", true},
		{"none listed: none refused", []string{"none", "RS256"}, "none", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnvWithMetadata(t, func(m map[string]any) { m["id_token_signing_alg_values_supported"] = tc.algs })
			tok := e.sign(t, e.op.LogoutTokenClaims(clientID, "sid-1"), typed(), rptest.WithAlg(tc.tokenAlg))
			_, err := e.verifier(t, nil).Verify(t.Context(), tok)
			if tc.wantErr != (err != nil) || err != nil && !errors.Is(err, logout.ErrSignature) {
				t.Errorf("Verify: %v, want error %v (ErrSignature)", err, tc.wantErr)
			}
		})
	}
}
