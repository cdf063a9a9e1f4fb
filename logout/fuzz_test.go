package logout_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"

	"github.com/oidcrp/oidcrp/discovery"
	"github.com/oidcrp/oidcrp/logout"
)

// The fuzz targets verify against a provider that exists only in memory:
// a fixed issuer, static metadata, and a JWKS holding one Ed25519 key
// derived from a fixed seed, so that tokens signed by one fuzzing process
// verify in the others.
const (
	fuzzIssuer = "https://op.example"
	fuzzKID    = "fuzz-ed25519"
	fuzzAPI    = "https://api.example"
)

var (
	fuzzPriv = ed25519.NewKeyFromSeed(func() []byte { s := sha256.Sum256([]byte("oidcrp logout fuzz key")); return s[:] }())
	fuzzNow  = time.Unix(1_900_000_000, 0)
)

// jwksTransport answers every request with the JWKS of fuzzPriv.
type jwksTransport struct{ body []byte }

func (t jwksTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: http.StatusOK, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(bytes.NewReader(t.body)), Request: r}, nil
}

// fuzzVerifier returns a Verifier for client "app" (trusting fuzzAPI as
// well) of the in-memory provider, on a clock frozen at fuzzNow.
func fuzzVerifier(f *testing.F) *logout.Verifier {
	f.Helper()
	pub, err := jwk.FromRaw(fuzzPriv.Public())
	if err != nil {
		f.Fatal(err)
	}
	pub.Set(jwk.KeyIDKey, fuzzKID)
	pub.Set(jwk.AlgorithmKey, jwa.EdDSA)
	set := jwk.NewSet()
	set.AddKey(pub)
	body, _ := json.Marshal(set)
	dp, err := discovery.New(discovery.Config{
		Issuer: fuzzIssuer,
		Metadata: &discovery.Metadata{
			Issuer: fuzzIssuer, AuthorizationEndpoint: fuzzIssuer + "/auth", TokenEndpoint: fuzzIssuer + "/token",
			JWKSURI: fuzzIssuer + "/jwks", ResponseTypesSupported: []string{"code"}, SubjectTypesSupported: []string{"public"},
			IDTokenSigningAlgValuesSupported: []string{"EdDSA"},
		},
		HTTPClient: &http.Client{Transport: jwksTransport{body}},
		Logger:     slog.New(slog.DiscardHandler),
		Now:        func() time.Time { return fuzzNow },
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { dp.Close() })
	v, err := logout.NewVerifier(logout.VerifierConfig{Provider: dp, ClientID: "app", TrustedAudiences: []string{fuzzAPI},
		Now: func() time.Time { return fuzzNow }})
	if err != nil {
		f.Fatal(err)
	}
	return v
}

// fuzzSign signs payload with fuzzPriv; hdr adds header parameters.
func fuzzSign(t testing.TB, payload []byte, hdr map[string]any) string {
	h := jws.NewHeaders()
	h.Set(jws.KeyIDKey, fuzzKID)
	for k, v := range hdr {
		h.Set(k, v)
	}
	tok, err := jws.Sign(payload, jws.WithKey(jwa.EdDSA, fuzzPriv, jws.WithProtectedHeaders(h)))
	if err != nil {
		t.Fatal(err)
	}
	return string(tok)
}

// fuzzClaims are valid logout token claims at fuzzNow, as JSON.
func fuzzClaims(edit func(map[string]any)) []byte {
	c := map[string]any{
		"iss": fuzzIssuer, "aud": []string{"app"}, "iat": fuzzNow.Unix(), "exp": fuzzNow.Add(2 * time.Minute).Unix(),
		"jti": "jti-0123456789", "sub": "alice", "sid": "sid-1",
		"events": map[string]any{logout.BackchannelLogoutEvent: map[string]any{}},
	}
	if edit != nil {
		edit(c)
	}
	b, _ := json.Marshal(c)
	return b
}

// FuzzParseRequest: whatever a back-channel request carries, ParseRequest
// returns a token only from a form body within MaxRequestBody that holds
// exactly one non-empty logout_token.
func FuzzParseRequest(f *testing.F) {
	v := fuzzVerifier(f)
	for _, s := range []struct{ ct, body string }{
		{"application/x-www-form-urlencoded", "logout_token=abc.def.ghi"},
		{"application/x-www-form-urlencoded; charset=UTF-8", "x=1&logout_token=abc.def.ghi"},
		{"application/json", `{"logout_token":"abc.def.ghi"}`},
		{"", "logout_token=abc.def.ghi"},
		{"application/x-www-form-urlencoded", "logout_token=abc.def.ghi&logout_token=jkl.mno.pqr"},
		{"application/x-www-form-urlencoded", "logout_token="},
		{"application/x-www-form-urlencoded", "logout_token=%zz"},
		{"application/x-www-form-urlencoded;;", "logout_token=a;logout_token=b"},
	} {
		f.Add("POST", s.ct, []byte(s.body))
	}
	f.Add("GET", "application/x-www-form-urlencoded", []byte("logout_token=abc.def.ghi"))
	f.Fuzz(func(t *testing.T, method, contentType string, body []byte) {
		if method != http.MethodPost && method != http.MethodGet && method != http.MethodPut {
			method = http.MethodPost
		}
		req := &http.Request{Method: method, URL: &url.URL{Path: "/backchannel-logout"}, Header: http.Header{},
			Body: io.NopCloser(bytes.NewReader(body)), ContentLength: int64(len(body))}
		req.Header.Set("Content-Type", contentType)
		rec := httptest.NewRecorder()
		token, err := v.ParseRequest(rec, req)
		logout.WriteBackchannelResponse(rec, err)
		if rec.Header().Get("Cache-Control") != "no-store" {
			t.Fatal("answer without Cache-Control: no-store")
		}
		if err != nil {
			if token != "" {
				t.Fatalf("token %q returned with error %v", token, err)
			}
			if !errors.Is(err, logout.ErrInvalidRequest) && !errors.Is(err, logout.ErrMethodNotAllowed) {
				t.Fatalf("error %v matches neither ErrInvalidRequest nor ErrMethodNotAllowed", err)
			}
			if rec.Code != http.StatusBadRequest && rec.Code != http.StatusMethodNotAllowed {
				t.Fatalf("refused request answered %d", rec.Code)
			}
			return
		}
		if method != http.MethodPost || len(body) > logout.MaxRequestBody || token == "" {
			t.Fatalf("accepted %s with %d bytes: token %q", method, len(body), token)
		}
		form, perr := url.ParseQuery(string(body))
		if perr != nil || len(form["logout_token"]) != 1 || form.Get("logout_token") != token {
			t.Fatalf("token %q does not come from the single logout_token of %q", token, body)
		}
		if rec.Code != http.StatusOK {
			t.Fatalf("accepted request answered %d", rec.Code)
		}
	})
}

// FuzzParseFrontChannel: an accepted front-channel request carries both
// iss (exactly the issuer) and a printable sid of at most MaxSIDLength
// bytes, or neither.
func FuzzParseFrontChannel(f *testing.F) {
	for _, q := range []string{
		"iss=" + url.QueryEscape(fuzzIssuer) + "&sid=08a5019c-17e1", "", "sid=s1", "iss=" + url.QueryEscape(fuzzIssuer),
		"iss=https%3A%2F%2Fattacker.example&sid=s1", "iss=" + url.QueryEscape(fuzzIssuer+"/") + "&sid=s1",
		"iss=" + url.QueryEscape(fuzzIssuer) + "&sid=a&sid=b", "iss=" + url.QueryEscape(fuzzIssuer) + "&sid=a%0Ab",
		"iss=" + url.QueryEscape(fuzzIssuer) + "&sid=" + strings.Repeat("a", 256), "%zz", "iss=&sid=",
	} {
		f.Add(q, false)
	}
	f.Add("", true)
	f.Fuzz(func(t *testing.T, rawQuery string, sessionRequired bool) {
		req := &http.Request{Method: http.MethodGet, URL: &url.URL{Path: "/frontchannel-logout", RawQuery: rawQuery}, Header: http.Header{}}
		fc, err := logout.ParseFrontChannel(req, fuzzIssuer, sessionRequired)
		if err != nil {
			if fc != nil || !errors.Is(err, logout.ErrInvalidRequest) {
				t.Fatalf("ParseFrontChannel(%q) = %+v, %v", rawQuery, fc, err)
			}
			return
		}
		switch {
		case fc.Issuer == "" && fc.SID == "":
			if sessionRequired {
				t.Fatalf("accepted %q without iss and sid although they are required", rawQuery)
			}
		case fc.Issuer != fuzzIssuer:
			t.Fatalf("accepted iss %q from %q", fc.Issuer, rawQuery)
		case fc.SID == "" || len(fc.SID) > logout.MaxSIDLength || strings.ContainsFunc(fc.SID, func(r rune) bool { return r <= ' ' || r > '~' }):
			t.Fatalf("accepted sid %q from %q", fc.SID, rawQuery)
		}
	})
}

// FuzzVerifyToken: arbitrary logout_token strings are refused without a
// panic; only tokens signed by the provider's key can pass.
func FuzzVerifyToken(f *testing.F) {
	v := fuzzVerifier(f)
	typ := map[string]any{"typ": "logout+jwt"}
	for _, s := range []string{
		fuzzSign(f, fuzzClaims(nil), typ),
		fuzzSign(f, fuzzClaims(func(c map[string]any) { c["jti"] = "other"; c["nonce"] = "n" }), typ),
		fuzzSign(f, fuzzClaims(func(c map[string]any) { c["jti"] = "jwk" }), map[string]any{"typ": "logout+jwt", "jku": "https://attacker.example/jwks"}),
		"eyJhbGciOiJub25lIn0.eyJpc3MiOiJodHRwczovL29wLmV4YW1wbGUifQ.",
		"eyJhbGciOiJIUzI1NiJ9.e30.c2ln", "a.b.c.d.e", "hello", "..", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, token string) {
		c, err := v.Verify(context.Background(), token)
		if err != nil {
			if c != nil {
				t.Fatal("claims returned with an error")
			}
			return
		}
		if c.Issuer != fuzzIssuer || !slices.Contains(c.Audience, "app") || c.JTI == "" || (c.SID == "" && c.Subject == "") {
			t.Fatalf("accepted %q with claims %+v", token, c)
		}
		if _, err := jws.Verify([]byte(token), jws.WithKey(jwa.EdDSA, fuzzPriv.Public())); err != nil {
			t.Fatalf("accepted %q, which the provider's key does not verify: %v", token, err)
		}
	})
}

