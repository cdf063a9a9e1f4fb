package hydra

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/oidcrp/oidcrp/internal/httpx"
)

// ErrUnexpectedStatus is wrapped by admin helpers when Hydra answers with a
// status other than the one the call expects.
var ErrUnexpectedStatus = errors.New("hydra: unexpected status")

// CreateClient registers an OAuth 2.0 client through the admin API
// (POST /admin/clients) and returns Hydra's answer, which includes the
// client_id and, unless c set one, a generated client_secret.
func (s *Server) CreateClient(ctx context.Context, c map[string]any) (map[string]any, error) {
	var out map[string]any
	if err := s.admin(ctx, http.MethodPost, "/admin/clients", c, http.StatusCreated, &out); err != nil {
		return nil, fmt.Errorf("hydra: create client: %w", err)
	}
	return out, nil
}

// DeleteClient removes a client through the admin API
// (DELETE /admin/clients/{id}); its tokens become inactive.
func (s *Server) DeleteClient(ctx context.Context, id string) error {
	if err := s.admin(ctx, http.MethodDelete, "/admin/clients/"+url.PathEscape(id), nil, http.StatusNoContent, nil); err != nil {
		return fmt.Errorf("hydra: delete client: %w", err)
	}
	return nil
}

// DeleteLoginSession ends the login session sid through the admin API
// (DELETE /admin/oauth2/auth/sessions/login?sid=). Hydra then sends an
// OpenID Connect Back-Channel Logout 1.0 logout token to every client that
// took part in the session and registered a backchannel_logout_uri; it does
// so asynchronously, after this call returns.
func (s *Server) DeleteLoginSession(ctx context.Context, sid string) error {
	if sid == "" {
		return errors.New("hydra: delete login session: empty sid")
	}
	p := "/admin/oauth2/auth/sessions/login?sid=" + url.QueryEscape(sid)
	if err := s.admin(ctx, http.MethodDelete, p, nil, http.StatusNoContent, nil); err != nil {
		return fmt.Errorf("hydra: delete login session: %w", err)
	}
	return nil
}

// Introspect asks the admin API whether an access or refresh token is
// active (RFC 7662, POST /admin/oauth2/introspect).
func (s *Server) Introspect(ctx context.Context, token string) (active bool, err error) {
	claims, err := s.IntrospectClaims(ctx, token)
	if err != nil {
		return false, err
	}
	active, _ = claims["active"].(bool)
	return active, nil
}

// IntrospectClaims returns Hydra's whole RFC 7662 introspection response
// for token: active, sub, client_id, scope, exp, token_use, ext (the
// access-token session claims) and so on.
func (s *Server) IntrospectClaims(ctx context.Context, token string) (map[string]any, error) {
	form := url.Values{"token": {token}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.AdminURL+"/admin/oauth2/introspect", strings.NewReader(form.Encode()))
	if err != nil {
		return nil, fmt.Errorf("hydra: introspect: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	var out map[string]any
	if err := s.do(req, http.StatusOK, &out); err != nil {
		return nil, fmt.Errorf("hydra: introspect: %w", err)
	}
	return out, nil
}

// admin sends a JSON request to the admin API and decodes a JSON answer
// into out (when out is not nil).
func (s *Server) admin(ctx context.Context, method, path string, in any, want int, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, s.AdminURL+path, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	return s.do(req, want, out)
}

func (s *Server) do(req *http.Request, want int, out any) error {
	resp, err := s.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := httpx.ReadBody(resp.Body, 0)
	if err != nil {
		return err
	}
	if resp.StatusCode != want {
		return fmt.Errorf("%w %d from %s %s: %s", ErrUnexpectedStatus, resp.StatusCode, req.Method, req.URL.Path, bytes.TrimSpace(b))
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("decode %s %s: %w", req.Method, req.URL.Path, err)
	}
	return nil
}
