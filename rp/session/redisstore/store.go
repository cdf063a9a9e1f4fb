package redisstore

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/oidcrp/oidcrp/registration"
	"github.com/oidcrp/oidcrp/rp/session"
)

// DefaultPrefix is the key prefix when [Options.Prefix] is empty.
const DefaultPrefix = "oidcrp:"

// DefaultCredentialLockTTL is the lease of a credential store's lock when
// [Options.CredentialLockTTL] is zero.
const DefaultCredentialLockTTL = 30 * time.Second

// Recommended client settings, applied by [NewClient] to every field the
// URL leaves unset. Short timeouts make every method fail within about a
// second when Redis is unreachable, so that the relying party answers 503
// at once instead of holding requests; go-redis reconnects by itself once
// Redis is back.
const (
	RecommendedDialTimeout  = 1 * time.Second
	RecommendedReadTimeout  = 500 * time.Millisecond
	RecommendedWriteTimeout = 500 * time.Millisecond
	RecommendedPoolTimeout  = 1 * time.Second
	RecommendedMaxRetries   = 2
	RecommendedDialRetries  = 2
)

// Options configures a [Store].
type Options struct {
	// Client is the Redis client; required. It may be a *redis.Client
	// (standalone or Sentinel failover) or a *redis.ClusterClient. The
	// Store does not close it. See [NewClient] for recommended timeouts.
	Client redis.UniversalClient
	// Prefix starts every key the Store writes, so that several
	// applications can share one Redis. Default "oidcrp:".
	Prefix string
	// Codec, when set, seals session records and stored credentials at
	// rest with AES-256-GCM, each bound to its key, so that someone who
	// can read Redis (or its snapshots) sees no tokens or secrets and
	// cannot move a record to another key. Without it records are stored
	// in their plain binary form ([session.Session.MarshalBinary]).
	// Adding, removing or replacing (rather than rotating) the Codec
	// makes existing records unreadable: those users log in again.
	Codec *session.Codec
	// Now is the clock from which record lifetimes are computed (records
	// are given a relative TTL, so clock skew between the application and
	// Redis does not matter). Default time.Now.
	Now func() time.Time
	// CredentialLockTTL is the lease of the lock a credential store's Lock
	// takes; the holder renews it every third of it, so it only matters
	// when the holder dies. Default [DefaultCredentialLockTTL].
	CredentialLockTTL time.Duration
}

// Store keeps the relying party's shared state in Redis, for many
// replicas of one application. It is a [session.Backend] for a
// [session.ServerStore], a [session.Indexer], a [session.Locker], and
// hands out a [session.Revocations], a [session.ReplayCache] and
// [registration.CredentialStore] values. It is safe for concurrent use.
//
// Keys (P is [Options.Prefix], H the hex SHA-256):
//
//	P s:H(id)          hash {d: record, x: sid index key, u: subject index key}, TTL = record expiry
//	P sid:H(iss,sid)   set of record keys, TTL = longest member's expiry
//	P sub:H(iss,sub)   set of record keys, TTL = longest member's expiry
//	P lock:H(key)      lock token, TTL = lease
//	P rev:H(key)       revocation time, TTL = entry lifetime
//	P seen:H(key)      replay marker, TTL = entry lifetime
//	P reg:name         credentials JSON (sealed when a Codec is set), no TTL
//	P reglock:name     credential lock token, TTL = lease
//
// No session ID, subject or provider session ID is stored in clear.
// Every operation touches one key per Lua script and, for the index, uses
// MULTI on a standalone client and a plain pipeline on a cluster, so the
// Store works with Redis Cluster. It needs Redis 7.0 or later (SET NX
// GET, PEXPIRE NX/GT) or a compatible server such as Valkey.
//
// When Redis is unreachable every method fails with a wrapped error
// (never a "not found"), within the client's timeouts or the context's
// deadline, whichever is sooner.
type Store struct {
	c       redis.UniversalClient
	prefix  string
	codec   *session.Codec
	now     func() time.Time
	lockTTL time.Duration
	// tx is true when MULTI can span keys of different hash slots.
	tx bool
}

