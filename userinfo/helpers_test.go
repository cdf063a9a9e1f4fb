package userinfo_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/oidcrp/oidcrp/discovery"
	"github.com/oidcrp/oidcrp/rp/rptest"
	"github.com/oidcrp/oidcrp/userinfo"
)

const (
	testClientID = "app"
	testSecret   = "app-secret-0123456789"
	testRedirect = "http://127.0.0.1:8080/callback"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// testClient is the client registered with every fake provider.
var testClient = rptest.Client{ID: testClientID, Secret: testSecret, RedirectURIs: []string{testRedirect}}

// newDiscovery returns a discovery.Provider for issuer, closed when t ends.
func newDiscovery(t testing.TB, issuer string) *discovery.Provider {
	t.Helper()
	p, err := discovery.New(discovery.Config{Issuer: issuer, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// newClient returns a userinfo client for issuer; cfg may adjust the
// config.
func newClient(t *testing.T, issuer string, cfg func(*userinfo.Config)) *userinfo.Client {
	t.Helper()
	c := userinfo.Config{Provider: newDiscovery(t, issuer), ClientID: testClientID}
	if cfg != nil {
		cfg(&c)
	}
	uic, err := userinfo.New(c)
	if err != nil {
		t.Fatal(err)
	}
	return uic
}

// login runs a code flow against p and returns the access token.
func login(t *testing.T, p *rptest.Provider) string {
	t.Helper()
	ctx := context.WithValue(t.Context(), oauth2.HTTPClient, p.Client())
	conf := oauth2.Config{
		ClientID:     testClientID,
		ClientSecret: testSecret,
		RedirectURL:  testRedirect,
		Endpoint:     oauth2.Endpoint{AuthURL: p.Issuer() + rptest.AuthorizePath, TokenURL: p.Issuer() + rptest.TokenPath},
		Scopes:       []string{"openid", "email", "profile"},
	}
	verifier := oauth2.GenerateVerifier()
	cb := p.Authorize(t, conf.AuthCodeURL("state-0123456789", oauth2.S256ChallengeOption(verifier),
		oauth2.SetAuthURLParam("nonce", "nonce-0123456789")))
	tok, err := conf.Exchange(ctx, cb.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	return tok.AccessToken
}

// recorded is what a scripted userinfo endpoint received.
type recorded struct {
	method string
	url    string
	header http.Header
	body   []byte
}

// scripted is a userinfo endpoint answering with a test's handler and
// recording the requests, behind an rptest provider whose discovery names
// it as userinfo_endpoint (and whose keys sign responses).
type scripted struct {
	op  *rptest.Provider
	srv *httptest.Server

	mu   sync.Mutex // guards reqs
	reqs []recorded
}

// responder answers a userinfo request; op signs with the trusted keys.
type responder func(op *rptest.Provider, w http.ResponseWriter, r *http.Request)

// newScripted starts the endpoint answering with h; meta may edit the
// provider's discovery document further.
func newScripted(t testing.TB, h responder, meta func(map[string]any)) *scripted {
	t.Helper()
	s := &scripted{}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.reqs = append(s.reqs, recorded{method: r.Method, url: r.URL.String(), header: r.Header.Clone(), body: body})
		s.mu.Unlock()
		h(s.op, w, r)
	}))
	t.Cleanup(s.srv.Close)
	opts := []rptest.Option{
		rptest.WithClient(testClient),
		rptest.WithMetadata(func(m map[string]any) { m["userinfo_endpoint"] = s.srv.URL + "/userinfo" }),
	}
	if meta != nil {
		opts = append(opts, rptest.WithMetadata(meta))
	}
	s.op = rptest.NewProvider(t, opts...)
	return s
}

func (s *scripted) requests() []recorded {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]recorded(nil), s.reqs...)
}

// serve answers with status, content type, body and header pairs.
func serve(status int, contentType, body string, header ...string) responder {
	return func(_ *rptest.Provider, w http.ResponseWriter, _ *http.Request) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Add(header[i], header[i+1])
		}
		if contentType != "" {
			w.Header().Set("Content-Type", contentType)
		} else {
			w.Header()["Content-Type"] = nil // no sniffing either
		}
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
}

func ctxTimeout(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}
