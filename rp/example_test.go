package rp_test

import (
	"context"
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
