package rp

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"time"

	"golang.org/x/oauth2"

	"github.com/oidcrp/oidcrp/rp/session"
)

// refreshTimeout bounds one refresh at the token endpoint. It runs detached
// from the request that started it: once the request is sent, its answer
// (a rotated refresh token) must be kept even if that request went away.
const refreshTimeout = 30 * time.Second

// failureCooldown is how long after a failed refresh a session's requests
// are answered without calling the provider again (no retry storm).
const failureCooldown = 5 * time.Second

// needsRefresh reports whether rec's access token expires within the
// refresh margin, which never exceeds a quarter of the token's lifetime.
func (r *RP) needsRefresh(rec *session.Session, now time.Time) bool {
	if rec.Expiry.IsZero() {
		return false
	}
	margin := r.cfg.RefreshMargin
	if !rec.TokenIssued.IsZero() {
		if life := rec.Expiry.Sub(rec.TokenIssued); life > 0 && margin > life/4 {
			margin = life / 4
		}
	}
	return !now.Add(margin).Before(rec.Expiry)
}

// ensureFresh returns rec, or a copy with refreshed tokens when its access
// token is about to expire. Concurrent callers for one session share one
// refresh; each waits with its own ctx. The refreshed session is saved to
// the store and into w's cookies.
func (r *RP) ensureFresh(ctx context.Context, w http.ResponseWriter, req *http.Request, rec *session.Session, now time.Time) (*session.Session, error) {
	if !r.needsRefresh(rec, now) {
		return rec, nil
	}
	expired := !now.Before(rec.Expiry)
	if rec.RefreshToken == "" {
		if expired {
			return rec, ErrNoRefreshToken
		}
		return rec, nil
	}
	if until, cooling := r.cooldown(rec.ID, now); cooling {
		if expired {
			return rec, fmt.Errorf("%w: refresh failed recently; retry after %s", ErrProviderUnavailable, until.Format(time.RFC3339))
		}
		return rec, nil
	}
	ch := r.refreshes.DoChan(rec.ID, func() (any, error) {
		return r.refresh(ctx, rec)
	})
	var res singleflightResult
	select {
	case <-ctx.Done():
		return rec, ctx.Err()
	case v := <-ch:
		res = singleflightResult{v.Val, v.Err}
	}
	if res.err != nil {
		if errors.Is(res.err, ErrProviderUnavailable) {
			r.setCooldown(rec.ID, now.Add(failureCooldown))
			r.log.Warn("rp: refresh failed; keeping session", "sub", rec.Subject, "err", res.err)
			if !expired {
				return rec, nil
			}
		}
		return rec, res.err
	}
	next := res.val.(*session.Session)
	out := *next
	out.LastSeen = rec.LastSeen
	if out.IDToken == "" {
		out.IDToken = rec.IDToken
	}
	if err := r.saveSession(w, req, &out); errors.Is(err, errRevoked) {
		return rec, fmt.Errorf("%w: logged out during the refresh", ErrRefreshRejected)
	} else if err != nil {
		// The new tokens are remembered in r.replaced, so a request that
		// still carries the old session reuses them rather than redeeming
		// the rotated refresh token again.
		r.log.Error("rp: save refreshed session", "err", err)
	}
	return &out, nil
}

type singleflightResult struct {
	val any
	err error
}

