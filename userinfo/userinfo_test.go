package userinfo_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/oidcrp/oidcrp/discovery"
	"github.com/oidcrp/oidcrp/internal/httpx"
	"github.com/oidcrp/oidcrp/rp/rptest"
	"github.com/oidcrp/oidcrp/userinfo"
)

const testToken = "ory_at_secret-access-token.0123456789"

// claims are the claims of a good response from issuer.
func goodClaims(issuer string) map[string]any {
	return map[string]any{
		"sub": "alice", "iss": issuer, "aud": []string{testClientID},
		"email": "alice@example.com", "email_verified": true, "name": "Alice Example",
		"iat": time.Now().Unix(),
	}
}

// signed answers application/jwt with goodClaims edited by edit, signed
// by the provider with opts.
func signed(edit func(m map[string]any), opts ...rptest.SignOption) responder {
	return func(op *rptest.Provider, w http.ResponseWriter, _ *http.Request) {
		m := goodClaims(op.Issuer())
		if edit != nil {
			edit(m)
		}
		tok, err := op.Sign(m, opts...)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/jwt")
		w.Write([]byte(tok))
	}
}

// tampered answers a signed response whose payload was swapped after
// signing.
func tampered() responder {
	return func(op *rptest.Provider, w http.ResponseWriter, r *http.Request) {
		tok, _ := op.Sign(goodClaims(op.Issuer()))
		parts := strings.Split(tok, ".")
		evil := goodClaims(op.Issuer())
		evil["email"] = "mallory@example.com"
		other, _ := op.Sign(evil)
		parts[1] = strings.Split(other, ".")[1]
		w.Header().Set("Content-Type", "application/jwt")
		w.Write([]byte(strings.Join(parts, ".")))
	}
}

