package rp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/oidcrp/oidcrp/rp/session"
	"github.com/oidcrp/oidcrp/userinfo"
)

// userInfoFetchTimeout bounds a userinfo call made on a request's behalf.
const userInfoFetchTimeout = 5 * time.Second

// userInfoRetry is how long after a failed userinfo call the cached (or
// no) answer is served before the provider is asked again.
const userInfoRetry = 30 * time.Second

// idTokenWins lists the claims in which the ID token's value beats
// userinfo's in [Session.Claims].
var idTokenWins = map[string]bool{
	"iss": true, "sub": true, "aud": true, "exp": true, "iat": true,
	"auth_time": true, "nonce": true, "acr": true, "amr": true,
}

// userInfoEntry is a session's cached userinfo answer.
type userInfoEntry struct {
	info        *userinfo.Info
	fetched     time.Time
	tokenIssued time.Time // of the access token it was fetched with
	retryAfter  time.Time // after a failure: when to ask again
}

// userInfo returns the session's userinfo, fetching it when the cached
// answer is missing, older than UserInfoTTL or from before the last token
// refresh. When the provider fails, the last answer (cached in-process,
// or in the record of a server-side store) is served and the failure
// logged. A nil result means none is known.
func (r *RP) userInfo(ctx context.Context, w http.ResponseWriter, req *http.Request, rec *session.Session, now time.Time) *userinfo.Info {
	e, ok := r.uiCache.get(rec.ID)
	if ok && !e.tokenIssued.Before(rec.TokenIssued) && now.Sub(e.fetched) < r.cfg.UserInfoTTL {
		return e.info
	}
	if ok && now.Before(e.retryAfter) {
		return e.info
	}
	ch := r.uiFlight.DoChan(rec.ID, func() (any, error) {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), userInfoFetchTimeout)
		defer cancel()
		return r.fetchUserInfo(fctx, rec)
	})
	var info *userinfo.Info
	var err error
	select {
	case <-ctx.Done():
		err = ctx.Err()
	case res := <-ch:
		err = res.Err
		if err == nil {
			info = res.Val.(*userinfo.Info)
		}
	}
	if err == nil {
		if r.persistUserInfo && w != nil && string(info.Raw) != rec.UserInfoJSON {
			rec.UserInfoJSON = string(info.Raw)
			if err := r.saveSession(w, req, rec); err != nil && !errors.Is(err, errRevoked) {
				r.log.Warn("rp: save userinfo in session", "err", err)
			}
		}
		return info
	}
	r.log.Warn("rp: userinfo unavailable; serving the last answer", "sub", rec.Subject, "err", err)
	stale := e.info
	if stale == nil && rec.UserInfoJSON != "" {
		stale, _ = userinfo.ParseInfo([]byte(rec.UserInfoJSON))
	}
	r.uiCache.put(rec.ID, userInfoEntry{info: stale, fetched: e.fetched, tokenIssued: e.tokenIssued, retryAfter: now.Add(userInfoRetry)})
	return stale
}

// fetchUserInfo calls the userinfo endpoint and caches the answer.
func (r *RP) fetchUserInfo(ctx context.Context, rec *session.Session) (*userinfo.Info, error) {
	info, err := r.ui.Fetch(ctx, rec.AccessToken, rec.Subject)
	if err != nil {
		return nil, err
	}
	r.uiCache.put(rec.ID, userInfoEntry{info: info, fetched: r.now(), tokenIssued: rec.TokenIssued})
	return info, nil
}

// UserInfo returns the user's claims from the provider's userinfo
// endpoint (OpenID Connect Core §5.3) when the RP is configured with
// UserInfo; false when it is not or no answer is known.
func (s *Session) UserInfo() (*userinfo.Info, bool) {
	return s.userinfo, s.userinfo != nil
}

// Claims returns the user's claims: the ID token's, completed and updated
// by userinfo's. The ID token's values win for iss, sub, aud, exp, iat,
// auth_time, nonce, acr and amr.
func (s *Session) Claims() (map[string]any, error) {
	claims := map[string]any{}
	if err := json.Unmarshal([]byte(s.rec.ClaimsJSON), &claims); err != nil {
		return nil, fmt.Errorf("rp: ID token claims: %w", err)
	}
	if s.userinfo == nil {
		return claims, nil
	}
	ui, err := s.userinfo.Map()
	if err != nil {
		return nil, fmt.Errorf("rp: userinfo claims: %w", err)
	}
	for k, v := range ui {
		if _, set := claims[k]; set && idTokenWins[k] {
			continue
		}
		claims[k] = v
	}
	return claims, nil
}
