package userinfo_test

import (
	"context"
	"testing"

	"github.com/oidcrp/oidcrp/userinfo"
)

func BenchmarkParseWWWAuthenticate(b *testing.B) {
	h := `Basic realm="legacy", Bearer realm="api", error="invalid_token", error_description="The access token expired, \"renew\" it", scope="openid profile"`
	for b.Loop() {
		if len(userinfo.ParseWWWAuthenticate(h)) != 2 {
			b.Fatal("wrong parse")
		}
	}
}

func BenchmarkParseInfo(b *testing.B) {
	data := []byte(`{"sub":"alice","iss":"http://127.0.0.1:4444","aud":["app"],"iat":1700000000,"auth_time":1700000000,
		"rat":1700000000,"email":"alice@example.com","email_verified":true,"name":"Alice Example","given_name":"Alice",
		"family_name":"Example","preferred_username":"alice","updated_at":1.7e9}`)
	for b.Loop() {
		if _, err := userinfo.ParseInfo(data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFetchSigned is one signed (RS256) userinfo round trip on
// loopback, verification included.
func BenchmarkFetchSigned(b *testing.B) {
	s := newScripted(b, signed(nil), nil)
	uic, err := userinfo.New(userinfo.Config{Provider: newDiscovery(b, s.op.Issuer()), ClientID: testClientID})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for b.Loop() {
		if _, err := uic.Fetch(ctx, testToken, "alice"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFetchPlain is one plain JSON userinfo round trip on loopback.
func BenchmarkFetchPlain(b *testing.B) {
	s := newScripted(b, serve(200, "application/json", `{"sub":"alice","email":"alice@example.com","email_verified":true}`), nil)
	uic, err := userinfo.New(userinfo.Config{Provider: newDiscovery(b, s.op.Issuer()), ClientID: testClientID})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for b.Loop() {
		if _, err := uic.Fetch(ctx, testToken, "alice"); err != nil {
			b.Fatal(err)
		}
	}
}
