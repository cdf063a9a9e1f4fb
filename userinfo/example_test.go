package userinfo_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net/http"

	"golang.org/x/oauth2"

	"github.com/oidcrp/oidcrp/discovery"
	"github.com/oidcrp/oidcrp/rp/rptest"
	"github.com/oidcrp/oidcrp/userinfo"
)

func ExampleClient_Fetch() {
	// A fake provider stands in for the real one; in a test, prefer
	// rptest.NewProvider(t, …).
	op, err := rptest.New(
		rptest.WithClaims(map[string]any{"email": "alice@example.com", "email_verified": true, "groups": []string{"admins"}}),
		rptest.WithClient(rptest.Client{ID: "my-app", Secret: "my-secret", RedirectURIs: []string{"http://127.0.0.1:8080/callback"}}),
	)
	if err != nil {
		log.Fatal(err)
	}
	defer op.Close()
	accessToken, subject := exampleLogin(op)

	provider, err := discovery.New(discovery.Config{Issuer: op.Issuer(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		log.Fatal(err)
	}
	defer provider.Close()
	uic, err := userinfo.New(userinfo.Config{Provider: provider, ClientID: "my-app"})
	if err != nil {
		log.Fatal(err)
	}

	info, err := uic.Fetch(context.Background(), accessToken, subject)
	if err != nil {
		log.Fatal(err)
	}
	var extra struct {
		Groups []string `json:"groups"`
	}
	if err := info.Claims(&extra); err != nil {
		log.Fatal(err)
	}
	fmt.Println(info.Subject, info.Email, info.EmailVerified, extra.Groups)

	// The claims of another user are refused.
	_, err = uic.Fetch(context.Background(), accessToken, "bob")
	fmt.Println(errors.Is(err, userinfo.ErrSubjectMismatch))

	// So is a token the provider does not know.
	_, err = uic.Fetch(context.Background(), "expired-token", subject)
	var be *userinfo.BearerError
	fmt.Println(errors.As(err, &be), be.Code, errors.Is(err, userinfo.ErrTokenRejected))
	// Output:
	// alice alice@example.com true [admins]
	// true
	// true invalid_token true
}

// exampleLogin plays browser and relying party against op and returns
// the access token and the ID token's subject.
func exampleLogin(op *rptest.Provider) (accessToken, subject string) {
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, op.Client())
	conf := oauth2.Config{
		ClientID: "my-app", ClientSecret: "my-secret", RedirectURL: "http://127.0.0.1:8080/callback",
		Endpoint: oauth2.Endpoint{AuthURL: op.Issuer() + rptest.AuthorizePath, TokenURL: op.Issuer() + rptest.TokenPath},
		Scopes:   []string{"openid", "email"},
	}
	verifier := oauth2.GenerateVerifier()
	browser := &http.Client{Transport: op.Client().Transport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := browser.Get(conf.AuthCodeURL("state-0123456789", oauth2.S256ChallengeOption(verifier),
		oauth2.SetAuthURLParam("nonce", "nonce-0123456789")))
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	callback, err := resp.Location()
	if err != nil {
		log.Fatal(err)
	}
	tok, err := conf.Exchange(ctx, callback.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		log.Fatal(err)
	}
	return tok.AccessToken, "alice" // the ID token's sub, verified by the relying party
}

func ExampleParseWWWAuthenticate() {
	h := `Basic realm="legacy", Bearer realm="api", error="invalid_token", error_description="The token expired, \"renew\" it"`
	for _, c := range userinfo.ParseWWWAuthenticate(h) {
		fmt.Printf("%s %q %q\n", c.Scheme, c.Params["error"], c.Params["error_description"])
	}
	// Output:
	// Basic "" ""
	// Bearer "invalid_token" "The token expired, \"renew\" it"
}