// refresh redeems rec's refresh token once. A refresh token that was
// already redeemed by this process is never sent again: its replacement is
// reused instead, since providers such as Ory Hydra revoke the whole token
// chain when a rotated refresh token comes back.
func (r *RP) refresh(ctx context.Context, rec *session.Session) (*session.Session, error) {
	key := sha256.Sum256([]byte(rec.RefreshToken))
	if next, ok := r.replaced.get(key, r.now()); ok {
		return applyTokens(rec, next), nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), refreshTimeout)
	defer cancel()
	if l := r.locker(); l != nil {
		unlock, err := l.Lock(ctx, "refresh:"+rec.ID, refreshTimeout)
		if err != nil {
			return nil, fmt.Errorf("%w: lock session for refresh: %w", ErrSessionStore, err)
		}
		defer unlock()
		if next, ok := r.replaced.get(key, r.now()); ok {
			return applyTokens(rec, next), nil
		}
		// Another replica may have refreshed while this one waited: its
		// tokens are in the shared store.
		if ld, ok := r.store.(idLoader); ok {
			cur, err := ld.LoadID(ctx, rec.ID)
			if err != nil {
				return nil, fmt.Errorf("%w: reload session: %w", ErrSessionStore, err)
			}
			if cur != nil && cur.RefreshToken != rec.RefreshToken && cur.TokenIssued.After(rec.TokenIssued) && !r.needsRefresh(cur, r.now()) {
				r.replaced.put(key, cur, r.now())
				return applyTokens(rec, cur), nil
			}
		}
	}
	md, err := r.metadata(ctx)
	if err != nil {
		return nil, err
	}
	tok, err := r.oauth2Config(md).TokenSource(r.providerCtx(ctx), &oauth2.Token{RefreshToken: rec.RefreshToken}).Token()
	if err != nil {
		return nil, classifyTokenError(err, ErrRefreshRejected)
	}
	now := r.now()
	next := &session.Session{
		AccessToken:  tok.AccessToken,
		TokenType:    tok.TokenType,
		RefreshToken: tok.RefreshToken,
		Expiry:       r.tokenExpiry(tok, now),
		TokenIssued:  now,
	}
	if next.RefreshToken == "" {
		next.RefreshToken = rec.RefreshToken
	}
	if rawID, _ := tok.Extra("id_token").(string); rawID != "" {
		idt, err := r.verifyIDToken(ctx, md, rawID, idTokenCheck{maxAge: -1, accessToken: tok.AccessToken})
		if err != nil {
			return nil, fmt.Errorf("%w: refreshed ID token: %w", ErrIdentityChanged, err)
		}
		if err := sameIdentity([]byte(rec.ClaimsJSON), idt.raw); err != nil {
			return nil, err
		}
		next.IDToken = rawID
		next.ClaimsJSON = string(idt.raw)
		if idt.claims.SID != "" {
			next.SID = idt.claims.SID
		}
	}
	r.replaced.put(key, next, now)
	r.log.Debug("rp: refreshed tokens", "sub", rec.Subject)
	out := applyTokens(rec, next)
	// A server-side store gets the new tokens before the lock is released,
	// so that a replica waiting on it reads them instead of redeeming the
	// rotated refresh token again.
	if sv, ok := r.store.(idSaver); ok {
		if err := r.checkNotRevoked(ctx, out); errors.Is(err, errRevoked) {
			return nil, fmt.Errorf("%w: logged out during the refresh", ErrRefreshRejected)
		} else if err != nil {
			return nil, err
		}
		if err := sv.SaveID(ctx, out); err != nil {
			r.log.Error("rp: save refreshed session", "err", err)
		}
	}
	return out, nil
}

// idLoader is a store that reads a session by its ID (a server-side store).
type idLoader interface {
	LoadID(ctx context.Context, id string) (*session.Session, error)
}

// idSaver is a store that writes a session's record without a request.
type idSaver interface {
	SaveID(ctx context.Context, s *session.Session) error
}

// locker returns what serializes refreshes across replicas, if anything.
func (r *RP) locker() session.Locker {
	if r.cfg.Locker != nil {
		return r.cfg.Locker
	}
	if l, ok := r.store.(session.Locker); ok {
		return l
	}
	return nil
}

// applyTokens returns a copy of rec with the token fields of next.
func applyTokens(rec, next *session.Session) *session.Session {
	out := *rec
	out.AccessToken = next.AccessToken
	out.TokenType = next.TokenType
	out.RefreshToken = next.RefreshToken
	out.Expiry = next.Expiry
	out.TokenIssued = next.TokenIssued
	if next.IDToken != "" {
		out.IDToken = next.IDToken
		out.ClaimsJSON = next.ClaimsJSON
	}
	if next.SID != "" {
		out.SID = next.SID
	}
	return &out
}

func (r *RP) cooldown(id string, now time.Time) (time.Time, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	until, ok := r.failures[id]
	if ok && !now.Before(until) {
		delete(r.failures, id)
		return time.Time{}, false
	}
	return until, ok
}

func (r *RP) setCooldown(id string, until time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.failures) > 10000 {
		now := r.now()
		for k, v := range r.failures {
			if !now.Before(v) {
				delete(r.failures, k)
			}
		}
	}
	r.failures[id] = until
}

// replacedTokens remembers, for a while, which tokens replaced which
// refresh token (keyed by its SHA-256), so that a request still carrying
// the old refresh token reuses the new tokens. Bounded in size and age.
type replacedTokens struct {
	ttl   time.Duration
	cache *lru[[32]byte, replacedEntry]
}

type replacedEntry struct {
	next  *session.Session
	added time.Time
}

func newReplacedTokens(max int, ttl time.Duration) *replacedTokens {
	return &replacedTokens{ttl: ttl, cache: newLRU[[32]byte, replacedEntry](max)}
}

func (c *replacedTokens) get(key [32]byte, now time.Time) (*session.Session, bool) {
	e, ok := c.cache.get(key)
	if !ok || now.Sub(e.added) > c.ttl {
		return nil, false
	}
	return e.next, true
}

func (c *replacedTokens) put(key [32]byte, next *session.Session, now time.Time) {
	c.cache.put(key, replacedEntry{next: next, added: now})
}
