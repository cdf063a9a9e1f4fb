package rp

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/oidcrp/oidcrp/rp/rptest"
)

// TestVerifyIDToken checks the ID-token rules go-oidc leaves to callers
// (OpenID Connect Core §3.1.3.7), with tokens signed by the provider's real
// key so that only the claim under test is wrong.
func TestVerifyIDToken(t *testing.T) {
	now := time.Now()
	clock := func() time.Time { return now }
	op := rptest.NewProvider(t, rptest.WithClock(clock))
	op.RegisterClient(rptest.Client{ID: "app", Secret: "s", RedirectURIs: []string{"http://127.0.0.1/cb"}})
	r, err := New(context.Background(), Config{
		Issuer: op.Issuer(), ClientID: "app", ClientSecret: "s", RedirectURL: "http://127.0.0.1/cb",
		SessionKeys: [][]byte{[]byte("0123456789abcdef0123456789abcdef")}, Now: clock,
		TrustedAudiences: []string{"https://api.example.com"},
		Logger:           slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	md, err := r.metadata(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	const accessToken = "access-token-value"
	base := func() map[string]any {
		c := op.IDTokenClaims("n0nce-value")
		c["at_hash"] = rptest.AccessTokenHash(accessToken)
		c["iat"] = now.Unix()
		c["exp"] = now.Add(time.Hour).Unix()
		c["auth_time"] = now.Add(-10 * time.Minute).Unix()
		return c
	}
	tests := []struct {
		name    string
		edit    func(map[string]any)
		chk     idTokenCheck
		wantErr error
	}{
		{"valid", func(map[string]any) {}, idTokenCheck{}, nil},
		{"iat missing", func(c map[string]any) { delete(c, "iat") }, idTokenCheck{}, ErrInvalidIDToken},
		{"iat in the future", func(c map[string]any) { c["iat"] = now.Add(5 * time.Minute).Unix() }, idTokenCheck{}, ErrInvalidIDToken},
		{"iat within skew", func(c map[string]any) { c["iat"] = now.Add(30 * time.Second).Unix() }, idTokenCheck{}, nil},
		{"iat not a number", func(c map[string]any) { c["iat"] = "yesterday" }, idTokenCheck{}, ErrInvalidIDToken},
		{"sub missing", func(c map[string]any) { delete(c, "sub") }, idTokenCheck{}, ErrInvalidIDToken},
		{"sub too long", func(c map[string]any) { c["sub"] = strings.Repeat("x", 256) }, idTokenCheck{}, ErrInvalidIDToken},
		{"expired", func(c map[string]any) { c["exp"] = now.Add(-2 * time.Minute).Unix() }, idTokenCheck{}, ErrInvalidIDToken},
		{"exp missing", func(c map[string]any) { delete(c, "exp") }, idTokenCheck{}, ErrInvalidIDToken},
		{"wrong issuer", func(c map[string]any) { c["iss"] = "https://attacker.example" }, idTokenCheck{}, ErrInvalidIDToken},
		{"audience is another client", func(c map[string]any) { c["aud"] = []string{"other"} }, idTokenCheck{}, ErrInvalidIDToken},
		{"untrusted extra audience", func(c map[string]any) { c["aud"] = []string{"app", "other"}; c["azp"] = "app" }, idTokenCheck{}, ErrInvalidIDToken},
		{"trusted extra audience with azp", func(c map[string]any) { c["aud"] = []string{"app", "https://api.example.com"}; c["azp"] = "app" }, idTokenCheck{}, nil},
		{"trusted extra audience without azp", func(c map[string]any) { c["aud"] = []string{"app", "https://api.example.com"} }, idTokenCheck{}, ErrInvalidIDToken},
		{"azp is another client", func(c map[string]any) { c["azp"] = "other" }, idTokenCheck{}, ErrInvalidIDToken},
		{"nonce matches", func(map[string]any) {}, idTokenCheck{nonce: "n0nce-value"}, nil},
		{"nonce differs", func(map[string]any) {}, idTokenCheck{nonce: "another-nonce"}, ErrNonceMismatch},
		{"nonce missing", func(c map[string]any) { delete(c, "nonce") }, idTokenCheck{nonce: "n0nce-value"}, ErrNonceMismatch},
		{"at_hash matches", func(map[string]any) {}, idTokenCheck{accessToken: accessToken}, nil},
		{"at_hash of another token", func(map[string]any) {}, idTokenCheck{accessToken: "substituted-token"}, ErrInvalidIDToken},
		{"max_age with fresh auth_time", func(map[string]any) {}, idTokenCheck{maxAge: 3600}, nil},
		{"max_age with stale auth_time", func(c map[string]any) { c["auth_time"] = now.Add(-2 * time.Hour).Unix() }, idTokenCheck{maxAge: 3600}, ErrInvalidIDToken},
		{"max_age without auth_time", func(c map[string]any) { delete(c, "auth_time") }, idTokenCheck{maxAge: 3600}, ErrInvalidIDToken},
		{"max_age 0 needs a login now", func(c map[string]any) { c["auth_time"] = now.Add(-5 * time.Minute).Unix() }, idTokenCheck{maxAge: 0}, ErrInvalidIDToken},
		{"required acr present", func(c map[string]any) { c["acr"] = "urn:mfa" }, idTokenCheck{acr: []string{"urn:pwd+otp", "urn:mfa"}}, nil},
		{"required acr weaker", func(c map[string]any) { c["acr"] = "urn:pwd" }, idTokenCheck{acr: []string{"urn:mfa"}}, ErrACRNotSatisfied},
		{"required acr missing", func(c map[string]any) { delete(c, "acr") }, idTokenCheck{acr: []string{"urn:mfa"}}, ErrACRNotSatisfied},
		{"required acr not a string", func(c map[string]any) { c["acr"] = []string{"urn:mfa"} }, idTokenCheck{acr: []string{"urn:mfa"}}, ErrInvalidIDToken},
		{"acr not required", func(c map[string]any) { c["acr"] = "urn:pwd" }, idTokenCheck{}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := base()
			tc.edit(c)
			raw, err := op.Sign(c)
			if err != nil {
				t.Fatal(err)
			}
			chk := tc.chk
			if chk.maxAge == 0 && tc.name != "max_age 0 needs a login now" {
				chk.maxAge = -1
			}
			_, err = r.verifyIDToken(t.Context(), md, raw, chk)
			if tc.wantErr == nil && err != nil {
				t.Fatalf("refused: %v", err)
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Fatalf("error %v, want %v", err, tc.wantErr)
			}
		})
	}
	t.Run("HS256 signed with a guessable secret", func(t *testing.T) {
		raw, err := op.Sign(base(), rptest.WithAlg("HS256"))
		if err == nil {
			if _, err := r.verifyIDToken(t.Context(), md, raw, idTokenCheck{maxAge: -1}); err == nil {
				t.Fatal("HS256 token accepted")
			}
		}
	})
}

func TestSameIdentity(t *testing.T) {
	orig := `{"iss":"https://id","sub":"alice","aud":["app"],"azp":"app","nonce":"n"}`
	tests := []struct {
		name, next string
		ok         bool
	}{
		{"same", `{"iss":"https://id","sub":"alice","aud":"app","nonce":"n"}`, true},
		{"no nonce on refresh", `{"iss":"https://id","sub":"alice","aud":["app"]}`, true},
		{"other sub", `{"iss":"https://id","sub":"mallory","aud":["app"]}`, false},
		{"other iss", `{"iss":"https://other","sub":"alice","aud":["app"]}`, false},
		{"other aud", `{"iss":"https://id","sub":"alice","aud":["app","x"]}`, false},
		{"other azp", `{"iss":"https://id","sub":"alice","aud":["app"],"azp":"x"}`, false},
		{"other nonce", `{"iss":"https://id","sub":"alice","aud":["app"],"nonce":"m"}`, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := sameIdentity([]byte(orig), []byte(tc.next))
			if (err == nil) != tc.ok {
				t.Errorf("sameIdentity = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

func TestCleanReturnTo(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"/", "/", true},
		{"/a/b?c=d#frag", "/a/b?c=d", true},
		{"//evil.example", "", false},
		{"/\\evil.example", "", false},
		{"https://evil.example", "", false},
		{"/%2F%2Fevil.example", "", false},
		{"/%5Cevil.example", "", false},
		{"", "", false},
		{"a", "", false},
		{"/\x00", "", false},
		{"/\x7f", "", false},
		{"/" + strings.Repeat("a", 3000), "", false},
	}
	for _, tc := range tests {
		got, ok := cleanReturnTo(tc.in)
		if ok != tc.ok || got != tc.want {
			t.Errorf("cleanReturnTo(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}
