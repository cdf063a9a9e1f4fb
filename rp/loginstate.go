package rp

import (
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"sort"
	"strings"
	"time"
)

// flowCookiePrefix starts the name of every login-state cookie; the rest of
// the name identifies the flow, so parallel logins (several tabs) each have
// their own cookie.
const flowCookiePrefix = "oidcrp_flow_"

// flowIDLen is how much of the state names the flow's cookie.
const flowIDLen = 16

// loginFlow is what the RP remembers about one login in progress. It lives
// in a sealed, single-use cookie that expires with the flow.
type loginFlow struct {
	State    string `json:"s"`
	Nonce    string `json:"n"`
	Verifier string `json:"v"`
	ReturnTo string `json:"r"`
	Created  int64  `json:"c"`
	// MaxAge is the max_age sent, or -1.
	MaxAge int64 `json:"m"`
	// ACR lists the acr values one of which the ID token must carry
	// (RequireACR); empty means any.
	ACR []string `json:"a,omitempty"`
}

// randomString returns n random bytes, base64url-encoded.
func randomString(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// deriveKey derives a purpose-bound key from a configured secret.
func deriveKey(secret []byte, purpose string) []byte {
	k, err := hkdf.Key(sha256.New, secret, nil, purpose, 32)
	if err != nil {
		// Only reachable with a key length hkdf cannot produce.
		panic("rp: hkdf: " + err.Error())
	}
	return k
}

func flowCookieName(state string) string {
	if len(state) > flowIDLen {
		state = state[:flowIDLen]
	}
	return flowCookiePrefix + state
}

// saveFlow writes f's cookie and drops the oldest flows beyond the cap.
func (r *RP) saveFlow(w http.ResponseWriter, req *http.Request, f *loginFlow) error {
	name := flowCookieName(f.State)
	plain, err := json.Marshal(f)
	if err != nil {
		return err
	}
	sealed, err := r.codec.Seal(name, plain)
	if err != nil {
		return err
	}
	// Keep at most MaxLoginFlows-1 older flows so that this one fits.
	type live struct {
		name    string
		created int64
	}
	var flows []live
	for _, c := range req.Cookies() {
		if !strings.HasPrefix(c.Name, flowCookiePrefix) || c.Name == name {
			continue
		}
		old, ok := r.openFlow(c)
		if !ok || r.flowExpired(old) {
			r.clearFlowCookie(w, c.Name)
			continue
		}
		flows = append(flows, live{c.Name, old.Created})
	}
	if extra := len(flows) - (r.cfg.MaxLoginFlows - 1); extra > 0 {
		sort.Slice(flows, func(i, j int) bool { return flows[i].created < flows[j].created })
		for _, f := range flows[:extra] {
			r.clearFlowCookie(w, f.name)
		}
	}
	http.SetCookie(w, &http.Cookie{
		Name:     name,
		Value:    sealed,
		Path:     "/",
		MaxAge:   int(r.cfg.LoginFlowTTL / time.Second),
		HttpOnly: true,
		Secure:   r.secure,
		SameSite: http.SameSiteLaxMode,
	})
	return nil
}

// openFlow opens a login-state cookie; false for anything tampered, foreign
// or malformed.
func (r *RP) openFlow(c *http.Cookie) (*loginFlow, bool) {
	plain, err := r.codec.Open(c.Name, c.Value)
	if err != nil {
		return nil, false
	}
	var f loginFlow
	if err := json.Unmarshal(plain, &f); err != nil || f.State == "" || flowCookieName(f.State) != c.Name {
		return nil, false
	}
	return &f, true
}

func (r *RP) flowExpired(f *loginFlow) bool {
	return r.now().After(time.Unix(f.Created, 0).Add(r.cfg.LoginFlowTTL))
}

func (r *RP) clearFlowCookie(w http.ResponseWriter, name string) {
	http.SetCookie(w, &http.Cookie{
		Name:     name,
		Value:    "",
		Path:     "/",
		MaxAge:   -1,
		HttpOnly: true,
		Secure:   r.secure,
		SameSite: http.SameSiteLaxMode,
	})
}
