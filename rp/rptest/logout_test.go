package rptest_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/lestrrat-go/jwx/v2/jwt"

	"github.com/oidcrp/oidcrp/rp/rptest"
)

// logoutReceiver is a relying party's back-channel logout endpoint that
// keeps the logout tokens it receives.
type logoutReceiver struct {
	*httptest.Server
	mu     sync.Mutex // guards tokens
	tokens []string
}

func newLogoutReceiver(t *testing.T) *logoutReceiver {
	lr := &logoutReceiver{}
	lr.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		lr.mu.Lock()
		lr.tokens = append(lr.tokens, r.PostFormValue("logout_token"))
		lr.mu.Unlock()
	}))
	t.Cleanup(lr.Close)
	return lr
}

func (lr *logoutReceiver) received() []string {
	lr.mu.Lock()
	defer lr.mu.Unlock()
	return append([]string(nil), lr.tokens...)
}

func TestEndSession(t *testing.T) {
	tests := []struct {
		name string
		// params builds the request from a valid ID token.
		params       func(idToken string) url.Values
		frontchannel bool
		wantStatus   int
		wantLocation string
		wantEnded    bool // the login session ended
	}{
		{
			name: "hint and registered URI",
			params: func(idt string) url.Values {
				return url.Values{"id_token_hint": {idt}, "post_logout_redirect_uri": {"https://rp.example/logged-out"}, "state": {"st-123456"}}
			},
			wantStatus: http.StatusFound, wantLocation: "https://rp.example/logged-out?state=st-123456", wantEnded: true,
		},
		{
			name: "client_id and registered URI",
			params: func(string) url.Values {
				return url.Values{"client_id": {clientID}, "post_logout_redirect_uri": {"https://rp.example/logged-out"}}
			},
			wantStatus: http.StatusFound, wantLocation: "https://rp.example/logged-out", wantEnded: true,
		},
		{
			name:       "no parameters",
			params:     func(string) url.Values { return url.Values{} },
			wantStatus: http.StatusOK, wantEnded: true,
		},
		{
			name: "unregistered URI",
			params: func(idt string) url.Values {
				return url.Values{"id_token_hint": {idt}, "post_logout_redirect_uri": {"https://evil.example/"}}
			},
			wantStatus: http.StatusBadRequest,
		},
		{
			name: "URI without client",
			params: func(string) url.Values {
				return url.Values{"post_logout_redirect_uri": {"https://rp.example/logged-out"}}
			},
			wantStatus: http.StatusBadRequest,
		},
		{
			name: "forged hint",
			params: func(idt string) url.Values {
				return url.Values{"id_token_hint": {idt[:len(idt)-4] + "AAAA"}, "post_logout_redirect_uri": {"https://rp.example/logged-out"}}
			},
			wantStatus: http.StatusBadRequest,
		},
		{
			name: "hint for another client",
			params: func(idt string) url.Values {
				return url.Values{"id_token_hint": {idt}, "client_id": {"other"}}
			},
			wantStatus: http.StatusBadRequest,
		},
		{
			name: "front-channel page",
			params: func(idt string) url.Values {
				return url.Values{"id_token_hint": {idt}, "post_logout_redirect_uri": {"https://rp.example/logged-out"}, "state": {"st-123456"}}
			},
			frontchannel: true,
			wantStatus:   http.StatusOK, wantEnded: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := testClient()
			if tc.frontchannel {
				c.FrontchannelLogoutURI = "https://rp.example/frontchannel"
			}
			p := rptest.NewProvider(t, rptest.WithClient(c))
			tok := newFlow(t, p, &c).login(t)
			sid := p.SessionID()
			params := tc.params(idToken(t, tok))
			hc := &http.Client{Transport: p.Client().Transport, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			resp, err := hc.Get(p.Issuer() + rptest.EndSessionPath + "?" + params.Encode())
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.wantStatus || resp.Header.Get("Location") != tc.wantLocation {
				t.Fatalf("got %s to %q, want %d to %q: %s", resp.Status, resp.Header.Get("Location"), tc.wantStatus, tc.wantLocation, body)
			}
			if ended := p.SessionID() == ""; ended != tc.wantEnded {
				t.Errorf("session ended %v, want %v", ended, tc.wantEnded)
			}
			if tc.frontchannel {
				iframe := "https://rp.example/frontchannel?iss=" + url.QueryEscape(p.Issuer()) + "&amp;sid=" + sid
				if !strings.Contains(string(body), iframe) || !strings.Contains(string(body), "URL=https://rp.example/logged-out?state=st-123456") {
					t.Errorf("page lacks iframe %s or refresh: %s", iframe, body)
				}
			}
			if got := p.LastEndSessionRequest(); got.Encode() != params.Encode() {
				t.Errorf("recorded %v", got)
			}
			if tc.wantEnded && !p.TokenActive(tok.AccessToken) {
				t.Error("logout revoked the tokens; Hydra keeps them")
			}
		})
	}
}

