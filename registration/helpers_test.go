package registration

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeOP is an in-process OpenID provider with a registration endpoint
// that behaves like Ory Hydra v2.3.0 (201 with an admin Location, RAT
// rotation on PUT, 403 for a client_secret in a PUT, 401 after delete,
// Hydra-shaped error bodies), and a token endpoint that authenticates
// clients. Switches make it misbehave.
type fakeOP struct {
	srv *httptest.Server

	// mu guards every field below.
	mu      sync.Mutex
	clients map[string]*fakeClient
	seq     int
	// issued holds every secret and token handed out, to check logs.
	issued []string
	// requests records every request: "METHOD path auth".
	requests []string
	// registrations counts successful registrations.
	registrations int
	// iatSeen records the Authorization header of each register request.
	iatSeen []string
	// putBodies records each PUT body.
	putBodies []map[string]any

	publicBase        string        // published base URL; empty: the server's own URL
	advertise         bool          // registration_endpoint in discovery
	rotateOnPut       bool          // new RAT on every PUT (Hydra)
	rotateSecretOnPut bool          // new secret on every PUT
	secretTTL         time.Duration // 0: secrets never expire (Hydra)
	registerDelay     time.Duration
	now               func() time.Time
	// answer, when set, rewrites every successful answer body.
	answer func(op string, body map[string]any)
	// override, when set and returning true, has answered the request.
	override func(w http.ResponseWriter, r *http.Request) bool
}

type fakeClient struct {
	id, secret, rat string
	md              map[string]any
	expiresAt       int64
}

func newFakeOP(t *testing.T) *fakeOP {
	t.Helper()
	op := &fakeOP{clients: map[string]*fakeClient{}, advertise: true, rotateOnPut: true, now: time.Now}
	op.srv = httptest.NewServer(http.HandlerFunc(op.serve))
	t.Cleanup(op.srv.Close)
	return op
}

func (op *fakeOP) URL() string         { return op.srv.URL }
func (op *fakeOP) endpoint() string    { return op.srv.URL + "/oauth2/register" }
func (op *fakeOP) set(f func(*fakeOP)) { op.mu.Lock(); f(op); op.mu.Unlock() }

func (op *fakeOP) count() int {
	op.mu.Lock()
	defer op.mu.Unlock()
	return op.registrations
}

func (op *fakeOP) live() int {
	op.mu.Lock()
	defer op.mu.Unlock()
	return len(op.clients)
}

func (op *fakeOP) requestsMatching(prefix string) int {
	op.mu.Lock()
	defer op.mu.Unlock()
	n := 0
	for _, r := range op.requests {
		if strings.HasPrefix(r, prefix) {
			n++
		}
	}
	return n
}

func (op *fakeOP) secrets() []string {
	op.mu.Lock()
	defer op.mu.Unlock()
	return slices.Clone(op.issued)
}

// client returns a copy of a registered client.
func (op *fakeOP) client(id string) (fakeClient, bool) {
	op.mu.Lock()
	defer op.mu.Unlock()
	c, ok := op.clients[id]
	if !ok {
		return fakeClient{}, false
	}
	cp := *c
	cp.md = maps.Clone(c.md)
	return cp, true
}

// adminSet changes a member of a client behind the application's back.
func (op *fakeOP) adminSet(id, member string, v any) {
	op.mu.Lock()
	defer op.mu.Unlock()
	op.clients[id].md[member] = v
}

// adminDelete deletes a client behind the application's back.
func (op *fakeOP) adminDelete(id string) {
	op.mu.Lock()
	defer op.mu.Unlock()
	delete(op.clients, id)
}

// adminRotateRAT gives a client a new RAT, as another replica's update
// would, and returns it.
func (op *fakeOP) adminRotateRAT(id string) string {
	op.mu.Lock()
	defer op.mu.Unlock()
	c := op.clients[id]
	c.rat = op.token("ory_at_")
	return c.rat
}

