package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/oidcrp/oidcrp/registration"
)

// CredentialStore returns a [registration.CredentialStore] that keeps one
// registration's credentials under the key prefix+"reg:"+name, for
// [registration.Ensure] on many replicas. name tells registrations apart
// (for example the provider's name); the empty name is allowed.
//
// Load and Save are one GET and one SET: a Load sees the old or the new
// value, never a mix. The value is the credentials' JSON, sealed with
// [Options.Codec] (bound to the key) when one is set, so that the client
// secret and the registration access token are not readable in Redis.
// Unreadable data is an error, not "none" (which would register a second
// client). How well a saved value survives a crash of Redis is Redis's
// persistence setting: run it with appendonly yes.
//
// The value also implements [registration.Locker]: Lock takes the lease
// prefix+"reglock:"+name with SET NX PX and a random token, polling while
// another replica holds it, until ctx ends. The lease lasts
// [Options.CredentialLockTTL] (default 30 s) and a goroutine renews it
// every third of that while it is held, so Ensure may run as long as it
// needs, while a replica that dies holding the lock blocks the others for
// at most one lease. If a renewal finds the lease lost (Redis was down
// longer than the lease, or restarted empty) it stops renewing; Ensure
// reloads the credentials before each step, which limits the harm. unlock
// stops the renewal and releases the lease with a compare-and-delete; it
// is safe to call more than once.
func (s *Store) CredentialStore(name string) registration.CredentialStore {
	return &credentialStore{s: s, key: s.prefix + "reg:" + name, lockKey: s.prefix + "reglock:" + name}
}

type credentialStore struct {
	s            *Store
	key, lockKey string
}

func (c *credentialStore) aad() string { return "oidcrp-redis:" + c.key }

// Load returns the stored credentials, or (nil, nil) when there are none.
func (c *credentialStore) Load(ctx context.Context) (*registration.Credentials, error) {
	v, err := c.s.c.Get(ctx, c.key).Result()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("redisstore: load credentials: %w", err)
	}
	raw := []byte(v)
	if c.s.codec != nil {
		if raw, err = c.s.codec.Open(c.aad(), v); err != nil {
			return nil, fmt.Errorf("redisstore: load credentials: %w", err)
		}
	}
	cr := new(registration.Credentials)
	if err := json.Unmarshal(raw, cr); err != nil {
		return nil, fmt.Errorf("redisstore: load credentials: %w", err)
	}
	if cr.ClientID == "" {
		return nil, errors.New("redisstore: load credentials: no client_id")
	}
	return cr, nil
}

// Save replaces the stored credentials with cr.
func (c *credentialStore) Save(ctx context.Context, cr *registration.Credentials) error {
	if cr == nil {
		return errors.New("redisstore: save credentials: nil")
	}
	b, err := json.Marshal(cr)
	if err != nil {
		return fmt.Errorf("redisstore: save credentials: %w", err)
	}
	var val any = b
	if c.s.codec != nil {
		sealed, err := c.s.codec.Seal(c.aad(), b)
		if err != nil {
			return fmt.Errorf("redisstore: save credentials: %w", err)
		}
		val = sealed
	}
	if err := c.s.c.Set(ctx, c.key, val, 0).Err(); err != nil {
		return fmt.Errorf("redisstore: save credentials: %w", err)
	}
	return nil
}

// Lock takes the credential lock; see [Store.CredentialStore].
func (c *credentialStore) Lock(ctx context.Context) (func(), error) {
	ttl := c.s.lockTTL
	token, err := c.s.acquire(ctx, c.lockKey, ttl)
	if err != nil {
		return nil, fmt.Errorf("redisstore: lock credentials: %w", err)
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(max(ttl/3, time.Millisecond))
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				// A failed renewal is retried at the next tick; a lost
				// lease cannot be renewed.
				if held, err := c.s.renew(ctx, c.lockKey, token, ttl); err == nil && !held {
					return
				}
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			close(stop)
			<-done
			c.s.release(ctx, c.lockKey, token)
		})
	}, nil
}
