package session

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

const site = "https://rp.example"

func newTestCookieStore(t testing.TB, clk *fakeClock, opt CookieOptions) *CookieStore {
	t.Helper()
	opt.Now = clk.Now
	st := NewCookieStore(mustCodec(t, secret(1)), opt)
	if st.err != nil {
		t.Fatal(st.err)
	}
	return st
}

// saveTo saves s and lets the browser receive the cookies.
func saveTo(t testing.TB, st Store, b *browser, r *http.Request, s *Session) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	if err := st.Save(rec, r, s); err != nil {
		t.Fatal(err)
	}
	b.receive(site+"/", rec)
	return rec
}

func mustLoad(t testing.TB, st Store, r *http.Request) *Session {
	t.Helper()
	s, err := st.Load(r)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return s
}

func TestCookieStoreRoundTrip(t *testing.T) {
	clk := newClock()
	st := newTestCookieStore(t, clk, CookieOptions{Secure: true})
	b := newBrowser(t)
	want := sampleSession(t, clk.Now())
	saveTo(t, st, b, b.request(site+"/callback"), want)

	t.Run("ordinary path: everything but the ID token", func(t *testing.T) {
		got := mustLoad(t, st, b.request(site+"/app/page"))
		w := *want
		w.IDToken = ""
		sameSession(t, got, &w)
		if slices.Contains(b.cookieNames(site+"/app/page"), "oidcrp_session_idt") {
			t.Error("ID-token cookie is sent outside its path")
		}
	})
	t.Run("logout path: with the ID token", func(t *testing.T) {
		got := mustLoad(t, st, b.request(site+"/logout"))
		sameSession(t, got, want)
	})
	t.Run("no cookies", func(t *testing.T) {
		if s := mustLoad(t, st, requestWithCookies()); s != nil {
			t.Errorf("Load = %+v, want nil", s)
		}
	})
	t.Run("expired", func(t *testing.T) {
		clk.Add(DefaultMaxAge)
		defer clk.Add(-DefaultMaxAge)
		if s := mustLoad(t, st, b.request(site+"/")); s != nil {
			t.Errorf("Load after MaxAge = %+v, want nil", s)
		}
	})
	t.Run("save fills zero times", func(t *testing.T) {
		s := &Session{ID: mustID(t), Subject: "u"}
		if err := st.Save(httptest.NewRecorder(), nil, s); err != nil {
			t.Fatal(err)
		}
		if !s.CreatedAt.Equal(clk.Now()) || !s.LastSeen.Equal(clk.Now()) {
			t.Errorf("times = %v, %v; want %v", s.CreatedAt, s.LastSeen, clk.Now())
		}
	})
	t.Run("save without ID fails", func(t *testing.T) {
		if err := st.Save(httptest.NewRecorder(), nil, &Session{Subject: "u"}); err == nil {
			t.Error("Save accepted a session without ID")
		}
	})
}

