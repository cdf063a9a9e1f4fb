package main

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/oidcrp/oidcrp/discovery"
)

// fakeOP is a small provider with discovery and an RFC 7591/7592
// registration endpoint that behaves like Ory Hydra: the registration
// access token rotates on every PUT, a client_secret in a PUT gets 403, a
// read after delete gets 401.
type fakeOP struct {
	srv *httptest.Server

	// mu guards every field below.
	mu        sync.Mutex
	clients   map[string]map[string]any
	rats      map[string]string
	secrets   map[string]string
	seq       int
	puts      []map[string]any
	authSeen  []string
	discovery map[string]any
}

func newFakeOP(t *testing.T) *fakeOP {
	op := &fakeOP{clients: map[string]map[string]any{}, rats: map[string]string{}, secrets: map[string]string{}}
	op.srv = httptest.NewServer(http.HandlerFunc(op.serve))
	t.Cleanup(op.srv.Close)
	u := op.srv.URL
	op.discovery = map[string]any{
		"issuer": u, "authorization_endpoint": u + "/oauth2/auth", "token_endpoint": u + "/oauth2/token",
		"jwks_uri": u + "/.well-known/jwks.json", "registration_endpoint": u + "/oauth2/register",
		"response_types_supported": []string{"code"}, "subject_types_supported": []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
	}
	return op
}

func (op *fakeOP) writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func (op *fakeOP) serve(w http.ResponseWriter, r *http.Request) {
	op.mu.Lock()
	defer op.mu.Unlock()
	if r.URL.Path == "/.well-known/openid-configuration" {
		op.writeJSON(w, 200, op.discovery)
		return
	}
	if r.Method == http.MethodPost && r.URL.Path == "/oauth2/register" {
		op.authSeen = append(op.authSeen, r.Header.Get("Authorization"))
		var md map[string]any
		json.NewDecoder(r.Body).Decode(&md)
		op.seq++
		id := fmt.Sprintf("client-%d", op.seq)
		op.clients[id] = md
		op.rats[id] = "ory_at_" + rand.Text()
		op.secrets[id] = "secret-" + rand.Text()
		ans := op.answer(id)
		ans["client_secret"] = op.secrets[id]
		ans["registration_access_token"] = op.rats[id]
		ans["registration_client_uri"] = op.srv.URL + "/oauth2/register/" + id
		w.Header().Set("Location", "/admin/clients/"+id)
		op.writeJSON(w, 201, ans)
		return
	}
	id, ok := strings.CutPrefix(r.URL.Path, "/oauth2/register/")
	if !ok {
		http.NotFound(w, r)
		return
	}
	if _, exists := op.clients[id]; !exists || r.Header.Get("Authorization") != "Bearer "+op.rats[id] {
		op.writeJSON(w, 401, map[string]any{"error": "The request could not be authorized",
			"error_description": "The requested OAuth 2.0 client does not exist or you provided incorrect credentials."})
		return
	}
	switch r.Method {
	case http.MethodGet:
		op.writeJSON(w, 200, op.answer(id))
	case http.MethodPut:
		var md map[string]any
		json.NewDecoder(r.Body).Decode(&md)
		op.puts = append(op.puts, md)
		if _, ok := md["client_secret"]; ok {
			op.writeJSON(w, 403, map[string]any{"error": "The requested action was forbidden"})
			return
		}
		delete(md, "client_id")
		op.clients[id] = md
		op.rats[id] = "ory_at_" + rand.Text()
		ans := op.answer(id)
		ans["registration_access_token"] = op.rats[id]
		op.writeJSON(w, 200, ans)
	case http.MethodDelete:
		delete(op.clients, id)
		w.WriteHeader(http.StatusNoContent)
	}
}

func (op *fakeOP) answer(id string) map[string]any {
	ans := map[string]any{"client_id": id, "client_secret_expires_at": 0}
	for k, v := range op.clients[id] {
		ans[k] = v
	}
	return ans
}

// cli runs the program in-process.
func cli(args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	code = run(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func decode(t *testing.T, s string) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, s)
	}
	return v
}

