package credentials_test

import (
	"encoding/base64"
	"testing"

	"github.com/oidcrp/oidcrp/userinfo/credentials"
)

func FuzzParseDIDJWK(f *testing.F) {
	b64 := base64.RawURLEncoding.EncodeToString
	for _, s := range []string{
		"did:jwk:" + b64([]byte(`{"kty":"EC","crv":"P-256","x":"Juen2gRmxbMwmV8r4hBIfZPyRV08h_edSWcYozwSbn8","y":"BKonh7M8F6MFms4Q5V9ngiY3oNIlStiezFP-bB_5Abw"}`)),
		"did:jwk:" + b64([]byte(`{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}`)),
		"did:jwk:" + b64([]byte(`{"kty":"oct","k":"c2VjcmV0"}`)),
		"did:jwk:", "did:key:x", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, did string) {
		pub, err := credentials.ParseDIDJWK(did)
		if err != nil {
			return
		}
		// Whatever parses names a key that round-trips.
		again, err := credentials.DIDJWK(pub)
		if err != nil {
			t.Fatalf("DIDJWK of a parsed key: %v", err)
		}
		back, err := credentials.ParseDIDJWK(again)
		if err != nil || !back.(publicKeyEqualer).Equal(pub) {
			t.Fatalf("round trip of %q failed: %v", did, err)
		}
	})
}
