package userinfo_test

import (
	"net/http"
	"reflect"
	"testing"

	"github.com/oidcrp/oidcrp/userinfo"
)

func TestParseWWWAuthenticate(t *testing.T) {
	type c = userinfo.Challenge
	type p = map[string]string
	tests := []struct {
		name string
		in   string
		want []userinfo.Challenge
	}{
		{"empty", "", nil},
		{"only commas and spaces", " , ,, ", nil},
		{"bare scheme", "Bearer", []c{{Scheme: "Bearer", Params: p{}}}},
		{"RFC 6750 §3 example",
			`Bearer realm="example", error="invalid_token", error_description="The access token expired"`,
			[]c{{Scheme: "Bearer", Params: p{"realm": "example", "error": "invalid_token", "error_description": "The access token expired"}}}},
		{"Ory Hydra, no space after the comma",
			`Bearer error="request_unauthorized",error_description="The request could not be authorized."`,
			[]c{{Scheme: "Bearer", Params: p{"error": "request_unauthorized", "error_description": "The request could not be authorized."}}}},
		{"token values", `Bearer error=invalid_token, scope=openid`,
			[]c{{Scheme: "Bearer", Params: p{"error": "invalid_token", "scope": "openid"}}}},
		{"comma and equals inside quotes", `Bearer error_description="a, b=c, d", error="x"`,
			[]c{{Scheme: "Bearer", Params: p{"error_description": "a, b=c, d", "error": "x"}}}},
		{"escapes", `Bearer error_description="say \"hi\" \\ \o/"`,
			[]c{{Scheme: "Bearer", Params: p{"error_description": `say "hi" \ o/`}}}},
		{"whitespace around equals (BWS)", "Bearer realm = \"x\" ,\terror\t=\tinvalid_token",
			[]c{{Scheme: "Bearer", Params: p{"realm": "x", "error": "invalid_token"}}}},
		{"parameter names are case-insensitive", `Bearer ERROR="x", Scope="a b"`,
			[]c{{Scheme: "Bearer", Params: p{"error": "x", "scope": "a b"}}}},
		{"first of a repeated parameter wins", `Bearer error="first", error="second"`,
			[]c{{Scheme: "Bearer", Params: p{"error": "first"}}}},
		{"several challenges", `Basic realm="simple", Bearer realm="api", error="invalid_token", Newauth realm="apps", type=1, title="Login to \"apps\""`,
			[]c{
				{Scheme: "Basic", Params: p{"realm": "simple"}},
				{Scheme: "Bearer", Params: p{"realm": "api", "error": "invalid_token"}},
				{Scheme: "Newauth", Params: p{"realm": "apps", "type": "1", "title": `Login to "apps"`}},
			}},
		{"token68", `Negotiate YII=, Bearer error="x"`,
			[]c{{Scheme: "Negotiate", Params: p{}, Token68: "YII="}, {Scheme: "Bearer", Params: p{"error": "x"}}}},
		{"token68 without padding", `Negotiate abc/+.~_-`,
			[]c{{Scheme: "Negotiate", Params: p{}, Token68: "abc/+.~_-"}}},
		{"bare schemes in a row", `Basic, Bearer`,
			[]c{{Scheme: "Basic", Params: p{}}, {Scheme: "Bearer", Params: p{}}}},
		{"empty list elements", `, Bearer ,, realm="x",`,
			[]c{{Scheme: "Bearer", Params: p{"realm": "x"}}}},
		{"empty quoted value", `Bearer error=""`, []c{{Scheme: "Bearer", Params: p{"error": ""}}}},
		{"unterminated quote runs to the end", `Bearer error="invalid_token, realm="x`,
			[]c{{Scheme: "Bearer", Params: p{"error": "invalid_token, realm="}}}},
		{"unescaped quote in a description costs that parameter only",
			`Bearer error="invalid_token", error_description="bad "x" here", scope="openid"`,
			[]c{{Scheme: "Bearer", Params: p{"error": "invalid_token", "error_description": "bad ", "scope": "openid"}}}},
		{"garbage before a challenge", `@@@ ; Bearer error="x"`, nil},
		{"garbage, then a challenge", `@@@, Bearer error="x"`,
			[]c{{Scheme: "Bearer", Params: p{"error": "x"}}}},
		{"garbage between parameters", `Bearer error="x", ;;;, scope="y"`,
			[]c{{Scheme: "Bearer", Params: p{"error": "x", "scope": "y"}}}},
		{"parameter without a value", `Bearer error=, scope="y"`,
			[]c{{Scheme: "Bearer", Params: p{"scope": "y"}, Token68: "error="}}},
		{"non-ASCII", "Bearer error_description=\"caf\u00e9\", \u00e9=1",
			[]c{{Scheme: "Bearer", Params: p{"error_description": "caf\u00e9"}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := userinfo.ParseWWWAuthenticate(tc.in)
			if len(got) == 0 && len(tc.want) == 0 {
				return
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("ParseWWWAuthenticate(%q)\n got %#v\nwant %#v", tc.in, got, tc.want)
			}
		})
	}
}

func TestParseChallenges(t *testing.T) {
	h := http.Header{}
	h.Add("WWW-Authenticate", `Basic realm="a"`)
	h.Add("WWW-Authenticate", `Bearer error="invalid_token"`)
	got := userinfo.ParseChallenges(h)
	if len(got) != 2 || got[0].Scheme != "Basic" || got[1].Params["error"] != "invalid_token" {
		t.Errorf("ParseChallenges = %#v", got)
	}
}