func TestFetch(t *testing.T) {
	const secretMarker = "SECRET-STACK-TRACE-c0ffee"
	hdr := `{"alg":"RSA-OAEP","enc":"A256GCM"}`
	jwe := base64.RawURLEncoding.EncodeToString([]byte(hdr)) + ".a2V5.aXY.Y2lwaGVy.dGFn"
	tests := []struct {
		name    string
		respond responder
		meta    func(map[string]any)
		cfg     func(*userinfo.Config)
		wantErr error                   // errors.Is target, nil for success
		check   func(*testing.T, error) // more checks on the error
		want    func(*testing.T, *userinfo.Info)
	}{
		{
			name:    "plain JSON",
			respond: serve(200, "application/json; charset=utf-8", `{"sub":"alice","email":"alice@example.com","email_verified":"true","updated_at":1.7e9}`),
			want: func(t *testing.T, info *userinfo.Info) {
				if info.Email != "alice@example.com" || !info.EmailVerified || info.Signed || info.UpdatedAt.Unix() != 1.7e9 {
					t.Errorf("info = %+v", info)
				}
			},
		},
		{
			name:    "signed, aud array",
			respond: signed(nil),
			want: func(t *testing.T, info *userinfo.Info) {
				if !info.Signed || info.Email != "alice@example.com" || info.Name != "Alice Example" {
					t.Errorf("info = %+v", info)
				}
			},
		},
		{
			name:    "signed ES256, aud string, no iss",
			respond: signed(func(m map[string]any) { m["aud"] = testClientID; delete(m, "iss") }, rptest.WithAlg("ES256")),
			want: func(t *testing.T, info *userinfo.Info) {
				if !info.Signed {
					t.Error("not marked signed")
				}
			},
		},
		{
			name:    "signed as registered",
			respond: signed(nil),
			cfg:     func(c *userinfo.Config) { c.SignedResponseAlg = "RS256" },
			want:    func(t *testing.T, info *userinfo.Info) {},
		},
		{
			name:    "plain JSON without content type",
			respond: serve(200, "", `{"sub":"alice"}`),
			want:    func(t *testing.T, info *userinfo.Info) {},
		},
		{
			name:    "attacker: another subject",
			respond: serve(200, "application/json", `{"sub":"mallory","email":"alice@example.com"}`),
			wantErr: userinfo.ErrSubjectMismatch,
		},
		{
			name:    "attacker: signed, another subject",
			respond: signed(func(m map[string]any) { m["sub"] = "mallory" }),
			wantErr: userinfo.ErrSubjectMismatch,
		},
		{
			name:    "no sub",
			respond: serve(200, "application/json", `{"email":"alice@example.com"}`),
			wantErr: userinfo.ErrInvalidResponse,
		},
		{
			name:    "sub not a string",
			respond: serve(200, "application/json", `{"sub":42}`),
			wantErr: userinfo.ErrInvalidResponse,
		},
		{
			name:    "attacker: tampered signed response",
			respond: tampered(),
			wantErr: userinfo.ErrInvalidSignature,
			check: func(t *testing.T, err error) {
				if !errors.Is(err, discovery.ErrInvalidSignature) {
					t.Errorf("error %v does not wrap discovery.ErrInvalidSignature", err)
				}
			},
		},
		{
			name: "attacker: signed with a key of their own",
			respond: func(op *rptest.Provider, w http.ResponseWriter, r *http.Request) {
				signed(nil, rptest.WithKey(attackerKeyFor(op)))(op, w, r)
			},
			wantErr: userinfo.ErrInvalidSignature,
		},
		{
			name:    "attacker: alg none",
			respond: signed(nil, rptest.WithAlg("none")),
			wantErr: userinfo.ErrInvalidSignature,
		},
		{
			name:    "attacker: wrong aud",
			respond: signed(func(m map[string]any) { m["aud"] = []string{"someone-else"} }),
			wantErr: userinfo.ErrAudienceMismatch,
		},
		{
			name:    "attacker: wrong iss",
			respond: signed(func(m map[string]any) { m["iss"] = rptest.WrongValue }),
			wantErr: userinfo.ErrIssuerMismatch,
		},
		{
			name:    "aud of a wrong type",
			respond: signed(func(m map[string]any) { m["aud"] = 7 }),
			wantErr: userinfo.ErrInvalidResponse,
		},
		{
			name:    "expired signed response",
			respond: signed(func(m map[string]any) { m["exp"] = time.Now().Add(-time.Minute).Unix() }),
			wantErr: userinfo.ErrExpired,
		},
		{
			name:    "attacker: unsigned where signed is registered",
			respond: serve(200, "application/json", `{"sub":"alice"}`),
			cfg:     func(c *userinfo.Config) { c.SignedResponseAlg = "RS256" },
			wantErr: userinfo.ErrUnsignedResponse,
		},
		{
			name:    "attacker: other algorithm than registered",
			respond: signed(nil, rptest.WithAlg("ES256")),
			cfg:     func(c *userinfo.Config) { c.SignedResponseAlg = "RS256" },
			wantErr: userinfo.ErrInvalidSignature,
			check: func(t *testing.T, err error) {
				if !errors.Is(err, discovery.ErrAlgNotAllowed) {
					t.Errorf("error %v does not wrap discovery.ErrAlgNotAllowed", err)
				}
			},
		},
		{
			name:    "algorithm outside userinfo_signing_alg_values_supported",
			respond: signed(nil),
			meta: func(m map[string]any) {
				m["userinfo_signing_alg_values_supported"] = []string{"none", "ES256", "HS256"}
			},
			wantErr: discovery.ErrAlgNotAllowed,
		},
		{
			name:    "encrypted response",
			respond: serve(200, "application/jwt", jwe),
			wantErr: userinfo.ErrEncryptedResponse,
		},
		{
			name:    "JWT that is garbage",
			respond: serve(200, "application/jwt", "not.a.jwt"),
			wantErr: userinfo.ErrInvalidSignature,
		},
		{
			name:    "HTML page with 200",
			respond: serve(200, "text/html", "<html>"+secretMarker+"</html>"),
			wantErr: userinfo.ErrInvalidResponse,
		},
		{
			name:    "JSON that is not an object",
			respond: serve(200, "application/json", `["alice"]`),
			wantErr: userinfo.ErrInvalidResponse,
		},
		{
			name:    "JSON garbage",
			respond: serve(200, "application/json", `{"sub":"alice",`+secretMarker),
			wantErr: userinfo.ErrInvalidResponse,
		},
		{
			name:    "standard claim of a wrong type",
			respond: serve(200, "application/json", `{"sub":"alice","email_verified":1}`),
			wantErr: userinfo.ErrInvalidResponse,
		},
		{
			name: "401 with an RFC 6750 challenge",
			respond: serve(401, "", "", "WWW-Authenticate",
				`Bearer realm="example", error="invalid_token", error_description="The access token expired, \"really\""`),
			wantErr: userinfo.ErrTokenRejected,
			check: func(t *testing.T, err error) {
				var be *userinfo.BearerError
				if !errors.As(err, &be) {
					t.Fatalf("error %T is not a *BearerError", err)
				}
				want := userinfo.BearerError{Status: 401, Code: "invalid_token", Description: `The access token expired, "really"`, Realm: "example"}
				if *be != want {
					t.Errorf("BearerError = %+v, want %+v", *be, want)
				}
			},
		},
		{
			name:    "401 as Ory Hydra sends it",
			respond: serve(401, "application/json", `{"error":"request_unauthorized"}`, "WWW-Authenticate", `Bearer error="request_unauthorized",error_description="The request could not be authorized. Check that you provided valid credentials in the right format."`),
			wantErr: userinfo.ErrTokenRejected,
			check: func(t *testing.T, err error) {
				var be *userinfo.BearerError
				if !errors.As(err, &be) || be.Code != "request_unauthorized" || !strings.HasPrefix(be.Description, "The request could not") {
					t.Errorf("error = %#v", err)
				}
			},
		},
		{
			name: "403 insufficient scope, challenge among others",
			respond: serve(403, "", "", "WWW-Authenticate", `Basic realm="x"`,
				"WWW-Authenticate", `Bearer error="insufficient_scope", scope="openid profile"`),
			check: func(t *testing.T, err error) {
				var be *userinfo.BearerError
				if !errors.As(err, &be) || be.Status != 403 || be.Code != "insufficient_scope" || be.Scope != "openid profile" {
					t.Fatalf("error = %#v", err)
				}
				if errors.Is(err, userinfo.ErrTokenRejected) {
					t.Error("insufficient_scope must not read as a rejected token")
				}
			},
		},
		{
			name:    "401 without a challenge, JSON body",
			respond: serve(401, "application/json", `{"error":"invalid_token","error_description":"gone"}`),
			wantErr: userinfo.ErrTokenRejected,
			check: func(t *testing.T, err error) {
				var be *userinfo.BearerError
				if !errors.As(err, &be) || be.Code != "invalid_token" || be.Description != "gone" {
					t.Errorf("error = %#v", err)
				}
			},
		},
		{
			name:    "500 with an HTML body",
			respond: serve(500, "text/html", "<html><pre>"+secretMarker+"</pre></html>"),
			check: func(t *testing.T, err error) {
				var se *userinfo.ServerError
				if !errors.As(err, &se) || se.Status != 500 {
					t.Errorf("error = %#v, want *ServerError 500", err)
				}
			},
		},
		{
			name:    "404",
			respond: serve(404, "text/plain", secretMarker),
			check: func(t *testing.T, err error) {
				var se *userinfo.ServerError
				if !errors.As(err, &se) || se.Status != 404 {
					t.Errorf("error = %#v, want *ServerError 404", err)
				}
			},
		},
		{
			name:    "oversize body",
			respond: serve(200, "application/json", `{"sub":"alice","pad":"`+strings.Repeat("a", 1<<20)+`"}`),
			wantErr: httpx.ErrBodyTooLarge,
		},
		{
			name:    "oversize body with a smaller MaxBody",
			respond: serve(200, "application/json", `{"sub":"alice","pad":"`+strings.Repeat("a", 2048)+`"}`),
			cfg:     func(c *userinfo.Config) { c.MaxBody = 1024 },
			wantErr: httpx.ErrBodyTooLarge,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newScripted(t, tc.respond, tc.meta)
			uic := newClient(t, s.op.Issuer(), tc.cfg)
			info, err := uic.Fetch(ctxTimeout(t), testToken, "alice")
			if tc.want != nil {
				if err != nil {
					t.Fatalf("Fetch: %v", err)
				}
				tc.want(t, info)
			} else {
				if err == nil {
					t.Fatalf("Fetch succeeded with %+v, want an error", info)
				}
				if info != nil {
					t.Errorf("Fetch returned claims %+v along with the error", info)
				}
				if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
					t.Errorf("Fetch error = %v, want %v", err, tc.wantErr)
				}
				if tc.check != nil {
					tc.check(t, err)
				}
				if msg := err.Error(); strings.Contains(msg, testToken) || strings.Contains(msg, secretMarker) {
					t.Errorf("error message leaks the token or the body: %s", msg)
				}
			}
			reqs := s.requests()
			if len(reqs) != 1 {
				t.Fatalf("endpoint got %d requests, want 1", len(reqs))
			}
			r := reqs[0]
			if r.method != http.MethodGet || r.header.Get("Authorization") != "Bearer "+testToken {
				t.Errorf("request %s with Authorization %q", r.method, r.header.Get("Authorization"))
			}
			if strings.Contains(r.url, "access_token") || len(r.body) != 0 {
				t.Errorf("token sent outside the header: url %q body %q", r.url, r.body)
			}
			if acc := r.header.Get("Accept"); !strings.Contains(acc, "application/json") || !strings.Contains(acc, "application/jwt") {
				t.Errorf("Accept = %q", acc)
			}
		})
	}
}

