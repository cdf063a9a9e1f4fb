package rp_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/oidcrp/oidcrp/rp"
	"github.com/oidcrp/oidcrp/rp/rptest"
	"github.com/oidcrp/oidcrp/rp/session"
)

// claims fetches /claims: the merged claims and whether userinfo is known.
func (b *browser) claims() (map[string]any, bool) {
	b.t.Helper()
	status, body, _ := b.get("/claims", "Accept", "application/json")
	if status != 200 {
		b.t.Fatalf("/claims: %d %s", status, body)
	}
	var out struct {
		Claims   map[string]any `json:"claims"`
		UserInfo bool           `json:"userinfo"`
	}
	if err := json.Unmarshal([]byte(body), &out); err != nil {
		b.t.Fatal(err)
	}
	return out.Claims, out.UserInfo
}

func userinfoEnv(t *testing.T, edit func(*rp.Config)) *env {
	return newEnv(t, envOption{
		config: func(c *rp.Config) {
			c.UserInfo = true
			if edit != nil {
				edit(c)
			}
		},
		provider: []rptest.Option{rptest.WithAccessTokenTTL(10 * time.Minute), rptest.WithClaims(map[string]any{"email": "alice@example.com", "name": "Alice", "locale": "de-CH"})},
	})
}

func TestUserInfoEnrichment(t *testing.T) {
	e := userinfoEnv(t, nil)
	b := e.browser()
	b.login()
	if n := e.op.Count("userinfo"); n != 1 {
		t.Fatalf("%d userinfo calls at login, want 1", n)
	}
	claims, has := b.claims()
	if !has || claims["locale"] != "de-CH" || claims["sub"] != "alice" {
		t.Errorf("claims %v (userinfo %v)", claims, has)
	}
	for i := 0; i < 10; i++ {
		b.claims()
	}
	if n := e.op.Count("userinfo"); n != 1 {
		t.Errorf("%d userinfo calls after 10 requests, want 1 (cached)", n)
	}
	e.clock.Advance(6 * time.Minute) // past UserInfoTTL
	b.claims()
	if n := e.op.Count("userinfo"); n != 2 {
		t.Errorf("%d userinfo calls after the TTL, want 2", n)
	}
	e.clock.Advance(4*time.Minute + 30*time.Second) // the token is refreshed
	b.claims()
	if e.op.Count("refresh") != 1 || e.op.Count("userinfo") != 3 {
		t.Errorf("after refresh: %d refreshes, %d userinfo calls; want 1 and 3", e.op.Count("refresh"), e.op.Count("userinfo"))
	}
}

func TestUserInfoProviderDown(t *testing.T) {
	e := userinfoEnv(t, nil)
	b := e.browser()
	b.login()
	e.op.SetMisbehaviour(rptest.Misbehaviour{UserinfoStatus: http.StatusInternalServerError})
	e.clock.Advance(6 * time.Minute)
	for i := 0; i < 5; i++ {
		claims, has := b.claims()
		if !has || claims["locale"] != "de-CH" {
			t.Fatalf("request %d with userinfo down: claims %v, userinfo %v", i, claims, has)
		}
	}
	if n := e.op.Count("userinfo"); n != 2 {
		t.Errorf("%d userinfo calls, want 2 (no retry storm while it is down)", n)
	}
}

func TestUserInfoSubjectMismatch(t *testing.T) {
	e := userinfoEnv(t, nil)
	e.op.SetMisbehaviour(rptest.Misbehaviour{UserinfoWrongSub: true})
	b := e.browser()
	b.login()
	claims, has := b.claims()
	if has {
		t.Error("a userinfo answer about another subject was used")
	}
	if claims["sub"] != "alice" {
		t.Errorf("claims %v", claims)
	}
}

func TestUserInfoNotInCookie(t *testing.T) {
	plain := newEnv(t, envOption{provider: []rptest.Option{rptest.WithClaims(map[string]any{"email": "alice@example.com", "name": "Alice", "locale": "de-CH"})}})
	a := plain.browser()
	a.login()
	enriched := userinfoEnv(t, nil)
	b := enriched.browser()
	b.login()
	la, lb := len(a.cookie("oidcrp_session").Value), len(b.cookie("oidcrp_session").Value)
	if lb > la+8 {
		t.Errorf("session cookie grew from %d to %d bytes with userinfo", la, lb)
	}
}

func TestUserInfoSurvivesRestartWithServerStore(t *testing.T) {
	backend := session.NewMemoryBackend()
	e := userinfoEnv(t, func(c *rp.Config) {
		c.Store = session.NewServerStore(backend, session.CookieOptions{})
	})
	b := e.browser()
	b.login()
	// A new process (empty in-process cache) while the provider's userinfo
	// endpoint is down still knows the user's claims from the record.
	cfg := e.cfg
	cfg.Store = session.NewServerStore(backend, session.CookieOptions{})
	cfg.UserInfo = true
	r2, err := rp.New(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	e.op.SetMisbehaviour(rptest.Misbehaviour{UserinfoStatus: http.StatusBadGateway})
	h := r2.RequireAuth(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		s, _ := rp.SessionFrom(req.Context())
		info, ok := s.UserInfo()
		if !ok || info.Locale != "de-CH" {
			http.Error(w, "no userinfo", 500)
		}
	}))
	req, _ := http.NewRequest(http.MethodGet, e.app.URL+"/private", nil)
	for _, c := range b.cookies() {
		req.AddCookie(c)
	}
	rec := newRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 200 {
		t.Errorf("restarted RP: %d %s", rec.Code, rec.Body)
	}
}
