package loginapp_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/oidcrp/oidcrp/internal/loginapp"
)

// call is one admin API request the fake received.
type call struct {
	Method, Kind, Action, Challenge string
	Body                            map[string]any
}

// fakeAdmin imitates Hydra's login, consent and logout admin API.
type fakeAdmin struct {
	srv *httptest.Server
	// mu guards requests and calls.
	mu sync.Mutex
	// requests maps kind → challenge → the JSON GET returns. A value of
	// "gone" makes GET answer 410 Gone.
	requests map[string]map[string]any
	calls    []call
}

var adminPath = regexp.MustCompile(`^/admin/oauth2/auth/requests/(login|consent|logout)(?:/(accept|reject))?$`)

func newFakeAdmin(t *testing.T) *fakeAdmin {
	f := &fakeAdmin{requests: map[string]map[string]any{"login": {}, "consent": {}, "logout": {}}}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m := adminPath.FindStringSubmatch(r.URL.Path)
		if m == nil {
			http.NotFound(w, r)
			return
		}
		kind, action := m[1], m[2]
		challenge := r.URL.Query().Get(kind + "_challenge")
		c := call{Method: r.Method, Kind: kind, Action: action, Challenge: challenge}
		if b, _ := io.ReadAll(r.Body); len(b) > 0 {
			if err := json.Unmarshal(b, &c.Body); err != nil {
				http.Error(w, "bad JSON", http.StatusBadRequest)
				return
			}
		}
		f.mu.Lock()
		f.calls = append(f.calls, c)
		req, ok := f.requests[kind][challenge]
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		switch {
		case !ok:
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, `{"error":"Not Found"}`)
		case req == "gone":
			w.WriteHeader(http.StatusGone)
			io.WriteString(w, `{"redirect_to":"http://hydra.test/oauth2/auth?again=1"}`)
		case r.Method == http.MethodGet && action == "":
			json.NewEncoder(w).Encode(req)
		case r.Method == http.MethodPut && kind == "logout" && action == "reject":
			w.WriteHeader(http.StatusNoContent)
		case r.Method == http.MethodPut && action != "":
			json.NewEncoder(w).Encode(map[string]string{"redirect_to": "http://hydra.test/after/" + kind + "/" + action})
		default:
			w.WriteHeader(http.StatusMethodNotAllowed)
		}
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeAdmin) set(kind, challenge string, req any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests[kind][challenge] = req
}

// decisions returns the PUT calls received so far.
func (f *fakeAdmin) decisions() []call {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []call
	for _, c := range f.calls {
		if c.Method == http.MethodPut {
			out = append(out, c)
		}
	}
	return out
}

// onlyDecision returns the single PUT call or fails.
func (f *fakeAdmin) onlyDecision(t *testing.T) call {
	t.Helper()
	d := f.decisions()
	if len(d) != 1 {
		t.Fatalf("admin decisions = %+v, want exactly one", d)
	}
	return d[0]
}

