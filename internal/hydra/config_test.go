package hydra

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestRenderConfig(t *testing.T) {
	tests := []struct {
		name    string
		opt     Options
		want    []string
		notWant []string
	}{
		{
			name: "defaults",
			opt:  Options{},
			want: []string{
				"dsn: memory\n",
				`  public: {host: "127.0.0.1", port: 4444}`,
				`  admin: {host: "127.0.0.1", port: 4445}`,
				`  self: {issuer: "http://127.0.0.1:4444", public: "http://127.0.0.1:4444", admin: "http://127.0.0.1:4445"}`,
				`dynamic_client_registration: {enabled: true, default_scope: ["openid","offline_access","email","profile"]}`,
				`client_registration_url: "http://127.0.0.1:4444/oauth2/register"`,
				`supported_scope: ["email","profile"]`,
			},
			notWant: []string{"ttl:", "  login:", "  consent:"},
		},
		{
			name: "provider URLs and TTLs",
			opt: Options{
				LoginURL: "http://127.0.0.1:3000/login", ConsentURL: "http://127.0.0.1:3000/consent",
				LogoutURL: "http://127.0.0.1:3000/logout", ErrorURL: "http://127.0.0.1:3000/error",
				PostLogoutURL:  "http://127.0.0.1:3000/logged-out",
				AccessTokenTTL: 90 * time.Second, IDTokenTTL: time.Hour, RefreshTokenTTL: 48 * time.Hour,
			},
			want: []string{
				`  login: "http://127.0.0.1:3000/login"`,
				`  consent: "http://127.0.0.1:3000/consent"`,
				`  logout: "http://127.0.0.1:3000/logout"`,
				`  error: "http://127.0.0.1:3000/error"`,
				`  post_logout_redirect: "http://127.0.0.1:3000/logged-out"`,
				`ttl: {access_token: "90s", id_token: "3600s", refresh_token: "172800s"}`,
			},
		},
		{
			name: "issuer behind a proxy",
			opt:  Options{IssuerURL: "http://127.0.0.1:9000/"},
			want: []string{
				`  self: {issuer: "http://127.0.0.1:9000", public: "http://127.0.0.1:9000", admin: "http://127.0.0.1:4445"}`,
				`client_registration_url: "http://127.0.0.1:9000/oauth2/register"`,
			},
		},
		{
			name: "YAML metacharacters stay inside quoted scalars",
			opt:  Options{LoginURL: "http://127.0.0.1:3000/login?a=1&b=#x\n: y"},
			want: []string{`  login: "http://127.0.0.1:3000/login?a=1\u0026b=#x\n: y"`},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := &Server{PublicURL: "http://127.0.0.1:4444", AdminURL: "http://127.0.0.1:4445", Issuer: "http://127.0.0.1:4444"}
			if tc.opt.IssuerURL != "" {
				s.Issuer = strings.TrimSuffix(tc.opt.IssuerURL, "/")
			}
			got, err := renderConfig(tc.opt, s, 4444, 4445)
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("config lacks %q:\n%s", w, got)
				}
			}
			for _, w := range tc.notWant {
				if strings.Contains(got, w) {
					t.Errorf("config has %q:\n%s", w, got)
				}
			}
			if !strings.Contains(got, "secrets: {system: [\"") {
				t.Errorf("config has no system secret:\n%s", got)
			}
		})
	}
}

func TestRenderConfigSecretIsRandom(t *testing.T) {
	s := &Server{PublicURL: "http://127.0.0.1:1", AdminURL: "http://127.0.0.1:2", Issuer: "http://127.0.0.1:1"}
	a, _ := renderConfig(Options{}, s, 1, 2)
	b, _ := renderConfig(Options{}, s, 1, 2)
	if a == b {
		t.Fatal("two configurations share their system secret")
	}
}