func TestCookieStoreAttributes(t *testing.T) {
	tests := []struct {
		name   string
		opt    CookieOptions
		secure bool
		path   string
		maxAge time.Duration
	}{
		{name: "defaults", opt: CookieOptions{}, path: "/", maxAge: DefaultMaxAge},
		{name: "secure, custom", opt: CookieOptions{Name: "__Host-s", Secure: true, MaxAge: time.Hour, IDTokenPath: "/auth/logout"}, secure: true, path: "/", maxAge: time.Hour},
		{name: "sub path", opt: CookieOptions{Name: "s", Path: "/app"}, path: "/app", maxAge: DefaultMaxAge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clk := newClock()
			st := newTestCookieStore(t, clk, tc.opt)
			s := sampleSession(t, clk.Now().Add(-time.Minute))
			rec := httptest.NewRecorder()
			if err := st.Save(rec, nil, s); err != nil {
				t.Fatal(err)
			}
			name := st.opt.Name
			idtPath := st.opt.IDTokenPath
			cookies := setCookies(rec)
			for cname, wantPath := range map[string]string{name: tc.path, name + "_idt": idtPath} {
				c := cookies[cname]
				if c == nil {
					t.Fatalf("no cookie %q in %v", cname, rec.Header()["Set-Cookie"])
				}
				if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Secure != tc.secure || c.Domain != "" || c.Path != wantPath {
					t.Errorf("%s: HttpOnly=%v SameSite=%v Secure=%v Domain=%q Path=%q", cname, c.HttpOnly, c.SameSite, c.Secure, c.Domain, c.Path)
				}
				wantExp := s.CreatedAt.Add(tc.maxAge)
				if !c.Expires.Equal(wantExp) {
					t.Errorf("%s: Expires = %v, want %v", cname, c.Expires, wantExp)
				}
				if want := int((tc.maxAge - time.Minute) / time.Second); c.MaxAge != want {
					t.Errorf("%s: Max-Age = %d, want %d", cname, c.MaxAge, want)
				}
				if len(c.Value) > 3800 {
					t.Errorf("%s: value of %d bytes", cname, len(c.Value))
				}
			}
			for _, line := range rec.Header()["Set-Cookie"] {
				if strings.Contains(strings.ToLower(line), "domain") {
					t.Errorf("Set-Cookie has a Domain: %s", line)
				}
			}
		})
	}
}

func TestCookieOptionsValidate(t *testing.T) {
	tests := []struct {
		name string
		opt  CookieOptions
		ok   bool
	}{
		{name: "zero", opt: CookieOptions{}, ok: true},
		{name: "host prefix", opt: CookieOptions{Name: "__Host-sess", Secure: true}, ok: true},
		{name: "name with space", opt: CookieOptions{Name: "a b"}},
		{name: "name with equals", opt: CookieOptions{Name: "a=b"}},
		{name: "name with semicolon", opt: CookieOptions{Name: "a;b"}},
		{name: "relative path", opt: CookieOptions{Path: "app"}},
		{name: "path with semicolon", opt: CookieOptions{Path: "/a;Domain=evil.example"}},
		{name: "id token path with newline", opt: CookieOptions{IDTokenPath: "/logout\r\nX: y"}},
		{name: "negative max age", opt: CookieOptions{MaxAge: -time.Second}},
		{name: "too many chunks", opt: CookieOptions{MaxChunks: MaxChunksLimit + 1}},
		{name: "negative chunks", opt: CookieOptions{MaxChunks: -1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.opt.Validate()
			if (err == nil) != tc.ok {
				t.Fatalf("Validate = %v, want ok=%v", err, tc.ok)
			}
			st := NewCookieStore(mustCodec(t, secret(1)), tc.opt)
			_, lerr := st.Load(requestWithCookies())
			serr := st.Save(httptest.NewRecorder(), nil, &Session{ID: mustID(t)})
			if tc.ok != (lerr == nil && serr == nil) {
				t.Errorf("store with invalid options: Load err %v, Save err %v", lerr, serr)
			}
		})
	}
	t.Run("nil codec", func(t *testing.T) {
		if _, err := NewCookieStore(nil, CookieOptions{}).Load(requestWithCookies()); err == nil {
			t.Error("Load with nil codec succeeded")
		}
	})
}

// bigSession returns a session (without ID token) whose encoded record is
// size bytes.
func bigSession(t testing.TB, now time.Time, size int) *Session {
	s := sampleSession(t, now)
	s.IDToken = ""
	base, err := s.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	s.ClaimsJSON = randText(size - len(base) + len(s.ClaimsJSON) - 2)
	return s
}