// FuzzVerifyClaims: logout tokens with arbitrary claim sets, correctly
// signed by the provider's key, are accepted only when every rule of
// Back-Channel Logout 1.0 §2.6 holds, and then only once.
func FuzzVerifyClaims(f *testing.F) {
	v := fuzzVerifier(f)
	for _, edit := range []func(map[string]any){
		nil,
		func(c map[string]any) { c["aud"] = "app" },
		func(c map[string]any) { c["aud"] = []string{"app", fuzzAPI} },
		func(c map[string]any) { c["aud"] = []string{"app", "other"} },
		func(c map[string]any) { delete(c, "exp") },
		func(c map[string]any) { delete(c, "exp"); c["iat"] = fuzzNow.Add(-10 * time.Minute).Unix() },
		func(c map[string]any) { c["iss"] = fuzzIssuer + "/" },
		func(c map[string]any) { c["nonce"] = nil },
		func(c map[string]any) { delete(c, "sub"); delete(c, "sid") },
		func(c map[string]any) { c["events"] = map[string]any{logout.BackchannelLogoutEvent: "x"} },
		func(c map[string]any) { c["iat"] = 1.9e9 + 0.5; c["exp"] = "soon" },
	} {
		f.Add(fuzzClaims(edit), "logout+jwt")
	}
	f.Add([]byte(`{"iss":"https://op.example","iss":"https://attacker.example"}`), "JWT")
	f.Add([]byte(`[]`), "")
	f.Fuzz(func(t *testing.T, payload []byte, typ string) {
		if len(payload) == 0 {
			return // jws.Sign refuses an empty payload
		}
		hdr := map[string]any{}
		if typ != "" {
			hdr["typ"] = typ
		}
		h := jws.NewHeaders()
		for k, val := range hdr {
			if h.Set(k, val) != nil {
				return
			}
		}
		token := fuzzSign(t, payload, hdr)
		c, err := v.Verify(context.Background(), token)
		if err != nil {
			if c != nil {
				t.Fatal("claims returned with an error")
			}
			if !errors.Is(err, logout.ErrInvalidToken) {
				t.Fatalf("a correctly signed token was refused as a system failure: %v", err)
			}
			return
		}
		checkAccepted(t, payload, typ)
		if _, err := v.Verify(context.Background(), token); !errors.Is(err, logout.ErrReplay) {
			t.Fatalf("the same token verified twice: %v", err)
		}
	})
}