// noFollow is a client that stops at the first response, keeping cookies.
func noFollow(t *testing.T) *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func startApp(t *testing.T, cfg loginapp.Config) *httptest.Server {
	t.Helper()
	h, err := loginapp.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

func get(t *testing.T, c *http.Client, u string) (*http.Response, string) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func post(t *testing.T, c *http.Client, u string, form url.Values) (*http.Response, string) {
	t.Helper()
	resp, err := c.PostForm(u, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

var hiddenField = regexp.MustCompile(`<input type="hidden" name="([a-z_]+)" value="([^"]*)">`)

// hidden returns the hidden inputs of a page.
func hidden(page string) url.Values {
	v := url.Values{}
	for _, m := range hiddenField.FindAllStringSubmatch(page, -1) {
		v.Set(m[1], m[2])
	}
	return v
}

var aliceAuto = loginapp.Identity{
	Subject: "alice",
	Claims: map[string]any{
		"email": "alice@example.com", "email_verified": true, "name": "Alice Example",
		"preferred_username": "alice", "tenant": "t1",
	},
	AccessTokenClaims: map[string]any{"role": "tester"},
	ACR:               "urn:test:pwd",
}

func TestNewValidatesConfig(t *testing.T) {
	tests := []struct {
		name    string
		cfg     loginapp.Config
		wantErr string
	}{
		{name: "interactive demo users", cfg: loginapp.Config{AdminURL: "http://127.0.0.1:4445"}},
		{name: "auto", cfg: loginapp.Config{AdminURL: "https://hydra-admin.example.com", Auto: &aliceAuto}},
		{name: "no admin URL", cfg: loginapp.Config{}, wantErr: "AdminURL is required"},
		{name: "remote http admin URL", cfg: loginapp.Config{AdminURL: "http://hydra.example.com:4445"}, wantErr: "https"},
		{name: "auto without subject", cfg: loginapp.Config{AdminURL: "http://127.0.0.1:4445", Auto: &loginapp.Identity{}}, wantErr: "Subject"},
		{name: "empty user list", cfg: loginapp.Config{AdminURL: "http://127.0.0.1:4445", Users: []loginapp.User{}}, wantErr: "at least one user"},
		{name: "user without password", cfg: loginapp.Config{AdminURL: "http://127.0.0.1:4445", Users: []loginapp.User{{Username: "x"}}}, wantErr: "password"},
		{
			name: "duplicate username",
			cfg: loginapp.Config{AdminURL: "http://127.0.0.1:4445", Users: []loginapp.User{
				{Username: "x", Password: "p"}, {Username: "x", Password: "q", Identity: loginapp.Identity{Subject: "y"}},
			}},
			wantErr: "duplicate username",
		},
		{
			name: "duplicate subject",
			cfg: loginapp.Config{AdminURL: "http://127.0.0.1:4445", Users: []loginapp.User{
				{Username: "x", Password: "p"}, {Username: "y", Password: "q", Identity: loginapp.Identity{Subject: "x"}},
			}},
			wantErr: "duplicate subject",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := loginapp.New(tc.cfg)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("New = %v, want an error containing %q", err, tc.wantErr)
			}
		})
	}
	if _, err := loginapp.New(loginapp.Config{}); !errors.Is(err, loginapp.ErrNoAdminURL) {
		t.Errorf("New without AdminURL = %v, want ErrNoAdminURL", err)
	}
}

func TestAutoMode(t *testing.T) {
	tests := []struct {
		name     string
		kind     string
		request  map[string]any
		wantTo   string
		wantBody map[string]any
	}{
		{
			name:    "login accepts the configured identity",
			kind:    "login",
			request: map[string]any{"challenge": "c", "skip": false},
			wantTo:  "http://hydra.test/after/login/accept",
			wantBody: map[string]any{"subject": "alice", "remember": true, "remember_for": float64(3600),
				"acr": "urn:test:pwd", "amr": []any{"pwd"}},
		},
		{
			name:    "remembered login is accepted with Hydra's subject",
			kind:    "login",
			request: map[string]any{"challenge": "c", "skip": true, "subject": "carol"},
			wantTo:  "http://hydra.test/after/login/accept",
			wantBody: map[string]any{"subject": "carol", "remember": true, "remember_for": float64(3600),
				"acr": "urn:test:pwd", "amr": []any{"pwd"}},
		},
		{
			name: "consent grants scopes and audience with the released claims",
			kind: "consent",
			request: map[string]any{"challenge": "c", "subject": "alice", "requested_scope": []string{"openid", "email"},
				"requested_access_token_audience": []string{"api"}},
			wantTo: "http://hydra.test/after/consent/accept",
			wantBody: map[string]any{
				"grant_scope": []any{"openid", "email"}, "grant_access_token_audience": []any{"api"},
				"remember": true, "remember_for": float64(3600),
				"session": map[string]any{
					// name and preferred_username need the profile scope;
					// tenant belongs to no standard scope.
					"id_token":     map[string]any{"email": "alice@example.com", "email_verified": true, "tenant": "t1"},
					"access_token": map[string]any{"role": "tester"},
				},
			},
		},
		{
			name:    "consent with no requested scopes grants an empty list",
			kind:    "consent",
			request: map[string]any{"challenge": "c", "subject": "alice"},
			wantTo:  "http://hydra.test/after/consent/accept",
			wantBody: map[string]any{
				"grant_scope": []any{}, "grant_access_token_audience": []any{},
				"remember": true, "remember_for": float64(3600),
				"session": map[string]any{"id_token": map[string]any{"tenant": "t1"}, "access_token": map[string]any{"role": "tester"}},
			},
		},
		{
			name:    "logout is accepted",
			kind:    "logout",
			request: map[string]any{"subject": "alice", "sid": "s1", "rp_initiated": true},
			wantTo:  "http://hydra.test/after/logout/accept",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			admin := newFakeAdmin(t)
			admin.set(tc.kind, "c", tc.request)
			app := startApp(t, loginapp.Config{AdminURL: admin.srv.URL, Auto: &aliceAuto})
			resp, _ := get(t, noFollow(t), app.URL+"/"+tc.kind+"?"+tc.kind+"_challenge=c")
			if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != tc.wantTo {
				t.Fatalf("status %d Location %q, want 302 to %s", resp.StatusCode, resp.Header.Get("Location"), tc.wantTo)
			}
			d := admin.onlyDecision(t)
			if d.Kind != tc.kind || d.Action != "accept" || d.Challenge != "c" {
				t.Fatalf("decision %+v", d)
			}
			if tc.wantBody != nil && !jsonEqual(d.Body, tc.wantBody) {
				t.Errorf("accept body = %v\nwant %v", d.Body, tc.wantBody)
			}
		})
	}
}