func (op *fakeOP) token(prefix string) string {
	t := prefix + rand.Text()
	op.issued = append(op.issued, t)
	return t
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// hydraError writes Ory Hydra's error shape for its own (herodot) errors.
func hydraError(w http.ResponseWriter, status int, phrase, reason string) {
	writeJSON(w, status, map[string]any{"error": phrase, "error_description": reason})
}

func (op *fakeOP) serve(w http.ResponseWriter, r *http.Request) {
	op.mu.Lock()
	op.requests = append(op.requests, r.Method+" "+r.URL.Path+" "+r.Header.Get("Authorization"))
	override := op.override
	delay := op.registerDelay
	op.mu.Unlock()
	if override != nil && override(w, r) {
		return
	}
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/.well-known/openid-configuration":
		op.discovery(w)
	case r.Method == http.MethodPost && r.URL.Path == "/oauth2/register":
		time.Sleep(delay)
		op.register(w, r)
	case strings.HasPrefix(r.URL.Path, "/oauth2/register/"):
		op.manage(w, r, strings.TrimPrefix(r.URL.Path, "/oauth2/register/"))
	case r.Method == http.MethodPost && r.URL.Path == "/oauth2/token":
		op.tokenEndpoint(w, r)
	default:
		http.NotFound(w, r)
	}
}

// base returns the base URL the provider publishes; op.mu must be held.
func (op *fakeOP) base() string {
	if op.publicBase != "" {
		return op.publicBase
	}
	return op.srv.URL
}

func (op *fakeOP) discovery(w http.ResponseWriter) {
	op.mu.Lock()
	defer op.mu.Unlock()
	u := op.base()
	md := map[string]any{
		"issuer":                                u,
		"authorization_endpoint":                u + "/oauth2/auth",
		"token_endpoint":                        u + "/oauth2/token",
		"jwks_uri":                              u + "/.well-known/jwks.json",
		"end_session_endpoint":                  u + "/oauth2/sessions/logout",
		"response_types_supported":              []string{"code"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"code_challenge_methods_supported":      []string{"plain", "S256"},
	}
	if op.advertise {
		md["registration_endpoint"] = u + "/oauth2/register"
	}
	writeJSON(w, http.StatusOK, md)
}

func (op *fakeOP) register(w http.ResponseWriter, r *http.Request) {
	var body map[string]any
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		hydraError(w, 400, "The request was malformed or contained invalid parameters", "Unable to decode the request body")
		return
	}
	if _, ok := body["client_secret"]; ok {
		hydraError(w, 400, "The request was malformed or contained invalid parameters", "It is not allowed to choose your own OAuth2 Client secret.")
		return
	}
	op.mu.Lock()
	defer op.mu.Unlock()
	op.iatSeen = append(op.iatSeen, r.Header.Get("Authorization"))
	op.seq++
	c := &fakeClient{id: fmt.Sprintf("client-%d", op.seq), md: body}
	if body["token_endpoint_auth_method"] == nil {
		body["token_endpoint_auth_method"] = "client_secret_basic"
	}
	if body["scope"] == nil {
		body["scope"] = "openid offline_access email profile"
	}
	body["userinfo_signed_response_alg"] = "none"
	body["subject_type"] = "public"
	body["skip_consent"] = false
	if body["token_endpoint_auth_method"] != "none" {
		c.secret = op.token("secret-")
	}
	c.rat = op.token("ory_at_")
	if op.secretTTL > 0 {
		c.expiresAt = op.now().Add(op.secretTTL).Unix()
	}
	op.clients[c.id] = c
	op.registrations++
	ans := op.full(c, true)
	if op.answer != nil {
		op.answer("register", ans)
	}
	w.Header().Set("Location", "/admin/clients/"+c.id)
	writeJSON(w, http.StatusCreated, ans)
}

// full builds a client information response.
func (op *fakeOP) full(c *fakeClient, withSecrets bool) map[string]any {
	ans := maps.Clone(c.md)
	// Hydra lists grant types in its own order.
	if gt, ok := ans["grant_types"].([]any); ok {
		gt = slices.Clone(gt)
		slices.Reverse(gt)
		ans["grant_types"] = gt
	}
	ans["client_id"] = c.id
	ans["client_secret_expires_at"] = c.expiresAt
	if withSecrets {
		if c.secret != "" {
			ans["client_secret"] = c.secret
		}
		ans["registration_access_token"] = c.rat
		ans["registration_client_uri"] = op.base() + "/oauth2/register/" + c.id
	}
	return ans
}