func TestCookieStoreChunking(t *testing.T) {
	clk := newClock()
	st := newTestCookieStore(t, clk, CookieOptions{})
	t.Run("10 KB session in chunks", func(t *testing.T) {
		b := newBrowser(t)
		want := bigSession(t, clk.Now(), 10*1024)
		rec := saveTo(t, st, b, nil, want)
		names := b.cookieNames(site + "/")
		if len(names) < 3 {
			t.Fatalf("cookies %v, want at least 3 chunks", names)
		}
		for _, c := range rec.Result().Cookies() {
			if len(c.Name)+len(c.Value) > 3850 {
				t.Errorf("cookie %s is %d bytes", c.Name, len(c.Name)+len(c.Value))
			}
		}
		sameSession(t, mustLoad(t, st, b.request(site+"/")), want)
	})
	t.Run("more than MaxChunks", func(t *testing.T) {
		rec := httptest.NewRecorder()
		err := st.Save(rec, nil, bigSession(t, clk.Now(), 20*1024))
		if !errors.Is(err, ErrTooLarge) {
			t.Fatalf("Save = %v, want ErrTooLarge", err)
		}
		if h := rec.Header()["Set-Cookie"]; len(h) != 0 {
			t.Errorf("failed Save wrote headers: %v", h)
		}
	})
	t.Run("ID token beyond MaxChunks", func(t *testing.T) {
		small := newTestCookieStore(t, clk, CookieOptions{MaxChunks: 1})
		s := sampleSession(t, clk.Now())
		s.IDToken = randText(4000)
		rec := httptest.NewRecorder()
		if err := small.Save(rec, nil, s); !errors.Is(err, ErrTooLarge) {
			t.Fatalf("Save = %v, want ErrTooLarge", err)
		}
		if h := rec.Header()["Set-Cookie"]; len(h) != 0 {
			t.Errorf("failed Save wrote headers: %v", h)
		}
	})
	t.Run("stale chunks are removed", func(t *testing.T) {
		b := newBrowser(t)
		saveTo(t, st, b, nil, bigSession(t, clk.Now(), 10*1024))
		before := len(b.cookieNames(site + "/"))
		small := sampleSession(t, clk.Now())
		rec := saveTo(t, st, b, b.request(site+"/"), small)
		if got := b.cookieNames(site + "/"); len(got) != 1 || got[0] != "oidcrp_session" {
			t.Errorf("after a smaller save the browser holds %v (had %d)", got, before)
		}
		expired := 0
		for _, c := range rec.Result().Cookies() {
			if c.MaxAge < 0 && strings.HasPrefix(c.Name, "oidcrp_session.") {
				expired++
			}
		}
		if expired != before-1 {
			t.Errorf("expired %d cookies, want %d", expired, before-1)
		}
		w := *small
		w.IDToken = ""
		sameSession(t, mustLoad(t, st, b.request(site+"/")), &w)
	})
	t.Run("stale chunks still sent are ignored", func(t *testing.T) {
		big := httptest.NewRecorder()
		if err := st.Save(big, nil, bigSession(t, clk.Now(), 10*1024)); err != nil {
			t.Fatal(err)
		}
		small := sampleSession(t, clk.Now())
		rec := httptest.NewRecorder()
		if err := st.Save(rec, nil, small); err != nil {
			t.Fatal(err)
		}
		pairs := []string{"oidcrp_session=" + setCookies(rec)["oidcrp_session"].Value}
		for name, c := range setCookies(big) {
			if name != "oidcrp_session" {
				pairs = append(pairs, name+"="+c.Value)
			}
		}
		got := mustLoad(t, st, requestWithCookies(pairs...))
		if got == nil || got.ID != small.ID {
			t.Errorf("Load = %+v, want the small session", got)
		}
	})
}