func TestAutoModeHasNoForms(t *testing.T) {
	admin := newFakeAdmin(t)
	admin.set("login", "c", map[string]any{"challenge": "c"})
	app := startApp(t, loginapp.Config{AdminURL: admin.srv.URL, Auto: &aliceAuto})
	for _, kind := range []string{"login", "consent", "logout"} {
		resp, _ := post(t, noFollow(t), app.URL+"/"+kind, url.Values{kind + "_challenge": {"c"}, "action": {"yes"}})
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("POST /%s status %d, want 404", kind, resp.StatusCode)
		}
	}
	if d := admin.decisions(); len(d) != 0 {
		t.Errorf("decisions %+v, want none", d)
	}
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

func TestInteractiveLogin(t *testing.T) {
	loginReq := map[string]any{
		"challenge": "c1", "skip": false,
		"client":       map[string]any{"client_id": "id1", "client_name": `<script>alert("x")</script>`},
		"oidc_context": map[string]any{"login_hint": "bob"},
	}
	tests := []struct {
		name       string
		form       url.Values // fields added to the page's hidden ones
		wantStatus int
		wantTo     string
		wantPage   string
		wantBody   map[string]any // of the one decision; nil means no decision
		wantAction string
	}{
		{
			name:       "right password",
			form:       url.Values{"username": {"alice"}, "password": {"alice-password"}, "action": {"login"}},
			wantStatus: http.StatusSeeOther,
			wantTo:     "http://hydra.test/after/login/accept",
			wantAction: "accept",
			wantBody: map[string]any{"subject": "alice", "remember": true, "remember_for": float64(3600),
				"acr": loginapp.DefaultACR, "amr": []any{"pwd"}},
		},
		{
			name:       "wrong password",
			form:       url.Values{"username": {"alice"}, "password": {"bob-password"}, "action": {"login"}},
			wantStatus: http.StatusUnauthorized,
			wantPage:   "Wrong username or password.",
		},
		{
			name:       "unknown user",
			form:       url.Values{"username": {"mallory"}, "password": {"x"}, "action": {"login"}},
			wantStatus: http.StatusUnauthorized,
			wantPage:   "Wrong username or password.",
		},
		{
			name:       "cancel rejects with access_denied",
			form:       url.Values{"action": {"cancel"}},
			wantStatus: http.StatusSeeOther,
			wantTo:     "http://hydra.test/after/login/reject",
			wantAction: "reject",
			wantBody:   map[string]any{"error": "access_denied", "error_description": "The resource owner denied the request"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			admin := newFakeAdmin(t)
			admin.set("login", "c1", loginReq)
			app := startApp(t, loginapp.Config{AdminURL: admin.srv.URL})
			c := noFollow(t)
			resp, page := get(t, c, app.URL+"/login?login_challenge=c1")
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("GET /login status %d", resp.StatusCode)
			}
			for _, want := range []string{`<form method="post" action="login">`, `name="password"`, `value="bob"`,
				"<code>alice</code> / <code>alice-password</code>", "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;"} {
				if !strings.Contains(page, want) {
					t.Errorf("login page lacks %q", want)
				}
			}
			if strings.Contains(page, `<script>alert`) {
				t.Error("login page contains the client name unescaped")
			}
			if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") {
				t.Errorf("CSP = %q", csp)
			}
			form := hidden(page)
			if form.Get("login_challenge") != "c1" || form.Get("csrf_token") == "" {
				t.Fatalf("hidden fields = %v", form)
			}
			for k, v := range tc.form {
				form[k] = v
			}
			resp, page = post(t, c, app.URL+"/login", form)
			if resp.StatusCode != tc.wantStatus || resp.Header.Get("Location") != tc.wantTo {
				t.Fatalf("POST status %d Location %q, want %d %q", resp.StatusCode, resp.Header.Get("Location"), tc.wantStatus, tc.wantTo)
			}
			if tc.wantPage != "" && !strings.Contains(page, tc.wantPage) {
				t.Errorf("page lacks %q", tc.wantPage)
			}
			if tc.wantBody == nil {
				if d := admin.decisions(); len(d) != 0 {
					t.Fatalf("decisions %+v, want none", d)
				}
				// The form is shown again, with a working token.
				if f := hidden(page); f.Get("csrf_token") == "" || f.Get("login_challenge") != "c1" {
					t.Errorf("re-rendered form hidden fields = %v", f)
				}
				return
			}
			d := admin.onlyDecision(t)
			if d.Action != tc.wantAction || !jsonEqual(d.Body, tc.wantBody) {
				t.Errorf("decision %s %v, want %s %v", d.Action, d.Body, tc.wantAction, tc.wantBody)
			}
		})
	}
}

