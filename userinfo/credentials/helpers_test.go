package credentials_test

import (
	"context"
	"crypto"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"

	"github.com/oidcrp/oidcrp/discovery"
	"github.com/oidcrp/oidcrp/rp/rptest"
	"github.com/oidcrp/oidcrp/userinfo/credentials"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// Tokens the fake endpoint accepts.
const (
	tokenA = "ory_at_token-a.secret"
	tokenB = "ory_at_token-b.secret"
)

// fakeVCI behaves like Ory Hydra v2.3.0's POST /credentials: a priming
// request gets 400 missing_proof with a nonce sealed to the access token;
// a request with a proof is checked (signature with the header's JWK,
// nonce sealed to this token and not expired) and answered with a
// credential signed by the rptest provider, its times as JSON floats.
// Switches make it misbehave.
type fakeVCI struct {
	op  *rptest.Provider
	srv *httptest.Server

	mu sync.Mutex // guards every field below
	// secret seals nonces; changing it invalidates them all.
	secret string
	// nonceTTL is the c_nonce_expires_in handed out.
	nonceTTL int64
	// requests counts every request; primes those without proof.
	requests, primes int
	// lastProofHeader and lastProofClaims are of the last proof received.
	lastProofHeader jws.Headers
	lastProofClaims map[string]any
	lastRequest     map[string]any
	lastAuth        string
	// edit changes the credential's claims before signing; sign replaces
	// the signing (default: op.Sign).
	edit func(claims map[string]any)
	sign func(claims map[string]any) string
	// answer, when set, replaces the credential answer body.
	answer func(cred string) (status int, body string)
	// primeAnswer, when set, replaces the priming answer.
	primeAnswer func() (status int, body string)
	// rejectNonces makes every proof's nonce invalid.
	rejectNonces bool
}

// newFakeVCI starts the endpoint and an rptest provider whose discovery
// names it; meta may edit the discovery document.
func newFakeVCI(t *testing.T, meta func(map[string]any)) *fakeVCI {
	t.Helper()
	f := &fakeVCI{secret: "secret-1", nonceTTL: 3600}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	opts := []rptest.Option{rptest.WithMetadata(func(m map[string]any) {
		m["credentials_endpoint_draft_00"] = f.srv.URL + "/credentials"
		m["credentials_supported_draft_00"] = []map[string]any{{
			"format": "jwt_vc_json",
			"types":  []string{"VerifiableCredential", "UserInfoCredential"},
			"cryptographic_binding_methods_supported": []string{"jwk"},
			"cryptographic_suites_supported":          []string{"PS256", "RS256", "ES256", "PS384", "RS384", "ES384", "PS512", "RS512", "ES512", "EdDSA"},
		}}
	})}
	if meta != nil {
		opts = append(opts, rptest.WithMetadata(meta))
	}
	f.op = rptest.NewProvider(t, opts...)
	return f
}

// nonceFor is the nonce the fake hands out for token: sealed to it.
func (f *fakeVCI) nonceFor(token string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.nonceLocked(token)
}

func (f *fakeVCI) nonceLocked(token string) string {
	m := hmac.New(sha256.New, []byte(f.secret))
	m.Write([]byte(token))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func (f *fakeVCI) set(fn func(f *fakeVCI)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

func (f *fakeVCI) counts() (requests, primes int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests, f.primes
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func (f *fakeVCI) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests++
	f.lastAuth = r.Header.Get("Authorization")
	token, ok := strings.CutPrefix(f.lastAuth, "Bearer ")
	if r.Method != http.MethodPost || !ok || (token != tokenA && token != tokenB) || r.URL.RawQuery != "" {
		writeJSON(w, 401, map[string]string{"error": "request_unauthorized", "error_description": "The request could not be authorized."})
		return
	}
	var req struct {
		Format string   `json:"format"`
		Types  []string `json:"types"`
		Proof  *struct {
			ProofType string `json:"proof_type"`
			JWT       string `json:"jwt"`
		} `json:"proof"`
	}
	body, _ := io.ReadAll(r.Body)
	json.Unmarshal(body, &f.lastRequest)
	if err := json.Unmarshal(body, &req); err != nil {
		writeJSON(w, 400, map[string]string{"error": "invalid_request", "error_description": "Unable to decode request body."})
		return
	}
	if req.Format != "jwt_vc_json" {
		writeJSON(w, 400, map[string]string{"error": "invalid_request", "error_description": "The format '" + req.Format + "' is not supported."})
		return
	}
	if req.Proof == nil {
		f.primes++
		if f.primeAnswer != nil {
			status, b := f.primeAnswer()
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			io.WriteString(w, b)
			return
		}
		writeJSON(w, 400, map[string]any{
			"error": "missing_proof", "error_description": "Could not issue a verifiable credential because the proof is missing in the request.",
			"format": "jwt_vc", "c_nonce": f.nonceLocked(token), "c_nonce_expires_in": f.nonceTTL,
		})
		return
	}
	if req.Proof.ProofType != "jwt" {
		writeJSON(w, 400, map[string]string{"error": "invalid_request", "error_description": "bad proof type"})
		return
	}
	msg, err := jws.Parse([]byte(req.Proof.JWT))
	if err != nil || len(msg.Signatures()) != 1 {
		writeJSON(w, 400, map[string]string{"error": "invalid_request", "error_description": "The JWT in the proof is malformed."})
		return
	}
	hdr := msg.Signatures()[0].ProtectedHeaders()
	key := hdr.JWK()
	if key == nil {
		writeJSON(w, 400, map[string]string{"error": "invalid_request", "error_description": "The JWK in the JWT header is malformed."})
		return
	}
	payload, err := jws.Verify([]byte(req.Proof.JWT), jws.WithKey(hdr.Algorithm(), key))
	if err != nil {
		writeJSON(w, 400, map[string]string{"error": "invalid_request", "error_description": "The JWT was not signed with the correct key supplied in the JWK header."})
		return
	}
	f.lastProofHeader = hdr
	f.lastProofClaims = nil
	json.Unmarshal(payload, &f.lastProofClaims)
	nonce, _ := f.lastProofClaims["nonce"].(string)
	if f.rejectNonces || nonce != f.nonceLocked(token) {
		writeJSON(w, 400, map[string]string{"error": "invalid_request",
			"error_description": "The request is missing a required parameter, includes an invalid parameter value, includes a parameter more than once, or is otherwise malformed. The nonce is invalid."})
		return
	}
	jwkJSON, _ := json.Marshal(key)
	did := "did:jwk:" + base64.RawURLEncoding.EncodeToString(jwkJSON)
	now := time.Now()
	claims := map[string]any{
		"iss": f.op.Issuer(), "sub": did, "jti": "vc-1",
		"iat": floatTime(now), "nbf": floatTime(now), "exp": floatTime(now.Add(time.Hour)),
		"vc": map[string]any{
			"@context": []string{"https://www.w3.org/2018/credentials/v1"},
			"type":     []string{"VerifiableCredential", "UserInfoCredential"},
			"credentialSubject": map[string]any{
				"id": did, "sub": "alice", "email": "alice@example.com", "sid": "session-1",
			},
		},
	}
	if f.edit != nil {
		f.edit(claims)
	}
	var cred string
	if f.sign != nil {
		cred = f.sign(claims)
	} else if cred, err = f.op.Sign(claims); err != nil {
		http.Error(w, err.Error(), 500)
		return
	}
	if f.answer != nil {
		status, b := f.answer(cred)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, b)
		return
	}
	writeJSON(w, 200, map[string]string{"format": "jwt_vc_json", "credential_draft_00": cred})
}

// floatTime renders t the way Ory Hydra does: a JSON float in exponent
// form.
func floatTime(t time.Time) json.RawMessage {
	return json.RawMessage(strconv.FormatFloat(float64(t.Unix()), 'e', -1, 64))
}

func newDiscovery(t *testing.T, issuer string) *discovery.Provider {
	t.Helper()
	p, err := discovery.New(discovery.Config{Issuer: issuer, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// newClient returns a client for f with holder (nil means a fresh P-256
// key); cfg may adjust the config.
func newClient(t *testing.T, f *fakeVCI, holder crypto.Signer, cfg func(*credentials.Config)) *credentials.Client {
	t.Helper()
	if holder == nil {
		k, err := credentials.GenerateHolderKey()
		if err != nil {
			t.Fatal(err)
		}
		holder = k
	}
	c := credentials.Config{Provider: newDiscovery(t, f.op.Issuer()), Holder: holder}
	if cfg != nil {
		cfg(&c)
	}
	vc, err := credentials.New(c)
	if err != nil {
		t.Fatal(err)
	}
	return vc
}

func ctxTimeout(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// otherJWK is a fresh public JWK, not the holder's.
func otherJWK(t *testing.T) jwk.Key {
	t.Helper()
	k, err := credentials.GenerateHolderKey()
	if err != nil {
		t.Fatal(err)
	}
	pub, err := jwk.FromRaw(k.Public())
	if err != nil {
		t.Fatal(err)
	}
	return pub
}