func TestCookieStoreTampering(t *testing.T) {
	clk := newClock()
	st := newTestCookieStore(t, clk, CookieOptions{})
	s := bigSession(t, clk.Now(), 10*1024)
	rec := httptest.NewRecorder()
	if err := st.Save(rec, nil, s); err != nil {
		t.Fatal(err)
	}
	c := setCookies(rec)
	v := func(name string) string { return c[name].Value }
	if c["oidcrp_session.2"] == nil {
		t.Fatalf("expected at least 3 chunks, got %v", rec.Header()["Set-Cookie"])
	}
	n := strings.Count(strings.Join(rec.Header()["Set-Cookie"], "\n"), "oidcrp_session")
	all := func(mod func(name, val string) (string, string, bool)) []string {
		var pairs []string
		for i := range n {
			name := chunkName("oidcrp_session", i)
			if c[name] == nil {
				continue
			}
			if nn, vv, keep := mod(name, v(name)); keep {
				pairs = append(pairs, nn+"="+vv)
			}
		}
		return pairs
	}
	flip := func(s string, i int) string {
		b := []byte(s)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		return string(b)
	}
	other := NewCookieStore(mustCodec(t, secret(7)), CookieOptions{Now: clk.Now})
	otherRec := httptest.NewRecorder()
	if err := other.Save(otherRec, nil, sampleSession(t, clk.Now())); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		pairs []string
	}{
		{name: "flipped char in first chunk", pairs: all(func(n, v string) (string, string, bool) {
			if n == "oidcrp_session" {
				v = flip(v, 100)
			}
			return n, v, true
		})},
		{name: "flipped char in last chunk", pairs: all(func(n, v string) (string, string, bool) {
			if n == lastChunk(c) {
				v = flip(v, len(v)-2)
			}
			return n, v, true
		})},
		{name: "missing middle chunk", pairs: all(func(n, v string) (string, string, bool) { return n, v, n != "oidcrp_session.1" })},
		{name: "missing last chunk", pairs: all(func(n, v string) (string, string, bool) { return n, v, n != lastChunk(c) })},
		{name: "reordered chunks", pairs: all(func(n, v string) (string, string, bool) {
			switch n {
			case "oidcrp_session.1":
				return n, c["oidcrp_session.2"].Value, true
			case "oidcrp_session.2":
				return n, c["oidcrp_session.1"].Value, true
			}
			return n, v, true
		})},
		{name: "count lowered", pairs: all(func(n, v string) (string, string, bool) {
			if n == "oidcrp_session" {
				_, rest, _ := strings.Cut(v, ".")
				v = "2." + rest
			}
			return n, v, true
		})},
		{name: "count removed", pairs: all(func(n, v string) (string, string, bool) {
			if n == "oidcrp_session" {
				_, v, _ = strings.Cut(v, ".")
			}
			return n, v, true
		})},
		{name: "count above MaxChunks", pairs: all(func(n, v string) (string, string, bool) {
			if n == "oidcrp_session" {
				_, rest, _ := strings.Cut(v, ".")
				v = "9." + rest
			}
			return n, v, true
		})},
		{name: "chunk truncated", pairs: all(func(n, v string) (string, string, bool) {
			if n == "oidcrp_session.1" {
				v = v[:len(v)-4]
			}
			return n, v, true
		})},
		{name: "only first chunk", pairs: []string{"oidcrp_session=" + v("oidcrp_session")}},
		{name: "session cookie under ID-token name", pairs: []string{"oidcrp_session_idt=" + v("oidcrp_session")}},
		{name: "foreign key", pairs: []string{"oidcrp_session=" + setCookies(otherRec)["oidcrp_session"].Value}},
		{name: "ID-token cookie as session cookie", pairs: []string{"oidcrp_session=" + setCookies(otherRec)["oidcrp_session_idt"].Value}},
		{name: "garbage", pairs: []string{"oidcrp_session=not-a-sealed-value"}},
		{name: "empty value", pairs: []string{"oidcrp_session="}},
		{name: "quoted garbage", pairs: []string{`oidcrp_session="AAAA"`}},
	}
	// Sanity check: the unmodified cookies load.
	if got := mustLoad(t, st, requestWithCookies(all(func(n, v string) (string, string, bool) { return n, v, true })...)); got == nil || got.ID != s.ID {
		t.Fatalf("untampered cookies do not load: %+v", got)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := mustLoad(t, st, requestWithCookies(tc.pairs...)); got != nil {
				t.Errorf("Load = %+v, want nil", got)
			}
		})
	}
}