// New returns a Store over opt.Client. It fails when the client is nil or
// a duration is negative. It does not contact Redis.
func New(opt Options) (*Store, error) {
	if opt.Client == nil {
		return nil, errors.New("redisstore: new: nil Client")
	}
	if opt.CredentialLockTTL < 0 {
		return nil, fmt.Errorf("redisstore: new: negative CredentialLockTTL %v", opt.CredentialLockTTL)
	}
	s := &Store{c: opt.Client, prefix: opt.Prefix, codec: opt.Codec, now: opt.Now, lockTTL: opt.CredentialLockTTL}
	if s.prefix == "" {
		s.prefix = DefaultPrefix
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.lockTTL == 0 {
		s.lockTTL = DefaultCredentialLockTTL
	}
	_, s.tx = opt.Client.(*redis.Client)
	return s, nil
}

// NewClient parses a Redis URL (redis://, rediss:// or unix://, see
// redis.ParseURL; query parameters such as dial_timeout are honoured)
// and returns a client with the Recommended* settings for every field
// the URL leaves unset, and with context deadlines applied to socket
// reads and writes.
func NewClient(redisURL string) (*redis.Client, error) {
	o, err := redis.ParseURL(redisURL)
	if err != nil {
		return nil, fmt.Errorf("redisstore: parse URL: %w", err)
	}
	if o.DialTimeout == 0 {
		o.DialTimeout = RecommendedDialTimeout
	}
	if o.ReadTimeout == 0 {
		o.ReadTimeout = RecommendedReadTimeout
	}
	if o.WriteTimeout == 0 {
		o.WriteTimeout = RecommendedWriteTimeout
	}
	if o.PoolTimeout == 0 {
		o.PoolTimeout = RecommendedPoolTimeout
	}
	if o.MaxRetries == 0 {
		o.MaxRetries = RecommendedMaxRetries
	}
	if o.DialerRetries == 0 {
		o.DialerRetries = RecommendedDialRetries
	}
	o.ContextTimeoutEnabled = true
	return redis.NewClient(o), nil
}

// Compile-time checks.
var (
	_ session.Backend = (*Store)(nil)
	_ session.Indexer = (*Store)(nil)
	_ session.Locker  = (*Store)(nil)

	_ session.Revocations = (*revocations)(nil)
	_ session.ReplayCache = (*replayCache)(nil)

	_ registration.CredentialStore = (*credentialStore)(nil)
	_ registration.Locker          = (*credentialStore)(nil)
)

// hashHex returns the hex SHA-256 of the parts joined by NUL (which
// cannot occur in an issuer URL or a session ID).
func hashHex(parts ...string) string {
	h := sha256.New()
	for i, p := range parts {
		if i > 0 {
			h.Write([]byte{0})
		}
		h.Write([]byte(p))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// recordKey is the key of a session record.
func (s *Store) recordKey(id string) string { return s.prefix + "s:" + hashHex(id) }

// sidKey and subKey are the index keys; empty when v is.
func (s *Store) sidKey(iss, sid string) string {
	if sid == "" {
		return ""
	}
	return s.prefix + "sid:" + hashHex(iss, sid)
}

func (s *Store) subKey(iss, sub string) string {
	if sub == "" {
		return ""
	}
	return s.prefix + "sub:" + hashHex(iss, sub)
}

// millis rounds d up to whole milliseconds, at least 1, for PX/PEXPIRE.
func millis(d time.Duration) int64 {
	return max(1, int64((d+time.Millisecond-1)/time.Millisecond))
}

// newToken returns 128 random bits in hex, the value that identifies one
// lock holder or one replay-cache writer.
func newToken() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return hex.EncodeToString(b[:]), nil
}

// setNXGet runs SET key token NX PX ttl GET and reports whether key now
// holds token: true when this call set it, or when an earlier attempt of
// the same call did (the client retries on network errors, and the
// retried SET then finds the value of the first one).
func (s *Store) setNXGet(ctx context.Context, key, token string, ttl time.Duration) (bool, error) {
	old, err := s.c.Do(ctx, "set", key, token, "px", millis(ttl), "nx", "get").Text()
	if errors.Is(err, redis.Nil) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	return old == token, nil
}