func TestOptionsCheck(t *testing.T) {
	tests := []struct {
		name    string
		opt     Options
		wantErr string
	}{
		{name: "zero", opt: Options{}},
		{name: "loopback http", opt: Options{LoginURL: "http://localhost:3000/login", IssuerURL: "http://127.0.0.1:9/"}},
		{name: "https", opt: Options{ConsentURL: "https://login.example.com/consent"}},
		{name: "remote http", opt: Options{LoginURL: "http://login.example.com/login"}, wantErr: "must use https"},
		{name: "relative URL", opt: Options{LogoutURL: "/logout"}, wantErr: "absolute"},
		{name: "sub-second TTL", opt: Options{AccessTokenTTL: 1500 * time.Millisecond}, wantErr: "ttl.access_token"},
		{name: "negative TTL", opt: Options{RefreshTokenTTL: -time.Hour}, wantErr: "ttl.refresh_token"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.opt.check()
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("check: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("check = %v, want an error containing %q", err, tc.wantErr)
			}
			// Start refuses the same options before it looks for a binary.
			if _, err := Start(context.Background(), tc.opt); err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Start = %v, want an error containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestFindUp(t *testing.T) {
	root := t.TempDir()
	deep := filepath.Join(root, "a", "b", "c")
	if err := os.MkdirAll(deep, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "a", "marker"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := findUp(deep, "marker")
	if err != nil || got != filepath.Join(root, "a") {
		t.Fatalf("findUp = %q, %v", got, err)
	}
	if _, err := findUp(deep, "no-such-file-anywhere-0b1f"); !errors.Is(err, ErrNoRepoRoot) {
		t.Fatalf("findUp of a missing file = %v, want ErrNoRepoRoot", err)
	}
}

func TestBinaryFromEnv(t *testing.T) {
	dir := t.TempDir()
	exe := filepath.Join(dir, "hydra")
	plain := filepath.Join(dir, "plain")
	for _, f := range []struct {
		path string
		mode os.FileMode
	}{{exe, 0o755}, {plain, 0o644}} {
		if err := os.WriteFile(f.path, []byte("#!/bin/sh\n"), f.mode); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name    string
		env     string
		want    string
		wantErr bool
	}{
		{name: "executable", env: exe, want: exe},
		{name: "not executable", env: plain, wantErr: true},
		{name: "directory", env: dir, wantErr: true},
		{name: "missing", env: filepath.Join(dir, "missing"), wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(EnvBinary, tc.env)
			got, err := Binary(context.Background())
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Fatalf("Binary = %q, %v; want %q, error %v", got, err, tc.want, tc.wantErr)
			}
		})
	}
}

func TestStartFailsWhenTheBinaryExits(t *testing.T) {
	dir := t.TempDir()
	exe := filepath.Join(dir, "hydra")
	if err := os.WriteFile(exe, []byte("#!/bin/sh\necho 'fatal: bad config' >&2\nexit 3\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv(EnvBinary, exe)
	_, err := Start(context.Background(), Options{})
	if !errors.Is(err, ErrNotReady) || !strings.Contains(err.Error(), "fatal: bad config") {
		t.Fatalf("Start = %v, want ErrNotReady with the log", err)
	}
}

func TestAdminErrors(t *testing.T) {
	admin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodDelete && r.URL.Path == "/admin/oauth2/auth/sessions/login":
			if r.URL.Query().Get("sid") != "known" {
				http.Error(w, `{"error":"Not Found"}`, http.StatusNotFound)
				return
			}
			w.WriteHeader(http.StatusNoContent)
		case r.Method == http.MethodPost && r.URL.Path == "/admin/oauth2/introspect":
			r.ParseForm()
			w.Header().Set("Content-Type", "application/json")
			if r.PostForm.Get("token") == "good" {
				w.Write([]byte(`{"active":true,"sub":"alice"}`))
				return
			}
			w.Write([]byte(`{"active":false}`))
		default:
			http.Error(w, "no", http.StatusInternalServerError)
		}
	}))
	defer admin.Close()
	s := &Server{AdminURL: admin.URL, client: admin.Client()}
	ctx := context.Background()
	if err := s.DeleteLoginSession(ctx, "known"); err != nil {
		t.Errorf("DeleteLoginSession(known) = %v", err)
	}
	if err := s.DeleteLoginSession(ctx, "other"); !errors.Is(err, ErrUnexpectedStatus) {
		t.Errorf("DeleteLoginSession(other) = %v, want ErrUnexpectedStatus", err)
	}
	for _, tc := range []struct {
		token string
		want  bool
	}{{"good", true}, {"bad", false}} {
		if got, err := s.Introspect(ctx, tc.token); err != nil || got != tc.want {
			t.Errorf("Introspect(%s) = %v, %v; want %v", tc.token, got, err, tc.want)
		}
	}
	if _, err := s.CreateClient(ctx, map[string]any{}); !errors.Is(err, ErrUnexpectedStatus) {
		t.Errorf("CreateClient = %v, want ErrUnexpectedStatus", err)
	}
}