func TestBackchannelLogout(t *testing.T) {
	tests := []struct {
		name    string
		m       rptest.Misbehaviour
		byAdmin bool
		check   func(t *testing.T, header map[string]any, claims map[string]any)
	}{
		{name: "end_session", check: func(t *testing.T, h, c map[string]any) {
			if h["typ"] != "logout+jwt" || c["exp"] == nil || c["sub"] != rptest.DefaultSubject {
				t.Errorf("header %v claims %v", h, c)
			}
		}},
		{name: "LogoutSession", byAdmin: true, check: func(t *testing.T, h, c map[string]any) {
			if h["typ"] != "logout+jwt" || c["exp"] == nil {
				t.Errorf("header %v claims %v", h, c)
			}
		}},
		{name: "like Hydra", m: rptest.Misbehaviour{LogoutTokenLikeHydra: true}, check: func(t *testing.T, h, c map[string]any) {
			if h["typ"] != "JWT" || c["exp"] != nil || c["sub"] != nil {
				t.Errorf("header %v claims %v", h, c)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			lr := newLogoutReceiver(t)
			c := testClient()
			c.BackchannelLogoutURI = lr.URL + "/backchannel"
			bystander := testClient()
			bystander.ID, bystander.BackchannelLogoutURI = "bystander", lr.URL+"/other"
			p := rptest.NewProvider(t, rptest.WithClient(c), rptest.WithClient(bystander))
			p.SetMisbehaviour(tc.m)
			newFlow(t, p, &c).login(t)
			sid := p.SessionID()
			if tc.byAdmin {
				if err := p.LogoutSession(t.Context()); err != nil {
					t.Fatal(err)
				}
			} else {
				get(t, p, rptest.EndSessionPath, nil)
			}
			got := lr.received()
			if len(got) != 1 || p.Count(rptest.EndpointBackchannelLogout) != 1 {
				t.Fatalf("received %d logout tokens (count %d), want 1 (only the client in the session)", len(got), p.Count(rptest.EndpointBackchannelLogout))
			}
			set, err := jwk.Parse(get(t, p, rptest.JWKSPath, nil))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := jws.Verify([]byte(got[0]), jws.WithKeySet(set)); err != nil {
				t.Fatalf("logout token does not verify: %v", err)
			}
			tok, err := jwt.Parse([]byte(got[0]), jwt.WithVerify(false), jwt.WithValidate(false))
			if err != nil {
				t.Fatal(err)
			}
			if tok.Issuer() != p.Issuer() || len(tok.Audience()) != 1 || tok.Audience()[0] != clientID {
				t.Errorf("iss %s aud %v", tok.Issuer(), tok.Audience())
			}
			h, claims := jwtParts(t, got[0])
			events, _ := claims["events"].(map[string]any)
			if _, ok := events[rptest.BackchannelLogoutEvent]; !ok || claims["sid"] != sid || claims["jti"] == nil || claims["nonce"] != nil {
				t.Errorf("claims %v", claims)
			}
			tc.check(t, h, claims)

			// A new login gets a new sid; logging out twice sends nothing.
			if err := p.LogoutSession(t.Context()); err != nil || len(lr.received()) != 1 {
				t.Errorf("second logout: %v, %d tokens", err, len(lr.received()))
			}
		})
	}
}

func TestBackchannelLogoutFailure(t *testing.T) {
	rp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "nope", http.StatusBadRequest)
	}))
	defer rp.Close()
	c := testClient()
	c.BackchannelLogoutURI = rp.URL
	p := rptest.NewProvider(t, rptest.WithClient(c))
	newFlow(t, p, &c).login(t)
	if err := p.LogoutSession(t.Context()); err == nil || !strings.Contains(err.Error(), "400") {
		t.Errorf("LogoutSession: %v, want the RP's 400", err)
	}
}

func TestLogoutTokenClaims(t *testing.T) {
	p := rptest.NewProvider(t, rptest.WithClient(testClient()), rptest.WithSubject("dave"))
	c := p.LogoutTokenClaims(clientID, "sid-1")
	events, _ := c["events"].(map[string]any)
	if c["iss"] != p.Issuer() || c["sub"] != "dave" || c["sid"] != "sid-1" || c["exp"] == nil || events == nil {
		t.Errorf("claims %v", c)
	}
	if _, ok := p.LogoutTokenClaims(clientID, "")["sid"]; ok {
		t.Error(`sid "" is not left out`)
	}
}