func TestInteractiveSkippedLogin(t *testing.T) {
	admin := newFakeAdmin(t)
	admin.set("login", "c1", map[string]any{"challenge": "c1", "skip": true, "subject": "bob"})
	app := startApp(t, loginapp.Config{AdminURL: admin.srv.URL})
	resp, _ := get(t, noFollow(t), app.URL+"/login?login_challenge=c1")
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("status %d, want 302 without a page", resp.StatusCode)
	}
	if d := admin.onlyDecision(t); d.Body["subject"] != "bob" || d.Body["acr"] != loginapp.DefaultACR {
		t.Errorf("accept body %v", d.Body)
	}
}

// TestCSRF posts forms the way a cross-site attacker could and checks that
// none of them reaches Hydra.
func TestCSRF(t *testing.T) {
	admin := newFakeAdmin(t)
	for _, kind := range []string{"login", "consent", "logout"} {
		admin.set(kind, "c1", map[string]any{"challenge": "c1", "subject": "alice", "requested_scope": []string{"openid"}})
		admin.set(kind, "c2", map[string]any{"challenge": "c2", "subject": "alice", "requested_scope": []string{"openid"}})
	}
	app := startApp(t, loginapp.Config{AdminURL: admin.srv.URL})
	victim := noFollow(t)
	tokens := map[string]string{}
	for _, kind := range []string{"login", "consent", "logout"} {
		_, page := get(t, victim, app.URL+"/"+kind+"?"+kind+"_challenge=c1")
		tokens[kind] = hidden(page).Get("csrf_token")
	}
	login := func(token, challenge string) url.Values {
		return url.Values{"login_challenge": {challenge}, "csrf_token": {token}, "username": {"alice"},
			"password": {"alice-password"}, "action": {"login"}}
	}
	tests := []struct {
		name   string
		client *http.Client
		path   string
		form   url.Values
		header map[string]string
	}{
		{name: "no token", client: victim, path: "/login", form: login("", "c1")},
		{name: "forged token", client: victim, path: "/login", form: login("AAAA", "c1")},
		{name: "token of another challenge", client: victim, path: "/login", form: login(tokens["login"], "c2")},
		{name: "token of another form", client: victim, path: "/login", form: login(tokens["consent"], "c1")},
		{name: "valid token without the cookie", client: noFollow(t), path: "/login", form: login(tokens["login"], "c1")},
		{
			name: "consent allow with logout token", client: victim, path: "/consent",
			form: url.Values{"consent_challenge": {"c1"}, "csrf_token": {tokens["logout"]}, "action": {"allow"}},
		},
		{
			name: "logout without token", client: victim, path: "/logout",
			form: url.Values{"logout_challenge": {"c1"}, "action": {"yes"}},
		},
		{
			name: "cross-site browser post with a valid token", client: victim, path: "/login",
			form: login(tokens["login"], "c1"), header: map[string]string{"Sec-Fetch-Site": "cross-site"},
		},
		{
			name: "foreign origin with a valid token", client: victim, path: "/login",
			form: login(tokens["login"], "c1"), header: map[string]string{"Origin": "https://evil.example"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, app.URL+tc.path, strings.NewReader(tc.form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			for k, v := range tc.header {
				req.Header.Set(k, v)
			}
			resp, err := tc.client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusForbidden {
				t.Errorf("status %d, want 403", resp.StatusCode)
			}
			if d := admin.decisions(); len(d) != 0 {
				t.Fatalf("a forged form reached Hydra: %+v", d)
			}
		})
	}
	// The victim's own form still works.
	resp, _ := post(t, victim, app.URL+"/login", login(tokens["login"], "c1"))
	if resp.StatusCode != http.StatusSeeOther || len(admin.decisions()) != 1 {
		t.Fatalf("legitimate post: status %d, decisions %v", resp.StatusCode, admin.decisions())
	}
}

func TestInteractiveConsent(t *testing.T) {
	req := map[string]any{
		"challenge": "c1", "subject": "bob", "requested_scope": []string{"openid", "email", "profile"},
		"client": map[string]any{"client_id": "id1", "client_name": "Example App"},
	}
	tests := []struct {
		name       string
		action     string
		subject    string
		wantAction string
		wantBody   map[string]any
	}{
		{
			name: "allow", action: "allow", subject: "bob", wantAction: "accept",
			wantBody: map[string]any{
				"grant_scope": []any{"openid", "email", "profile"}, "grant_access_token_audience": []any{},
				"remember": true, "remember_for": float64(3600),
				"session": map[string]any{
					"id_token": map[string]any{"email": "bob@example.com", "email_verified": true, "family_name": "Example",
						"given_name": "Bob", "name": "Bob Example", "preferred_username": "bob"},
					"access_token": map[string]any{"role": "demo"},
				},
			},
		},
		{
			name: "deny", action: "deny", subject: "bob", wantAction: "reject",
			wantBody: map[string]any{"error": "access_denied", "error_description": "The resource owner denied the request"},
		},
		{
			name: "allow for an unknown subject", action: "allow", subject: "mallory", wantAction: "reject",
			wantBody: map[string]any{"error": "access_denied", "error_description": "The account no longer exists"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			admin := newFakeAdmin(t)
			r := map[string]any{}
			for k, v := range req {
				r[k] = v
			}
			r["subject"] = tc.subject
			admin.set("consent", "c1", r)
			app := startApp(t, loginapp.Config{AdminURL: admin.srv.URL})
			c := noFollow(t)
			resp, page := get(t, c, app.URL+"/consent?consent_challenge=c1")
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("GET /consent status %d", resp.StatusCode)
			}
			for _, want := range []string{"<strong>Example App</strong>", "<strong>email</strong>", "Your email address", `value="allow"`, `value="deny"`} {
				if !strings.Contains(page, want) {
					t.Errorf("consent page lacks %q", want)
				}
			}
			form := hidden(page)
			form.Set("action", tc.action)
			resp, _ = post(t, c, app.URL+"/consent", form)
			if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "http://hydra.test/after/consent/"+tc.wantAction {
				t.Fatalf("POST status %d Location %q", resp.StatusCode, resp.Header.Get("Location"))
			}
			d := admin.onlyDecision(t)
			if d.Action != tc.wantAction || !jsonEqual(d.Body, tc.wantBody) {
				t.Errorf("decision %s %v\nwant %s %v", d.Action, d.Body, tc.wantAction, tc.wantBody)
			}
		})
	}
}

