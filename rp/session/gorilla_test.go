package session

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"
)

// gorillaSession is a session small enough for securecookie's 4096-byte
// limit once gob and double base64 have inflated it.
func gorillaSession(t testing.TB, now time.Time) *Session {
	return &Session{ID: mustID(t), Issuer: "https://id.example.com/", Subject: "alice", SID: "sid-1",
		IDToken: jwtLike(300), AccessToken: jwtLike(300), TokenType: "Bearer", RefreshToken: "rt-1",
		Expiry: now.Add(time.Hour), ClaimsJSON: `{"sub":"alice","name":"Zoë"}`, CreatedAt: now, LastSeen: now}
}

func TestGorillaStore(t *testing.T) {
	hashKey, blockKey := secret(3), secret(4)
	fsDir := t.TempDir()
	tests := []struct {
		name string
		gs   func() sessions.Store
	}{
		{name: "cookie store", gs: func() sessions.Store {
			cs := sessions.NewCookieStore(hashKey, blockKey)
			cs.MaxAge(3600)
			return cs
		}},
		{name: "filesystem store", gs: func() sessions.Store {
			fs := sessions.NewFilesystemStore(fsDir, hashKey, blockKey)
			fs.MaxAge(3600)
			return fs
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clk := newClock()
			st := NewGorillaStore(tc.gs(), "gsess")
			st.now = clk.Now
			b := newBrowser(t)
			want := gorillaSession(t, clk.Now())
			rec := saveTo(t, st, b, b.request(site+"/"), want)

			t.Run("round trip", func(t *testing.T) {
				sameSession(t, mustLoad(t, st, b.request(site+"/")), want)
			})
			t.Run("cookie attributes", func(t *testing.T) {
				c := setCookies(rec)["gsess"]
				if c == nil || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.MaxAge != 3600 {
					t.Errorf("cookie = %+v", c)
				}
			})
			t.Run("stored as one binary value", func(t *testing.T) {
				g, err := st.gs.New(b.request(site+"/"), "gsess")
				if err != nil {
					t.Fatal(err)
				}
				if _, ok := g.Values[gorillaValuesKey].([]byte); !ok || len(g.Values) != 1 {
					t.Errorf("Values = %v", g.Values)
				}
			})
			t.Run("tampered cookie", func(t *testing.T) {
				c := setCookies(rec)["gsess"]
				v := []byte(c.Value)
				v[len(v)/2] ^= 1
				if s := mustLoad(t, st, requestWithCookies("gsess="+string(v))); s != nil {
					t.Errorf("Load = %+v", s)
				}
			})
			t.Run("expired", func(t *testing.T) {
				clk.Add(time.Hour)
				defer clk.Add(-time.Hour)
				if s := mustLoad(t, st, b.request(site+"/")); s != nil {
					t.Errorf("Load after lifetime = %+v", s)
				}
			})
			t.Run("update", func(t *testing.T) {
				s := mustLoad(t, st, b.request(site+"/"))
				s.AccessToken = "refreshed"
				saveTo(t, st, b, b.request(site+"/"), s)
				if got := mustLoad(t, st, b.request(site+"/")); got == nil || got.AccessToken != "refreshed" {
					t.Errorf("Load = %+v", got)
				}
			})
			t.Run("new login gets a new gorilla session", func(t *testing.T) {
				before := b.request(site + "/")
				files := func() int { e, _ := os.ReadDir(fsDir); return len(e) }
				n := files()
				next := gorillaSession(t, clk.Now())
				saveTo(t, st, b, before, next)
				if got := mustLoad(t, st, b.request(site+"/")); got == nil || got.ID != next.ID {
					t.Fatalf("Load = %+v, want the new session", got)
				}
				if tc.name == "filesystem store" {
					if got := mustLoad(t, st, before); got != nil {
						t.Errorf("the old gorilla session ID still loads %+v", got)
					}
					if files() != n {
						t.Errorf("files: %d before, %d after", n, files())
					}
				}
			})
			t.Run("delete", func(t *testing.T) {
				req := b.request(site + "/")
				del := httptest.NewRecorder()
				if err := st.Delete(del, req, nil); err != nil {
					t.Fatal(err)
				}
				b.receive(site+"/", del)
				if names := b.cookieNames(site + "/"); len(names) != 0 {
					t.Errorf("cookies left: %v", names)
				}
				if tc.name == "filesystem store" {
					if s := mustLoad(t, st, req); s != nil {
						t.Error("deleted record still loads with the old cookie")
					}
				}
			})
		})
	}
	t.Run("invalid name", func(t *testing.T) {
		st := NewGorillaStore(sessions.NewCookieStore(hashKey), "bad name")
		if _, err := st.Load(requestWithCookies()); err == nil {
			t.Error("Load with an invalid name succeeded")
		}
	})
	t.Run("foreign values are ignored", func(t *testing.T) {
		cs := sessions.NewCookieStore(hashKey)
		g := sessions.NewSession(cs, "gsess")
		g.Options = &sessions.Options{Path: "/", MaxAge: 60}
		g.Values[gorillaValuesKey] = "a string, not bytes"
		rec := httptest.NewRecorder()
		if err := cs.Save(requestWithCookies(), rec, g); err != nil {
			t.Fatal(err)
		}
		st := NewGorillaStore(cs, "gsess")
		if s := mustLoad(t, st, requestWithCookies("gsess="+setCookies(rec)["gsess"].Value)); s != nil {
			t.Errorf("Load = %+v", s)
		}
	})
	t.Run("not-found errors", func(t *testing.T) {
		var decodeErr error = securecookie.MultiError{securecookie.ErrMacInvalid}
		if !gorillaNotFound(decodeErr) || !gorillaNotFound(os.ErrNotExist) || gorillaNotFound(os.ErrPermission) {
			t.Error("gorillaNotFound misclassifies errors")
		}
	})
}

