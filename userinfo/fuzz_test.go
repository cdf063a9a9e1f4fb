package userinfo_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/oidcrp/oidcrp/userinfo"
)

func FuzzParseWWWAuthenticate(f *testing.F) {
	for _, s := range []string{
		`Bearer realm="example", error="invalid_token", error_description="The access token expired"`,
		`Bearer error="request_unauthorized",error_description="x"`,
		`Basic realm="a", Bearer error=invalid_token, Negotiate YII=`,
		`Bearer error_description="say \"hi\"`,
		`, ,Bearer = "x", a==b, "c"`,
		"Bearer\terror\t=\t\"\\",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		for _, c := range userinfo.ParseWWWAuthenticate(h) {
			if c.Scheme == "" || strings.ContainsAny(c.Scheme, " \t,=\"") {
				t.Fatalf("bad scheme %q from %q", c.Scheme, h)
			}
			if c.Params == nil {
				t.Fatalf("nil Params from %q", h)
			}
			for k := range c.Params {
				if k == "" || k != strings.ToLower(k) {
					t.Fatalf("bad parameter name %q from %q", k, h)
				}
			}
		}
	})
}

func FuzzParseInfo(f *testing.F) {
	for _, s := range []string{
		`{"sub":"a","email":"a@example.com","email_verified":"true","updated_at":1.7e9}`,
		`{"sub":"a","address":{"formatted":"x"},"phone_number_verified":false}`,
		`{"sub":"a","address":"x","updated_at":"2023-11-14T22:13:20Z"}`,
		`{"sub":1}`, `[]`, `null`, `{"sub":"a","updated_at":-1e308}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		info, err := userinfo.ParseInfo(data)
		if err != nil {
			if info != nil {
				t.Fatal("claims returned with an error")
			}
			return
		}
		if info.Subject == "" {
			t.Fatalf("accepted %q without a subject", data)
		}
		var m map[string]any
		if err := info.Claims(&m); err != nil || m["sub"] != info.Subject {
			t.Fatalf("Claims of accepted %q: %v, sub %v", data, err, m["sub"])
		}
		if _, err := json.Marshal(info.UpdatedAt); err != nil {
			t.Fatalf("UpdatedAt %v does not marshal: %v", info.UpdatedAt, err)
		}
	})
}