// lastChunk returns the name of the highest-numbered chunk in c.
func lastChunk(c map[string]*http.Cookie) string {
	last := "oidcrp_session"
	for i := 1; i < MaxChunksLimit; i++ {
		if n := chunkName("oidcrp_session", i); c[n] != nil {
			last = n
		}
	}
	return last
}

func TestCookieStoreIDTokenCookie(t *testing.T) {
	clk := newClock()
	st := newTestCookieStore(t, clk, CookieOptions{})
	b := newBrowser(t)
	first := sampleSession(t, clk.Now())
	saveTo(t, st, b, nil, first)

	t.Run("sent only under the logout path", func(t *testing.T) {
		for _, p := range []struct {
			path string
			want bool
		}{{"/", false}, {"/me", false}, {"/logoutx", false}, {"/logout", true}, {"/logout/done", true}} {
			got := mustLoad(t, st, b.request(site+p.path))
			if got == nil {
				t.Fatalf("%s: no session", p.path)
			}
			if (got.IDToken == first.IDToken) != p.want || (!p.want && got.IDToken != "") {
				t.Errorf("%s: IDToken present = %v, want %v", p.path, got.IDToken != "", p.want)
			}
		}
	})
	t.Run("save without ID token keeps the cookie", func(t *testing.T) {
		s := mustLoad(t, st, b.request(site+"/"))
		s.AccessToken = "refreshed"
		rec := saveTo(t, st, b, b.request(site+"/"), s)
		if _, ok := setCookies(rec)["oidcrp_session_idt"]; ok {
			t.Error("Save without an ID token touched the ID-token cookie")
		}
		got := mustLoad(t, st, b.request(site+"/logout"))
		if got.AccessToken != "refreshed" || got.IDToken != first.IDToken {
			t.Errorf("after refresh: AccessToken %q, IDToken present %v", got.AccessToken, got.IDToken != "")
		}
	})
	t.Run("ID token of another session is not attached", func(t *testing.T) {
		second := sampleSession(t, clk.Now())
		second.IDToken = ""
		saveTo(t, st, b, nil, second) // new login that did not replace the ID-token cookie
		got := mustLoad(t, st, b.request(site+"/logout"))
		if got == nil || got.ID != second.ID || got.IDToken != "" {
			t.Errorf("Load = %+v, want second session without ID token", got)
		}
	})
}

func TestCookieStoreDelete(t *testing.T) {
	clk := newClock()
	st := newTestCookieStore(t, clk, CookieOptions{})
	b := newBrowser(t)
	s := bigSession(t, clk.Now(), 10*1024)
	s.IDToken = randText(5000) // two ID-token chunks
	rec := httptest.NewRecorder()
	if err := st.Save(rec, nil, s); err != nil {
		t.Fatal(err)
	}
	b.receive(site+"/", rec)
	if len(b.cookieNames(site+"/logout")) < 5 {
		t.Fatalf("setup: cookies %v", b.cookieNames(site+"/logout"))
	}
	del := httptest.NewRecorder()
	if err := st.Delete(del, b.request(site+"/logout"), s); err != nil {
		t.Fatal(err)
	}
	b.receive(site+"/logout", del)
	for _, p := range []string{"/", "/logout"} {
		if names := b.cookieNames(site + p); len(names) != 0 {
			t.Errorf("after Delete the browser still sends %v to %s", names, p)
		}
	}
	for _, c := range del.Result().Cookies() {
		if c.MaxAge >= 0 || c.Value != "" || !c.HttpOnly {
			t.Errorf("cookie %s not expired properly: %+v", c.Name, c)
		}
	}
	if got := mustLoad(t, st, b.request(site+"/logout")); got != nil {
		t.Errorf("Load after Delete = %+v", got)
	}
}