// failingGorilla is a gorilla store whose backend is down.
type failingGorilla struct{ sessions.Store }

func (failingGorilla) New(*http.Request, string) (*sessions.Session, error) {
	return nil, errors.New("backend down")
}

func TestGorillaStoreCookiesSecure(t *testing.T) {
	hashKey := secret(3)
	withSecure := func(gs sessions.Store, opts *sessions.Options, secure bool) sessions.Store {
		opts.Secure = secure
		return gs
	}
	tests := []struct {
		name string
		gs   func() sessions.Store
		want bool
	}{
		{"cookie store, gorilla defaults (Secure)", func() sessions.Store { return sessions.NewCookieStore(hashKey) }, true},
		{"cookie store, Secure off", func() sessions.Store {
			cs := sessions.NewCookieStore(hashKey)
			return withSecure(cs, cs.Options, false)
		}, false},
		{"filesystem store, not Secure", func() sessions.Store {
			fs := sessions.NewFilesystemStore(t.TempDir(), hashKey)
			return withSecure(fs, fs.Options, false)
		}, false},
		{"filesystem store, Secure", func() sessions.Store {
			fs := sessions.NewFilesystemStore(t.TempDir(), hashKey)
			return withSecure(fs, fs.Options, true)
		}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := NewGorillaStore(tc.gs(), "gsess")
			if got := st.CookiesSecure(); got != tc.want {
				t.Fatalf("CookiesSecure() = %v, want %v", got, tc.want)
			}
			// What it reports is what the cookie it writes carries.
			b := newBrowser(t)
			rec := saveTo(t, st, b, b.request(site+"/"), gorillaSession(t, time.Now()))
			if c := setCookies(rec)["gsess"]; c == nil || c.Secure != tc.want {
				t.Errorf("cookie = %+v, want Secure %v", c, tc.want)
			}
		})
	}
	t.Run("store that cannot answer is trusted", func(t *testing.T) {
		if !NewGorillaStore(failingGorilla{}, "gsess").CookiesSecure() {
			t.Error("CookiesSecure() = false for a store whose New fails")
		}
	})
}
