package rptest_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"golang.org/x/oauth2"

	"github.com/oidcrp/oidcrp/internal/httpx"
	"github.com/oidcrp/oidcrp/rp/rptest"
)

// TestMisbehaviourIDToken proves that each ID-token switch produces the
// token it promises: go-oidc rejects what it checks, and the claims show
// the rest.
func TestMisbehaviourIDToken(t *testing.T) {
	p := rptest.NewProvider(t, rptest.WithClient(testClient()))
	f := newFlow(t, p, nil)
	tests := []struct {
		name string
		m    rptest.Misbehaviour
		// wantVerify is a substring of go-oidc's error, "" for success.
		wantVerify string
		check      func(t *testing.T, tok *oauth2.Token, header, claims map[string]any)
	}{
		{name: "well-behaved", check: func(t *testing.T, tok *oauth2.Token, _, claims map[string]any) {
			if claims["at_hash"] != rptest.AccessTokenHash(tok.AccessToken) {
				t.Error("at_hash does not match")
			}
		}},
		{name: "WrongIssuer", m: rptest.Misbehaviour{WrongIssuer: true}, wantVerify: "issued by a different provider"},
		{name: "WrongAudience", m: rptest.Misbehaviour{WrongAudience: true}, wantVerify: "expected audience"},
		{name: "WrongNonce", m: rptest.Misbehaviour{WrongNonce: true}, check: func(t *testing.T, _ *oauth2.Token, _, claims map[string]any) {
			if claims["nonce"] != rptest.WrongValue {
				t.Errorf("nonce = %v", claims["nonce"])
			}
		}},
		{name: "ExpiredIDToken", m: rptest.Misbehaviour{ExpiredIDToken: true}, wantVerify: "token is expired"},
		{name: "FutureIAT", m: rptest.Misbehaviour{FutureIAT: true}, check: func(t *testing.T, _ *oauth2.Token, _, claims map[string]any) {
			if iat := time.Unix(int64(claims["iat"].(float64)), 0); time.Until(iat) < 50*time.Minute {
				t.Errorf("iat %v is not in the future", iat)
			}
		}},
		{name: "MissingSub", m: rptest.Misbehaviour{MissingSub: true}, check: func(t *testing.T, _ *oauth2.Token, _, claims map[string]any) {
			if _, ok := claims["sub"]; ok {
				t.Error("sub present")
			}
		}},
		{name: "BadSignature", m: rptest.Misbehaviour{BadSignature: true}, wantVerify: "failed to verify signature"},
		{name: "UnknownKID", m: rptest.Misbehaviour{UnknownKID: true}, wantVerify: "failed to verify", check: func(t *testing.T, _ *oauth2.Token, header, _ map[string]any) {
			for _, kid := range p.KeyIDs() {
				if header["kid"] == kid {
					t.Errorf("kid %v is published", kid)
				}
			}
		}},
		{name: "AlgNone", m: rptest.Misbehaviour{AlgNone: true}, wantVerify: "malformed jwt", check: func(t *testing.T, tok *oauth2.Token, header, _ map[string]any) {
			if header["alg"] != "none" || !strings.HasSuffix(idToken(t, tok), ".") {
				t.Errorf("header %v, token %s", header, idToken(t, tok))
			}
		}},
		{name: "MissingAtHash", m: rptest.Misbehaviour{MissingAtHash: true}, check: func(t *testing.T, _ *oauth2.Token, _, claims map[string]any) {
			if _, ok := claims["at_hash"]; ok {
				t.Error("at_hash present")
			}
		}},
		{name: "WrongAtHash", m: rptest.Misbehaviour{WrongAtHash: true}, check: func(t *testing.T, tok *oauth2.Token, _, claims map[string]any) {
			if claims["at_hash"] == rptest.AccessTokenHash(tok.AccessToken) || claims["at_hash"] == nil {
				t.Errorf("at_hash %v matches", claims["at_hash"])
			}
		}},
		{name: "ExtraAudienceNoAzp", m: rptest.Misbehaviour{ExtraAudienceNoAzp: true}, check: func(t *testing.T, _ *oauth2.Token, _, claims map[string]any) {
			aud, _ := claims["aud"].([]any)
			if len(aud) != 2 || aud[0] != clientID || aud[1] != rptest.WrongValue || claims["azp"] != nil {
				t.Errorf("aud %v azp %v", claims["aud"], claims["azp"])
			}
		}},
		{name: "WrongAzp", m: rptest.Misbehaviour{WrongAzp: true}, check: func(t *testing.T, _ *oauth2.Token, _, claims map[string]any) {
			if claims["azp"] != rptest.WrongValue {
				t.Errorf("azp %v", claims["azp"])
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p.SetMisbehaviour(tc.m)
			defer p.SetMisbehaviour(rptest.Misbehaviour{})
			if p.Misbehaviour() != tc.m {
				t.Fatal("Misbehaviour() does not return what was set")
			}
			tok := f.login(t)
			idt, err := f.verify(tok)
			switch {
			case tc.wantVerify == "" && err != nil:
				t.Fatalf("go-oidc rejects: %v", err)
			case tc.wantVerify != "" && (err == nil || !strings.Contains(err.Error(), tc.wantVerify)):
				t.Fatalf("go-oidc: %v, want an error with %q", err, tc.wantVerify)
			}
			if tc.m.MissingAtHash || tc.m.WrongAtHash {
				if err := idt.VerifyAccessToken(tok.AccessToken); err == nil {
					t.Error("go-oidc accepts the at_hash")
				}
			}
			if tc.check != nil {
				h, c := jwtParts(t, idToken(t, tok))
				tc.check(t, tok, h, c)
			}
		})
	}
}

func TestMisbehaviourFlow(t *testing.T) {
	tests := []struct {
		name  string
		opts  []rptest.Option
		m     rptest.Misbehaviour
		check func(t *testing.T, p *rptest.Provider, f *flow)
	}{
		{
			name: "ChangeSubjectOnRefresh",
			m:    rptest.Misbehaviour{ChangeSubjectOnRefresh: true},
			check: func(t *testing.T, p *rptest.Provider, f *flow) {
				tok := f.login(t)
				_, first := jwtParts(t, idToken(t, tok))
				next, err := f.refresh(tok.RefreshToken)
				if err != nil {
					t.Fatal(err)
				}
				_, second := jwtParts(t, idToken(t, next))
				if first["sub"] != rptest.DefaultSubject || second["sub"] == first["sub"] {
					t.Errorf("sub %v then %v", first["sub"], second["sub"])
				}
			},
		},
		{
			name: "WrongISSParam",
			m:    rptest.Misbehaviour{WrongISSParam: true},
			check: func(t *testing.T, p *rptest.Provider, f *flow) {
				if iss := p.Authorize(t, f.authURL()).Query().Get("iss"); iss != rptest.WrongValue {
					t.Errorf("iss = %q", iss)
				}
			},
		},
		{
			name: "WithISSParameter behaves",
			opts: []rptest.Option{rptest.WithISSParameter()},
			check: func(t *testing.T, p *rptest.Provider, f *flow) {
				if iss := p.Authorize(t, f.authURL()).Query().Get("iss"); iss != p.Issuer() {
					t.Errorf("iss = %q", iss)
				}
			},
		},
		{
			name: "UserinfoWrongSub",
			m:    rptest.Misbehaviour{UserinfoWrongSub: true},
			check: func(t *testing.T, p *rptest.Provider, f *flow) {
				ui, err := f.op.UserInfo(f.ctx, oauth2.StaticTokenSource(f.login(t)))
				if err != nil {
					t.Fatal(err)
				}
				if ui.Subject == rptest.DefaultSubject {
					t.Errorf("userinfo sub %q is right", ui.Subject)
				}
			},
		},
		{
			name: "TokenStatus",
			m:    rptest.Misbehaviour{TokenStatus: 500},
			check: func(t *testing.T, p *rptest.Provider, f *flow) {
				_, err := f.exchange(f.code(t))
				if code, status := retrieveError(err); code != "server_error" || status != 500 {
					t.Errorf("exchange: %v", err)
				}
			},
		},
		{
			name: "TokenStatus 503",
			m:    rptest.Misbehaviour{TokenStatus: 503},
			check: func(t *testing.T, p *rptest.Provider, f *flow) {
				_, err := f.exchange(f.code(t))
				if code, status := retrieveError(err); code != "temporarily_unavailable" || status != 503 {
					t.Errorf("exchange: %v", err)
				}
			},
		},
		{
			name: "UserinfoStatus",
			m:    rptest.Misbehaviour{UserinfoStatus: 401},
			check: func(t *testing.T, p *rptest.Provider, f *flow) {
				_, err := f.op.UserInfo(f.ctx, oauth2.StaticTokenSource(f.login(t)))
				if err == nil || !strings.Contains(err.Error(), "401") {
					t.Errorf("userinfo: %v", err)
				}
			},
		},
		{
			name: "JWKSStatus",
			m:    rptest.Misbehaviour{JWKSStatus: 500},
			check: func(t *testing.T, p *rptest.Provider, f *flow) {
				if _, err := f.verify(f.login(t)); err == nil {
					t.Error("verified without keys")
				}
			},
		},
		{
			name: "DiscoveryStatus",
			m:    rptest.Misbehaviour{DiscoveryStatus: 503},
			check: func(t *testing.T, p *rptest.Provider, f *flow) {
				if _, err := oidc.NewProvider(f.ctx, p.Issuer()); err == nil || !strings.Contains(err.Error(), "503") {
					t.Errorf("discovery: %v", err)
				}
			},
		},
		{
			name: "RefreshError",
			m:    rptest.Misbehaviour{RefreshError: "invalid_grant"},
			check: func(t *testing.T, p *rptest.Provider, f *flow) {
				tok := f.login(t)
				_, err := f.refresh(tok.RefreshToken)
				if code, status := retrieveError(err); code != "invalid_grant" || status != 400 {
					t.Errorf("refresh: %v", err)
				}
				if !p.TokenActive(tok.RefreshToken) {
					t.Error("the forced error used up the refresh token")
				}
				p.SetMisbehaviour(rptest.Misbehaviour{})
				if _, err := f.refresh(tok.RefreshToken); err != nil {
					t.Errorf("refresh after behaving again: %v", err)
				}
			},
		},
		{
			name: "GarbageJWKSKey",
			m:    rptest.Misbehaviour{GarbageJWKSKey: true},
			check: func(t *testing.T, p *rptest.Provider, f *flow) {
				body := get(t, p, rptest.JWKSPath, nil)
				var raw struct{ Keys []json.RawMessage }
				if err := json.Unmarshal(body, &raw); err != nil {
					t.Fatal(err)
				}
				good := 0
				for _, k := range raw.Keys {
					if _, err := jwk.ParseKey(k); err == nil {
						good++
					}
				}
				if good != 2 || len(raw.Keys) != 4 {
					t.Errorf("%d keys, %d parse; want 4 and 2", len(raw.Keys), good)
				}
				if _, err := jwk.Parse(body); err == nil {
					t.Error("a strict parser accepts the set")
				}
				set, err := jwk.Parse(body, jwk.WithIgnoreParseError(true))
				if err != nil || set.Len() != 2 {
					t.Errorf("lenient parse: %v", err)
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := rptest.NewProvider(t, append([]rptest.Option{rptest.WithClient(testClient())}, tc.opts...)...)
			f := newFlow(t, p, nil)
			p.SetMisbehaviour(tc.m)
			tc.check(t, p, f)
		})
	}
}

func TestMisbehaviourOversize(t *testing.T) {
	p := rptest.NewProvider(t, rptest.WithClient(testClient()))
	tok := newFlow(t, p, nil).login(t)
	capped := httpx.NewClient(5*time.Second, httpx.DefaultMaxBody)
	capped.Transport = httpx.LimitTransport(p.Client().Transport, httpx.DefaultMaxBody)
	tests := []struct {
		endpoint string
		req      func(t *testing.T) *http.Request
	}{
		{endpoint: rptest.EndpointDiscovery, req: func(t *testing.T) *http.Request { return newReq(t, "GET", p.Issuer()+rptest.DiscoveryPath, "") }},
		{endpoint: rptest.EndpointJWKS, req: func(t *testing.T) *http.Request { return newReq(t, "GET", p.Issuer()+rptest.JWKSPath, "") }},
		{endpoint: rptest.EndpointUserinfo, req: func(t *testing.T) *http.Request {
			r := newReq(t, "GET", p.Issuer()+rptest.UserinfoPath, "")
			r.Header.Set("Authorization", "Bearer "+tok.AccessToken)
			return r
		}},
		{endpoint: rptest.EndpointToken, req: func(t *testing.T) *http.Request {
			r := newReq(t, "POST", p.Issuer()+rptest.TokenPath, "grant_type=refresh_token&refresh_token=unknown")
			r.SetBasicAuth(clientID, strings.ReplaceAll(secret, "%", "%25")) // any answer will do
			return r
		}},
		{endpoint: rptest.EndpointRevoke, req: func(t *testing.T) *http.Request {
			return newReq(t, "POST", p.Issuer()+rptest.RevokePath, "token=x&client_id=nobody")
		}},
		{endpoint: rptest.EndpointEndSession, req: func(t *testing.T) *http.Request { return newReq(t, "GET", p.Issuer()+rptest.EndSessionPath, "") }},
	}
	for _, tc := range tests {
		t.Run(tc.endpoint, func(t *testing.T) {
			p.SetMisbehaviour(rptest.Misbehaviour{OversizeBody: tc.endpoint})
			resp, err := p.Client().Do(tc.req(t))
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || len(body) <= 1<<20 || resp.ContentLength != -1 {
				t.Fatalf("body %d bytes, Content-Length %d, %v; want > 1 MiB without length", len(body), resp.ContentLength, err)
			}
			if ct := resp.Header.Get("Content-Type"); strings.HasPrefix(ct, "application/json") && !json.Valid(body) {
				t.Error("padded JSON is not valid JSON")
			}
			resp, err = capped.Do(tc.req(t))
			if err == nil {
				_, err = io.ReadAll(resp.Body)
				resp.Body.Close()
			}
			if !errors.Is(err, httpx.ErrBodyTooLarge) {
				t.Errorf("capped client: %v, want ErrBodyTooLarge", err)
			}
			p.SetMisbehaviour(rptest.Misbehaviour{})
			resp, err = p.Client().Do(tc.req(t))
			if err != nil {
				t.Fatal(err)
			}
			body, _ = io.ReadAll(resp.Body)
			resp.Body.Close()
			if len(body) > 64<<10 {
				t.Errorf("well-behaved answer has %d bytes", len(body))
			}
		})
	}
}

func TestMisbehaviourDelay(t *testing.T) {
	tests := []struct {
		name string
		m    rptest.Misbehaviour
		call func(ctx context.Context, p *rptest.Provider, f *flow, code string) error
	}{
		{name: "DiscoveryDelay", m: rptest.Misbehaviour{DiscoveryDelay: time.Minute}, call: func(ctx context.Context, p *rptest.Provider, f *flow, _ string) error {
			_, err := oidc.NewProvider(oidc.ClientContext(ctx, p.Client()), p.Issuer())
			return err
		}},
		{name: "JWKSDelay", m: rptest.Misbehaviour{JWKSDelay: time.Minute}, call: func(ctx context.Context, p *rptest.Provider, f *flow, _ string) error {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, p.Issuer()+rptest.JWKSPath, nil)
			resp, err := p.Client().Do(req)
			if err == nil {
				resp.Body.Close()
			}
			return err
		}},
		{name: "TokenDelay", m: rptest.Misbehaviour{TokenDelay: time.Minute}, call: func(ctx context.Context, p *rptest.Provider, f *flow, code string) error {
			_, err := f.cfg.Exchange(oidc.ClientContext(ctx, p.Client()), code, oauth2.VerifierOption(f.verifier))
			return err
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := rptest.NewProvider(t, rptest.WithClient(testClient()))
			f := newFlow(t, p, nil)
			code := f.code(t)
			p.SetMisbehaviour(tc.m)
			ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
			defer cancel()
			start := time.Now()
			err := tc.call(ctx, p, f, code)
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("error %v, want the deadline", err)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("the call took %v", d)
			}
			// The delayed handler notices the client left; a
			// short delay then answers normally.
			p.SetMisbehaviour(rptest.Misbehaviour{DiscoveryDelay: 20 * time.Millisecond, JWKSDelay: 20 * time.Millisecond, TokenDelay: 20 * time.Millisecond})
			if err := tc.call(t.Context(), p, f, code); err != nil {
				t.Errorf("short delay: %v", err)
			}
		})
	}
}