func TestCookieStoreSaveExpiredDeletes(t *testing.T) {
	clk := newClock()
	st := newTestCookieStore(t, clk, CookieOptions{MaxAge: time.Hour})
	b := newBrowser(t)
	s := sampleSession(t, clk.Now())
	saveTo(t, st, b, nil, s)
	clk.Add(time.Hour)
	rec := saveTo(t, st, b, b.request(site+"/"), s)
	if c := setCookies(rec)["oidcrp_session"]; c == nil || c.MaxAge >= 0 {
		t.Errorf("saving an expired session did not expire the cookie: %v", rec.Header()["Set-Cookie"])
	}
	if names := b.cookieNames(site + "/"); len(names) != 0 {
		t.Errorf("browser still holds %v", names)
	}
}

func TestScanCookies(t *testing.T) {
	tests := []struct {
		name     string
		headers  []string
		wantMain map[int]string
		wantIDT  map[int]string
	}{
		{name: "plain", headers: []string{"a=1; oidcrp_session=v0; b=2"}, wantMain: map[int]string{0: "v0"}},
		{name: "chunks and id token", headers: []string{"oidcrp_session.2=v2;oidcrp_session=v0;  oidcrp_session.1=v1 ; oidcrp_session_idt=t0; oidcrp_session_idt.1=t1"},
			wantMain: map[int]string{0: "v0", 1: "v1", 2: "v2"}, wantIDT: map[int]string{0: "t0", 1: "t1"}},
		{name: "several header lines", headers: []string{"oidcrp_session=v0", "oidcrp_session.1=v1"}, wantMain: map[int]string{0: "v0", 1: "v1"}},
		{name: "first occurrence wins", headers: []string{"oidcrp_session=first; oidcrp_session=second"}, wantMain: map[int]string{0: "first"}},
		{name: "quoted", headers: []string{`oidcrp_session="v0"`}, wantMain: map[int]string{0: "v0"}},
		{name: "look-alikes ignored", headers: []string{"oidcrp_sessionx=1; oidcrp_session.0=1; oidcrp_session.01=1; oidcrp_session.16=1; oidcrp_session.=1; oidcrp_session.1a=1; oidcrp_session_idtx=1; xoidcrp_session=1; oidcrp_session"}},
		{name: "highest chunk", headers: []string{"oidcrp_session.15=v15"}, wantMain: map[int]string{15: "v15"}},
		{name: "empty and junk", headers: []string{"", ";;;", "=", " ; oidcrp_session = v0 "}, wantMain: map[int]string{0: "v0"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{"Cookie": tc.headers}
			var slots cookieSlots
			scanCookies(h, "oidcrp_session", &slots)
			check := func(kind string, vals [MaxChunksLimit]string, set uint32, want map[int]string) {
				for i := range MaxChunksLimit {
					w, ok := want[i]
					if got := set&(1<<i) != 0; got != ok || vals[i] != w {
						t.Errorf("%s[%d] = %q (set %v), want %q (set %v)", kind, i, vals[i], got, w, ok)
					}
				}
			}
			check("main", slots.main, slots.mainSet, tc.wantMain)
			check("idt", slots.idt, slots.idtSet, tc.wantIDT)
		})
	}
	t.Run("no allocation", func(t *testing.T) {
		h := http.Header{"Cookie": {"a=1; oidcrp_session=v0; oidcrp_session.1=v1; b=2"}}
		allocs := testing.AllocsPerRun(100, func() {
			var slots cookieSlots
			scanCookies(h, "oidcrp_session", &slots)
		})
		if allocs != 0 {
			t.Errorf("scanCookies allocates %v times", allocs)
		}
	})
}

