package session

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
)

// MinSecretSize is the smallest secret [NewCodec] accepts, in bytes.
const MinSecretSize = 32

// The sealed form: version (1 byte) | key id (4) | nonce (12) |
// AES-256-GCM ciphertext with its 16-byte tag.
const (
	sealVersion  = 1
	keyIDSize    = 4
	nonceSize    = 12
	tagSize      = 16
	sealHeader   = 1 + keyIDSize + nonceSize
	sealOverhead = sealHeader + tagSize
)

// HKDF info strings (RFC 5869 §2.3) that separate the derived values.
const (
	hkdfInfoKey   = "oidcrp/session v1 AES-256-GCM key"
	hkdfInfoKeyID = "oidcrp/session v1 key id"
)

// Codec seals and opens values with AES-256-GCM (NIST SP 800-38D) under
// rotating keys. The first secret given to [NewCodec] seals; every secret
// opens, so a new secret can be put first while the old ones still open
// what they sealed. Each sealed value carries a 4-byte key id derived from
// its secret, so opening tries only the matching key.
//
// A Codec is safe for concurrent use. Nonces are random (96 bits), which
// keeps the collision probability negligible for well over 2^30 seals
// under one key; rotate the first secret long before that.
type Codec struct {
	keys []codecKey // keys[0] seals
}

type codecKey struct {
	id   uint32
	aead cipher.AEAD
}

// NewCodec derives one AES-256 key per secret with HKDF-SHA256 (RFC 5869)
// and returns a Codec that seals with the first and opens with all. It
// needs at least one secret; each must be at least [MinSecretSize] bytes
// of high-entropy data.
func NewCodec(secrets ...[]byte) (*Codec, error) {
	if len(secrets) == 0 {
		return nil, fmt.Errorf("session: new codec: no secret given")
	}
	c := &Codec{keys: make([]codecKey, 0, len(secrets))}
	seen := make(map[uint32][]byte, len(secrets))
	for i, secret := range secrets {
		if len(secret) < MinSecretSize {
			return nil, fmt.Errorf("session: new codec: secret %d is %d bytes, need at least %d", i, len(secret), MinSecretSize)
		}
		key, err := hkdf.Key(sha256.New, secret, nil, hkdfInfoKey, 32)
		if err != nil {
			return nil, fmt.Errorf("session: new codec: derive key: %w", err)
		}
		idb, err := hkdf.Key(sha256.New, secret, nil, hkdfInfoKeyID, keyIDSize)
		if err != nil {
			return nil, fmt.Errorf("session: new codec: derive key id: %w", err)
		}
		id := binary.BigEndian.Uint32(idb)
		if prev, dup := seen[id]; dup {
			if string(prev) == string(key) {
				continue // the same secret twice
			}
			return nil, fmt.Errorf("session: new codec: secrets collide on key id %08x; replace secret %d", id, i)
		}
		seen[id] = key
		block, err := aes.NewCipher(key)
		if err != nil {
			return nil, fmt.Errorf("session: new codec: %w", err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("session: new codec: %w", err)
		}
		c.keys = append(c.keys, codecKey{id: id, aead: aead})
	}
	return c, nil
}

// Seal encrypts plaintext and returns it as unpadded base64url text. name is
// authenticated as GCM additional data: the result opens only under the
// same name, so a value sealed for cookie "a" is refused as cookie "b".
func (c *Codec) Seal(name string, plaintext []byte) (string, error) {
	raw := make([]byte, sealHeader, sealOverhead+len(plaintext))
	raw = append(raw, plaintext...)
	raw, err := c.sealInPlace(raw, []byte(name))
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(raw), nil
}

// Open reverses [Codec.Seal] for the same name. Anything tampered with,
// truncated, sealed under another name or under a key the Codec does not
// hold fails with an error wrapping ErrInvalid.
func (c *Codec) Open(name, sealed string) ([]byte, error) {
	if len(sealed) > 2*maxRecordSize {
		return nil, fmt.Errorf("session: open: %w", ErrInvalid)
	}
	raw := make([]byte, base64.RawURLEncoding.DecodedLen(len(sealed)))
	n, ok := decodeBase64(raw, sealed)
	if !ok {
		return nil, fmt.Errorf("session: open: %w", ErrInvalid)
	}
	pt, ok := c.openInPlace(raw[:n], []byte(name))
	if !ok {
		return nil, fmt.Errorf("session: open: %w", ErrInvalid)
	}
	return pt, nil
}

// sealInPlace seals buf[sealHeader:] in place: it writes the header into
// buf[:sealHeader] and appends the tag (buf should have tagSize spare
// capacity to avoid a copy). It returns the whole sealed form.
func (c *Codec) sealInPlace(buf, aad []byte) ([]byte, error) {
	k := &c.keys[0]
	buf[0] = sealVersion
	binary.BigEndian.PutUint32(buf[1:], k.id)
	nonce := buf[1+keyIDSize : sealHeader]
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("session: seal: %w", err)
	}
	pt := buf[sealHeader:]
	ct := k.aead.Seal(pt[:0], nonce, pt, aad)
	return buf[:sealHeader+len(ct)], nil
}

// openInPlace authenticates and decrypts a sealed form in place and returns
// the plaintext, a subslice of raw. On failure the content of raw is
// undefined.
func (c *Codec) openInPlace(raw, aad []byte) ([]byte, bool) {
	if len(raw) < sealOverhead || raw[0] != sealVersion {
		return nil, false
	}
	id := binary.BigEndian.Uint32(raw[1:])
	for i := range c.keys {
		k := &c.keys[i]
		if k.id != id {
			continue
		}
		ct := raw[sealHeader:]
		pt, err := k.aead.Open(ct[:0], raw[1+keyIDSize:sealHeader], ct, aad)
		if err != nil {
			return nil, false
		}
		return pt, true
	}
	return nil, false
}