// TestCloseEndsDelays proves a provider shuts down at once even while a
// client waits on a delayed answer without a deadline.
func TestCloseEndsDelays(t *testing.T) {
	p, err := rptest.New()
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	p.SetMisbehaviour(rptest.Misbehaviour{DiscoveryDelay: time.Hour})
	done := make(chan int, 1)
	go func() {
		resp, err := p.Client().Get(p.Issuer() + rptest.DiscoveryPath)
		if err != nil {
			done <- -1
			return
		}
		resp.Body.Close()
		done <- resp.StatusCode
	}()
	for p.Count(rptest.EndpointDiscovery) == 0 {
		time.Sleep(time.Millisecond)
	}
	closed := make(chan struct{})
	go func() { p.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("Close waits for the delayed answer")
	}
	if status := <-done; status != http.StatusServiceUnavailable && status != -1 {
		t.Errorf("delayed request got %d", status)
	}
	p.Close() // a second Close is harmless
}

func newReq(t *testing.T, method, u, form string) *http.Request {
	t.Helper()
	var body io.Reader
	if form != "" {
		body = strings.NewReader(form)
	}
	r, err := http.NewRequestWithContext(t.Context(), method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != "" {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	return r
}

// get fetches path from p and returns the body, failing on a non-200.
func get(t *testing.T, p *rptest.Provider, path string, header http.Header) []byte {
	t.Helper()
	r := newReq(t, http.MethodGet, p.Issuer()+path, "")
	for k, v := range header {
		r.Header[k] = v
	}
	resp, err := p.Client().Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s %v", path, resp.Status, err)
	}
	return body
}