func (op *fakeOP) manage(w http.ResponseWriter, r *http.Request, id string) {
	op.mu.Lock()
	defer op.mu.Unlock()
	c, ok := op.clients[id]
	if !ok || r.Header.Get("Authorization") != "Bearer "+c.rat {
		hydraError(w, http.StatusUnauthorized, "The request could not be authorized",
			"The requested OAuth 2.0 client does not exist or you provided incorrect credentials.")
		return
	}
	switch r.Method {
	case http.MethodGet:
		ans := op.full(c, false)
		if op.answer != nil {
			op.answer("read", ans)
		}
		writeJSON(w, http.StatusOK, ans)
	case http.MethodPut:
		var body map[string]any
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			hydraError(w, 400, "The request was malformed or contained invalid parameters", "Is it valid JSON?")
			return
		}
		op.putBodies = append(op.putBodies, maps.Clone(body))
		if _, ok := body["client_secret"]; ok {
			hydraError(w, http.StatusForbidden, "The requested action was forbidden", "It is not allowed to choose your own OAuth2 Client secret.")
			return
		}
		delete(body, "client_id")
		if body["token_endpoint_auth_method"] == nil {
			body["token_endpoint_auth_method"] = "client_secret_basic"
		}
		c.md = body
		if op.rotateOnPut {
			c.rat = op.token("ory_at_")
		}
		ans := op.full(c, false)
		ans["registration_access_token"] = c.rat
		if op.rotateSecretOnPut {
			c.secret = op.token("secret-")
			if op.secretTTL > 0 {
				c.expiresAt = op.now().Add(op.secretTTL).Unix()
			}
			ans["client_secret"] = c.secret
			ans["client_secret_expires_at"] = c.expiresAt
		}
		if op.answer != nil {
			op.answer("update", ans)
		}
		writeJSON(w, http.StatusOK, ans)
	case http.MethodDelete:
		delete(op.clients, id)
		w.WriteHeader(http.StatusNoContent)
	default:
		http.Error(w, "method", http.StatusMethodNotAllowed)
	}
}

func (op *fakeOP) tokenEndpoint(w http.ResponseWriter, r *http.Request) {
	r.ParseForm()
	id, secret, basic := r.BasicAuth()
	if basic {
		id, _ = url.QueryUnescape(id)
		secret, _ = url.QueryUnescape(secret)
	} else {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	op.mu.Lock()
	c, ok := op.clients[id]
	op.mu.Unlock()
	if !ok || c.secret != secret {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"error": "invalid_client", "error_description": "Client authentication failed"})
		return
	}
	writeJSON(w, http.StatusBadRequest, map[string]any{"error": "invalid_grant", "error_description": "The authorization code is invalid"})
}

// syncBuffer is a log sink safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex // guards b
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// testEnv is a fake provider, a store and Ensure options wired together,
// with a log that is checked for secrets when the test ends.
type testEnv struct {
	op    *fakeOP
	store CredentialStore
	log   *syncBuffer
	now   time.Time
}

func newEnv(t *testing.T) *testEnv {
	t.Helper()
	env := &testEnv{op: newFakeOP(t), store: &MemoryStore{}, log: &syncBuffer{}, now: time.Unix(1_800_000_000, 0)}
	env.op.now = func() time.Time { return env.now }
	t.Cleanup(func() {
		logged := env.log.String()
		for _, s := range env.op.secrets() {
			if strings.Contains(logged, s) {
				t.Errorf("a secret or token appears in the log:\n%s", logged)
				return
			}
		}
	})
	return env
}

// wanted is the metadata the test application asks for.
func wanted() *Metadata {
	return &Metadata{
		ClientName:                       "test app",
		RedirectURIs:                     []string{"http://127.0.0.1:8080/callback", "http://localhost:8080/callback"},
		PostLogoutRedirectURIs:           []string{"http://127.0.0.1:8080/logout/done"},
		BackchannelLogoutURI:             "http://127.0.0.1:8080/backchannel-logout",
		BackchannelLogoutSessionRequired: true,
		GrantTypes:                       []string{"authorization_code", "refresh_token"},
		ResponseTypes:                    []string{"code"},
		Scope:                            "openid profile email offline_access",
		TokenEndpointAuthMethod:          "client_secret_basic",
	}
}

func (env *testEnv) options(md *Metadata) Options {
	return Options{
		Metadata: md,
		Store:    env.store,
		Issuer:   env.op.URL(),
		Logger:   slog.New(slog.NewTextHandler(env.log, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Now:      func() time.Time { return env.now },
	}
}

func (env *testEnv) ensure(t *testing.T, md *Metadata) (*Credentials, error) {
	t.Helper()
	return Ensure(t.Context(), env.options(md))
}

func (env *testEnv) mustEnsure(t *testing.T, md *Metadata) *Credentials {
	t.Helper()
	c, err := env.ensure(t, md)
	if err != nil {
		t.Fatalf("Ensure: %v", err)
	}
	return c
}

func (env *testEnv) stored(t *testing.T) *Credentials {
	t.Helper()
	c, err := env.store.Load(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
