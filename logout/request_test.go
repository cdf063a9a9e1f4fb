package logout_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/oidcrp/oidcrp/logout"
	"github.com/oidcrp/oidcrp/rp/rptest"
)

func TestParseRequest(t *testing.T) {
	e := newEnv(t)
	v := e.verifier(t, nil)
	tests := []struct {
		name        string
		req         func() *http.Request
		want        string
		wantErr     error
		wantStatus  int // of WriteBackchannelResponse
		wantAllowed string
	}{
		{
			name: "valid",
			req:  func() *http.Request { return formRequest("logout_token=abc.def.ghi") },
			want: "abc.def.ghi", wantStatus: http.StatusOK,
		},
		{
			name: "valid with charset and other parameters",
			req: func() *http.Request {
				r := formRequest("x=1&logout_token=abc.def.ghi")
				r.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=UTF-8")
				return r
			},
			want: "abc.def.ghi", wantStatus: http.StatusOK,
		},
		{
			name: "GET",
			req: func() *http.Request {
				r := httptest.NewRequest(http.MethodGet, "/backchannel-logout?logout_token=abc.def.ghi", nil)
				return r
			},
			wantErr: logout.ErrMethodNotAllowed, wantStatus: http.StatusMethodNotAllowed, wantAllowed: http.MethodPost,
		},
		{
			name: "JSON content type",
			req: func() *http.Request {
				r := formRequest(`{"logout_token":"abc.def.ghi"}`)
				r.Header.Set("Content-Type", "application/json")
				return r
			},
			wantErr: logout.ErrInvalidRequest, wantStatus: http.StatusBadRequest,
		},
		{
			name: "no content type",
			req: func() *http.Request {
				r := formRequest("logout_token=abc.def.ghi")
				r.Header.Del("Content-Type")
				return r
			},
			wantErr: logout.ErrInvalidRequest, wantStatus: http.StatusBadRequest,
		},
		{
			name:    "oversize body",
			req:     func() *http.Request { return formRequest("logout_token=" + strings.Repeat("a", logout.MaxRequestBody)) },
			wantErr: logout.ErrInvalidRequest, wantStatus: http.StatusBadRequest,
		},
		{
			name:    "two logout_token parameters",
			req:     func() *http.Request { return formRequest("logout_token=abc.def.ghi&logout_token=jkl.mno.pqr") },
			wantErr: logout.ErrInvalidRequest, wantStatus: http.StatusBadRequest,
		},
		{
			name:    "missing logout_token",
			req:     func() *http.Request { return formRequest("token=abc.def.ghi") },
			wantErr: logout.ErrInvalidRequest, wantStatus: http.StatusBadRequest,
		},
		{
			name:    "empty logout_token",
			req:     func() *http.Request { return formRequest("logout_token=") },
			wantErr: logout.ErrInvalidRequest, wantStatus: http.StatusBadRequest,
		},
		{
			name: "logout_token only in the query",
			req: func() *http.Request {
				r := formRequest("")
				r.URL.RawQuery = "logout_token=abc.def.ghi"
				return r
			},
			wantErr: logout.ErrInvalidRequest, wantStatus: http.StatusBadRequest,
		},
		{
			name:    "malformed body",
			req:     func() *http.Request { return formRequest("logout_token=%zz") },
			wantErr: logout.ErrInvalidRequest, wantStatus: http.StatusBadRequest,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			got, err := v.ParseRequest(w, tc.req())
			if got != tc.want || !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
				t.Fatalf("ParseRequest = %q, %v; want %q, %v", got, err, tc.want, tc.wantErr)
			}
			// Without a ResponseWriter the outcome is the same.
			if got2, err2 := v.ParseRequest(nil, tc.req()); got2 != got || !errors.Is(err2, tc.wantErr) {
				t.Errorf("ParseRequest(nil, …) = %q, %v", got2, err2)
			}
			logout.WriteBackchannelResponse(w, err)
			res := w.Result()
			if res.StatusCode != tc.wantStatus || res.Header.Get("Cache-Control") != "no-store" {
				t.Errorf("response %d Cache-Control %q, want %d no-store", res.StatusCode, res.Header.Get("Cache-Control"), tc.wantStatus)
			}
			if res.Header.Get("Allow") != tc.wantAllowed {
				t.Errorf("Allow = %q, want %q", res.Header.Get("Allow"), tc.wantAllowed)
			}
			if tc.wantStatus == http.StatusBadRequest {
				var body map[string]string
				if err := json.NewDecoder(res.Body).Decode(&body); err != nil || body["error"] != "invalid_request" || len(body) != 1 {
					t.Errorf("body %v (%v), want {\"error\":\"invalid_request\"}", body, err)
				}
			}
		})
	}
}

