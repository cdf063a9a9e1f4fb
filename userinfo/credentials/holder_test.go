package credentials_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/oidcrp/oidcrp/userinfo/credentials"
)

type publicKeyEqualer interface{ Equal(crypto.PublicKey) bool }

func TestLoadOrCreateHolderKey(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "holder.pem")
	k1, err := credentials.LoadOrCreateHolderKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := k1.(*ecdsa.PrivateKey); !ok {
		t.Errorf("generated key is %T, want *ecdsa.PrivateKey", k1)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, want 0600", st.Mode().Perm())
	}
	data, _ := os.ReadFile(path)
	if block, _ := pem.Decode(data); block == nil || block.Type != "PRIVATE KEY" {
		t.Errorf("key file is not a PKCS #8 PEM block: %q", data)
	}
	k2, err := credentials.LoadOrCreateHolderKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if !k2.Public().(publicKeyEqualer).Equal(k1.Public()) {
		t.Error("reloading gave another key")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only the key", len(entries))
	}
}

func TestLoadOrCreateHolderKeyConcurrent(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "holder.pem")
	const n = 16
	keys := make([]crypto.Signer, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			keys[i], errs[i] = credentials.LoadOrCreateHolderKey(path)
		}()
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("caller %d: %v", i, errs[i])
		}
		if !keys[i].Public().(publicKeyEqualer).Equal(keys[0].Public()) {
			t.Fatalf("caller %d got another key than caller 0", i)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only the key", len(entries))
	}
}

func TestLoadHolderKeyFormats(t *testing.T) {
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	sec1, _ := x509.MarshalECPrivateKey(ec)
	rk, _ := rsa.GenerateKey(rand.Reader, 2048)
	small, _ := rsa.GenerateKey(rand.Reader, 1024)
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	edDER, _ := x509.MarshalPKCS8PrivateKey(ed)
	pemOf := func(typ string, der []byte) string {
		return string(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}))
	}
	tests := []struct {
		name    string
		content string
		ok      bool
		wantErr error
	}{
		{"SEC 1 EC key", pemOf("EC PRIVATE KEY", sec1), true, nil},
		{"PKCS #1 RSA key", pemOf("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rk)), true, nil},
		{"PKCS #8 Ed25519 key", pemOf("PRIVATE KEY", edDER), true, nil},
		{"small RSA key", pemOf("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(small)), false, credentials.ErrUnsupportedKey},
		{"certificate", pemOf("CERTIFICATE", []byte{1, 2, 3}), false, nil},
		{"garbage DER", pemOf("PRIVATE KEY", []byte("garbage")), false, nil},
		{"not PEM", "hello", false, nil},
		{"empty", "", false, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "k.pem")
			if err := os.WriteFile(path, []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			k, err := credentials.LoadOrCreateHolderKey(path)
			if tc.ok {
				if err != nil || k == nil {
					t.Fatalf("LoadOrCreateHolderKey = %v, %v", k, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("LoadOrCreateHolderKey accepted %s", tc.name)
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Errorf("error %v, want %v", err, tc.wantErr)
			}
			if got, _ := os.ReadFile(path); string(got) != tc.content {
				t.Error("a bad key file was overwritten")
			}
		})
	}

	t.Run("missing directory", func(t *testing.T) {
		if _, err := credentials.LoadOrCreateHolderKey(filepath.Join(t.TempDir(), "no", "such", "k.pem")); err == nil {
			t.Error("created a key in a missing directory")
		}
	})
	t.Run("empty path", func(t *testing.T) {
		if _, err := credentials.LoadOrCreateHolderKey(""); err == nil {
			t.Error("empty path accepted")
		}
	})
}

func TestDIDJWK(t *testing.T) {
	k, _ := credentials.GenerateHolderKey()
	did, err := credentials.DIDJWK(k.Public())
	if err != nil {
		t.Fatal(err)
	}
	enc, ok := strings.CutPrefix(did, "did:jwk:")
	if !ok {
		t.Fatalf("DID %q lacks the did:jwk: prefix", did)
	}
	raw, err := base64.RawURLEncoding.DecodeString(enc)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]string
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	if m["kty"] != "EC" || m["crv"] != "P-256" || m["x"] == "" || m["y"] == "" || m["d"] != "" {
		t.Errorf("JWK in the DID = %v", m)
	}
	fromPrivate, err := credentials.DIDJWK(k)
	if err != nil || fromPrivate != did {
		t.Errorf("DIDJWK of the private key = %q, %v; want the public key's DID", fromPrivate, err)
	}
	if _, err := credentials.DIDJWK("not a key"); err == nil {
		t.Error("DIDJWK of a string succeeded")
	}
}

func TestParseDIDJWK(t *testing.T) {
	k, _ := credentials.GenerateHolderKey()
	did, _ := credentials.DIDJWK(k.Public())
	point, err := k.PublicKey.Bytes() // 0x04 || X || Y
	if err != nil {
		t.Fatal(err)
	}
	x, y := point[1:33], point[33:]
	b64 := base64.RawURLEncoding.EncodeToString
	// Ory Hydra's serialization: kty first.
	hydraStyle := `{"kty":"EC","crv":"P-256","x":"` + b64(x) + `","y":"` + b64(y) + `"}`
	d, err := k.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	private := `{"kty":"EC","crv":"P-256","x":"` + b64(x) + `","y":"` + b64(y) + `","d":"` + b64(d) + `"}`
	tests := []struct {
		name string
		did  string
		ok   bool
	}{
		{"canonical", did, true},
		{"Ory Hydra's member order", "did:jwk:" + b64([]byte(hydraStyle)), true},
		{"padded base64url", "did:jwk:" + base64.URLEncoding.EncodeToString([]byte(hydraStyle)), true},
		{"private key inside", "did:jwk:" + b64([]byte(private)), false},
		{"symmetric key", "did:jwk:" + b64([]byte(`{"kty":"oct","k":"c2VjcmV0"}`)), false},
		{"other DID method", "did:key:z6Mk", false},
		{"no key", "did:jwk:", false},
		{"not base64url", "did:jwk:%%%", false},
		{"not JSON", "did:jwk:" + b64([]byte("hello")), false},
		{"JSON, not a JWK", "did:jwk:" + b64([]byte(`{"a":1}`)), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pub, err := credentials.ParseDIDJWK(tc.did)
			if !tc.ok {
				if err == nil {
					t.Errorf("ParseDIDJWK accepted %q", tc.did)
				}
				return
			}
			if err != nil || !pub.(publicKeyEqualer).Equal(k.Public()) {
				t.Errorf("ParseDIDJWK = %v, %v; want the holder key", pub, err)
			}
		})
	}
}
