package rp_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"

	"github.com/oidcrp/oidcrp/rp"
	"github.com/oidcrp/oidcrp/rp/rptest"
)

// ExampleRP_RequireAuth protects a handler and logs in against the fake
// provider of package rptest, the way a test of your own application can.
func ExampleRP_RequireAuth() {
	op, err := rptest.New(rptest.WithSubject("alice"))
	if err != nil {
		log.Fatal(err)
	}
	defer op.Close()

	mux := http.NewServeMux()
	app := httptest.NewServer(mux)
	defer app.Close()
	op.RegisterClient(rptest.Client{ID: "my-app", Secret: "s3cret", RedirectURIs: []string{app.URL + "/callback"}})

	auth, err := rp.New(context.Background(), rp.Config{
		Issuer:       op.Issuer(),
		ClientID:     "my-app",
		ClientSecret: "s3cret",
		RedirectURL:  app.URL + "/callback",
		SessionKeys:  [][]byte{[]byte("an example key of at least 32 bytes")},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer auth.Close()
	mux.Handle("/", auth.Routes())
	mux.Handle("/hello", auth.RequireAuth(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := rp.SessionFrom(r.Context())
		fmt.Fprintf(w, "hello %s", s.Subject())
	})))

	// A browser: /hello → /login → provider → /callback → /hello.
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar}
	resp, err := browser.Get(app.URL + "/hello")
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.StatusCode, string(body))
	// Output: 200 hello alice
}

// ExampleRequireACR guards a step-up login: the provider here
// authenticates with a password only, so the login that requires a second
// factor fails with ErrACRNotSatisfied instead of creating a session.
func ExampleRequireACR() {
	op, err := rptest.New(rptest.WithSubject("alice"), rptest.WithClaims(map[string]any{"acr": "urn:example:pwd"}))
	if err != nil {
		log.Fatal(err)
	}
	defer op.Close()

	mux := http.NewServeMux()
	app := httptest.NewServer(mux)
	defer app.Close()
	op.RegisterClient(rptest.Client{ID: "my-app", Secret: "s3cret", RedirectURIs: []string{app.URL + "/callback"}})

	auth, err := rp.New(context.Background(), rp.Config{
		Issuer:       op.Issuer(),
		ClientID:     "my-app",
		ClientSecret: "s3cret",
		RedirectURL:  app.URL + "/callback",
		SessionKeys:  [][]byte{[]byte("an example key of at least 32 bytes")},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if errors.Is(err, rp.ErrACRNotSatisfied) {
				http.Error(w, "this page needs a second factor", http.StatusForbidden)
				return
			}
			http.Error(w, "login failed", rp.HTTPStatus(err))
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer auth.Close()
	mux.Handle("/", auth.Routes())
	mux.Handle("/login/mfa", auth.LoginHandler(rp.RequireACR("urn:example:mfa")))

	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar}
	resp, err := browser.Get(app.URL + "/login/mfa?return_to=/payments")
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Print(resp.StatusCode, " ", string(body))
	// Output: 403 this page needs a second factor
}