func TestUsage(t *testing.T) {
	file := filepath.Join(t.TempDir(), "c.json")
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStderr string
	}{
		{name: "no command", args: nil, wantCode: exitUsage, wantStderr: "usage: oidcrp"},
		{name: "unknown command", args: []string{"frobnicate"}, wantCode: exitUsage, wantStderr: `unknown command "frobnicate"`},
		{name: "help", args: []string{"help"}, wantCode: exitOK},
		{name: "command help", args: []string{"register", "-h"}, wantCode: exitOK, wantStderr: "-redirect-uri"},
		{name: "unknown flag", args: []string{"get", "-nope"}, wantCode: exitUsage, wantStderr: "flag provided but not defined"},
		{name: "register without endpoint", args: []string{"register", "-redirect-uri", "http://127.0.0.1/cb"}, wantCode: exitUsage, wantStderr: "-issuer or -registration-endpoint"},
		{name: "register without redirect URI", args: []string{"register", "-issuer", "https://id.example.com"}, wantCode: exitUsage, wantStderr: "-redirect-uri is required"},
		{name: "register with a public http redirect URI", args: []string{"register", "-issuer", "https://id.example.com", "-redirect-uri", "http://app.example.com/cb"}, wantCode: exitUsage, wantStderr: "must use https"},
		{name: "stray argument", args: []string{"get", "extra"}, wantCode: exitUsage, wantStderr: `unexpected argument "extra"`},
		{name: "discover without issuer", args: []string{"discover"}, wantCode: exitUsage, wantStderr: "issuer URL is required"},
		{name: "discover with a public http issuer", args: []string{"discover", "http://id.example.com"}, wantCode: exitUsage, wantStderr: "https"},
		{name: "get without credentials", args: []string{"get", "-credentials", file}, wantCode: exitError, wantStderr: "run oidcrp register first"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := cli(tc.args...)
			if code != tc.wantCode || !strings.Contains(stderr, tc.wantStderr) {
				t.Fatalf("exit %d, stderr:\n%s\nwant exit %d and %q", code, stderr, tc.wantCode, tc.wantStderr)
			}
		})
	}
}