// checkAccepted fails unless the accepted claim set follows §2.4–§2.6,
// judged independently of the verifier.
func checkAccepted(t *testing.T, payload []byte, typ string) {
	t.Helper()
	fail := func(why string) { t.Fatalf("accepted %s (typ %q): %s", payload, typ, why) }
	if tl := strings.TrimPrefix(strings.ToLower(typ), "application/"); tl != "" && tl != "jwt" && tl != "logout+jwt" {
		fail("typ")
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(payload, &m) != nil {
		fail("not an object")
	}
	str := func(name string) string {
		var s string
		if raw, ok := m[name]; ok && json.Unmarshal(raw, &s) != nil {
			fail(name + " is not a string")
		}
		return s
	}
	num := func(name string) (float64, bool) {
		raw, ok := m[name]
		if !ok {
			return 0, false
		}
		var n float64
		if json.Unmarshal(raw, &n) != nil {
			fail(name + " is not a number")
		}
		return n, true
	}
	if str("iss") != fuzzIssuer {
		fail("iss")
	}
	var aud []string
	if json.Unmarshal(m["aud"], &aud) != nil {
		aud = []string{str("aud")}
	}
	if !slices.Contains(aud, "app") || slices.ContainsFunc(aud, func(a string) bool { return a != "app" && a != fuzzAPI }) {
		fail("aud")
	}
	now := float64(fuzzNow.Unix())
	skew := logout.DefaultClockSkew.Seconds()
	iat, ok := num("iat")
	if !ok || iat > now+skew {
		fail("iat")
	}
	if exp, ok := num("exp"); ok {
		if exp+skew <= now {
			fail("exp passed")
		}
	} else if iat+logout.DefaultMaxAge.Seconds()+skew < now {
		fail("no exp and iat too old")
	}
	if str("sub") == "" && str("sid") == "" {
		fail("neither sub nor sid")
	}
	var events map[string]json.RawMessage
	if json.Unmarshal(m["events"], &events) != nil || events == nil {
		fail("events")
	}
	var member map[string]json.RawMessage
	if json.Unmarshal(events[logout.BackchannelLogoutEvent], &member) != nil || member == nil {
		fail("events member")
	}
	if _, ok := m["nonce"]; ok {
		fail("nonce")
	}
	if str("jti") == "" {
		fail("jti")
	}
}

// FuzzEndSessionURL: whatever end_session_endpoint the provider publishes,
// the logout URL keeps its origin, is http(s), and carries exactly the
// parameters the application chose.
func FuzzEndSessionURL(f *testing.F) {
	for _, e := range []string{
		"https://id.example.com/oauth2/sessions/logout", "https://id.example.com/logout?x=1&state=old",
		"/logout", "javascript://id.example.com/%0aalert(1)", "https://u:p@id.example.com/logout",
		"https://id.example.com/logout#x", "https://id.example.com/logout?a=%zz", "http://127.0.0.1:4444/logout?",
		"HTTPS://ID.example.com:443/logout", "https://[::1]:9/logout",
	} {
		f.Add(e, "header.payload.sig", "state-0123456789")
	}
	const plr = "https://app.example/logout/done"
	f.Fuzz(func(t *testing.T, endpoint, hint, state string) {
		got, err := logout.EndSessionURL(endpoint, logout.EndSessionRequest{IDTokenHint: hint, PostLogoutRedirectURI: plr, State: state, ClientID: "app"})
		if err != nil {
			return
		}
		u, err := url.Parse(got)
		if err != nil {
			t.Fatalf("EndSessionURL(%q) = %q, which does not parse: %v", endpoint, got, err)
		}
		e, _ := url.Parse(endpoint)
		if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Host != e.Host || u.User != nil || u.Fragment != "" {
			t.Fatalf("EndSessionURL(%q) = %q: another origin or a fragment", endpoint, got)
		}
		q := u.Query()
		if q.Get("post_logout_redirect_uri") != plr || q.Get("client_id") != "app" || len(q["post_logout_redirect_uri"]) != 1 ||
			q.Get("state") != state || len(q["state"]) > 1 || q.Get("id_token_hint") != hint {
			t.Fatalf("EndSessionURL(%q, hint %q, state %q) = %q: parameters %v", endpoint, hint, state, got, q)
		}
	})
}
