package rp

import (
	"net/url"
	"strconv"
	"strings"
	"time"
)

// A LoginOption adds a parameter to the authorization request (OpenID
// Connect Core §3.1.2.1). Options can never override the parameters the RP
// owns: response_type, client_id, redirect_uri, scope, state, nonce and the
// PKCE challenge.
type LoginOption interface {
	setValue(v url.Values)
}

type paramOption struct{ k, v string }

func (o paramOption) setValue(v url.Values) { v.Set(o.k, o.v) }

// reserved lists the parameters LoginOptions cannot set.
var reserved = map[string]bool{
	"response_type": true, "client_id": true, "redirect_uri": true, "scope": true,
	"state": true, "nonce": true, "code_challenge": true, "code_challenge_method": true,
	"response_mode": true, "request": true, "request_uri": true,
}

// Prompt asks the provider to prompt (or not) for login, consent or account
// selection: "none", "login", "consent", "select_account", space-separated.
func Prompt(p string) LoginOption { return paramOption{"prompt", p} }

// LoginHint passes a hint about the user's identifier.
func LoginHint(hint string) LoginOption { return paramOption{"login_hint", hint} }

// MaxAge asks for an authentication no older than d; the callback then
// requires auth_time and checks it.
func MaxAge(d time.Duration) LoginOption {
	return paramOption{"max_age", strconv.FormatInt(int64(d/time.Second), 10)}
}

// ACRValues asks for the given authentication context classes, in order
// of preference. The request is voluntary (OpenID Connect Core §3.1.2.1):
// the provider may authenticate the user otherwise, and the login still
// succeeds. Use [RequireACR] when the class matters.
func ACRValues(values ...string) LoginOption {
	return paramOption{"acr_values", strings.Join(values, " ")}
}

// RequireACR asks for the given authentication context classes like
// [ACRValues] and makes the login fail unless the ID token's acr claim is
// one of them (OpenID Connect Core §3.1.3.7 step 12): a provider that
// authenticated the user by a weaker method, or says nothing, is refused
// with [ErrACRNotSatisfied]. Use it for step-up, e.g.
// RequireACR("urn:example:mfa") on the login that guards a payment page.
func RequireACR(values ...string) LoginOption {
	return acrOption{classes: strings.Fields(strings.Join(values, " "))}
}

type acrOption struct{ classes []string }

func (o acrOption) setValue(v url.Values) { v.Set("acr_values", strings.Join(o.classes, " ")) }

// UILocales asks for the given languages (BCP 47 tags) in the provider's UI.
func UILocales(tags ...string) LoginOption {
	return paramOption{"ui_locales", strings.Join(tags, " ")}
}

// Param adds any other authorization request parameter. Reserved parameters
// (state, nonce, PKCE, client_id, redirect_uri, response_type, scope) are
// ignored.
func Param(key, value string) LoginOption { return paramOption{key, value} }

// sentOptions is what the callback must check because of the options a
// login sent.
type sentOptions struct {
	maxAge      int64    // the max_age sent, or -1
	requiredACR []string // acr values one of which the ID token must carry
}

// applyOptions applies opts to v, skipping reserved parameters, and returns
// what the callback must check: the max_age sent and the acr values
// required. A later option overrides an earlier one for the same
// parameter, requirements included: ACRValues after RequireACR makes the
// class voluntary again.
func applyOptions(v url.Values, opts []LoginOption) sentOptions {
	extra := url.Values{}
	var acr []string
	for _, o := range opts {
		if o == nil {
			continue
		}
		o.setValue(extra)
		switch o := o.(type) {
		case acrOption:
			acr = o.classes
		case paramOption:
			if o.k == "acr_values" {
				acr = nil
			}
		}
	}
	for k, vs := range extra {
		if reserved[k] || len(vs) == 0 || vs[0] == "" {
			continue
		}
		v.Set(k, vs[0])
	}
	sent := sentOptions{maxAge: -1, requiredACR: acr}
	if s := v.Get("max_age"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			v.Del("max_age")
		} else {
			sent.maxAge = n
		}
	}
	return sent
}
