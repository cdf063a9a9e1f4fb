package httpx

import (
	"net/url"
	"testing"
)

func TestSameOrigin(t *testing.T) {
	tests := []struct {
		a, b string
		same bool
	}{
		{"https://id.example/x", "https://ID.example:443/y", true},
		{"http://127.0.0.1/", "http://127.0.0.1:80", true},
		{"https://id.example", "http://id.example", false},
		{"https://id.example", "https://id.example:8443", false},
		{"https://id.example", "https://id.example.evil", false},
	}
	for _, tc := range tests {
		a, _ := url.Parse(tc.a)
		b, _ := url.Parse(tc.b)
		if got := SameOrigin(a, b); got != tc.same {
			t.Errorf("SameOrigin(%s, %s) = %v", tc.a, tc.b, got)
		}
	}
}
