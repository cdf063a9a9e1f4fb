package logout_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/oidcrp/oidcrp/logout"
)

func TestParseFrontChannel(t *testing.T) {
	const iss = "https://id.example.com"
	tests := []struct {
		name            string
		method          string
		query           string
		sessionRequired bool
		want            *logout.FrontChannelRequest
		wantErr         error
	}{
		{name: "iss and sid", query: url.Values{"iss": {iss}, "sid": {"08a5019c-17e1"}}.Encode(),
			want: &logout.FrontChannelRequest{Issuer: iss, SID: "08a5019c-17e1"}},
		{name: "iss and sid, session required", query: url.Values{"iss": {iss}, "sid": {"s1"}}.Encode(), sessionRequired: true,
			want: &logout.FrontChannelRequest{Issuer: iss, SID: "s1"}},
		{name: "neither, session not required", query: "", want: &logout.FrontChannelRequest{}},
		{name: "neither, session required", query: "", sessionRequired: true, wantErr: logout.ErrInvalidRequest},
		{name: "missing sid when required", query: url.Values{"iss": {iss}}.Encode(), sessionRequired: true, wantErr: logout.ErrInvalidRequest},
		{name: "missing iss when required", query: url.Values{"sid": {"s1"}}.Encode(), sessionRequired: true, wantErr: logout.ErrInvalidRequest},
		{name: "sid without iss", query: url.Values{"sid": {"s1"}}.Encode(), wantErr: logout.ErrInvalidRequest},
		{name: "iss without sid", query: url.Values{"iss": {iss}}.Encode(), wantErr: logout.ErrInvalidRequest},
		{name: "wrong iss", query: url.Values{"iss": {"https://attacker.example"}, "sid": {"s1"}}.Encode(), wantErr: logout.ErrIssuer},
		{name: "iss with trailing slash", query: url.Values{"iss": {iss + "/"}, "sid": {"s1"}}.Encode(), wantErr: logout.ErrIssuer},
		{name: "repeated sid", query: "iss=" + url.QueryEscape(iss) + "&sid=a&sid=b", wantErr: logout.ErrInvalidRequest},
		{name: "repeated iss", query: "iss=" + url.QueryEscape(iss) + "&iss=" + url.QueryEscape(iss) + "&sid=a", wantErr: logout.ErrInvalidRequest},
		{name: "sid too long", query: url.Values{"iss": {iss}, "sid": {strings.Repeat("a", logout.MaxSIDLength+1)}}.Encode(), wantErr: logout.ErrInvalidRequest},
		{name: "sid at the length limit", query: url.Values{"iss": {iss}, "sid": {strings.Repeat("a", logout.MaxSIDLength)}}.Encode(),
			want: &logout.FrontChannelRequest{Issuer: iss, SID: strings.Repeat("a", logout.MaxSIDLength)}},
		{name: "sid with a newline", query: url.Values{"iss": {iss}, "sid": {"a\nb"}}.Encode(), wantErr: logout.ErrInvalidRequest},
		{name: "sid with a space", query: url.Values{"iss": {iss}, "sid": {"a b"}}.Encode(), wantErr: logout.ErrInvalidRequest},
		{name: "sid not ASCII", query: url.Values{"iss": {iss}, "sid": {"sïd"}}.Encode(), wantErr: logout.ErrInvalidRequest},
		{name: "malformed query", query: "iss=%zz&sid=1", wantErr: logout.ErrInvalidRequest},
		{name: "POST", method: http.MethodPost, query: url.Values{"iss": {iss}, "sid": {"s1"}}.Encode(), wantErr: logout.ErrMethodNotAllowed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			method := tc.method
			if method == "" {
				method = http.MethodGet
			}
			r := httptest.NewRequest(method, "/frontchannel-logout", nil)
			r.URL.RawQuery = tc.query
			got, err := logout.ParseFrontChannel(r, iss, tc.sessionRequired)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) || got != nil {
					t.Fatalf("ParseFrontChannel = %+v, %v; want %v", got, err, tc.wantErr)
				}
				if tc.wantErr == logout.ErrIssuer && !errors.Is(err, logout.ErrInvalidRequest) {
					t.Errorf("wrong iss does not match ErrInvalidRequest: %v", err)
				}
				var me *logout.MethodError
				if tc.wantErr == logout.ErrMethodNotAllowed && (!errors.As(err, &me) || me.Allow != http.MethodGet) {
					t.Errorf("method error %#v, want Allow GET", err)
				}
				return
			}
			if err != nil || *got != *tc.want {
				t.Fatalf("ParseFrontChannel = %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

func TestFrontChannelHeaders(t *testing.T) {
	tests := []struct {
		name    string
		origin  string
		wantCSP string
	}{
		{"origin", "https://id.example.com", "frame-ancestors https://id.example.com"},
		{"issuer with a path", "https://ID.example.com:8443/tenant/a", "frame-ancestors https://id.example.com:8443"},
		{"loopback http", "http://127.0.0.1:4444", "frame-ancestors http://127.0.0.1:4444"},
		{"empty", "", "frame-ancestors 'none'"},
		{"not a URL", "id.example.com", "frame-ancestors 'none'"},
		{"other scheme", "javascript://id.example.com", "frame-ancestors 'none'"},
		{"injection", "https://a.example;script-src *", "frame-ancestors 'none'"},
		{"injection with a space", "https://a.example *", "frame-ancestors 'none'"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			h.Set("X-Frame-Options", "DENY")
			logout.FrontChannelHeaders(h, tc.origin)
			if got := h.Get("Content-Security-Policy"); got != tc.wantCSP {
				t.Errorf("CSP = %q, want %q", got, tc.wantCSP)
			}
			if h.Get("Cache-Control") != "no-cache, no-store" || h.Get("Pragma") != "no-cache" {
				t.Errorf("caching headers %q %q", h.Get("Cache-Control"), h.Get("Pragma"))
			}
			if _, ok := h["X-Frame-Options"]; ok {
				t.Error("X-Frame-Options kept; it would block the provider's iframe")
			}
		})
	}
}