func TestRegisterGetUpdateDelete(t *testing.T) {
	op := newFakeOP(t)
	file := filepath.Join(t.TempDir(), "oidcrp-client.json")
	t.Setenv(envInitialAccessToken, "iat-from-env")

	code, out, stderr := cli("register", "-issuer", op.srv.URL, "-credentials", file,
		"-redirect-uri", "http://127.0.0.1:8080/callback",
		"-post-logout-redirect-uri", "http://127.0.0.1:8080/logout/done",
		"-backchannel-logout-uri", "http://127.0.0.1:8080/backchannel-logout",
		"-name", "cli test")
	if code != exitOK {
		t.Fatalf("register: exit %d\n%s", code, stderr)
	}
	reg := decode(t, out)
	if reg["client_id"] != "client-1" || reg["client_secret"] != redactedValue || reg["registration_access_token"] != redactedValue {
		t.Errorf("register printed %v", reg)
	}
	if strings.Contains(out, op.secrets["client-1"]) || strings.Contains(out, op.rats["client-1"]) {
		t.Error("register printed a secret without -show-secrets")
	}
	if op.authSeen[0] != "Bearer iat-from-env" {
		t.Errorf("initial access token header %q", op.authSeen[0])
	}
	op.mu.Lock()
	md := op.clients["client-1"]
	op.mu.Unlock()
	if md["scope"] != defaultScope || md["backchannel_logout_session_required"] != true || md["token_endpoint_auth_method"] != "client_secret_basic" {
		t.Errorf("registered metadata %v", md)
	}
	fi, err := os.Stat(file)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("credentials file: %v %v", fi, err)
	}
	b, _ := os.ReadFile(file)
	if !strings.Contains(string(b), op.secrets["client-1"]) {
		t.Error("the credentials file lacks the secret")
	}

	if code, _, stderr := cli("register", "-issuer", op.srv.URL, "-credentials", file, "-redirect-uri", "http://127.0.0.1:8080/callback"); code != exitError || !strings.Contains(stderr, "already holds") {
		t.Errorf("second register: exit %d\n%s", code, stderr)
	}

	code, out, stderr = cli("get", "-credentials", file, "-show-secrets")
	if code != exitOK {
		t.Fatalf("get: exit %d\n%s", code, stderr)
	}
	got := decode(t, out)
	if got["client_secret"] != op.secrets["client-1"] {
		t.Error("get -show-secrets did not print the secret")
	}
	if m, _ := got["metadata"].(map[string]any); m["client_name"] != "cli test" {
		t.Errorf("get printed metadata %v", got["metadata"])
	}

	oldRAT := op.rats["client-1"]
	code, out, stderr = cli("update", "-credentials", file, "-redirect-uri", "http://127.0.0.1:9090/callback",
		"-post-logout-redirect-uri", "")
	if code != exitOK {
		t.Fatalf("update: exit %d\n%s", code, stderr)
	}
	put := op.puts[0]
	if _, ok := put["client_secret"]; ok {
		t.Error("update sent the client secret")
	}
	if put["client_name"] != "cli test" || put["backchannel_logout_uri"] == nil {
		t.Errorf("update did not send the full metadata: %v", put)
	}
	if _, ok := put["post_logout_redirect_uris"]; ok {
		t.Errorf("an empty flag did not clear post_logout_redirect_uris: %v", put)
	}
	if uris, _ := put["redirect_uris"].([]any); len(uris) != 1 || uris[0] != "http://127.0.0.1:9090/callback" {
		t.Errorf("redirect_uris sent %v", put["redirect_uris"])
	}
	b, _ = os.ReadFile(file)
	if strings.Contains(string(b), oldRAT) || !strings.Contains(string(b), op.rats["client-1"]) {
		t.Error("the rotated registration access token was not saved")
	}
	if decode(t, out)["registration_access_token"] != redactedValue {
		t.Error("update printed the token")
	}

	code, out, stderr = cli("delete", "-credentials", file)
	if code != exitOK {
		t.Fatalf("delete: exit %d\n%s", code, stderr)
	}
	if decode(t, out)["deleted"] != "client-1" || len(op.clients) != 0 {
		t.Errorf("delete printed %s; provider holds %d clients", out, len(op.clients))
	}
	if _, err := os.Stat(file); !os.IsNotExist(err) {
		t.Errorf("credentials file still there: %v", err)
	}
}

func TestGetAndDeleteWithAStaleToken(t *testing.T) {
	op := newFakeOP(t)
	file := filepath.Join(t.TempDir(), "c.json")
	if code, _, stderr := cli("register", "-registration-endpoint", op.srv.URL+"/oauth2/register", "-credentials", file,
		"-redirect-uri", "http://127.0.0.1:8080/callback"); code != exitOK {
		t.Fatalf("register: %s", stderr)
	}
	op.mu.Lock()
	op.rats["client-1"] = "ory_at_rotated-elsewhere"
	op.mu.Unlock()
	if code, _, stderr := cli("get", "-credentials", file); code != exitError || !strings.Contains(stderr, "newer registration access token") {
		t.Errorf("get: exit %d\n%s", code, stderr)
	}
	if code, _, stderr := cli("delete", "-credentials", file); code != exitError || !strings.Contains(stderr, "remove") {
		t.Errorf("delete: exit %d\n%s", code, stderr)
	}
	if _, err := os.Stat(file); err != nil {
		t.Error("the credentials file was removed although the delete failed")
	}
}