func TestCookieStoreLoadAllocs(t *testing.T) {
	if testing.CoverMode() != "" || raceEnabled {
		t.Skip("allocation counts differ under coverage or race instrumentation")
	}
	clk := newClock()
	st := newTestCookieStore(t, clk, CookieOptions{})
	rec := httptest.NewRecorder()
	if err := st.Save(rec, nil, sampleSession(t, clk.Now())); err != nil {
		t.Fatal(err)
	}
	r := requestWithCookies("other=1", "oidcrp_session="+setCookies(rec)["oidcrp_session"].Value)
	allocs := testing.AllocsPerRun(200, func() {
		if s, _ := st.Load(r); s == nil {
			t.Fatal("no session")
		}
	})
	if allocs > 2 {
		t.Errorf("Load allocates %v times, want at most 2", allocs)
	}
}

func TestCookieStoreConcurrent(t *testing.T) {
	clk := newClock()
	st := newTestCookieStore(t, clk, CookieOptions{})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 50 {
				s := sampleSession(t, clk.Now())
				s.Subject = fmt.Sprintf("user-%d-%d", g, i)
				rec := httptest.NewRecorder()
				if err := st.Save(rec, nil, s); err != nil {
					t.Error(err)
					return
				}
				var pairs []string
				for _, c := range rec.Result().Cookies() {
					pairs = append(pairs, c.Name+"="+c.Value)
				}
				got, err := st.Load(requestWithCookies(pairs...))
				if err != nil || got == nil || got.Subject != s.Subject || got.IDToken != s.IDToken {
					t.Errorf("Load = %+v, %v", got, err)
					return
				}
			}
		})
	}
	wg.Wait()
}

func FuzzCookieLoad(f *testing.F) {
	clk := newClock()
	st := newTestCookieStore(f, clk, CookieOptions{})
	s := sampleSession(f, clk.Now())
	// Fuzz workers run this setup again: the ID must not be random.
	s.ID = "fuzz-session-id-0123456789abcdef"
	for _, sess := range []*Session{s, bigSession(f, clk.Now(), 6000)} {
		sess.ID = s.ID
		rec := httptest.NewRecorder()
		if err := st.Save(rec, nil, sess); err != nil {
			f.Fatal(err)
		}
		var pairs []string
		for _, c := range rec.Result().Cookies() {
			pairs = append(pairs, c.Name+"="+c.Value)
		}
		f.Add(strings.Join(pairs, "; "))
	}
	f.Add("oidcrp_session=2.AAAA; oidcrp_session.1=AAAA")
	f.Add(`oidcrp_session="";oidcrp_session_idt=`)
	f.Add("oidcrp_session=" + strings.Repeat("A", 5000))
	f.Fuzz(func(t *testing.T, header string) {
		r := httptest.NewRequest(http.MethodGet, "https://rp.example/logout", nil)
		r.Header.Set("Cookie", header)
		got, err := st.Load(r)
		if err != nil {
			t.Fatalf("Load error: %v", err)
		}
		if got != nil && got.ID != s.ID {
			t.Fatalf("Load produced a session nobody sealed: %+v", got)
		}
	})
}

func TestCookieStoreOneHeaderPerCookie(t *testing.T) {
	clk := newClock()
	st := newTestCookieStore(t, clk, CookieOptions{})
	rec := httptest.NewRecorder()
	rec.Header().Add("Set-Cookie", "unrelated=1; Path=/")
	s := sampleSession(t, clk.Now())
	for range 2 {
		if err := st.Save(rec, nil, s); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Delete(rec, nil, s); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, c := range rec.Result().Cookies() {
		if seen[c.Name] {
			t.Errorf("cookie %s set twice in one response", c.Name)
		}
		seen[c.Name] = true
		if c.Name != "unrelated" && c.MaxAge >= 0 {
			t.Errorf("cookie %s not expired by the final Delete", c.Name)
		}
	}
	if !seen["unrelated"] {
		t.Error("an unrelated Set-Cookie header was removed")
	}
}