// backchannelRP is a relying party's back-channel logout endpoint built
// from a Verifier; it keeps the claims it accepted.
type backchannelRP struct {
	*httptest.Server
	mu       sync.Mutex // guards accepted and errs
	accepted []*logout.Claims
	errs     []error
}

func newBackchannelRP(t *testing.T, v *logout.Verifier) *backchannelRP {
	rp := &backchannelRP{}
	rp.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, err := v.VerifyRequest(w, r)
		rp.mu.Lock()
		if err != nil {
			rp.errs = append(rp.errs, err)
		} else {
			rp.accepted = append(rp.accepted, claims)
		}
		rp.mu.Unlock()
		logout.WriteBackchannelResponse(w, err)
	}))
	t.Cleanup(rp.Close)
	return rp
}

func (rp *backchannelRP) results() ([]*logout.Claims, []error) {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	return append([]*logout.Claims(nil), rp.accepted...), append([]error(nil), rp.errs...)
}

// TestBackchannelEndToEnd lets the fake provider deliver logout tokens the
// way a conforming provider and the way Ory Hydra does.
func TestBackchannelEndToEnd(t *testing.T) {
	tests := []struct {
		name       string
		hydra      bool
		cfg        func(*logout.VerifierConfig)
		wantErr    error // the provider's delivery fails with 400
		wantSub    string
		wantExpiry bool
	}{
		{name: "conforming provider", wantSub: rptest.DefaultSubject, wantExpiry: true},
		{name: "like Hydra", hydra: true},
		{name: "like Hydra, strict about exp", hydra: true,
			cfg: func(c *logout.VerifierConfig) { c.RequireExp = true }, wantErr: logout.ErrNoExpiry},
		{name: "like Hydra, strict about typ", hydra: true,
			cfg: func(c *logout.VerifierConfig) { c.RequireExplicitType = true }, wantErr: logout.ErrType},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			rp := newBackchannelRP(t, e.verifier(t, tc.cfg))
			// A client that takes part in the session and receives the token.
			const bcRedirect = "http://127.0.0.1:9/bc-callback"
			e.op.RegisterClient(rptest.Client{ID: clientID, Secret: "secret", RedirectURIs: []string{bcRedirect},
				BackchannelLogoutURI: rp.URL + "/backchannel-logout"})
			e.op.SetMisbehaviour(rptest.Misbehaviour{LogoutTokenLikeHydra: tc.hydra})
			e.login(t, clientID, bcRedirect)
			sid := e.op.SessionID()

			err := e.op.LogoutSession(t.Context())
			accepted, errs := rp.results()
			if tc.wantErr != nil {
				if err == nil || len(accepted) != 0 || len(errs) != 1 || !errors.Is(errs[0], tc.wantErr) {
					t.Fatalf("delivery error %v, accepted %v, errors %v; want a 400 and %v", err, accepted, errs, tc.wantErr)
				}
				return
			}
			if err != nil || len(accepted) != 1 {
				t.Fatalf("delivery error %v, accepted %v, errors %v", err, accepted, errs)
			}
			c := accepted[0]
			if c.Issuer != e.op.Issuer() || c.SID != sid || c.Subject != tc.wantSub || c.Expiry.IsZero() == tc.wantExpiry {
				t.Errorf("claims %+v; want sid %q sub %q, expiry %v", c, sid, tc.wantSub, tc.wantExpiry)
			}
		})
	}
}

// TestBackchannelReplayOverHTTP: an attacker who captured a delivered
// logout token cannot play it again.
func TestBackchannelReplayOverHTTP(t *testing.T) {
	e := newEnv(t)
	rp := newBackchannelRP(t, e.verifier(t, nil))
	tok := e.sign(t, e.op.LogoutTokenClaims(clientID, "sid-1"), typed())
	post := func() int {
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, rp.URL,
			strings.NewReader(url.Values{"logout_token": {tok}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if first, second := post(), post(); first != http.StatusOK || second != http.StatusBadRequest {
		t.Fatalf("statuses %d then %d, want 200 then 400", first, second)
	}
	if _, errs := rp.results(); len(errs) != 1 || !errors.Is(errs[0], logout.ErrReplay) {
		t.Errorf("errors %v, want one ErrReplay", errs)
	}
}