func TestRegisterWithoutAdvertisedEndpoint(t *testing.T) {
	op := newFakeOP(t)
	delete(op.discovery, "registration_endpoint")
	file := filepath.Join(t.TempDir(), "c.json")
	code, _, stderr := cli("register", "-issuer", op.srv.URL, "-credentials", file, "-redirect-uri", "http://127.0.0.1:8080/callback")
	if code != exitError || !strings.Contains(stderr, "-registration-endpoint") {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	code, _, stderr = cli("register", "-issuer", op.srv.URL, "-registration-endpoint", op.srv.URL+"/oauth2/register",
		"-credentials", file, "-redirect-uri", "http://127.0.0.1:8080/callback")
	if code != exitOK {
		t.Fatalf("with -registration-endpoint: exit %d\n%s", code, stderr)
	}
}

func TestDiscover(t *testing.T) {
	op := newFakeOP(t)
	code, out, stderr := cli("discover", op.srv.URL)
	if code != exitOK {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	var report struct {
		Issuer   string
		Findings []finding
		Metadata map[string]any
	}
	if err := json.Unmarshal([]byte(out), &report); err != nil {
		t.Fatal(err)
	}
	if report.Issuer != op.srv.URL || report.Metadata["token_endpoint"] != op.srv.URL+"/oauth2/token" {
		t.Errorf("report %+v", report)
	}
	members := map[string]bool{}
	for _, f := range report.Findings {
		members[f.Member] = true
	}
	for _, want := range []string{"code_challenge_methods_supported", "end_session_endpoint", "authorization_endpoint", "backchannel_logout_supported", "authorization_response_iss_parameter_supported"} {
		if !members[want] {
			t.Errorf("no finding about %s: %+v", want, report.Findings)
		}
	}
	for _, f := range report.Findings {
		if f.Member == "registration_endpoint" && strings.HasPrefix(f.Problem, "absent") {
			t.Errorf("registration_endpoint reported absent although advertised: %+v", f)
		}
	}
}

func TestFindings(t *testing.T) {
	good := func() map[string]any {
		return map[string]any{
			"issuer": "https://id.example.com", "authorization_endpoint": "https://id.example.com/auth",
			"token_endpoint": "https://id.example.com/token", "userinfo_endpoint": "https://id.example.com/userinfo",
			"jwks_uri": "https://id.example.com/jwks", "registration_endpoint": "https://id.example.com/register",
			"revocation_endpoint": "https://id.example.com/revoke", "end_session_endpoint": "https://id.example.com/logout",
			"response_types_supported": []string{"code"}, "subject_types_supported": []string{"public"},
			"id_token_signing_alg_values_supported": []string{"RS256"}, "code_challenge_methods_supported": []string{"S256"},
			"backchannel_logout_supported": true, "frontchannel_logout_supported": true,
			"authorization_response_iss_parameter_supported": true,
		}
	}
	tests := []struct {
		name   string
		change func(map[string]any)
		want   []string
	}{
		{name: "complete", change: func(map[string]any) {}},
		{name: "plain PKCE only", change: func(m map[string]any) { m["code_challenge_methods_supported"] = []string{"plain"} }, want: []string{"code_challenge_methods_supported"}},
		{name: "no end session", change: func(m map[string]any) { delete(m, "end_session_endpoint") }, want: []string{"end_session_endpoint"}},
		{name: "no registration", change: func(m map[string]any) { delete(m, "registration_endpoint") }, want: []string{"registration_endpoint"}},
		{name: "unsigned ID tokens offered", change: func(m map[string]any) { m["id_token_signing_alg_values_supported"] = []string{"RS256", "none"} }, want: []string{"id_token_signing_alg_values_supported"}},
		{name: "no refresh grant", change: func(m map[string]any) { m["grant_types_supported"] = []string{"authorization_code"} }, want: []string{"grant_types_supported"}},
		{name: "private_key_jwt only", change: func(m map[string]any) { m["token_endpoint_auth_methods_supported"] = []string{"private_key_jwt"} }, want: []string{"token_endpoint_auth_methods_supported"}},
		{name: "http token endpoint", change: func(m map[string]any) { m["token_endpoint"] = "http://127.0.0.1:4444/token" }, want: []string{"token_endpoint"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			raw := good()
			tc.change(raw)
			b, _ := json.Marshal(raw)
			var md discovery.Metadata
			if err := json.Unmarshal(b, &md); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, f := range findings(&md) {
				got = append(got, f.Member)
			}
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Fatalf("findings %v, want %v", got, tc.want)
			}
		})
	}
}