// attackerKeyFor returns a fresh EC key that carries the kid of op's EC
// key, as an attacker hoping for a key confusion would.
func attackerKeyFor(op *rptest.Provider) jwk.Key {
	raw, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	k, _ := jwk.FromRaw(raw)
	k.Set(jwk.KeyIDKey, op.KeyIDs()[1])
	return k
}

func TestFetchAgainstRptest(t *testing.T) {
	tests := []struct {
		name  string
		m     rptest.Misbehaviour
		check func(*testing.T, *userinfo.Info, error)
	}{
		{"good", rptest.Misbehaviour{}, func(t *testing.T, info *userinfo.Info, err error) {
			if err != nil {
				t.Fatal(err)
			}
			if info.Subject != "alice" || info.Email != "alice@example.com" || !info.EmailVerified || info.Name != "Alice Example" {
				t.Errorf("info = %+v", info)
			}
			var extra struct {
				Groups []string `json:"groups"`
			}
			if err := info.Claims(&extra); err != nil || len(extra.Groups) != 2 {
				t.Errorf("Claims: %v %v", extra, err)
			}
			if m, err := info.Map(); err != nil || m["name"] != "Alice Example" {
				t.Errorf("Map: %v %v", m, err)
			}
		}},
		{"wrong sub", rptest.Misbehaviour{UserinfoWrongSub: true}, func(t *testing.T, info *userinfo.Info, err error) {
			if !errors.Is(err, userinfo.ErrSubjectMismatch) || info != nil {
				t.Errorf("Fetch = %v, %v; want ErrSubjectMismatch", info, err)
			}
		}},
		{"401", rptest.Misbehaviour{UserinfoStatus: 401}, func(t *testing.T, _ *userinfo.Info, err error) {
			var be *userinfo.BearerError
			if !errors.As(err, &be) || be.Code != "invalid_token" || !errors.Is(err, userinfo.ErrTokenRejected) {
				t.Errorf("Fetch error = %v", err)
			}
		}},
		{"503", rptest.Misbehaviour{UserinfoStatus: 503}, func(t *testing.T, _ *userinfo.Info, err error) {
			var se *userinfo.ServerError
			if !errors.As(err, &se) || se.Status != 503 {
				t.Errorf("Fetch error = %v", err)
			}
		}},
		{"oversize", rptest.Misbehaviour{OversizeBody: rptest.EndpointUserinfo}, func(t *testing.T, _ *userinfo.Info, err error) {
			if !errors.Is(err, httpx.ErrBodyTooLarge) {
				t.Errorf("Fetch error = %v, want ErrBodyTooLarge", err)
			}
		}},
	}
	p := rptest.NewProvider(t, rptest.WithClient(testClient), rptest.WithClaims(map[string]any{
		"email": "alice@example.com", "email_verified": true, "name": "Alice Example", "groups": []string{"a", "b"},
	}))
	uic := newClient(t, p.Issuer(), nil)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			at := login(t, p)
			p.SetMisbehaviour(tc.m)
			defer p.SetMisbehaviour(rptest.Misbehaviour{})
			info, err := uic.Fetch(ctxTimeout(t), at, "alice")
			tc.check(t, info, err)
		})
	}

	t.Run("revoked token", func(t *testing.T) {
		info, err := uic.Fetch(ctxTimeout(t), "unknown-token", "alice")
		var be *userinfo.BearerError
		if !errors.As(err, &be) || be.Status != 401 || info != nil {
			t.Errorf("Fetch = %v, %v", info, err)
		}
	})
}