func TestInteractiveRememberedConsentSkipsThePage(t *testing.T) {
	admin := newFakeAdmin(t)
	admin.set("consent", "c1", map[string]any{"challenge": "c1", "skip": true, "subject": "alice", "requested_scope": []string{"openid"}})
	app := startApp(t, loginapp.Config{AdminURL: admin.srv.URL})
	resp, _ := get(t, noFollow(t), app.URL+"/consent?consent_challenge=c1")
	if resp.StatusCode != http.StatusFound || admin.onlyDecision(t).Action != "accept" {
		t.Fatalf("status %d decisions %v", resp.StatusCode, admin.decisions())
	}
}

func TestInteractiveLogout(t *testing.T) {
	tests := []struct {
		name       string
		action     string
		wantStatus int
		wantTo     string
		wantAction string
		wantPage   string
	}{
		{name: "yes", action: "yes", wantStatus: http.StatusSeeOther, wantTo: "http://hydra.test/after/logout/accept", wantAction: "accept"},
		{name: "no", action: "no", wantStatus: http.StatusOK, wantAction: "reject", wantPage: "You stayed signed in."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			admin := newFakeAdmin(t)
			admin.set("logout", "c1", map[string]any{"subject": "alice", "sid": "s1", "rp_initiated": true,
				"client": map[string]any{"client_id": "id1", "client_name": "Example App"}})
			app := startApp(t, loginapp.Config{AdminURL: admin.srv.URL})
			c := noFollow(t)
			_, page := get(t, c, app.URL+"/logout?logout_challenge=c1")
			if !strings.Contains(page, "signed in as <strong>alice</strong>") || !strings.Contains(page, "<strong>Example App</strong>") {
				t.Errorf("logout page:\n%s", page)
			}
			form := hidden(page)
			form.Set("action", tc.action)
			resp, page := post(t, c, app.URL+"/logout", form)
			if resp.StatusCode != tc.wantStatus || resp.Header.Get("Location") != tc.wantTo {
				t.Fatalf("POST status %d Location %q", resp.StatusCode, resp.Header.Get("Location"))
			}
			if !strings.Contains(page, tc.wantPage) {
				t.Errorf("page lacks %q", tc.wantPage)
			}
			if d := admin.onlyDecision(t); d.Action != tc.wantAction || d.Challenge != "c1" {
				t.Errorf("decision %+v", d)
			}
		})
	}
}

