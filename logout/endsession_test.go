package logout_test

import (
	"net/url"
	"testing"

	"github.com/oidcrp/oidcrp/logout"
)

func TestEndSessionURL(t *testing.T) {
	tests := []struct {
		name     string
		endpoint string
		req      logout.EndSessionRequest
		want     string // exact URL; "" means an error is expected
	}{
		{
			name:     "hint, redirect and state",
			endpoint: "https://id.example.com/oauth2/sessions/logout",
			req: logout.EndSessionRequest{IDTokenHint: "h.p.s", PostLogoutRedirectURI: "https://app.example/logout/done",
				State: "st ate&x=1"},
			want: "https://id.example.com/oauth2/sessions/logout?id_token_hint=h.p.s" +
				"&post_logout_redirect_uri=https%3A%2F%2Fapp.example%2Flogout%2Fdone&state=st+ate%26x%3D1",
		},
		{
			name:     "existing query kept",
			endpoint: "https://id.example.com/logout?tenant=a%2Fb&p=1",
			req:      logout.EndSessionRequest{ClientID: "app", PostLogoutRedirectURI: "https://app.example/done"},
			want:     "https://id.example.com/logout?client_id=app&p=1&post_logout_redirect_uri=https%3A%2F%2Fapp.example%2Fdone&tenant=a%2Fb",
		},
		{
			name:     "a parameter of the request replaces the endpoint's",
			endpoint: "https://id.example.com/logout?client_id=other",
			req:      logout.EndSessionRequest{ClientID: "app"},
			want:     "https://id.example.com/logout?client_id=app",
		},
		{
			name:     "all parameters",
			endpoint: "http://127.0.0.1:4444/oauth2/sessions/logout",
			req: logout.EndSessionRequest{IDTokenHint: "h", ClientID: "app", LogoutHint: "alice@example.com",
				PostLogoutRedirectURI: "http://127.0.0.1:8080/logout/done", State: "s", UILocales: []string{"de-CH", "fr"}},
			want: "http://127.0.0.1:4444/oauth2/sessions/logout?client_id=app&id_token_hint=h&logout_hint=alice%40example.com" +
				"&post_logout_redirect_uri=http%3A%2F%2F127.0.0.1%3A8080%2Flogout%2Fdone&state=s&ui_locales=de-CH+fr",
		},
		{
			name:     "nothing to add",
			endpoint: "https://id.example.com/logout?",
			want:     "https://id.example.com/logout",
		},
		{name: "empty endpoint", endpoint: "", req: logout.EndSessionRequest{IDTokenHint: "h"}},
		{name: "relative endpoint", endpoint: "/logout"},
		{name: "endpoint without scheme", endpoint: "id.example.com/logout"},
		{name: "javascript endpoint", endpoint: "javascript://id.example.com/%0aalert(1)"},
		{name: "endpoint with fragment", endpoint: "https://id.example.com/logout#x"},
		{name: "endpoint with user info", endpoint: "https://u:p@id.example.com/logout"},
		{name: "malformed endpoint query", endpoint: "https://id.example.com/logout?a=%zz"},
		{name: "redirect without hint or client ID", endpoint: "https://id.example.com/logout",
			req: logout.EndSessionRequest{PostLogoutRedirectURI: "https://app.example/done"}},
		{name: "relative redirect", endpoint: "https://id.example.com/logout",
			req: logout.EndSessionRequest{IDTokenHint: "h", PostLogoutRedirectURI: "/done"}},
		{name: "locale with a space", endpoint: "https://id.example.com/logout",
			req: logout.EndSessionRequest{UILocales: []string{"de CH"}}},
		{name: "empty locale", endpoint: "https://id.example.com/logout",
			req: logout.EndSessionRequest{UILocales: []string{""}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := logout.EndSessionURL(tc.endpoint, tc.req)
			if tc.want == "" {
				if err == nil {
					t.Fatalf("EndSessionURL = %q, want an error", got)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("EndSessionURL = %q, %v; want %q", got, err, tc.want)
			}
			// The values survive a round trip through a parser.
			u, _ := url.Parse(got)
			if tc.req.State != "" && u.Query().Get("state") != tc.req.State {
				t.Errorf("state %q after parsing, want %q", u.Query().Get("state"), tc.req.State)
			}
		})
	}
}