func TestFetchArguments(t *testing.T) {
	s := newScripted(t, serve(200, "application/json", `{"sub":"alice"}`), nil)
	uic := newClient(t, s.op.Issuer(), nil)
	tests := []struct {
		name, token, sub string
	}{
		{"no token", "", "alice"},
		{"no expected subject", testToken, ""},
		{"token with a line break", "abc\r\nX-Evil: 1", "alice"},
		{"token with a space", "abc def", "alice"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := uic.Fetch(ctxTimeout(t), tc.token, tc.sub); err == nil {
				t.Error("Fetch succeeded")
			}
		})
	}
	if n := len(s.requests()); n != 0 {
		t.Errorf("%d requests sent for bad arguments", n)
	}
}

func TestFetchNoEndpoint(t *testing.T) {
	p := rptest.NewProvider(t, rptest.WithClient(testClient),
		rptest.WithMetadata(func(m map[string]any) { delete(m, "userinfo_endpoint") }))
	uic := newClient(t, p.Issuer(), nil)
	if _, err := uic.Fetch(ctxTimeout(t), testToken, "alice"); !errors.Is(err, userinfo.ErrNoEndpoint) {
		t.Errorf("Fetch = %v, want ErrNoEndpoint", err)
	}
}

func TestFetchTimeout(t *testing.T) {
	release := make(chan struct{})
	s := newScripted(t, func(_ *rptest.Provider, w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}, nil)
	defer close(release)
	uic := newClient(t, s.op.Issuer(), func(c *userinfo.Config) {
		c.HTTPClient = httpx.NewClient(200*time.Millisecond, 0)
	})
	start := time.Now()
	if _, err := uic.Fetch(ctxTimeout(t), testToken, "alice"); err == nil {
		t.Fatal("Fetch succeeded against a hanging endpoint")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Fetch took %v", d)
	}
}

func TestNew(t *testing.T) {
	p := newDiscovery(t, "https://id.example.com")
	tests := []struct {
		name string
		cfg  userinfo.Config
		ok   bool
	}{
		{"minimal", userinfo.Config{Provider: p, ClientID: "a"}, true},
		{"signed RS256", userinfo.Config{Provider: p, ClientID: "a", SignedResponseAlg: "RS256"}, true},
		{"signed none", userinfo.Config{Provider: p, ClientID: "a", SignedResponseAlg: "none"}, true},
		{"no provider", userinfo.Config{ClientID: "a"}, false},
		{"no client ID", userinfo.Config{Provider: p}, false},
		{"HS256", userinfo.Config{Provider: p, ClientID: "a", SignedResponseAlg: "HS256"}, false},
		{"unknown alg", userinfo.Config{Provider: p, ClientID: "a", SignedResponseAlg: "XX1"}, false},
		{"negative MaxBody", userinfo.Config{Provider: p, ClientID: "a", MaxBody: -1}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := userinfo.New(tc.cfg)
			if (err == nil) != tc.ok || (c != nil) != tc.ok {
				t.Errorf("New = %v, %v; want ok=%v", c, err, tc.ok)
			}
		})
	}
}