func TestPagesAndFailures(t *testing.T) {
	admin := newFakeAdmin(t)
	admin.set("login", "gone", "gone")
	app := startApp(t, loginapp.Config{AdminURL: admin.srv.URL})
	down := startApp(t, loginapp.Config{AdminURL: "http://127.0.0.1:1"})
	tests := []struct {
		name       string
		url        string
		wantStatus int
		wantTo     string
		want       []string
		notWant    []string
	}{
		{
			name:       "error page escapes Hydra's parameters",
			url:        app.URL + "/error?error=invalid_request&error_description=" + url.QueryEscape(`<script>alert(1)</script>`) + "&error_hint=" + url.QueryEscape(`<img src=x onerror=alert(2)>`),
			wantStatus: http.StatusOK,
			want:       []string{"invalid_request", "&lt;script&gt;alert(1)&lt;/script&gt;", "&lt;img src=x onerror=alert(2)&gt;"},
			notWant:    []string{"<script>alert", "<img src=x"},
		},
		{name: "logged out", url: app.URL + "/logged-out", wantStatus: http.StatusOK, want: []string{"You have been signed out"}},
		{name: "missing challenge", url: app.URL + "/login", wantStatus: http.StatusBadRequest, want: []string{"Missing login challenge"}},
		{name: "unknown challenge", url: app.URL + "/consent?consent_challenge=nope", wantStatus: http.StatusBadRequest, want: []string{"unknown or has expired"}},
		{name: "handled challenge continues at Hydra", url: app.URL + "/login?login_challenge=gone", wantStatus: http.StatusFound, wantTo: "http://hydra.test/oauth2/auth?again=1"},
		{name: "admin API down", url: down.URL + "/logout?logout_challenge=x", wantStatus: http.StatusBadGateway, want: []string{"could not reach"}},
		{name: "unknown path", url: app.URL + "/admin", wantStatus: http.StatusNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, page := get(t, noFollow(t), tc.url)
			if resp.StatusCode != tc.wantStatus || resp.Header.Get("Location") != tc.wantTo {
				t.Fatalf("status %d Location %q, want %d %q", resp.StatusCode, resp.Header.Get("Location"), tc.wantStatus, tc.wantTo)
			}
			for _, w := range tc.want {
				if !strings.Contains(page, w) {
					t.Errorf("page lacks %q:\n%s", w, page)
				}
			}
			for _, w := range tc.notWant {
				if strings.Contains(page, w) {
					t.Errorf("page contains %q", w)
				}
			}
		})
	}
}

func TestDemoUsers(t *testing.T) {
	users := loginapp.DemoUsers()
	var names []string
	for _, u := range users {
		names = append(names, u.Username+"/"+u.Password+"/"+u.Identity.Claims["name"].(string))
	}
	want := []string{"alice/alice-password/Alice Example", "bob/bob-password/Bob Example"}
	if !slices.Equal(names, want) {
		t.Fatalf("demo users = %v, want %v", names, want)
	}
}
