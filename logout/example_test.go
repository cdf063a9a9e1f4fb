package logout_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"time"

	"github.com/oidcrp/oidcrp/discovery"
	"github.com/oidcrp/oidcrp/logout"
	"github.com/oidcrp/oidcrp/rp/rptest"
)

func ExampleEndSessionURL() {
	// In an application the endpoint comes from discovery
	// (Metadata.EndSessionEndpoint) and the redirect URI from configuration.
	target, err := logout.EndSessionURL("https://id.example.com/oauth2/sessions/logout", logout.EndSessionRequest{
		IDTokenHint:           "eyJhbGciOiJSUzI1NiJ9.e30.c2ln",
		PostLogoutRedirectURI: "https://app.example.com/logout/done",
		State:                 "af0ifjsldkj",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(target)
	// Output:
	// https://id.example.com/oauth2/sessions/logout?id_token_hint=eyJhbGciOiJSUzI1NiJ9.e30.c2ln&post_logout_redirect_uri=https%3A%2F%2Fapp.example.com%2Flogout%2Fdone&state=af0ifjsldkj
}

func ExampleVerifier() {
	// A stand-in provider; in an application, discovery.New gets the
	// provider's issuer.
	op, err := rptest.New()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer op.Close()
	provider, err := discovery.New(discovery.Config{Issuer: op.Issuer(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer provider.Close()

	v, err := logout.NewVerifier(logout.VerifierConfig{Provider: provider, ClientID: "app"})
	if err != nil {
		fmt.Println(err)
		return
	}
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, err := v.VerifyRequest(w, r)
		if err == nil {
			// End the application's sessions of this provider session here.
			fmt.Printf("log out sid=%s sub=%s\n", claims.SID, claims.Subject)
		} else if errors.Is(err, logout.ErrInvalidToken) {
			fmt.Println("rejected:", errors.Is(err, logout.ErrReplay))
		}
		logout.WriteBackchannelResponse(w, err)
	})

	// The provider posts a logout token; a replay of it is refused.
	token := op.SignIDToken(op.LogoutTokenClaims("app", "sid-42"), rptest.WithHeader("typ", "logout+jwt"))
	for range 2 {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		req := httptest.NewRequestWithContext(ctx, http.MethodPost, "/backchannel-logout",
			strings.NewReader(url.Values{"logout_token": {token}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := httptest.NewRecorder()
		handler.ServeHTTP(w, req)
		cancel()
		fmt.Println(strings.TrimSpace(fmt.Sprint(w.Code, " ", w.Body.String())))
	}
	// Output:
	// log out sid=sid-42 sub=alice
	// 200
	// rejected: true
	// 400 {"error":"invalid_request"}
}

func ExampleParseFrontChannel() {
	const issuer = "https://id.example.com"
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fc, err := logout.ParseFrontChannel(r, issuer, true)
		logout.FrontChannelHeaders(w.Header(), issuer)
		if err != nil {
			http.Error(w, "bad logout request", http.StatusBadRequest)
			return
		}
		// End the application's sessions of fc.SID here.
		fmt.Println("log out sid", fc.SID)
	})

	w := httptest.NewRecorder()
	handler.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/frontchannel-logout?iss="+url.QueryEscape(issuer)+"&sid=08a5019c", nil))
	fmt.Println(w.Code, w.Header().Get("Content-Security-Policy"))
	// Output:
	// log out sid 08a5019c
	// 200 frame-ancestors https://id.example.com
}
