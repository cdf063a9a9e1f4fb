package credentials

import (
	"bytes"
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
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
)

// minRSABits is the smallest RSA holder key accepted (RFC 7518 §3.3).
const minRSABits = 2048

// GenerateHolderKey returns a new ECDSA P-256 key, the holder key every
// provider supports (proofs are signed with ES256).
func GenerateHolderKey() (*ecdsa.PrivateKey, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("credentials: generate holder key: %w", err)
	}
	return k, nil
}

// LoadOrCreateHolderKey reads the holder key stored at path, a PEM
// "PRIVATE KEY" block (PKCS #8; "EC PRIVATE KEY" and "RSA PRIVATE KEY"
// blocks are read too). When the file does not exist it generates a key
// with [GenerateHolderKey] and stores it there as PKCS #8 PEM with mode
// 0600. The write is atomic and never replaces a file: when another
// process creates the key at the same moment, both end up with the key
// that was stored first.
//
// The key is the identity the issued credentials are bound to; keep the
// file private and keep it across restarts.
func LoadOrCreateHolderKey(path string) (crypto.Signer, error) {
	if path == "" {
		return nil, errors.New("credentials: holder key: empty path")
	}
	k, err := loadHolderKey(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return k, err
	}
	key, err := GenerateHolderKey()
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("credentials: holder key: encode: %w", err)
	}
	data := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	created, err := writeNew(path, data)
	if err != nil {
		return nil, fmt.Errorf("credentials: holder key: %w", err)
	}
	if !created {
		return loadHolderKey(path)
	}
	return key, nil
}

// loadHolderKey reads and checks the key at path.
func loadHolderKey(path string) (crypto.Signer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("credentials: holder key: %w", err)
	}
	signer, err := parseHolderKey(data)
	if err != nil {
		return nil, fmt.Errorf("credentials: holder key %s: %w", path, err)
	}
	return signer, nil
}

// parseHolderKey decodes the first PEM block of data into a supported
// private key.
func parseHolderKey(data []byte) (crypto.Signer, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("no PEM block")
	}
	var (
		key any
		err error
	)
	switch block.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf("PEM block %q is not a private key", block.Type)
	}
	if err != nil {
		return nil, err
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("%w: %T", ErrUnsupportedKey, key)
	}
	if _, err := holderAlg(signer.Public()); err != nil {
		return nil, err
	}
	return signer, nil
}

// writeNew writes data to path unless path exists: it writes a temporary
// file in the same directory (mode 0600), syncs it and links it into
// place, which fails if another file got there first. It reports whether
// it created path.
func writeNew(path string, data []byte) (created bool, err error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return false, err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return false, err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return false, err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return false, err
	}
	if err := tmp.Close(); err != nil {
		return false, err
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return false, nil
		}
		// No hard links on this file system: create exclusively instead.
		return writeExclusive(path, data)
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return true, nil
}

// writeExclusive creates path with O_EXCL and writes data to it.
func writeExclusive(path string, data []byte) (created bool, err error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return false, nil
		}
		return false, err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(path)
		return false, err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(path)
		return false, err
	}
	if err := f.Close(); err != nil {
		os.Remove(path)
		return false, err
	}
	return true, nil
}

// holderAlg picks the proof algorithm for a holder public key.
func holderAlg(pub crypto.PublicKey) (jwa.SignatureAlgorithm, error) {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			return jwa.ES256, nil
		case elliptic.P384():
			return jwa.ES384, nil
		case elliptic.P521():
			return jwa.ES512, nil
		}
		return "", fmt.Errorf("%w: ECDSA curve %s", ErrUnsupportedKey, k.Curve.Params().Name)
	case ed25519.PublicKey:
		return jwa.EdDSA, nil
	case *rsa.PublicKey:
		if k.N.BitLen() < minRSABits {
			return "", fmt.Errorf("%w: RSA key of %d bits, want at least %d", ErrUnsupportedKey, k.N.BitLen(), minRSABits)
		}
		return jwa.RS256, nil
	}
	return "", fmt.Errorf("%w: %T", ErrUnsupportedKey, pub)
}

// thumbprint is the RFC 7638 SHA-256 thumbprint of a key's public part.
func thumbprint(k jwk.Key) ([]byte, error) {
	return k.Thumbprint(crypto.SHA256)
}

// didJWKPrefix starts a did:jwk DID (did:jwk method specification §2).
const didJWKPrefix = "did:jwk:"

// DIDJWK returns the did:jwk DID of a key (did:jwk method specification
// §2): "did:jwk:" and the base64url encoding of its public JWK, here in
// the canonical form of RFC 7638 §3 (required members only, in
// lexicographic order). A private key is reduced to its public part.
//
// Other serializations of the same key give other strings — Ory Hydra
// writes "kty" first, for one — so compare keys, not DIDs: see
// [ParseDIDJWK].
func DIDJWK(pub crypto.PublicKey) (string, error) {
	k, err := jwk.FromRaw(pub)
	if err != nil {
		return "", fmt.Errorf("credentials: did:jwk: %w", err)
	}
	if k, err = k.PublicKey(); err != nil {
		return "", fmt.Errorf("credentials: did:jwk: %w", err)
	}
	b, err := json.Marshal(k)
	if err != nil {
		return "", fmt.Errorf("credentials: did:jwk: %w", err)
	}
	return didJWKPrefix + base64.RawURLEncoding.EncodeToString(b), nil
}

// ParseDIDJWK returns the public key of a did:jwk DID, such as the
// subject of a credential, as a *ecdsa.PublicKey, ed25519.PublicKey or
// *rsa.PublicKey. A DID whose JWK holds private material is refused.
func ParseDIDJWK(did string) (crypto.PublicKey, error) {
	k, err := keyOfDID(did)
	if err != nil {
		return nil, fmt.Errorf("credentials: %w", err)
	}
	var pub any
	if err := k.Raw(&pub); err != nil {
		return nil, fmt.Errorf("credentials: did:jwk: %w", err)
	}
	// jwx builds an EC key from any coordinates; a point that is not on
	// its curve (or coordinates longer than the curve's field) is no key.
	if ec, ok := pub.(*ecdsa.PublicKey); ok {
		if _, err := ec.ECDH(); err != nil {
			return nil, fmt.Errorf("credentials: did:jwk: EC key is not a point of its curve: %w", err)
		}
	}
	return pub, nil
}

// keyOfDID decodes the key of a did:jwk DID. The JWK must be public.
func keyOfDID(did string) (jwk.Key, error) {
	enc, ok := strings.CutPrefix(did, didJWKPrefix)
	if !ok || enc == "" {
		return nil, errors.New("not a did:jwk")
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(enc, "="))
	if err != nil {
		return nil, fmt.Errorf("did:jwk is not base64url: %w", err)
	}
	if !bytes.HasPrefix(bytes.TrimSpace(raw), []byte("{")) {
		return nil, errors.New("did:jwk does not hold a JWK")
	}
	k, err := jwk.ParseKey(raw)
	if err != nil {
		return nil, fmt.Errorf("did:jwk holds no usable JWK: %w", err)
	}
	if ak, ok := k.(jwk.AsymmetricKey); !ok || ak.IsPrivate() {
		return nil, errors.New("did:jwk does not hold a public key")
	}
	return k, nil
}
